#!/usr/bin/env bash
# HTTP benchmark (called by tests/bench/run.sh, never by make test): mrun's HTTP module against
# Node's http module, the same load generator on both, side by side in one run. Servers:
# tests/bench/http/server.rb and tests/bench/node/http_server.js (hello world; "/big" = 1 MB).
# As in net.sh the server runs on CPU 0 and the load on CPU 1 (taskset); each figure is the best
# of HTTP_RUNS runs of HTTP_SECS seconds.
#   a. keep-alive req/s and p99 latency: wrk -t1 -c50 --latency GET /
#   b. pipelined req/s: wrk -t1 -c50 with tests/bench/http/pipeline.lua (16 requests per write)
#   c. a 1 MB response: wrk -t1 -c4 GET /big, MB/s (1 MB = 2^20 bytes of body)
#   d. 64-byte echo vs Node's net: build/bench/echoload, 50 connections (net.sh's, reused)
# Each row prints mrun, node and the ratio mrun/node (higher is better for mrun; for p99 lower).
set -u
cd "$(dirname "$0")/../.."
RUNS=${HTTP_RUNS:-3}
SECS=${HTTP_SECS:-4}
pin_server="taskset -c 0"; pin_load="taskset -c 1"
command -v taskset >/dev/null || { pin_server=""; pin_load=""; }

# start_server, port_of, best_wrk, ratio, to_ms, row
source tests/bench/lib.sh

best_echo() {  # best_echo PORT SIZE → "MB/s msgs/s"
    local best=0 msgs=0
    for _ in $(seq "$RUNS"); do
        local out mb m
        out=$($pin_load build/bench/echoload "$1" "$2" 50 "$SECS" 2>/dev/null)
        mb=$(printf '%s' "$out" | awk '{ print $8 }'); m=$(printf '%s' "$out" | awk '{ print $10 }')
        if awk -v a="${m:-0}" -v b="$msgs" 'BEGIN { exit !(a > b) }'; then best=$mb; msgs=$m; fi
    done
    echo "$best $msgs"
}

tmp=$(mktemp -d /tmp/mrprof-httpbench.XXXXXX)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT

echo "== HTTP: mrun's HTTP module vs Node's http, same load, server on CPU 0 and load on CPU 1 (best of $RUNS x ${SECS}s)"
if ! command -v wrk >/dev/null; then echo "wrk is not installed (make deps installs it)"; exit 1; fi
[ -x build/bench/echoload ] || make --no-print-directory build/bench/echoload >/dev/null
a=$(start_server "$tmp/mrun_http" build/mrun tests/bench/http/server.rb 0); pids="$pids $a"
b=$(start_server "$tmp/node_http" node tests/bench/node/http_server.js 0); pids="$pids $b"
mp=$(port_of "$tmp/mrun_http"); np=$(port_of "$tmp/node_http")
if [ -z "$mp" ] || [ -z "$np" ]; then
    echo "a server did not start:"; cat "$tmp/mrun_http" "$tmp/node_http"; exit 1
fi
row "" mrun node ratio
read -r m_rps m_p99 <<<"$(best_wrk -c50 "http://127.0.0.1:$mp/")"
read -r n_rps n_p99 <<<"$(best_wrk -c50 "http://127.0.0.1:$np/")"
row "a. keep-alive req/s (50 conns)" "$m_rps" "$n_rps" "$(ratio "$m_rps" "$n_rps")"
row "   p99 latency ms" "$(to_ms "$m_p99")" "$(to_ms "$n_p99")" "$(ratio "$(to_ms "$m_p99")" "$(to_ms "$n_p99")")"
read -r m_pl _ <<<"$(best_wrk -c50 -s tests/bench/http/pipeline.lua "http://127.0.0.1:$mp/" -- 16)"
read -r n_pl _ <<<"$(best_wrk -c50 -s tests/bench/http/pipeline.lua "http://127.0.0.1:$np/" -- 16)"
row "b. pipelined req/s (16 deep)" "$m_pl" "$n_pl" "$(ratio "$m_pl" "$n_pl")"
read -r m_big _ <<<"$(best_wrk -c4 "http://127.0.0.1:$mp/big")"
read -r n_big _ <<<"$(best_wrk -c4 "http://127.0.0.1:$np/big")"
m_mb=$(awk -v r="$m_big" 'BEGIN { printf "%.0f", r * 1.048576 }'); n_mb=$(awk -v r="$n_big" 'BEGIN { printf "%.0f", r * 1.048576 }')
row "c. 1 MB responses MB/s (4 conns)" "$m_mb" "$n_mb" "$(ratio "$m_mb" "$n_mb")"
kill $a $b 2>/dev/null

a=$(start_server "$tmp/mrun_echo" build/mrun samples/echo_server.rb 0); pids="$pids $a"
b=$(start_server "$tmp/node_echo" node tests/bench/node/echo_server.js 0); pids="$pids $b"
read -r _ m_msgs <<<"$(best_echo "$(port_of "$tmp/mrun_echo")" 64)"
read -r _ n_msgs <<<"$(best_echo "$(port_of "$tmp/node_echo")" 64)"
row "d. echo 64 B msgs/s (net, 50 conns)" "$m_msgs" "$n_msgs" "$(ratio "$m_msgs" "$n_msgs")"
