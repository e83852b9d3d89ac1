# errors.rb PORT RAWPORT: what fails arrives as an :error event with an HTTP::Error and a code
# (refused, a name that does not resolve, a server that never answers, a malformed response,
# a connection cut mid-body or before any response); what the caller got wrong raises at the
# call. RAWPORT is server.py --raw.
require_relative "helper"
deadline(30_000)
PORT = ARGV[0].to_i
RAW = ARGV[1].to_i

def raises(code, what)
  yield
  check(false, "#{what}: nothing raised")
rescue HTTP::Error => e
  check(e.code == code, "#{what}: HTTP::Error #{e.code} (#{e.message})")
rescue Exception => e
  check(false, "#{what}: #{e.class} #{e.message}")
end

def expect_error(opts, code, what, extra = {}, &more)
  closed = false
  req = HTTP.request(opts, extra) { |res| check(false, "#{what}: a response (#{res.status})") }
  req.on(:close) { closed = true }
  req.on(:error) do |e|
    ok = e.is_a?(HTTP::Error) && (code.is_a?(Proc) ? code.call(e.code) : e.code == code)
    check(ok, "#{what}: #{e.code} (#{e.message})")
    set_immediate do
      check(closed, "#{what}: :close follows :error")
      more.call(e)
    end
  end
  req.end
  req
end

raises("ERR_INVALID_PROTOCOL", "ftp:// URL (https:// goes to TLS, tests/e2e/test_https.sh)") { HTTP.get("ftp://127.0.0.1/") }
raises("ERR_INVALID_URL", "a URL without a scheme") { HTTP.get("127.0.0.1/x") }
raises("ERR_INVALID_URL", "a URL with a bad port") { HTTP.get("http://127.0.0.1:99999/") }
raises("ERR_INVALID_CHAR", "CR LF in a header value") { HTTP.request(port: PORT, headers: { "X" => "a\r\nInjected: 1" }) }
raises("ERR_INVALID_HTTP_TOKEN", "a header name with a space") { HTTP.request(port: PORT, headers: { "Bad Name" => "1" }) }
raises("ERR_INVALID_HTTP_TOKEN", "a method with a space") { HTTP.request(port: PORT, method: "GE T") }
raises("ERR_UNESCAPED_CHARACTERS", "a space in the path") { HTTP.request(port: PORT, path: "/a b") }
begin
  HTTP.request(port: 70000)
  check(false, "port 70000 raises")
rescue ArgumentError => e
  check(e.message.include?("port"), "port 70000: ArgumentError (#{e.message})")
end

steps([
  ["refused", proc do |done|
    probe = Net.create_server
    probe.listen(0) do
      port = probe.address[:port]
      probe.close do
        expect_error({ port: port }, "ECONNREFUSED", "a closed port") do |e|
          check(e.message.include?("127.0.0.1:#{port}"), "the message names the address: #{e.message}")
          done.call
        end
      end
    end
  end],
  ["a name that does not resolve", proc do |done|
    expect_error({ host: "no-such-host.invalid", port: 80 }, "ENOTFOUND", "bad host name") do |e|
      check(e.message.include?("no-such-host.invalid"), "the message names the host")
      done.call
    end
  end],
  ["a server that never answers", proc do |done|
    timed_out = false
    req = expect_error({ port: RAW, path: "/silent" }, "ETIMEDOUT", "silent server, timeout: 300", timeout: 300) do
      check(timed_out, ":timeout was emitted before the error")
      done.call
    end
    req.on(:timeout) { timed_out = true } # a listener only observes: the request still fails
  end],
  ["the script handles :timeout itself", proc do |done|
    req = HTTP.get(port: RAW, path: "/silent") { check(false, "no response") }
    req.set_timeout(200) do
      check(true, "set_timeout's block runs on inactivity")
      req.destroy
    end
    req.on(:error) { |e| check(false, "no error when the script handled :timeout: #{e.message}") }
    req.on(:close) { done.call }
  end],
  ["a malformed header", proc do |done|
    expect_error({ port: RAW, path: "/malformed" }, proc { |c| c.to_s.start_with?("HPE_") }, "a header line without a colon") { done.call }
  end],
  ["a malformed status", proc do |done|
    expect_error({ port: RAW, path: "/badstatus" }, proc { |c| c.to_s.start_with?("HPE_") }, "status 2x0") { done.call }
  end],
  ["a response head over max_header_size", proc do |done|
    expect_error({ port: RAW, path: "/bighead" }, "HPE_HEADER_OVERFLOW", "20 000 bytes of headers (limit 16 KiB)") do
      fetch({ port: RAW, path: "/bighead", max_header_size: 32768 }) do |res, body|
        check(!res.is_a?(Exception) && res.status == 200 && body == "ok" && res.headers.size >= 200, "max_header_size: 32768 lets it through")
        done.call
      end
    end
  end],
  ["cut in the middle of the body", proc do |done|
    got = ""
    aborted = false
    req = HTTP.get(port: RAW, path: "/cut") do |res|
      check(res.status == 200, "the head of a cut response came")
      res.on(:data) { |d| got << d }
      res.on(:aborted) { aborted = true }
      res.on(:end) { check(false, "no :end for a cut body") }
    end
    req.on(:error) do |e|
      check(e.code == "ECONNRESET" && e.message.start_with?("socket hang up"), "cut body: #{e.code} (#{e.message})")
      check(got == "0123456789" && aborted, "the 10 bytes that came were delivered, then :aborted")
      done.call
    end
  end],
  ["closed before any response", proc do |done|
    expect_error({ port: RAW, path: "/hangup" }, "ECONNRESET", "hang up") do |e|
      check(e.message == "socket hang up", "message: #{e.message}")
      done.call
    end
  end],
  ["abort", proc do |done|
    events = []
    req = HTTP.get(port: RAW, path: "/silent") { check(false, "no response after abort") }
    req.on(:socket) { events << :socket; req.abort }
    req.on(:abort) { events << :abort }
    req.on(:error) { |e| events << :error }
    req.on(:close) do
      set_immediate do
        check(events == [:socket, :abort], "abort: #{events}")
        check(req.destroyed?, "destroyed? after abort")
        done.call
      end
    end
  end],
  ["destroy with an error", proc do |done|
    req = HTTP.get(port: PORT, path: "/hello") { check(false, "no response after destroy") }
    req.on(:error) do |e|
      check(e.message == "changed my mind", "destroy(err) emits it: #{e.message}")
      done.call
    end
    req.destroy(RuntimeError.new("changed my mind"))
  end],
])
