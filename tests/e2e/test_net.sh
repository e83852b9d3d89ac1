#!/usr/bin/env bash
# End-to-end tests of Net (TCP on 127.0.0.1 and ::1, Unix sockets): each script under
# tests/scripts/net/ checks itself and prints "ok ..." / "FAIL ..." lines and "all passed".
source "$(dirname "$0")/lib.sh"

net_script() {  # net_script NAME [ARGS...]: runs it, expects "all passed" and exit 0
    local name=$1; shift
    run $MRUN "tests/scripts/net/$name.rb" "$@"
    [ "$rc" = 0 ] && case $out in *"all passed"*) true ;; *) false ;; esac ||
        fail "exit $rc; $(printf '%s\n' "$out" | grep -v '^ok ' | head -n 8) $(printf '%s' "$err" | head -c 400)"
}

t_listen_port_0_and_echo_on_ipv4_ipv6_and_unix_socket() { net_script echo_families "$T/echo.sock"; }
t_thousand_connections_open_together() { ulimit -n 4096 2>/dev/null; net_script many_clients 1000; }
t_half_close_in_both_directions() { net_script half_close; }
t_ten_mib_intact_under_backpressure_with_drain() { net_script backpressure; }
t_refused_busy_bad_arguments_write_after_end_and_reset() { net_script errors; }
t_server_close_waits_for_open_connections() { net_script server_close; }
t_gc_in_the_middle_of_traffic_and_no_fd_leak() { net_script gc_traffic 200; }
t_large_writes_not_copied_stay_intact_when_the_string_changes() { net_script large_write_then_change; }

# listening_port FILE SED-PATTERN: waits up to 30 s (a sanitized mrun on a loaded machine can
# take seconds to start) for a server to print the port it was given by listen(0).
listening_port() {
    local p=""
    for _ in $(seq 300); do
        p=$(sed -n "$2" "$1"); [ -n "$p" ] && break; sleep 0.1
    done
    printf '%s' "$p"
}

t_http_hello_answers_pipelined_requests() {
    $MRUN samples/http_hello.rb 0 >"$T/server.out" 2>&1 &
    local pid=$! port=""
    port=$(listening_port "$T/server.out" 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p')
    [ -n "$port" ] || { kill $pid; fail "http_hello did not start: $(cat "$T/server.out")"; }
    run $MRUN tests/scripts/net/http_get.rb "$port" 3
    kill $pid; wait $pid 2>/dev/null
    expect_rc 0
    [ "$(printf '%s\n' "$out" | grep -c '^HTTP/1.1 200 OK')" = 3 ] || fail "expected 3 responses: $out"
}

t_echo_server_and_tcp_client_samples() {
    $MRUN samples/echo_server.rb "$T/e.sock" >"$T/server.out" 2>&1 &
    local pid=$!
    for _ in $(seq 300); do [ -S "$T/e.sock" ] && break; sleep 0.1; done
    [ -S "$T/e.sock" ] || { kill $pid; fail "echo_server made no socket: $(cat "$T/server.out")"; }
    $MRUN samples/echo_server.rb 0 >"$T/server4.out" 2>&1 &
    local pid4=$! port=""
    port=$(listening_port "$T/server4.out" 's|.*127.0.0.1:\([0-9]*\).*|\1|p')
    [ -n "$port" ] || { kill $pid $pid4; fail "echo_server did not start: $(cat "$T/server4.out")"; }
    run $MRUN samples/tcp_client.rb "$port" 127.0.0.1 "hi there"
    kill $pid $pid4; wait $pid $pid4 2>/dev/null
    expect_rc 0
    expect_out_has "connected to 127.0.0.1:$port"
    expect_out_has "hi there"
    expect_out_has "closed"
}

t_refused_connection_in_tcp_client_exits_1_with_the_code() {
    run $MRUN samples/tcp_client.rb 1
    expect_rc 1
    expect_err_has "connect ECONNREFUSED 127.0.0.1:1"
}

t_unresolvable_host_is_an_error_event() {
    run $MRUN -e 'c = Net.create_connection(port: 80, host: "no-such-host.invalid")
                  c.on(:error) { |e| puts "#{e.code} #{e.syscall}" }'
    expect_rc 0
    case $out in "EAI_NONAME getaddrinfo"|"EAI_AGAIN getaddrinfo"|"EAI_FAIL getaddrinfo") ;; *) fail "got [$out]";; esac
}

t_localhost_resolves_and_connects() {
    run $MRUN -e 's = Net.create_server { |x| x.end("hello") }
                  s.listen(0) { c = Net.create_connection(port: s.address[:port], host: "localhost")
                                c.on(:data) { |d| puts d }; c.on(:close) { s.close } }'
    expect_rc 0
    expect_out "hello"
}

[ "${1:-}" = --lib ] || run_tests
