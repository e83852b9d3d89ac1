#!/usr/bin/env bash
# End-to-end tests of TLS (net/tls.c, runtime/prelude/tls.rb) against real peers that no one
# here wrote: `openssl s_server` (mrun's TLS.connect) and `openssl s_client` (mrun's
# TLS.create_server), plus mrun against itself for bulk transfers, bad clients and bad
# arguments. A fresh throwaway PKI per test (tests/scripts/tls/make_certs.sh); everything on
# 127.0.0.1 with port 0, each peer bounded by `timeout`.
source "$(dirname "$0")/lib.sh"

export S=tests/scripts/tls

certs() {
    command -v openssl >/dev/null || fail "the openssl tool is missing (tools/deps.sh installs it): cannot test TLS against a real peer"
    sh $S/make_certs.sh "$T/pki" >"$T/certs.log" 2>&1 || fail "make_certs.sh failed: $(cat "$T/certs.log")"
}

# listening_port FILE SED-PATTERN: waits up to 30 s for a server to print its port.
listening_port() {
    local p=""
    for _ in $(seq 300); do
        p=$(sed -n "$2" "$1"); [ -n "$p" ] && break; sleep 0.1
    done
    printf '%s' "$p"
}

# wait_exit PID: waits up to 30 s for a background process to end (its status in $wrc);
# fails if it does not.
wait_exit() {
    for _ in $(seq 300); do
        kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; wrc=$?; return 0; }
        sleep 0.1
    done
    kill "$1" 2>/dev/null; fail "process $1 did not finish"
}

# wait_server: server.rb ($spid) must exit 0 (a sanitizer's report would make it 1 or abort).
wait_server() {
    wait_exit $spid
    [ "$wrc" = 0 ] || fail "server.rb exited $wrc: $(tail -n 20 "$T/server.out")"
}

# s_server ARGS...: openssl s_server on 127.0.0.1, a port of its own; sets $sspid, $ssport.
s_server() {
    : >"$T/ss.out"   # emptied first: see start_cluster in test_cluster.sh
    timeout 60 openssl s_server -accept 127.0.0.1:0 "$@" >"$T/ss.out" 2>&1 &
    sspid=$!
    ssport=$(listening_port "$T/ss.out" 's/^ACCEPT .*:\([0-9]*\)$/\1/p')
    [ -n "$ssport" ] || { kill $sspid; fail "s_server did not start: $(cat "$T/ss.out")"; }
}

# s_server_quiet ARGS...: s_server -quiet (what it reads goes to $T/ss.out and nothing else,
# so it does not print its port): a port probed free, then waits until it listens (the
# kernel's table of listening sockets); sets $sspid, $ssport.
s_server_quiet() {
    ssport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # its stdin stays open (a FIFO this shell holds): at end of input s_server would hang up
    mkfifo "$T/ss.in"
    timeout 60 openssl s_server -accept 127.0.0.1:$ssport -quiet "$@" <"$T/ss.in" >"$T/ss.out" 2>"$T/ss.err" &
    sspid=$!
    exec 7>"$T/ss.in"
    local hex
    hex=$(printf '%04X' "$ssport")
    for _ in $(seq 300); do
        grep -q "^ *[0-9]*: 0100007F:$hex 00000000:0000 0A" /proc/net/tcp && return 0
        sleep 0.1
    done
    kill $sspid; fail "s_server did not listen on $ssport: $(cat "$T/ss.err")"
}

# mrun_server ARGS...: tests/scripts/tls/server.rb in the background; sets $spid, $port.
mrun_server() {
    : >"$T/server.out"   # emptied first: see start_cluster in test_cluster.sh
    $MRUN $S/server.rb "$T/pki" "$@" >"$T/server.out" 2>&1 &
    spid=$!
    port=$(listening_port "$T/server.out" 's/^PORT //p')
    [ -n "$port" ] || { kill $spid; fail "server.rb did not start: $(cat "$T/server.out")"; }
}

# s_client INPUT ARGS...: openssl s_client to $port, verifying against the test CA; $out.
s_client() {
    local input=$1; shift
    out=$(printf '%s' "$input" | timeout 20 openssl s_client -connect 127.0.0.1:$port \
        -CAfile "$T/pki/ca.pem" -ign_eof "$@" 2>&1)
}

client() { run $MRUN $S/client.rb "$T/pki" port=$ssport "$@"; }

script() { # script NAME: runs tests/scripts/tls/NAME.rb, expects "all passed"
    certs
    run $MRUN $S/$1.rb "$T/pki" "${@:2}"
    [ "$rc" = 0 ] && case $out in *"all passed"*) true ;; *) false ;; esac ||
        fail "exit $rc; $(printf '%s\n' "$out" | grep -v '^ok ' | head -n 8) $(printf '%s' "$err" | head -c 400)"
}

# --- mrun client, openssl s_server ---------------------------------------------------------

t_client_tls13_and_tls12_with_alpn_against_s_server() {
    certs
    s_server -cert "$T/pki/server.pem" -key "$T/pki/server.key" -www -alpn h2 -naccept 3
    client host=localhost alpn=http/1.1,h2
    expect_rc 0
    expect_out_has "secure authorized=true error=nil protocol=TLSv1.3 alpn=\"h2\" reused=false cn=localhost"
    expect_out_has "Protocol  : TLSv1.3"
    expect_order "end" "close had_error=false"
    # s_server insists on ALPN when it has a list (RFC 7301's no_application_protocol alert)
    client alpn=spdy/1
    expect_out_has "error ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL (tlsv1 alert no application protocol)"
    client max=TLSv1.2
    wait_exit $sspid
    expect_rc 0
    expect_out_has "secure authorized=true error=nil protocol=TLSv1.2 alpn=nil"
    expect_out_has "Protocol  : TLSv1.2"
    expect_out_has "close had_error=false"
}

t_client_refuses_wrong_host_expired_and_self_signed_with_the_code() {
    certs
    local c
    for c in "other localhost ERR_TLS_CERT_ALTNAME_INVALID (hostname mismatch)" \
             "other 127.0.0.1 ERR_TLS_CERT_ALTNAME_INVALID (IP address mismatch)" \
             "expired localhost CERT_HAS_EXPIRED (certificate has expired)" \
             "self localhost DEPTH_ZERO_SELF_SIGNED_CERT (self-signed certificate)"; do
        set -- $c
        s_server -cert "$T/pki/$1.pem" -key "$T/pki/$1.key" -www -naccept 1
        client host=$2
        kill $sspid 2>/dev/null; wait $sspid 2>/dev/null
        expect_rc 0
        expect_out_has "error $3 ${*:4}"
        expect_out_has "close had_error=true"
        case $out in *"secure "*) fail "$1 was accepted: $out" ;; esac
    done
    # verify: false connects anyway and says why it is not authorized.
    s_server -cert "$T/pki/self.pem" -key "$T/pki/self.key" -www -naccept 1
    client host=localhost verify=0
    wait_exit $sspid
    expect_rc 0
    expect_out_has "secure authorized=false error=\"DEPTH_ZERO_SELF_SIGNED_CERT\" protocol=TLSv1.3"
    expect_out_has "close had_error=false"
}

t_client_certificate_when_s_server_asks() {
    certs
    s_server -cert "$T/pki/server.pem" -key "$T/pki/server.key" -www -naccept 2 \
        -Verify 1 -CAfile "$T/pki/ca.pem" -verify_return_error
    client cert=client
    expect_rc 0
    expect_out_has "secure authorized=true"
    expect_out_has "Protocol  : TLSv1.3"
    expect_out_has "close had_error=false"
    client
    wait_exit $sspid
    expect_rc 0
    # TLS 1.3: the client's handshake is over before the server judges the certificate, so
    # the refusal arrives as the server's alert on the first read.
    expect_out_has "error ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"
}

t_client_resumes_a_session_with_s_server() {
    certs
    local v
    for v in TLSv1.3 TLSv1.2; do
        s_server -cert "$T/pki/server.pem" -key "$T/pki/server.key" -www -naccept 2
        client max=$v session_out="$T/sess.$v"
        expect_rc 0
        expect_out_has "reused=false"
        expect_file "$T/sess.$v"
        client max=$v session_in="$T/sess.$v"
        wait_exit $sspid
        expect_rc 0
        expect_out_has "reused=true"
        expect_out_has "Reused, $v"
    done
}

t_client_sends_and_receives_megabytes_with_s_server() {
    certs
    # Up: 6 MiB from mrun to s_server (-quiet: what it reads goes to stdout), then
    # close_notify; s_server's copy must be the same bytes.
    s_server_quiet -cert "$T/pki/server.pem" -key "$T/pki/server.key" -naccept 1
    client big=6291456
    wait_exit $sspid
    expect_rc 0
    expect_out_has "secure authorized=true"
    local want
    want=$(python3 -c 'import sys; sys.stdout.write("0123456789abcdef" * 393216)' | sha256sum)
    [ "$(sha256sum <"$T/ss.out")" = "$want" ] ||
        fail "s_server did not receive the 6 MiB intact ($(wc -c <"$T/ss.out") bytes)"
    # Down: s_server -WWW serves a 5 MiB file; the client compares it with the file.
    head -c 5242880 /dev/urandom >"$T/big.bin"
    { printf 'HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n'; cat "$T/big.bin"; } >"$T/big.http"
    cd "$T" && s_server -cert "$T/pki/server.pem" -key "$T/pki/server.key" -WWW -naccept 1
    cd "$ROOT"
    client send="$(printf 'GET /big.bin HTTP/1.0\r\n\r\n')" expect_file="$T/big.http"
    wait_exit $sspid
    expect_rc 0
    expect_out_has "same as $T/big.http"
}

# --- mrun server, openssl s_client ---------------------------------------------------------

t_server_tls12_tls13_alpn_and_close_notify_with_s_client() {
    certs
    mrun_server count=3 alpn=h2,http/1.1
    s_client "hello" -tls1_3 -alpn h2 -servername localhost -verify_return_error
    expect_out_has "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"
    expect_out_has "ALPN protocol: h2"
    expect_out_has "Verify return code: 0 (ok)"
    expect_out_has "echo:hello"
    expect_out_has "closed"
    s_client "hi12" -tls1_2 -alpn http/1.1,h2 -verify_return_error
    expect_out_has "New, TLSv1.2, Cipher is ECDHE-ECDSA"
    expect_out_has "ALPN protocol: h2"
    expect_out_has "echo:hi12"
    # no protocol in common: refused with no_application_protocol, as Node's server does
    s_client "x" -alpn spdy/3
    expect_out_has "no application protocol"
    wait_server
    out=$(cat "$T/server.out")
    expect_out_has "secure protocol=TLSv1.3 alpn=\"h2\" servername=\"localhost\" authorized=false peer=none reused=false encrypted=true"
    expect_out_has "secure protocol=TLSv1.2 alpn=\"h2\" servername=nil"
    expect_out_has "client_error ERR_SSL_NO_APPLICATION_PROTOCOL no application protocol destroyed=true"
    [ "$(grep -c '^end$' "$T/server.out")" = 2 ] || fail "each s_client's answer to our close_notify should be a clean :end: $out"
}

t_server_min_version_refuses_an_older_client() {
    certs
    mrun_server count=2 min=TLSv1.3
    s_client "a" -tls1_2
    expect_out_has "alert protocol version"
    s_client "b" -tls1_3
    expect_out_has "echo:b"
    wait_server
    out=$(cat "$T/server.out")
    expect_out_has "client_error ERR_SSL_UNSUPPORTED_PROTOCOL unsupported protocol destroyed=true"
    expect_out_has "secure protocol=TLSv1.3"
}

t_server_ends_with_close_notify_that_s_client_sees() {
    certs
    mrun_server count=1 expect=5
    s_client "12345" -verify_return_error
    wait_server
    # s_client prints "closed" for a close_notify (SSL_ERROR_ZERO_RETURN), not for a bare FIN
    expect_out_has "12345"
    expect_out_has "closed"
}

t_server_picks_the_certificate_by_sni() {
    certs
    mrun_server count=3 sni=other.test:other,*.wild.test:other
    s_client "a" -servername other.test -verify_hostname other.test -verify_return_error
    expect_out_has "subject=CN = other.test"
    expect_out_has "Verify return code: 0 (ok)"
    s_client "b" -servername localhost -verify_hostname localhost -verify_return_error
    expect_out_has "subject=CN = localhost"
    expect_out_has "Verify return code: 0 (ok)"
    s_client "c" -servername x.wild.test
    expect_out_has "subject=CN = other.test"
    wait_server
    out=$(cat "$T/server.out")
    expect_out_has 'servername="other.test"'
    expect_out_has 'servername="localhost"'
    expect_out_has 'servername="x.wild.test"'
}

t_server_asks_for_a_client_certificate() {
    certs
    mrun_server count=2 ca=1 request_cert=1
    s_client "a" -cert "$T/pki/client.pem" -key "$T/pki/client.key"
    expect_out_has "echo:a"
    s_client "b"
    wait_server
    out=$(cat "$T/server.out")
    expect_out_has "authorized=true peer=test-client"
    expect_out_has "client_error ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE peer did not return a certificate destroyed=true"
    # reject_unauthorized: false lets a client without one in, not authorized
    mrun_server count=2 ca=1 request_cert=1 reject=0
    s_client "c"
    expect_out_has "echo:c"
    s_client "d" -cert "$T/pki/self.pem" -key "$T/pki/self.key"
    expect_out_has "echo:d"
    wait_server
    out=$(cat "$T/server.out")
    expect_out_has "authorized=false peer=none"
    expect_out_has "authorized=false peer=localhost"
}

t_server_resumes_sessions_for_s_client() {
    certs
    local v
    for v in tls1_3 tls1_2; do
        mrun_server count=2
        s_client "a" -$v -sess_out "$T/sess.$v"
        expect_out_has "New, TLSv1"
        s_client "b" -$v -sess_in "$T/sess.$v"
        expect_out_has "Reused, TLSv1"
        wait_server
        out=$(cat "$T/server.out")
        expect_out_has "reused=false"
        expect_out_has "reused=true"
    done
}

t_server_echoes_megabytes_to_s_client() {
    certs
    head -c 6000000 /dev/urandom >"$T/up.bin"
    mrun_server count=1 expect=6000000
    timeout 60 openssl s_client -connect 127.0.0.1:$port -CAfile "$T/pki/ca.pem" -quiet \
        <"$T/up.bin" >"$T/down.bin" 2>"$T/sc.err"
    wait_server
    out=$(cat "$T/server.out")
    expect_out_has "received 6000000"
    cmp -s "$T/up.bin" "$T/down.bin" || fail "the echo differs: $(wc -c <"$T/down.bin") bytes back; $(head -c 300 "$T/sc.err")"
}

# A client that resets the TCP connection mid-handshake (RST, as wrk's connections when it
# stops): before the fix this was an :error on a socket nobody listened to, which raised and
# ended the server. It is a :tls_client_error; the next client is served.
t_server_survives_a_reset_mid_handshake() {
    certs
    mrun_server count=2
    # The ClientHello goes out; once the server's answer is there (unread), the client resets.
    timeout 20 python3 - "$port" <<'PY' || fail "the resetting client failed"
import select, socket, ssl, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s, do_handshake_on_connect=False)
t.setblocking(False)
try:
    t.do_handshake()
except ssl.SSLWantReadError:
    pass
if not select.select([t], [], [], 15)[0]:
    sys.exit("the server never answered the ClientHello")
t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
t.close()
PY
    s_client "hello"
    wait_server
    out=$(cat "$T/server.out")
    # The reset is the server's :tls_client_error when it lands before OpenSSL ends the
    # handshake, or the socket's :error once :secure came first (seen in about a third of the
    # runs, old code as well); what is promised is that it is an ECONNRESET event, never an
    # uncaught error, and that the next client is served.
    printf '%s\n' "$out" | grep -qE '^(client_error|error) ECONNRESET' ||
        fail "the reset is not an ECONNRESET event: $out"
    expect_out_has "secure protocol="
    expect_out_has "end"
}

# --- mrun against itself -------------------------------------------------------------------

t_bulk_both_ways_with_backpressure_and_no_fd_leak() { script bulk 16 backpressure; }
t_garbage_http_hangup_and_stalled_clients_while_another_is_served() { script bad_clients; }
t_bad_arguments_timeouts_refusals_and_write_after_end() { script errors; }
t_sni_alpn_accessors_sessions_and_client_certs_between_mrun_peers() { script features; }

t_profile_names_the_tls_engine() {
    certs
    run $MRUN --cpu-prof --prof-out "$T/tls.cpuprofile" $S/bulk.rb "$T/pki" 32
    expect_rc 0
    run $MRPROF report "$T/tls.cpuprofile"
    expect_rc 0
    expect_out_has "TLS::Engine#feed"
    expect_out_has "TLS::Engine#write"
}

[ "${1:-}" = --lib ] || run_tests
