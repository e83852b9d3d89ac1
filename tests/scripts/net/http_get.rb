# http_get.rb PORT N — sends N pipelined GET requests in one write on one keep-alive connection
# and prints the responses' status lines and bodies (for testing samples/http_hello.rb).
require_relative "helper"
deadline(10_000)
port = ARGV[0].to_i
n = (ARGV[1] || 1).to_i
req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
got = ""
c = Net.create_connection(port: port) { c.write(req * n) }
c.on(:data) do |d|
  got << d
  if got.split("Hello World\n", -1).size - 1 == n
    puts got.lines.select { |l| l.start_with?("HTTP", "Hello") }.join
    c.destroy
  end
end
