# lifetime.rb ROUNDS — sockets and file descriptors: ROUNDS sockets bound, exchanging and closed
# with GC.start between events (only their listeners hold them), sockets dropped without
# close (never bound: the GC closes their fds), and the fd count back to where it started.
require_relative "../net/helper"
deadline(30_000)
rounds = (ARGV[0] || 100).to_i
fds = fd_count
gc = set_interval(1) { GC.start }
# never bound, never closed, not held: the GC's to close
20.times { Dgram.create_socket(:udp4) }
server = Dgram.create_socket(:udp4) { |m, r| GC.start; server.send(m.upcase, r[:port], r[:address]) }
server.bind(0, "127.0.0.1") do
  port = server.address[:port]
  ok = 0
  finished = 0
  rounds.times do |i|
    # no variable keeps the socket: only the closures registered on it
    Dgram.create_socket(i.odd? ? :udp4 : :udp6).tap do |c|
      c.on(:message) do |m, _|
        GC.start
        ok += 1 if m == "MESSAGE #{i}"
        c.close
      end
      c.on(:close) do
        finished += 1
        next unless finished == rounds
        check(ok == rounds, "#{rounds} exchanges intact with GC.start between every event (#{ok})")
        server.close do
          clear_interval(gc)
          GC.start
          check(fd_count == fds, "no fd left open (#{fds} before, #{fd_count} after)")
          finish
        end
      end
      # a udp6 socket reaches 127.0.0.1 too (dual stack), so both kinds talk to the udp4 server
      c.send("message #{i}", port, i.odd? ? "127.0.0.1" : "::ffff:127.0.0.1")
    end
  end
end
