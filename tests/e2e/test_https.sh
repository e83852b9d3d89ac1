#!/usr/bin/env bash
# End-to-end tests of HTTPS (runtime/prelude/https.rb: the HTTP server and client over TLS),
# against peers no one here wrote: curl and openssl s_client as the clients of an mrun server,
# Python's http.server in ssl.SSLContext as the server of the mrun client. Every test makes
# its own throwaway PKI (tests/scripts/tls/make_certs.sh) in $T.
source "$(dirname "$0")/lib.sh"

pki() {  # makes $T/pki or fails
    sh tests/scripts/tls/make_certs.sh "$T/pki" >"$T/pki.log" 2>&1 || fail "make_certs.sh: $(cat "$T/pki.log")"
}

# listening_port FILE SED-PATTERN: waits up to 30 s for a server to print its port.
listening_port() {
    local p=""
    for _ in $(seq 300); do
        p=$(sed -n "$2" "$1"); [ -n "$p" ] && break; sleep 0.1
    done
    printf '%s' "$p"
}

# start_server [CERT_NAME] [request_cert]: tests/scripts/https/server.rb in the background;
# sets $spid and $port.
start_server() {
    : >"$T/srv.out" 2>"$T/srv.err"   # emptied first: see start_cluster in test_cluster.sh
    $MRUN tests/scripts/https/server.rb "$T/pki" "$@" >"$T/srv.out" 2>"$T/srv.err" &
    spid=$!
    port=$(listening_port "$T/srv.out" 's/^listening //p')
    [ -n "$port" ] || { kill $spid; fail "server.rb did not start: $(cat "$T/srv.err")"; }
}

stop_server() {  # asks /quit; the server must end by itself, with status 0
    curl -s -m 10 --cacert "$T/pki/ca.pem" "https://localhost:$port/quit" >/dev/null
    for _ in $(seq 300); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
    if kill -0 $spid 2>/dev/null; then kill $spid 2>/dev/null; fail "the server did not stop after /quit"; fi
    wait $spid || fail "the server failed: $(cat "$T/srv.err")"
}

need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed (the peer of this test)"; }

https_script() {  # https_script NAME ARGS...: expects "all passed" and exit 0
    local name=$1; shift
    run timeout -k 5 100 $MRUN "tests/scripts/https/$name.rb" "$@"
    [ "$rc" = 0 ] && case $out in *"all passed"*) true ;; *) false ;; esac ||
        fail "exit $rc; $(printf '%s\n' "$out" | grep -v '^ok ' | head -n 12) $(printf '%s' "$err" | head -c 600)"
}

t_curl_gets_by_name_and_by_ip_with_the_test_ca() {
    need curl; pki; start_server
    run curl -sS --http1.1 --cacert "$T/pki/ca.pem" "https://localhost:$port/info"
    expect_rc 0
    expect_out "TLSv1.3 http/1.1 TLS::Socket authorized=false peer=-"
    run curl -sS --http1.1 --tlsv1.2 --tls-max 1.2 --cacert "$T/pki/ca.pem" "https://127.0.0.1:$port/info"
    expect_rc 0
    expect_out "TLSv1.2 http/1.1 TLS::Socket authorized=false peer=-"
    stop_server
}

t_curl_reuses_the_keep_alive_connection() {
    need curl; pki; start_server
    run curl -sS -v --http1.1 --cacert "$T/pki/ca.pem" "https://localhost:$port/conn" "https://localhost:$port/conn" "https://localhost:$port/conn"
    expect_rc 0
    [ "$(printf '%s\n' "$out" | sort -u | wc -l)" = 1 ] || fail "three requests from different ports: $out"
    case $err in *"e-using existing connection"*|*"eusing existing connection"*) ;;
        *) fail "curl did not reuse the connection: $(printf '%s' "$err" | grep -i connect | head -5)";; esac
    stop_server
}

t_curl_posts_a_binary_body_that_comes_back_intact() {
    need curl; pki; start_server
    head -c 3000000 /dev/urandom >"$T/body"
    curl -sS --http1.1 --cacert "$T/pki/ca.pem" --data-binary @"$T/body" -o "$T/back" "https://localhost:$port/echo" ||
        fail "curl POST failed"
    cmp -s "$T/body" "$T/back" || fail "the body came back changed ($(wc -c <"$T/back") bytes)"
    # chunked, on the same connection as a GET
    run sh -c "cat '$T/body' | curl -sS --http1.1 --cacert '$T/pki/ca.pem' -H 'Transfer-Encoding: chunked' --data-binary @- 'https://localhost:$port/echo' | cmp -s - '$T/body' && echo same"
    expect_out same
    stop_server
}

t_curl_refuses_an_unknown_ca_an_expired_and_a_wrong_host_certificate() {
    need curl; pki; start_server
    run curl -sS "https://localhost:$port/info"                        # the system store
    expect_rc 60
    expect_err_has "certificate"
    stop_server
    grep -q "tls_client_error ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" "$T/srv.err" || fail "no tls_client_error on the server: $(cat "$T/srv.err")"
    start_server expired
    run curl -sS --cacert "$T/pki/ca.pem" "https://localhost:$port/info"
    expect_rc 60
    expect_err_has "certificate has expired"
    kill $spid; wait $spid 2>/dev/null; true
    start_server other
    run curl -sS --cacert "$T/pki/ca.pem" "https://localhost:$port/info"
    expect_rc 60
    expect_err_has "localhost"
    kill $spid; wait $spid 2>/dev/null; true   # /quit cannot reach it: curl trusts no other.pem
}

t_curl_client_certificate_reaches_req_socket() {
    need curl; pki; start_server server request_cert
    run curl -sS --cacert "$T/pki/ca.pem" --cert "$T/pki/client.pem" --key "$T/pki/client.key" "https://localhost:$port/info"
    expect_rc 0
    expect_out "TLSv1.3 http/1.1 TLS::Socket authorized=true peer=test-client"
    stop_server
}

t_plain_http_client_is_refused_and_the_server_keeps_serving() {
    need curl; pki; start_server
    run curl -sS -m 10 "http://127.0.0.1:$port/info"
    [ "$rc" = 52 ] || [ "$rc" = 56 ] || fail "curl http:// to the HTTPS port: exit $rc ($err)"
    run curl -sS --cacert "$T/pki/ca.pem" "https://localhost:$port/info"
    expect_rc 0
    expect_out_has "TLS::Socket"
    stop_server
    grep -q "tls_client_error ERR_SSL_HTTP_REQUEST" "$T/srv.err" || fail "server stderr: $(cat "$T/srv.err")"
}

# A reset (RST) in the middle of the handshake, as wrk's connections end: a read error on a
# socket no HTTP connection listens to yet. It is a :tls_client_error; the server goes on.
t_client_reset_mid_handshake_is_a_tls_client_error() {
    need python3; need curl; pki; start_server
    run timeout 60 python3 -c '
import socket, struct, sys
for _ in range(5):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
print("reset 5")' "$port"
    expect_out "reset 5"
    run curl -sS --cacert "$T/pki/ca.pem" "https://localhost:$port/info"
    expect_rc 0
    expect_out_has "TLS::Socket"
    stop_server
    [ "$(grep -c "tls_client_error ECONNRESET" "$T/srv.err")" = 5 ] || fail "server stderr: $(cat "$T/srv.err")"
}

# wrk -H "Connection: close" resets its connections in every state when it stops, some after
# the server's first flight: a read error before :secure, with no HTTP connection listening yet.
# Before the guard in https.rb it raised (an :error nobody heard) and ended the server.
t_wrk_resets_mid_handshake_do_not_end_the_server() {
    need wrk; need curl; pki; start_server
    local r
    for r in 1 2 3; do
        wrk -t1 -c50 -d1s -H "Connection: close" "https://127.0.0.1:$port/info" >"$T/wrk.out" 2>&1
        kill -0 $spid 2>/dev/null || fail "the server died under wrk: $(grep -v tls_client_error "$T/srv.err" | head -c 800)"
    done
    run curl -sS --cacert "$T/pki/ca.pem" "https://localhost:$port/info"
    expect_rc 0
    expect_out_has "TLS::Socket"
    stop_server
}

t_openssl_s_client_negotiates_alpn_http_1_1() {
    need openssl; pki; start_server
    run sh -c "printf 'GET /info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
        timeout 20 openssl s_client -connect 127.0.0.1:$port -servername localhost -alpn http/1.1 -CAfile '$T/pki/ca.pem' -verify_return_error -ign_eof 2>&1"
    expect_out_has "ALPN protocol: http/1.1"
    expect_out_has "Verify return code: 0 (ok)"
    expect_out_has "TLSv1.3 http/1.1 TLS::Socket"
    run sh -c "printf '' | timeout 20 openssl s_client -connect 127.0.0.1:$port -alpn h2 -CAfile '$T/pki/ca.pem' 2>&1"
    expect_out_has "No ALPN negotiated"
    stop_server
}

# Node's https client offers no ALPN by default: alpn=false, and our server answers it all the same.
t_node_https_client_resumes_its_session_with_the_mrun_server() {
    need node; pki; start_server
    run timeout 60 node tests/scripts/https/node_client.js "$port" "$T/pki/ca.pem"
    expect_rc 0
    expect_out "200 TLSv1.3  TLS::Socket authorized=false peer=- reused=false alpn=false
200 TLSv1.3  TLS::Socket authorized=false peer=- reused=true alpn=false
200 posted by node reused=true alpn=false"
    stop_server
}

t_client_against_python_https_server() {
    need python3; pki
    mkfifo "$T/hold"
    python3 tests/scripts/https/pyserver.py "$T/pki" "$T/ports" <"$T/hold" >"$T/py.out" 2>&1 &
    local ppid=$!
    exec 3>"$T/hold"   # the server ends when this closes
    for _ in $(seq 300); do [ -s "$T/ports" ] && break; sleep 0.1; done
    [ -s "$T/ports" ] || { exec 3>&-; fail "pyserver.py did not start: $(cat "$T/py.out")"; }
    https_script client "$T/pki" "$T/ports"
    exec 3>&-
    wait $ppid
}

t_loopback_bad_input_redirects_client_cert_and_fds() {
    pki
    https_script loopback "$T/pki"
}

t_https_api_sample_and_its_profile_names_the_handler_and_tls() {
    need curl; need wrk; pki
    $MRUN --cpu-prof --prof-out "$T/s.cpuprofile" samples/https_api.rb 0 "$T/pki/server.pem" "$T/pki/server.key" >"$T/srv.out" 2>"$T/srv.err" &
    local pid=$!
    port=$(listening_port "$T/srv.out" 's|.*https://localhost:\([0-9]*\)/.*|\1|p')
    [ -n "$port" ] || { kill $pid; fail "https_api did not start: $(cat "$T/srv.err")"; }
    local c="curl -sS --cacert $T/pki/ca.pem"
    run $c -X PUT -d '{"value":[1,2]}' "https://localhost:$port/kv/a"
    expect_out '{"key":"a","value":[1,2]}'
    run $c "https://localhost:$port/tls"
    expect_out_has '"protocol":"TLSv1.3"'
    expect_out_has '"alpn":"http/1.1","sni":"localhost"'
    run $c -d 'nope' -X PUT "https://localhost:$port/kv/b"
    expect_out_has "bad JSON"
    wrk -t1 -c4 -d2s "https://127.0.0.1:$port/kv" >"$T/wrk.out" 2>&1 || { kill $pid; fail "wrk: $(cat "$T/wrk.out")"; }
    grep -q "requests in" "$T/wrk.out" || { kill $pid; fail "wrk ran no requests: $(cat "$T/wrk.out")"; }
    kill -INT $pid; wait $pid
    [ -s "$T/s.cpuprofile" ] || fail "no profile; the server said: $(head -c 1500 "$T/srv.err")"
    run $MRPROF report --format tsv --top 0 "$T/s.cpuprofile"
    local f
    for f in "KVAPI#call" "KVAPI#list" "TLS::Engine#feed" "TLS::Engine#write" "TLS::Socket#__tls_process" "HTTP::Connection#__data"; do
        printf '%s\n' "$out" | awk -F'\t' -v f="$f" '$6 == f { found = 1 } END { exit !found }' || fail "the profile lacks $f"
    done
}

t_ipv6_server_and_client_check_the_ip_san() {
    pki
    run timeout 60 $MRUN -e '
      pki = ARGV[0]
      s = HTTPS.create_server(cert: "#{pki}/server.pem", key: "#{pki}/server.key") { |req, res| res.end("#{req.socket.remote_address} #{req.headers["host"]}") }
      s.listen(0, "::1") do
        r = HTTPS.get("https://[::1]:#{s.address[:port]}/", ca: "#{pki}/ca.pem") { |res| res.read_body { |b| puts b.sub(/:\d+$/, ""); HTTPS.global_agent.destroy; s.close } }
        r.on(:error) { |e| puts "#{e.code} #{e.message}"; s.close }
      end' "$T/pki"
    expect_rc 0
    expect_out "::1 [::1]"
}

t_bad_options_raise_at_the_call() {
    pki
    run $MRUN -e 'begin; HTTPS.create_server(cert: "/nonexistent.pem", key: "/nonexistent.key"); rescue => e; puts "#{e.class}: #{e.message}"; end
                  begin; HTTPS.create_server(key: "x"); rescue => e; puts "#{e.class}: #{e.message}"; end
                  begin; HTTPS.create_server(cert: "'"$T/pki/server.pem"'", key: "'"$T/pki/server.key"'", bogus: 1); rescue => e; puts "#{e.class}: #{e.message}"; end'
    expect_rc 0
    expect_out_has "/nonexistent.pem"
    expect_out_has "ArgumentError: HTTPS.create_server needs cert: and key:"
    expect_out_has "ArgumentError: unknown option :bogus"
}

[ "${1:-}" = --lib ] || run_tests
