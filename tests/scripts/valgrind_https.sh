#!/bin/sh
# valgrind_https.sh — HTTPS under valgrind's leak checker (run by tests/run.sh's valgrind suite):
# loopback.rb (server and clients in one process: bad clients, redirects, client certificates,
# 40 pooled requests) and client.rb against pyserver.py (Python's ssl http.server: keep-alive,
# session resumption, refused certificates, verify: false).
set -u
fail=0
command -v openssl >/dev/null || { echo "valgrind_https.sh: the openssl tool is missing (make_certs.sh needs it)"; exit 1; }
command -v python3 >/dev/null || { echo "valgrind_https.sh: python3 is missing (the peer server)"; exit 1; }
export MRPROF_DEADLINE_SCALE=10
dir=$(mktemp -d /tmp/mrprof-vg-https.XXXXXX)
sh tests/scripts/tls/make_certs.sh "$dir/pki" >/dev/null 2>&1 || { echo "make_certs.sh failed"; rm -rf "$dir"; exit 1; }
mkfifo "$dir/hold"
python3 tests/scripts/https/pyserver.py "$dir/pki" "$dir/ports" <"$dir/hold" >"$dir/py.out" 2>&1 &
py=$!
exec 3>"$dir/hold" # pyserver.py ends when this closes
for _ in $(seq 300); do [ -s "$dir/ports" ] && break; sleep 0.1; done
if ! [ -s "$dir/ports" ]; then
    echo "pyserver.py did not start: $(cat "$dir/py.out")"; exec 3>&-; rm -rf "$dir"; exit 1
fi
for args in "loopback $dir/pki" "client $dir/pki $dir/ports"; do
    set -- $args
    name=$1; shift
    if ! timeout -k 5 400 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/https/$name.rb" "$@" >"$dir/out" 2>"$dir/log" ||
        ! grep -q "all passed" "$dir/out"; then
        echo "https/$name.rb under valgrind:"; head -n 30 "$dir/log"; grep -v '^ok ' "$dir/out" | tail -n 5
        fail=1
    fi
done
exec 3>&-
wait $py 2>/dev/null
rm -rf "$dir"
exit $fail
