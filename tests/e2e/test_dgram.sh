#!/usr/bin/env bash
# End-to-end tests of Dgram (UDP on 127.0.0.1 and ::1) against Python's socket module as the
# peer (tests/scripts/dgram/peer.py) and between mrun's own sockets: the scripts under
# tests/scripts/dgram/ check themselves and print "ok ..." / "FAIL ..." lines and "all passed".
# IPv6 tests are skipped, saying so ("# SKIP" on their ok line), when ::1 cannot be bound.
source "$(dirname "$0")/lib.sh"

# Debian's python3 when there is one: a pyenv shim first on PATH takes seconds to start.
PY=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}
export PY

need_python() { command -v "$PY" >/dev/null || fail "python3 is needed for the UDP peer (tests/scripts/dgram/peer.py)"; }
# has_v6: ::1 can be bound (else the caller skips, saying so)
has_v6() {
    "$PY" -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null && return 0
    skip "::1 is not available here: the IPv6 test is skipped"
    return 1
}

dgram_script() {  # dgram_script NAME [ARGS...]: runs it, expects "all passed" and exit 0
    local name=$1; shift
    run $MRUN "tests/scripts/dgram/$name.rb" "$@"
    [ "$rc" = 0 ] && case $out in *"all passed"*) true ;; *) false ;; esac ||
        fail "exit $rc; $(printf '%s\n' "$out" | grep -v '^ok ' | head -n 8) $(printf '%s' "$err" | head -c 400)"
    case $out in *"skip:"*) skip "$(printf '%s\n' "$out" | sed -n 's/^skip: //p')" ;; esac
}

# wait_for FILE SED-PATTERN: up to 30 s (a sanitized mrun on a loaded machine is slow to start)
# for a server to print its port.
wait_for() {
    local p=""
    for _ in $(seq 300); do
        p=$(sed -n "$2" "$1" 2>/dev/null); [ -n "$p" ] && break; sleep 0.1
    done
    printf '%s' "$p"
}

# Python's client against mrun's echo server (tests/scripts/dgram/echo.rb): the server stays up
# (an open bound socket keeps mrun alive) until "quit", then closes and mrun ends by itself.
python_against_mrun() {  # HOST
    need_python
    $MRUN tests/scripts/dgram/echo.rb "$1" >"$T/server.out" 2>&1 &
    local pid=$! port
    port=$(wait_for "$T/server.out" 's/^listening //p')
    [ -n "$port" ] || { kill $pid; fail "echo.rb did not start: $(cat "$T/server.out")"; }
    run "$PY" tests/scripts/dgram/peer.py client "$1" "$port" 1000
    wait $pid; local src=$?
    [ "$rc" = 0 ] && case $out in *"all passed"*) ;; *) false ;; esac ||
        fail "peer.py client: $out $err; server: $(cat "$T/server.out")"
    [ "$src" = 0 ] || fail "mrun's echo server exited $src: $(cat "$T/server.out")"
    grep -q '^closed$' "$T/server.out" || fail "the server did not close at quit: $(cat "$T/server.out")"
}

# mrun's client (tests/scripts/dgram/client.rb) against Python's echo server.
mrun_against_python() {  # HOST
    need_python
    "$PY" tests/scripts/dgram/peer.py server "$1" >"$T/py.out" 2>&1 &
    local pid=$! port
    port=$(wait_for "$T/py.out" 's/^port //p')
    [ -n "$port" ] || { kill $pid; fail "peer.py server did not start: $(cat "$T/py.out")"; }
    dgram_script client "$1" "$port" 1000
    wait $pid || fail "peer.py server: $(cat "$T/py.out")"
}

t_python_client_and_mrun_echo_server_ipv4() { python_against_mrun 127.0.0.1; }
t_python_client_and_mrun_echo_server_ipv6() { has_v6 || return 0; python_against_mrun ::1; }
t_mrun_client_and_python_echo_server_ipv4() { mrun_against_python 127.0.0.1; }
t_mrun_client_and_python_echo_server_ipv6() { has_v6 || return 0; mrun_against_python ::1; }

t_connected_sockets_ipv4() { dgram_script connected; }
t_connected_sockets_ipv6() {
    has_v6 || return 0
    local name
    # a name that resolves to ::1 here, if there is one (Debian's /etc/hosts: ip6-localhost)
    for name in localhost ip6-localhost ip6-loopback; do
        [ "$(getent ahostsv6 "$name" 2>/dev/null | awk 'NR == 1 { print $1 }')" = ::1 ] && break
        name=::1
    done
    dgram_script connected v6 "$name"
}

t_errors_are_events_or_raise_at_the_call() { dgram_script errors; }
t_broadcast_ttl_buffer_sizes_and_multicast_ipv4() { dgram_script options; }
t_broadcast_ttl_buffer_sizes_and_multicast_ipv6() { has_v6 || return 0; dgram_script options v6; }
t_datagrams_larger_than_the_buffers() { dgram_script truncation; }
t_gc_between_events_and_fd_count_back_to_the_start() { dgram_script lifetime 200; }
t_a_datagram_costs_three_objects_and_a_send_none() { dgram_script allocations; }
t_close_in_the_middle_of_a_recvmmsg_batch() { dgram_script close_in_batch; }

# A datagram from Python's socket larger than a socket's max_message_size is cut, and says so.
t_python_datagram_larger_than_the_buffer_is_truncated() {
    need_python
    $MRUN -e 's = Dgram.create_socket(:udp4, max_message_size: 1000) do |m, r|
                 puts "#{m.bytesize} #{r[:size]} #{r[:truncated].inspect}"; s.close
               end
               s.bind(0, "127.0.0.1") { puts "listening #{s.address[:port]}" }' >"$T/out" 2>&1 &
    local pid=$! port
    port=$(wait_for "$T/out" 's/^listening //p')
    [ -n "$port" ] || { kill $pid; fail "did not start: $(cat "$T/out")"; }
    "$PY" tests/scripts/dgram/peer.py send 127.0.0.1 "$port" 65507
    wait $pid || fail "exit $?: $(cat "$T/out")"
    grep -qx '1000 1000 true' "$T/out" || fail "expected '1000 1000 true': $(cat "$T/out")"
}

# The same scenario under Node's dgram and Dgram prints the same lines: EADDRINUSE from bind,
# EMSGSIZE from send (to its block), :listening after an implicit bind, an empty datagram's
# rinfo (keys, family, size), ECONNREFUSED (recvmsg) on a connected socket.
t_codes_events_and_rinfo_match_node() {
    command -v node >/dev/null || { skip "node is not installed: nothing to compare with"; return 0; }
    run node tests/scripts/dgram/same_as_node.js
    [ "$rc" = 0 ] && [ -n "$out" ] || fail "node: exit $rc: $out $err"
    local want=$out
    run $MRUN tests/scripts/dgram/same_as_node.rb
    expect_rc 0
    expect_out "$want"
}

t_exit_when_unbound_unreffed_or_closed() {
    run $MRUN -e 's = Dgram.create_socket(:udp4); s.set_ttl(9); puts "unbound"'
    expect_rc 0; expect_out unbound
    run $MRUN -e 's = Dgram.create_socket(:udp6); s.bind(0, "127.0.0.1") rescue puts "family"; s.bind(0, "::1") { s.unref; puts s.ref? }'
    has_v6 || run $MRUN -e 's = Dgram.create_socket(:udp4); s.bind(0, "127.0.0.1") { s.unref; puts s.ref? }'
    expect_rc 0; expect_out_has false
    run $MRUN -e 's = Dgram.create_socket(:udp4); s.bind(0, "127.0.0.1") { s.close { puts "closed" } }'
    expect_rc 0; expect_out closed
    # unref then ref: the bound socket alone keeps mrun alive until its own datagram arrives
    # (the timer that sends it is unref'd: it keeps nothing alive)
    run $MRUN -e 's = Dgram.create_socket(:udp4) { |m, _| puts m; s.close }
                  s.bind(0, "127.0.0.1") do
                    s.unref; s.ref
                    set_timeout(20) { s.send("still here", s.address[:port]) }.unref
                  end'
    expect_rc 0; expect_out "still here"
    # a send before bind binds (and :listening comes), as in Node
    run $MRUN -e 'a = Dgram.create_socket(:udp4) { |m, r| puts "#{m} from #{r[:port] == $b.address[:port]}"; a.close; $b.close }
                  a.bind(0, "127.0.0.1") { $b = Dgram.create_socket(:udp4); $b.on(:listening) { puts "listening" }
                                           $b.send("implicit", a.address[:port]) }'
    expect_rc 0; expect_lines "listening
implicit from true"
}

t_udp_echo_sample_answers_and_reports_at_ctrl_c() {
    need_python
    $MRUN samples/udp_echo.rb 0 >"$T/server.out" 2>&1 &
    local pid=$! port
    port=$(wait_for "$T/server.out" 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p')
    [ -n "$port" ] || { kill $pid; fail "udp_echo did not start: $(cat "$T/server.out")"; }
    run "$PY" tests/scripts/dgram/peer.py client 127.0.0.1 "$port" 100
    kill -INT $pid; wait $pid; local src=$?
    [ "$rc" = 0 ] || fail "peer.py client: $out $err"
    [ "$src" = 0 ] || fail "udp_echo exited $src after SIGINT: $(cat "$T/server.out")"
    # hello, empty, binary, the largest, 100 numbered, quit (echoed too)
    grep -q 'udp_echo: 105 datagrams' "$T/server.out" || fail "no count at Ctrl-C: $(cat "$T/server.out")"
}

# The profile of the echo server under load names the Ruby handler and Dgram's C methods.
t_profile_of_the_echo_server_names_the_handler() {
    need_python
    $MRUN --cpu-prof --prof-out "$T/echo.cpuprofile" samples/udp_echo.rb 0 >"$T/server.out" 2>&1 &
    local pid=$! port
    port=$(wait_for "$T/server.out" 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p')
    [ -n "$port" ] || { kill $pid; fail "udp_echo did not start: $(cat "$T/server.out")"; }
    run "$PY" tests/scripts/dgram/peer.py client 127.0.0.1 "$port" 20000
    kill -INT $pid; wait $pid
    [ "$rc" = 0 ] || fail "peer.py client: $out $err"
    run $MRPROF report "$T/echo.cpuprofile" --tree
    expect_rc 0
    expect_out_has "UdpEcho#echo"
    expect_out_has "Dgram::Socket#__send"
    expect_out_has "Dgram::Socket#__on_message"
}

[ "${1:-}" = --lib ] || run_tests
