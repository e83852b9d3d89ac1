#!/bin/sh
# valgrind_http_client.sh — the HTTP client under valgrind's leak checker (run by tests/run.sh's
# valgrind suite): requests of every kind, the keep-alive pool and the error paths, against
# Python's http.server and raw sockets (tests/scripts/http_client/server.py).
set -u
command -v python3 >/dev/null 2>&1 || { echo "python3 is needed (the peer server)"; exit 1; }
fail=0
dir=$(mktemp -d /tmp/mrprof-vg-http-client.XXXXXX)
python3 tests/scripts/http_client/server.py "$dir/http.port" "$dir/http.log" >"$dir/http.out" 2>&1 &
http_pid=$!
python3 tests/scripts/http_client/server.py --raw "$dir/raw.port" "$dir/raw.log" >"$dir/raw.out" 2>&1 &
raw_pid=$!
for _ in $(seq 300); do [ -s "$dir/http.port" ] && [ -s "$dir/raw.port" ] && break; sleep 0.1; done
if ! [ -s "$dir/http.port" ] || ! [ -s "$dir/raw.port" ]; then
    echo "server.py did not start: $(cat "$dir/http.out" "$dir/raw.out")"
    kill $http_pid $raw_pid 2>/dev/null
    rm -rf "$dir"
    exit 1
fi
http=$(cat "$dir/http.port")
raw=$(cat "$dir/raw.port")
# The scripts' deadlines are for the plain build; timeout(1) below bounds a hang.
export MRPROF_DEADLINE_SCALE=10
for args in "basics $http" "redirects $http" "keepalive $http $raw" "errors $http $raw"; do
    set -- $args
    name=$1; shift
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/http_client/$name.rb" "$@" >"$dir/out" 2>"$dir/log"; then
        echo "http_client/$name.rb under valgrind:"; head -n 30 "$dir/log"; grep -v '^ok ' "$dir/out" | tail -n 5
        fail=1
    fi
done
kill $http_pid $raw_pid 2>/dev/null
wait 2>/dev/null
rm -rf "$dir"
exit $fail
