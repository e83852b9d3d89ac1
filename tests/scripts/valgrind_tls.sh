#!/bin/sh
# valgrind_tls.sh — TLS under valgrind's leak checker (run by tests/run.sh's valgrind suite):
# a client and a server in one script moving 2 MiB each way with backpressure; bad clients
# (garbage, plain HTTP, hang-up and stall mid-handshake) beside a good one; bad arguments,
# handshake timeouts and refusals; SNI, ALPN, sessions and client certificates. Every SSL, SSL_CTX and BIO must be freed.
set -u
fail=0
command -v openssl >/dev/null || { echo "valgrind_tls.sh: the openssl tool is missing (make_certs.sh needs it)"; exit 1; }
export MRPROF_DEADLINE_SCALE=10
pki=$(mktemp -d /tmp/mrprof-vg-tls.XXXXXX)
sh tests/scripts/tls/make_certs.sh "$pki" >/dev/null 2>&1 || { echo "make_certs.sh failed"; rm -rf "$pki"; exit 1; }
for args in "bulk 2" "bad_clients" "errors" "features"; do
    set -- $args
    name=$1; shift
    log=$(mktemp /tmp/mrprof-vg-tls.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/tls/$name.rb" "$pki" "$@" >"$log.out" 2>"$log" ||
        ! grep -q "all passed" "$log.out"; then
        echo "tls/$name.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -f "$log" "$log.out"
done
rm -rf "$pki"
exit $fail
