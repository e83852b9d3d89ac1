# unix.rb PATH: requests over a Unix socket (socket_path:), kept alive like TCP ones.
require_relative "helper"
deadline(20_000)
PATH = ARGV[0]

steps([
  ["GET over a Unix socket", proc do |done|
    fetch(socket_path: PATH, path: "/headers") do |res, body|
      check(res.status == 200 && body.include?("host: localhost\n"), "GET over #{PATH}: #{res.status}, Host: localhost")
      first = res.socket
      fetch(socket_path: PATH, path: "/echo", method: "POST", body: "over unix") do |r2, b2|
        check(b2 == "over unix", "POST over the Unix socket: #{b2.inspect}")
        check(r2.socket.equal?(first), "the Unix connection was kept alive and reused")
        done.call
      end
    end
  end],
])
