# HTTP::Parser under valgrind (tests/scripts/valgrind_http_parser.sh): every kind of event, errors,
# upgrades, big heads and bodies, parsers dropped mid-message (freed by the GC), byte-at-a-time.
inputs = [
  [:request, "GET / HTTP/1.1\r\nHost: a\r\nSet-Cookie: 1\r\nSet-Cookie: 2\r\nX: a\r\nX: b\r\n\r\n" * 20],
  [:request, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n"],
  [:request, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGARBAGE\r\n\r\n"],
  [:request, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nrest"],
  [:request, "GET / HTTP/1.1\r\nX: #{"v" * 20000}\r\n\r\n"],
  [:request, "GET /#{"a" * 9000} HTTP/1.1\r\n\r\n"],
  [:response, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n\r\nto the end"],
  [:response, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"],
]
count = 0
inputs.each do |kind, s|
  whole = HTTP::Parser.new(kind).feed(s)
  pr = HTTP::Parser.new(kind, max_body: 1000)
  s.each_char { |c| count += pr.feed(c).size }
  count += pr.finish.size + whole.size
  HTTP::Parser.new(kind).feed(s[0, s.size / 2]) # dropped mid-message
end
r = HTTP::Parser.new(:response)
r.no_body!
count += r.feed("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n").size
big = "PUT / HTTP/1.1\r\nContent-Length: 200000\r\n\r\n" + "x" * 200_000
count += HTTP::Parser.new(:request).feed(big).size
GC.start
puts "events #{count > 100}"
puts HTTP.__date.size
