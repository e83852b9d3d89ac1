#!/usr/bin/env bash
# Soak (called by tests/bench/run.sh; about 3 minutes): hostile clients against the runtime,
# loopback and Unix sockets only, bounded in count (tests/bench/churn.c is the client).
#   1. samples/echo_server.rb and samples/http_hello.rb under SOAK_CONNS (100 000) connections
#      that end badly, reset and half-closed in turn; RSS and open descriptors of the server
#      after 1 000 to warm up and at the end (they should be flat), and whether it still serves.
#   2. the echo server on a Unix socket: clients that send 256 KiB and close without reading
#      (SIGPIPE), and http_hello under a client pipelining 100 MB of requests it never reads.
#   3. the live agent: mrun --prof-live at 10 kHz with 100 garbage clients sending junk while a
#      real viewer watches; the script must finish with a valid profile.
set -u
cd "$(dirname "$0")/../.."
CONNS=${SOAK_CONNS:-100000}
MRUN=${MRUN:-build/mrun}
MRPROF=${MRPROF:-build/mrprof}
tmp=$(mktemp -d /tmp/mrprof-soak.XXXXXX)
srv=""
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
cc -std=c11 -D_GNU_SOURCE -O2 -o "$tmp/churn" tests/bench/churn.c || exit 1

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
stat_of() { sleep 0.5; printf '%s kB %s fds' "$(rss "$1")" "$(fds "$1")"; }

start() {  # start LOG SCRIPT ARGS...: sets $srv and $port
    local log=$1; shift
    $MRUN "$@" >"$log" 2>&1 &
    srv=$!
    for _ in $(seq 200); do grep -q listening "$log" && break; sleep 0.05; done
    port=$(sed -n 's|.*127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" | head -n 1)
}
stop() { kill $srv 2>/dev/null; wait $srv 2>/dev/null; srv=""; }

echo "== soak: $CONNS connections ending in a reset or a half-close, in turn (tests/bench/churn.c)"
echo "   the server's RSS (kB) and open descriptors after 1 000 to warm up, then after each quarter"
for sample in echo_server http_hello; do
    start "$tmp/$sample.out" "samples/$sample.rb" 0
    "$tmp/churn" mixed "$port" 1000 >/dev/null
    row="$(stat_of $srv)"
    secs=0
    for q in 1 2 3 4; do
        line=$("$tmp/churn" mixed "$port" $((CONNS / 4)))
        secs=$(awk -v a="$secs" -v b="$(printf '%s' "$line" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')" 'BEGIN { print a + b }')
        row="$row | $(stat_of $srv)"
    done
    if [ $sample = echo_server ]; then
        ok=$($MRUN tests/scripts/robust/echo_check.rb "$port" 2>&1)
    else
        ok=$($MRUN tests/scripts/net/http_get.rb "$port" 1 2>&1 | head -n 1)
    fi
    printf '%s: %s\n   %s connections in %s s; then: %s\n' "$sample" "$row" "$CONNS" "$secs" "$ok"
    kill -0 $srv 2>/dev/null || echo "   $sample died: $(tail -n 3 "$tmp/$sample.out")"
    stop
done

echo
echo "== soak: clients that close without reading, and one that pipelines without reading"
start "$tmp/unix.out" samples/echo_server.rb "$tmp/echo.sock"
for _ in $(seq 100); do [ -S "$tmp/echo.sock" ] && break; sleep 0.05; done
before=$(stat_of $srv)
line=$("$tmp/churn" sendclose "$tmp/echo.sock" 1000 262144)
after=$(stat_of $srv)
ok=$($MRUN tests/scripts/robust/echo_check.rb "$tmp/echo.sock" 2>&1)
printf 'echo_server (Unix socket), 1 000 x 256 KiB unread: %s -> %s, %s\n' "$before" "$after" "$ok"
stop
start "$tmp/flood.out" samples/http_hello.rb 0
before=$(stat_of $srv)
"$tmp/churn" flood "$port" 1 100000000 8 >"$tmp/flooded" &
fl=$!
for _ in $(seq 300); do grep -q flooded "$tmp/flooded" && break; sleep 0.1; done
after=$(stat_of $srv)
ok=$($MRUN tests/scripts/net/http_get.rb "$port" 1 2>&1 | head -n 1)
printf 'http_hello, a client pipelining up to 100 MB, never reading: %s -> %s (%s), meanwhile: %s\n' \
    "$before" "$after" "$(cat "$tmp/flooded")" "$ok"
kill $fl 2>/dev/null; wait $fl 2>/dev/null
stop

echo
echo "== soak: the live agent at 10 kHz, 100 garbage clients, one real viewer"
sock=$tmp/live.sock
$MRUN --cpu-prof --prof-hz 10000 --prof-out "$tmp/live.cpuprofile" --prof-live "unix:$sock" \
    tests/scripts/busy_live.rb 10 >"$tmp/live.out" 2>"$tmp/live.err" &
live=$!
for _ in $(seq 100); do grep -q 'live profile at' "$tmp/live.err" && break; sleep 0.1; done
sleep 1
"$tmp/churn" junk "$sock" 100 4096 >"$tmp/junk1" &
j=$!
$MRPROF top --attach "unix:$sock" --once --for 3 --size 100x16 >"$tmp/view" 2>&1
vrc=$?
wait $j
"$tmp/churn" junk "$sock" 100 100 >"$tmp/junk2"
wait $live
lrc=$?
echo "junk:   $(cat "$tmp/junk1"); $(cat "$tmp/junk2")"
echo "viewer: exit $vrc, $(grep -c ' spin ' "$tmp/view") rows naming spin"
echo "agent:  $(grep -c 'closed a viewer connection' "$tmp/live.err") garbage connections closed with a message"
echo "mrun:   exit $lrc, output '$(cat "$tmp/live.out")'"
$MRPROF report --top 3 "$tmp/live.cpuprofile" 2>&1 | head -n 13 | sed 's/^/        /'
