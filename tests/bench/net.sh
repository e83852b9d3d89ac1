#!/usr/bin/env bash
# Net benchmark (called by tests/bench/run.sh): mrun's samples against the same servers written
# with Node's net module, under the same load on 127.0.0.1, side by side. The server runs on
# CPU 0 and the load generator on CPU 1 (taskset); each figure is the best of NET_RUNS runs.
#   HTTP: wrk -t1 -c50 keep-alive on samples/http_hello.rb (the HTTP module) vs Node's http (tests/bench/node/http_server.js)
#   echo: build/bench/echoload, 50 connections, 64 B and 16 KiB messages, on
#         samples/echo_server.rb vs tests/bench/node/echo_server.js
set -u
cd "$(dirname "$0")/../.."
RUNS=${NET_RUNS:-3}
SECS=${NET_SECS:-4}
pin_server="taskset -c 0"; pin_load="taskset -c 1"
command -v taskset >/dev/null || { pin_server=""; pin_load=""; }

# start_server PORTFILE CMD...: starts it, waits until it prints its port, echoes the pid
start_server() {
    local log=$1; shift
    $pin_server "$@" >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
    echo $pid
}
port_of() { sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -n 1; }

best_http() {  # best_http PORT → "req/s p99"
    local best=0 p99=""
    for _ in $(seq "$RUNS"); do
        local out rps lat
        out=$($pin_load wrk -t1 -c50 -d"${SECS}s" --latency "http://127.0.0.1:$1/" 2>&1)
        rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ { print $2 }')
        lat=$(printf '%s\n' "$out" | awk '$1 == "99%" { print $2 }')
        if awk -v a="$rps" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$rps; p99=$lat; fi
    done
    echo "$best $p99"
}

best_echo() {  # best_echo PORT SIZE → "MB/s msgs/s"
    local best=0 msgs=0
    for _ in $(seq "$RUNS"); do
        local out mb m
        out=$($pin_load build/bench/echoload "$1" "$2" 50 "$SECS" 2>/dev/null)
        mb=$(printf '%s' "$out" | awk '{ print $8 }'); m=$(printf '%s' "$out" | awk '{ print $10 }')
        if awk -v a="$mb" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$mb; msgs=$m; fi
    done
    echo "$best $msgs"
}

tmp=$(mktemp -d /tmp/mrprof-netbench.XXXXXX)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT

echo "== Net: mrun vs Node's net, same load, server on CPU 0 and load on CPU 1 (best of $RUNS x ${SECS}s)"
if ! command -v wrk >/dev/null; then echo "wrk is not installed (make deps installs it)"; exit 1; fi
a=$(start_server "$tmp/mrun_http" build/mrun samples/http_hello.rb 0); pids="$pids $a"
b=$(start_server "$tmp/node_http" node tests/bench/node/http_server.js 0); pids="$pids $b"
read -r m_rps m_p99 <<<"$(best_http "$(port_of "$tmp/mrun_http")")"
read -r n_rps n_p99 <<<"$(best_http "$(port_of "$tmp/node_http")")"
kill $a $b 2>/dev/null
printf '%-28s %14s %14s %8s\n' "" "mrun" "node" "ratio"
printf '%-28s %14s %14s %8s\n' "HTTP keep-alive req/s" "$m_rps" "$n_rps" "$(awk -v a="$m_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
printf '%-28s %14s %14s\n' "HTTP p99 latency" "$m_p99" "$n_p99"

a=$(start_server "$tmp/mrun_echo" build/mrun samples/echo_server.rb 0); pids="$pids $a"
b=$(start_server "$tmp/node_echo" node tests/bench/node/echo_server.js 0); pids="$pids $b"
for size in 64 16384; do
    read -r m_mb m_msgs <<<"$(best_echo "$(port_of "$tmp/mrun_echo")" $size)"
    read -r n_mb n_msgs <<<"$(best_echo "$(port_of "$tmp/node_echo")" $size)"
    printf '%-28s %14s %14s %8s\n' "echo ${size} B, 50 conns MB/s" "$m_mb" "$n_mb" "$(awk -v a="$m_mb" -v b="$n_mb" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
    printf '%-28s %14s %14s\n' "   (messages/s)" "$m_msgs" "$n_msgs"
done
