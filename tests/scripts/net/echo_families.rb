# Port 0 + address on 127.0.0.1 and ::1, and a Unix socket: an echo round trip on each.
require_relative "helper"
deadline(10_000)
after_warm_up do
  fds = fd_count
  sock_path = ARGV[0] || "/tmp/mrun-net-test.sock"
  targets = [["127.0.0.1", "IPv4"], ["::1", "IPv6"], [sock_path, nil]]
  remaining = targets.size
  targets.each do |host, family|
    server = Net.create_server { |s| s.on(:data) { |d| s.write(d) } }
    server.on(:error) { |e| check(false, "#{host}: listen error #{e.message}") }
    listen_cb = proc do
      addr = server.address
      if family
        check(addr[:address] == host && addr[:family] == family && addr[:port] > 0,
              "#{family} port 0 listen gives address #{addr.inspect}")
        opts = { port: addr[:port], host: host }
      else
        check(addr == sock_path, "unix socket address is its path (#{addr.inspect})")
        opts = { path: sock_path }
      end
      got = ""
      c = Net.create_connection(opts) { c.end("ping #{host}") }
      c.on(:data) { |d| got << d }
      c.on(:close) do |had_error|
        check(got == "ping #{host}" && !had_error, "#{family || "unix"} echo round trip (#{got.inspect})")
        server.close do
          remaining -= 1
          if remaining == 0
            check(fd_count == fds, "no fd left open (#{fds} before, #{fd_count} after)")
            check(!File.exist?(sock_path), "the unix socket file is removed on close")
            finish
          end
        end
      end
    end
    family ? server.listen(0, host, &listen_cb) : server.listen(path: sock_path, &listen_cb)
  end
end
