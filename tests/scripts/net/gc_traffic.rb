# GC runs in the middle of traffic: sockets that no variable holds (only their listeners) keep
# working, and sockets dropped without close are not leaked once the program ends them.
require_relative "helper"
deadline(30_000)
rounds = (ARGV[0] || 200).to_i
after_warm_up do
  fds = fd_count
  server = Net.create_server do |s|
    s.on(:data) { |d| s.write(d.upcase) }
    s.on(:end) { s.end }
  end
  gc = set_interval(1) { GC.start }
  server.listen(0) do
    ok = 0
    finished = 0
    rounds.times do |i|
      # no variable keeps the socket: only the closures registered on it
      Net.create_connection(port: server.address[:port]) do |*|
      end.tap do |c|
        got = ""
        c.on(:connect) { GC.start; c.write("message #{i} " * 50); c.end }
        c.on(:data) { |d| got << d; GC.start }
        c.on(:close) do
          ok += 1 if got == ("MESSAGE #{i} " * 50)
          finished += 1
          if finished == rounds
            clear_interval(gc)
            GC.start
            check(ok == rounds, "all #{rounds} exchanges intact with GC.start between every event (#{ok})")
            server.close do
              GC.start
              check(fd_count == fds, "no fd left open (#{fds} before, #{fd_count} after)")
              finish
            end
          end
        end
      end
    end
  end
end
