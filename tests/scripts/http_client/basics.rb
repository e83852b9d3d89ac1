# basics.rb PORT [HOST]: GET, POST with a body (length and chunked), a chunked response as :data
# events, HEAD, 204, 304, a body read until close, the headers the client sends, Expect:
# 100-continue, against server.py (Python's http.server).
require_relative "helper"
deadline(20_000)
PORT = ARGV[0].to_i
HOST = ARGV[1] || "127.0.0.1"
BASE = "http://#{HOST.include?(":") ? "[#{HOST}]" : HOST}:#{PORT}"

steps([
  ["GET with a URL", proc do |done|
    HTTP.get("#{BASE}/hello") do |res|
      check(res.status == 200 && res.status_code == 200 && res.status_message == "OK", "GET status #{res.status} #{res.status_message}")
      check(res.headers["content-type"] == "text/plain" && res.headers["content-length"] == "11", "GET headers are lower-case keys: #{res.headers.keys}")
      check(res.http_version == "1.1", "GET http_version #{res.http_version}")
      res.read_body do |body|
        check(body == "hello world" && res.body == "hello world" && res.complete?, "GET body #{body.inspect}")
        done.call
      end
    end
  end],
  ["GET with options and :data/:end", proc do |done|
    parts = []
    HTTP.get(host: HOST, port: PORT, path: "/chunked") do |res|
      check(res.headers["transfer-encoding"] == "chunked", "chunked response announced")
      res.on(:data) { |d| parts << d }
      res.on(:end) do
        check(parts.join == "one,two,three", "chunked body in :data events: #{parts.inspect}")
        check(res.body == "", "body is empty when a :data listener took it")
        done.call
      end
    end
  end],
  ["POST with the whole body at end", proc do |done|
    fetch({ url: "#{BASE}/echo", method: "POST", headers: { "Content-Type" => "text/plain" } }, body: "ping pong") do |res, body|
      check(res.status == 200 && body == "ping pong", "POST echo: #{body.inspect}")
      check(res.headers["x-content-length"] == "9" && res.headers["x-transfer-encoding"] == "-", "POST sent Content-Length: 9, not chunked")
      check(res.headers["x-method"] == "POST", "server saw POST")
      done.call
    end
  end],
  ["POST written in parts is chunked", proc do |done|
    finished = false
    req = HTTP.request(method: :post, host: HOST, port: PORT, path: "/echo") do |res|
      res.read_body do |body|
        check(body == "abc" * 1000 + "tail", "chunked POST echoed #{body.size} bytes")
        check(res.headers["x-transfer-encoding"] == "chunked" && res.headers["x-content-length"] == "-", "written parts went chunked")
      end
    end
    req.on(:finish) { finished = true }
    # :finish (the body handed to the system) and the response race: check at :close
    req.on(:close) do
      check(finished, ":finish came before :close")
      done.call
    end
    1000.times { req.write("abc") }
    req.write("")
    req.end("tail")
  end],
  ["a 2 MiB upload written with backpressure", proc do |done|
    chunk = "y" * 16384
    sent = 0
    saw_false = false
    req = HTTP.request(method: "POST", host: HOST, port: PORT, path: "/echo") do |res|
      res.read_body do |body|
        check(body.size == 128 * 16384 && body.count("y") == body.size, "2 MiB echoed intact (#{body.size})")
        check(saw_false, "write returned false at least once")
        done.call
      end
    end
    pump = proc do
      while sent < 128
        sent += 1
        unless req.write(chunk)
          saw_false = true
          break
        end
      end
      req.end if sent == 128
    end
    req.on(:drain) { pump.call if sent < 128 }
    pump.call
  end],
  ["POST with an empty body sends Content-Length: 0", proc do |done|
    fetch({ url: "#{BASE}/echo", method: "POST" }) do |res, body|
      check(res.headers["x-content-length"] == "0" && body == "", "empty POST: Content-Length #{res.headers["x-content-length"]}")
      done.call
    end
  end],
  ["PUT with a Content-Length set by the script is not chunked", proc do |done|
    req = HTTP.request(method: "PUT", host: HOST, port: PORT, path: "/echo", headers: { "content-length" => 6 }) do |res|
      res.read_body do |body|
        check(body == "abcdef" && res.headers["x-transfer-encoding"] == "-" && res.headers["x-method"] == "PUT", "PUT with Content-Length: #{body.inspect}")
        done.call
      end
    end
    req.write("abc")
    req.end("def")
  end],
  ["HEAD", proc do |done|
    fetch(url: "#{BASE}/head", method: "HEAD") do |res, body|
      check(res.status == 200 && res.headers["content-length"] == "11" && body == "", "HEAD: length header 11, no body (#{body.inspect})")
      # the connection is still usable: the next request on it gets its own response
      fetch(url: "#{BASE}/hello") do |r2, b2|
        check(b2 == "hello world", "GET after HEAD on the same agent: #{b2.inspect}")
        done.call
      end
    end
  end],
  ["204 and 304", proc do |done|
    fetch(url: "#{BASE}/204") do |res, body|
      check(res.status == 204 && res.status_message == "No Content" && body == "", "204: #{body.inspect}")
      fetch(url: "#{BASE}/304") do |r2, b2|
        check(r2.status == 304 && b2 == "", "304: #{b2.inspect}")
        done.call
      end
    end
  end],
  ["a body read until the server closes", proc do |done|
    fetch(url: "#{BASE}/until-close") do |res, body|
      check(res.status == 200 && body == "all of it, until close", "read until close: #{body.inspect}")
      done.call
    end
  end],
  ["a 1 MiB body", proc do |done|
    fetch(url: "#{BASE}/big?n=1048576") do |res, body|
      check(body.is_a?(String) && body.size == 1048576 && body.count("x") == 1048576, "1 MiB body intact (#{body && body.size})")
      done.call
    end
  end],
  ["the headers the client sends", proc do |done|
    fetch(url: "#{BASE}/headers", headers: { "X-Test" => "yes", "Accept" => ["a/b", "c/d"] }) do |res, body|
      lines = body.split("\n")
      host = HOST.include?(":") ? "[#{HOST}]:#{PORT}" : "#{HOST}:#{PORT}"
      check(lines.include?("host: #{host}"), "Host: #{host} (#{lines.grep(/^host/)})")
      check(lines.include?("connection: keep-alive"), "Connection: keep-alive by default")
      check(lines.include?("x-test: yes"), "a script's header goes out")
      check(lines.count { |l| l.start_with?("accept: ") } == 2, "an Array value gives one line per element")
      check(!lines.any? { |l| l.start_with?("content-length") || l.start_with?("transfer-encoding") }, "a GET has no body headers")
      done.call
    end
  end],
  ["set_header / get_header / remove_header", proc do |done|
    req = HTTP.request(url: "#{BASE}/headers") do |res|
      res.read_body do |body|
        check(body.include?("x-b: 2\n") && !body.include?("x-a:"), "removed header not sent, set one sent")
        done.call
      end
    end
    req.set_header("X-A", "1")
    req.set_header("X-B", 2)
    check(req.get_header("x-a") == "1" && req.get_header("X-B") == "2", "get_header is case-insensitive")
    req.remove_header("x-a")
    check(!req.has_header?("X-A"), "remove_header")
    req.end
    begin
      req.set_header("X-C", "3")
      check(false, "set_header after the head went out raises")
    rescue HTTP::Error => e
      check(e.code == "ERR_HTTP_HEADERS_SENT", "set_header after the head went out: #{e.code}")
    end
  end],
  ["103 Early Hints before the response", proc do |done|
    hints = []
    req = HTTP.get(url: "#{BASE}/early") do |res|
      res.read_body do |body|
        check(hints == [[103, "</a.css>; rel=preload"]], ":information for the 103: #{hints}")
        check(res.status == 200 && body == "after hints", "then the response: #{res.status} #{body.inspect}")
        done.call
      end
    end
    req.on(:information) { |info| hints << [info.status, info.headers["link"]] }
  end],
  ["Expect: 100-continue", proc do |done|
    continued = false
    req = HTTP.request(url: "#{BASE}/continue", method: "POST", headers: { "Expect" => "100-continue" }) do |res|
      res.read_body do |body|
        check(continued, ":continue came before the response")
        check(res.status == 200 && body == "held body", "body sent after 100 Continue: #{body.inspect}")
        done.call
      end
    end
    req.on(:continue) { continued = true }
    req.end("held body")
  end],
])
