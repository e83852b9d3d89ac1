#!/usr/bin/env bash
# End-to-end tests of the HTTP client (HTTP.request, HTTP.get, HTTP::Agent) against a peer no
# one here wrote: Python's http.server (tests/scripts/http_client/server.py), and raw Python
# sockets for what a correct server never sends (malformed heads, cut bodies, silence). Each
# script under tests/scripts/http_client/ checks itself and prints "ok ..." / "FAIL ..." lines
# and "all passed". Everything on 127.0.0.1 / ::1 with port 0.
source "$(dirname "$0")/lib.sh"

# start_peer NAME [server.py options]: starts server.py, waits (up to 30 s) for its port file;
# sets $peer_port and remembers the pid in $T/NAME.pid for stop_peers.
start_peer() {
    local name=$1; shift
    command -v python3 >/dev/null || fail "python3 is needed for the HTTP client's tests (the peer server)"
    python3 tests/scripts/http_client/server.py "$@" "$T/$name.port" "$T/$name.log" \
        >"$T/$name.out" 2>&1 &
    echo $! >"$T/$name.pid"
    for _ in $(seq 300); do [ -s "$T/$name.port" ] && break; sleep 0.1; done
    [ -s "$T/$name.port" ] || { stop_peers; fail "server.py $* did not start: $(cat "$T/$name.out")"; }
    peer_port=$(cat "$T/$name.port")
}
stop_peers() {
    local f
    for f in "$T"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
    wait 2>/dev/null
}

client_script() {  # client_script NAME [ARGS...]: runs it, expects "all passed" and exit 0
    local name=$1; shift
    run $MRUN "tests/scripts/http_client/$name.rb" "$@"
    stop_peers
    [ "$rc" = 0 ] && case $out in *"all passed"*) true ;; *) false ;; esac ||
        fail "exit $rc; $(printf '%s\n' "$out" | grep -v '^ok ' | head -n 8) $(printf '%s' "$err" | head -c 400)"
}

t_get_post_chunked_head_204_304_and_expect_continue_on_ipv4() {
    start_peer http
    client_script basics "$peer_port"
}

t_the_same_on_ipv6() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
        { echo "::1 is not available here" >&2; fail "no IPv6 loopback on this machine"; }
    start_peer http6 --host ::1
    client_script basics "$peer_port" ::1
}

t_unix_socket() {
    start_peer unix --unix "$T/http.sock"
    client_script unix "$T/http.sock"
}

t_redirects_followed_only_when_asked() {
    start_peer http
    client_script redirects "$peer_port"
}

t_keep_alive_pool_reuses_and_drops_closed_sockets() {
    start_peer http; local port=$peer_port
    start_peer raw --raw
    client_script keepalive "$port" "$peer_port"
    # the server saw the reuse too: the first test's three requests came from one client port
    [ -s "$T/http.log" ] || fail "the server logged nothing"
}

t_refused_timeout_malformed_cut_hangup_and_caller_errors() {
    start_peer http; local port=$peer_port
    start_peer raw --raw
    client_script errors "$port" "$peer_port"
}

t_two_hundred_requests_at_once_and_fds_back_to_the_start() {
    ulimit -n 4096 2>/dev/null
    start_peer http
    client_script fds "$peer_port" 200
}

t_an_error_nobody_listens_to_ends_the_program() {
    run $MRUN -e 'p = Net.create_server; p.listen(0) { port = p.address[:port]; p.close { HTTP.get("http://127.0.0.1:#{port}/") } }'
    expect_rc 1
    expect_err_has "connect ECONNREFUSED 127.0.0.1"
    expect_err_has "HTTP::Error"
}

t_an_idle_pool_does_not_keep_mrun_alive() {
    start_peer http
    # free sockets would be closed after 10 minutes: mrun must exit at once, not then
    run timeout 60 $MRUN -e 'a = HTTP::Agent.new(free_socket_timeout: 600_000)
        HTTP.get("http://127.0.0.1:'"$peer_port"'/hello", agent: a) { |r| r.read_body { |b| puts b } }'
    stop_peers
    expect_rc 0
    expect_out "hello world"
}

t_body_matches_what_python_urllib_reads() {
    start_peer http
    local py
    py=$(python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:'"$peer_port"'/chunked").read().decode())')
    run $MRUN -e 'HTTP.get("http://127.0.0.1:'"$peer_port"'/chunked") { |r| r.read_body { |b| print b } }'
    stop_peers
    expect_rc 0
    [ -n "$py" ] || fail "urllib read nothing"
    expect_out "$py"
}

t_request_framing_matches_nodes_http_client() {
    command -v node >/dev/null || fail "node is not installed: cannot compare with Node's http client"
    start_peer http
    local node_out
    node_out=$(node tests/scripts/http_client/compare_node.js "$peer_port") || { stop_peers; fail "node failed"; }
    run $MRUN tests/scripts/http_client/compare_node.rb "$peer_port"
    stop_peers
    expect_rc 0
    [ "$(printf '%s\n' "$node_out" | wc -l)" = 8 ] || fail "node's output: $node_out"
    expect_out "$node_out"
}

[ "${1:-}" = --lib ] || run_tests
