#!/usr/bin/env bash
# End-to-end tests of HTTP::Parser and HTTP.__date (net/http.c over net/http_parser.c) driven
# from Ruby scripts under build/mrun: events for requests and responses, any split of the input
# gives the same events, errors surface as [:error, [code, status, message]], the headers Hash's
# repeat rules, upgrades, a large pipelined feed, bad arguments; the Date string checked by CRuby.
source "$(dirname "$0")/lib.sh"

script() { cat >"$T/s.rb"; }

t_request_events() {
    script <<'EOF'
pr = HTTP::Parser.new(:request)
p pr.idle?
p pr.feed("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\nPOST /p HTTP/1.0\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhel")
p pr.idle?
p pr.feed("lo")
p pr.idle?
p pr.feed("PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\n")
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out 'true
[:head, ["GET", "/a?b=1", {"host"=>"x", "user-agent"=>"t"}, 1, true, nil, false, false, false], :end, :head, ["POST", "/p", {"content-length"=>"5", "connection"=>"keep-alive"}, 0, true, 5, false, false, false], :body, "hel"]
false
[:body, "lo", :end]
true
[:head, ["PUT", "/c", {"transfer-encoding"=>"chunked", "expect"=>"100-continue"}, 1, true, nil, true, false, true], :body, "abc", :end]'
}

# Every 2-way split and byte-at-a-time feeding give the events of one whole feed (body chunks
# merged), for requests and responses, good and bad inputs.
t_any_split_same_events() {
    script <<'EOF'
def norm(evs)
  out = []
  evs.each_slice(2).to_a
  i = 0
  while i < evs.size
    e = evs[i]
    if e == :end
      out << [:end]; i += 1
    elsif e == :body && out.last && out.last[0] == :body
      out.last[1] += evs[i + 1]; i += 2
    elsif e == :body
      out << [:body, evs[i + 1].dup]; i += 2
    else
      out << [e, evs[i + 1]]; i += 2
    end
  end
  out
end
def feed_parts(kind, parts, head = false)
  pr = HTTP::Parser.new(kind)
  pr.no_body! if head
  evs = []
  parts.each do |s|
    if evs[-2] == :rest # upgraded: later bytes belong to the new protocol
      raise "fed after :rest" unless pr.feed(s) == []
      evs[-1] += s
    else
      evs.concat(pr.feed(s))
    end
  end
  evs.concat(pr.finish)
  norm(evs)
end
inputs = [
  [:request, "GET / HTTP/1.1\r\nHost: a\r\nCookie: x\r\nCookie: y\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"],
  [:request, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nwiki\r\n5\r\npedia\r\n0\r\nX: y\r\n\r\n"],
  [:request, "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nBad Header: x\r\n\r\n"],
  [:request, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframes"],
  [:response, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\nuntil close"],
  [:response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"],
]
bad = 0
inputs.each do |kind, s|
  whole = feed_parts(kind, [s])
  bad += 1 unless feed_parts(kind, s.chars) == whole
  (1...s.size).each { |k| bad += 1 unless feed_parts(kind, [s[0, k], s[k..-1]]) == whole }
  puts whole.map(&:first).join(",")
end
head = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
whole = feed_parts(:response, [head], true)
bad += 1 unless feed_parts(:response, head.chars, true) == whole
puts whole.map(&:first).join(",")
puts "differences: #{bad}"
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out 'head,end,head,body,end
head,body,end
head,end,error
head,rest
head,end,head,body,end,head,body,end
head,body,end
head,end,head,end
differences: 0'
}

t_errors_surface_as_error_events() {
    script <<'EOF'
[
  "G(T / HTTP/1.1\r\n\r\n",
  "GET / HTTP/2.0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
  "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
  "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
  "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
  "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  "GET /#{"a" * 9000} HTTP/1.1\r\n\r\n",
  "GET / HTTP/1.1\r\nX: #{"v" * 17000}\r\n\r\n",
].each do |s|
  ev = HTTP::Parser.new(:request).feed(s)
  code, status, msg = ev[-1]
  puts "#{ev[-2]} #{code} #{status} #{msg.is_a?(String) && !msg.empty?}"
end
pr = HTTP::Parser.new(:request, max_body: 4)
p pr.feed("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")
p pr.feed("GET / HTTP/1.1\r\n\r\n"), pr.finish, pr.idle?
pr.reset
p pr.feed("GET / HTTP/1.1\r\n\r\n").size
p HTTP::Parser.new(:request).tap { |x| x.feed("GET / HT") }.finish
p HTTP::Parser.new(:request, max_line: 10).feed("GET /0123456789 HTTP/1.1\r\n")[1][1]
p HTTP::Parser.new(:request, max_header_size: 40, max_headers: 1).feed("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n")[1][1]
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out 'error HPE_INVALID_METHOD 400 true
error HPE_INVALID_VERSION 505 true
error HPE_INVALID_HEADER_TOKEN 400 true
error HPE_INVALID_HEADER_TOKEN 400 true
error HPE_INVALID_CONTENT_LENGTH 400 true
error HPE_UNEXPECTED_CONTENT_LENGTH 400 true
error HPE_INVALID_TRANSFER_ENCODING 400 true
error HPE_INVALID_CHUNK_SIZE 400 true
error HPE_URI_TOO_LONG 414 true
error HPE_HEADER_OVERFLOW 431 true
[:error, ["HPE_BODY_TOO_LARGE", 413, "body larger than the limit"]]
[]
[]
false
3
[:error, ["HPE_INVALID_EOF_STATE", 400, "the connection closed in the middle of a message"]]
414
431'
}

t_headers_repeat_rules() {
    script <<'EOF'
s = "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\nSet-Cookie: 1\r\nSET-COOKIE: 2\r\nset-cookie: 3\r\n" \
    "Accept: x\r\nAccept: y\r\nUser-Agent: u1\r\nUser-Agent: u2\r\nX-Custom: p\r\nx-custom: q\r\n" \
    "Content-Type: a/b\r\nContent-Type: c/d\r\nEtag: 1\r\nETag: 2\r\nCookie: a=1\r\nCookie: b=2\r\n" \
    "Empty:\r\nSpaced:   v  \r\n\r\n"
h = HTTP::Parser.new(:request).feed(s)[1][2]
h.each { |k, v| puts "#{k}=#{v.inspect}" }
one = HTTP::Parser.new(:request).feed("GET / HTTP/1.1\r\nSet-Cookie: only\r\n\r\n")[1][2]
p one
p h.keys.all?(&:frozen?)
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out 'host="a"
set-cookie=["1", "2", "3"]
accept="x, y"
user-agent="u1"
x-custom="p, q"
content-type="a/b"
etag="1"
cookie="a=1, b=2"
empty=""
spaced="v"
{"set-cookie"=>"only"}
true'
}

t_responses() {
    script <<'EOF'
r = HTTP::Parser.new(:response)
p r.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
p r.feed("HTTP/1.0 200 OK\r\nServer: s\r\n\r\nuntil ")
p r.feed("close"), r.finish, r.finish
r = HTTP::Parser.new(:response)
r.no_body!
p r.feed("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
p r.feed("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nab"), r.finish
p HTTP::Parser.new(:response).feed("HTTP/1.1 2x0 OK\r\n\r\n")
p HTTP::Parser.new(:response).feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x00")
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out '[:head, [100, "Continue", {}, 1, true, nil, false, false], :end, :head, [200, "OK", {"content-length"=>"2"}, 1, true, 2, false, false], :body, "ok", :end]
[:head, [200, "OK", {"server"=>"s"}, 0, false, nil, false, false], :body, "until "]
[:body, "close"]
[:end]
[]
[:head, [200, "OK", {"content-length"=>"2000"}, 1, true, 2000, false, false], :end, :head, [304, "Not Modified", {"content-length"=>"7"}, 1, true, 7, false, false], :end, :head, [200, "OK", {"content-length"=>"1"}, 1, true, 1, false, false], :body, "x", :end]
[:head, [200, "OK", {"content-length"=>"20"}, 1, true, 20, false, false], :body, "ab"]
[:error, ["HPE_INVALID_EOF_STATE", 400, "the connection closed in the middle of a message"]]
[:error, ["HPE_INVALID_STATUS", 400, "invalid status code"]]
[:head, [101, "Switching Protocols", {"upgrade"=>"websocket", "connection"=>"upgrade"}, 1, true, nil, false, true], :end, :rest, "\x81\x00"]'
}

t_upgrade_rest_then_reset() {
    script <<'EOF'
pr = HTTP::Parser.new(:request)
p pr.feed("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
p pr.feed("more"), pr.idle?
p pr.feed("CONNECT a:443 HTTP/1.1\r\n\r\n")
pr.reset
p pr.idle?
p pr.feed("CONNECT a:443 HTTP/1.1\r\n\r\ntunnel")
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out '[:head, ["GET", "/ws", {"upgrade"=>"websocket", "connection"=>"Upgrade"}, 1, true, nil, false, true, false], :rest, ""]
[]
false
[]
true
[:head, ["CONNECT", "a:443", {}, 1, true, nil, false, true, false], :rest, "tunnel"]'
}

# A big pipelined feed: all events come, the GC arena does not overflow, memory is reclaimed.
t_large_pipelined_feed() {
    script <<'EOF'
one = "POST /x HTTP/1.1\r\nHost: a\r\nUser-Agent: b\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 4\r\n\r\nbody"
pr = HTTP::Parser.new(:request)
5.times do
  ev = pr.feed(one * 2000)
  raise "events: #{ev.size}" unless ev.size == 2000 * 5 && ev.count(:end) == 2000
end
GC.start
n = 0
(one * 100).each_char { |c| n += pr.feed(c).count(:end) }
p n
big = "x" * 1_000_000
ev = HTTP::Parser.new(:request).feed("PUT / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n" + big)
p ev[2], ev[3] == big, ev[4]
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out '100
:body
true
:end'
}

# Body Strings share the fed String's bytes; making it shared can move them (mruby shrinks a
# grown buffer): the parser must not read the old address (ASan saw a use-after-free once).
t_body_from_grown_string() {
    script <<'EOF'
buf = String.new
3.times { |i| buf << "POST /#{i} HTTP/1.1\r\nContent-Length: 100\r\n\r\n" << (i.to_s * 100) }
buf << "GET /last HTTP/1.1\r\n\r\n"
ev = HTTP::Parser.new(:request).feed(buf)
bodies = []
ev.each_with_index { |e, i| bodies << ev[i + 1] if e == :body }
p bodies.map { |b| [b.size, b.squeeze] }, ev.count(:end)
buf << "x"
buf.replace("")
p bodies.map(&:size)
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out '[[100, "0"], [100, "1"], [100, "2"]]
4
[100, 100, 100]'
}

t_bad_arguments() {
    script <<'EOF'
[-> { HTTP::Parser.new(:foo) }, -> { HTTP::Parser.new("request") },
 -> { HTTP::Parser.new(:request, bogus: 1) }, -> { HTTP::Parser.new(:request, max_line: "1") },
 -> { HTTP::Parser.new(:request, max_body: -1) }, -> { HTTP::Parser.new(:request).feed(nil) },
 -> { HTTP::Parser.new(:request).feed(12) }].each do |f|
  begin
    f.call
    puts "no error"
  rescue => e
    puts "#{e.class}: #{e.message}"
  end
end
EOF
    run $MRUN "$T/s.rb"
    expect_rc 0
    expect_out_has 'ArgumentError: HTTP::Parser kind must be :request or :response, not :foo'
    expect_out_has 'ArgumentError: HTTP::Parser: unknown option :bogus'
    expect_out_has 'TypeError: HTTP::Parser option max_line must be an Integer'
    expect_out_has 'ArgumentError: HTTP::Parser option max_body must be >= 0'
    case $out in *"no error"*) fail "a bad argument was accepted: $out" ;; esac
    [ "$(printf '%s\n' "$out" | grep -c TypeError)" -ge 4 ] || fail "expected TypeErrors: $out"
}

# Accepted or refused as a Node server (llhttp) does, on inputs where we mean to agree (the
# differences are listed in docs/script-api.md): each input goes to a Node http server on
# 127.0.0.1 and to HTTP::Parser; "ok" is a complete request, "bad" a refusal.
t_refusals_match_node() {
    command -v node >/dev/null || { echo "# skip: no node to compare HTTP::Parser with" >&2; return 0; }
    cat >"$T/cases.json" <<'EOF'
["GET / HTTP/1.1\r\nHost: a\r\n\r\n",
 "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
 "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
 "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
 "GET / HTTP/1.1\r\nHost: a\r\nA: b\u0001\r\n\r\n",
 "GET / HTTP/1.1\r\nHost: a\r\nA: b\u007f\r\n\r\n",
 "GET / HTTP/1.1\r\nHost: a\r\nA: caf\u00e9\r\n\r\n",
 "GET /caf\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n",
 "GET / HTTP/1.1\r\nHost: a\r\nA: b\rc\r\n\r\n",
 "GET / HTTX/1.1\r\nHost: a\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\nx",
 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b;c\r\nabc\r\n0\r\nT: 1\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 ;a\r\nabc\r\n0\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n"]
EOF
    cat >"$T/node.js" <<'EOF'
const http = require('http'), net = require('net');
const cases = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const srv = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
srv.listen(0, '127.0.0.1', async () => {
  for (const c of cases) {
    const first = await new Promise(resolve => {
      const s = net.connect(srv.address().port, '127.0.0.1', () => s.end(Buffer.from(c, 'latin1')));
      let buf = ''; s.on('data', d => buf += d); s.on('error', () => {});
      s.on('close', () => resolve(buf.split('\r\n')[0]));
    });
    console.log(/ 200 /.test(first) ? 'ok' : 'bad');
  }
  srv.close();
});
EOF
    cat >"$T/s.rb" <<'EOF'
File.open(ARGV[0]) { |f| JSON.parse(f.read) }.each do |c|
  bytes = c.each_char.map { |ch| ch.ord.chr }.join # latin1, as the Node side sends it
  ev = HTTP::Parser.new(:request).feed(bytes)
  puts ev.include?(:error) || !ev.include?(:end) ? "bad" : "ok"
end
EOF
    timeout 60 node "$T/node.js" "$T/cases.json" >"$T/node.out" 2>&1 || fail "node failed: $(head -c 600 "$T/node.out")"
    run $MRUN "$T/s.rb" "$T/cases.json"
    expect_rc 0
    [ "$out" = "$(cat "$T/node.out")" ] ||
        fail "HTTP::Parser and Node differ: $(diff <(printf '%s\n' "$out") "$T/node.out" | head -c 800)"
    [ "$(grep -c ok "$T/node.out")" -ge 4 ] || fail "too few accepted cases: $(cat "$T/node.out")"
}

# HTTP.__date is an IMF-fixdate CRuby parses back to now.
t_date_parsed_by_cruby() {
    command -v ruby >/dev/null || { echo "# skip: no ruby to check HTTP.__date against" >&2; return 0; }
    printf 'puts HTTP.__date\nputs HTTP.__date.equal?(HTTP.__date)\n' >"$T/d.rb"
    run $MRUN "$T/d.rb"
    expect_rc 0
    d=$(printf '%s\n' "$out" | head -n 1)
    [[ $d =~ ^(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ GMT$ ]] ||
        fail "not an IMF-fixdate: $d"
    ruby -rtime -e 'd = Time.httpdate(ARGV[0]); exit((Time.now - d).abs < 60 ? 0 : 1)' "$d" ||
        fail "CRuby reads $d as another time"
    expect_out_has 'false'
}

# The profiler names the binding's C methods.
t_profile_names_feed() {
    script <<'EOF'
req = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n" * 50
pr = HTTP::Parser.new(:request)
3000.times { pr.feed(req) }
EOF
    run $MRUN --cpu-prof --prof-out "$T/p.cpuprofile" "$T/s.rb"
    expect_rc 0
    run $MRPROF report "$T/p.cpuprofile"
    expect_out_has 'HTTP::Parser#feed'
}

[ "${1:-}" = --lib ] || run_tests
