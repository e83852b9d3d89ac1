#!/usr/bin/env bash
# Dgram benchmark (called by tests/bench/run.sh): UDP messages/s echoed by mrun's
# samples/udp_echo.rb against the same server written with Node's dgram
# (tests/bench/node/dgram_echo.js), under the same load from tests/bench/dgramload.c (4
# connected sockets, each with a window of datagrams in flight), side by side in one run. The
# server runs on CPU 0 and the load on CPU 1 (taskset); each figure is the best of DGRAM_RUNS
# runs. The window shrinks with the size: a 16 KiB datagram takes 32 KiB of the server's
# default receive queue (208 KiB), so more than 6 in flight overflow it, and a lost datagram
# costs the generator a 200 ms wait (it prints how many it lost).
set -u
cd "$(dirname "$0")/../.."
RUNS=${DGRAM_RUNS:-3}
SECS=${DGRAM_SECS:-4}
pin_server="taskset -c 0"; pin_load="taskset -c 1"
command -v taskset >/dev/null || { pin_server=""; pin_load=""; }
tmp=$(mktemp -d /tmp/mrprof-dgrambench.XXXXXX)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/dgramload" tests/bench/dgramload.c || exit 1

start_server() {  # start_server LOG CMD...: starts it, waits until it prints its port, echoes the pid
    local log=$1; shift
    $pin_server "$@" >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
    echo $pid
}
port_of() { sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -n 1; }

best() {  # best PORT SIZE WINDOW → msgs/s (best of RUNS)
    local b=0
    for _ in $(seq "$RUNS"); do
        local r
        r=$($pin_load "$tmp/dgramload" "$1" "$2" "$3" "$SECS" 4 | awk '{ print $6 }')
        if awk -v a="$r" -v b="$b" 'BEGIN { exit !(a > b) }'; then b=$r; fi
    done
    echo "$b"
}

echo "== Dgram: mrun vs Node's dgram, UDP echo, same load (4 sockets), server on CPU 0 and load on CPU 1 (best of $RUNS x ${SECS}s)"
command -v node >/dev/null || { echo "node is not installed: no reference to compare with"; exit 1; }
a=$(start_server "$tmp/mrun" build/mrun samples/udp_echo.rb 0); pids="$pids $a"
b=$(start_server "$tmp/node" node tests/bench/node/dgram_echo.js 0); pids="$pids $b"
printf '%-34s %12s %12s %8s\n' "" "mrun" "node" "ratio"
for sw in 64:32 64:1 1024:16 16384:1; do
    size=${sw%:*} window=${sw#*:}
    m=$(best "$(port_of "$tmp/mrun")" "$size" "$window")
    n=$(best "$(port_of "$tmp/node")" "$size" "$window")
    printf '%-34s %12s %12s %8s\n' "echo ${size} B, 4 x $window in flight, msgs/s" "$m" "$n" "$(awk -v a="$m" -v b="$n" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
done
