#!/usr/bin/env bash
# Cluster benchmark (called by tests/bench/run.sh, never by make test): an HTTP server on
# Cluster.fork(2) against Node's cluster with 2 workers and against one mrun process, the same
# load generator on each, side by side in one run. Servers: tests/bench/cluster/server.rb
# (WORKERS; 0 = no cluster) and tests/bench/node/cluster_server.js; every answer is the pid of
# the worker that made it, which tests/bench/cluster/count.lua tallies into the balance
# (requests of the busiest worker / requests of the idlest).
#   a. keep-alive req/s: wrk -t1 -c50 GET /  (the balance is then that of 50 connections)
#   b. a new connection per request: wrk -t1 -c8 -H "Connection: close" (the balance of accepts)
# Rows: mrun Cluster.fork(2) (:reuseport, the default), mrun :shared (MRUN_CLUSTER_SCHED), Node's
# cluster (its default round-robin in the primary), one mrun process; each figure is the best
# of CLUSTER_RUNS runs of CLUSTER_SECS seconds. Nothing is pinned: 2 workers and the load share
# the machine's cores (on a 2-core machine the load takes CPU from the workers: the figures
# compare the servers with each other, not with what the machine could do alone).
set -u
cd "$(dirname "$0")/../.."
RUNS=${CLUSTER_RUNS:-3}
SECS=${CLUSTER_SECS:-4}

tmp=$(mktemp -d /tmp/mrprof-clusterbench.XXXXXX)
pids=""
trap 'for p in $pids; do kill -TERM $p 2>/dev/null; done; rm -rf "$tmp"' EXIT

start() {  # start LOG CMD...: starts it, waits until it prints its port (up to 20 s), echoes the pid
    local log=$1; shift
    "$@" >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 400); do grep -q listening "$log" && break; sleep 0.05; done
    echo $pid
}
port_of() { sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -n 1; }
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

best() {  # best WRK-ARGS... → "req/s balance" of the run with the most req/s
    local bestr=0 bal="-"
    for _ in $(seq "$RUNS"); do
        local out rps b
        out=$(wrk -t1 -d"${SECS}s" -s tests/bench/cluster/count.lua "$@" 2>&1)
        rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
        b=$(printf '%s\n' "$out" | sed -n 's/.*max\/min=\([0-9.inf]*\).*/\1/p')
        if awk -v a="${rps:-0}" -v b="$bestr" 'BEGIN { exit !(a > b) }'; then bestr=$rps; bal=$b; fi
    done
    echo "$bestr $bal"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

echo "== Cluster: HTTP req/s, Cluster.fork(2) vs Node's cluster (2 workers) vs one mrun process (best of $RUNS x ${SECS}s; balance = max/min requests per worker)"
if ! command -v wrk >/dev/null; then echo "wrk is not installed (make deps installs it)"; exit 1; fi
if ! command -v node >/dev/null; then echo "node is not installed: no reference (make deps installs it)"; exit 1; fi
declare -A rps bal
for s in mrun_reuseport mrun_shared node mrun_single; do
    case $s in
        mrun_reuseport) p=$(MRUN_CLUSTER_SCHED=reuseport start "$tmp/$s" build/mrun tests/bench/cluster/server.rb 2) ;;
        mrun_shared) p=$(MRUN_CLUSTER_SCHED=shared start "$tmp/$s" build/mrun tests/bench/cluster/server.rb 2) ;;
        node) p=$(start "$tmp/$s" node tests/bench/node/cluster_server.js 2) ;;
        mrun_single) p=$(start "$tmp/$s" build/mrun tests/bench/cluster/server.rb 0) ;;
    esac
    pids="$pids $p"
    port=$(port_of "$tmp/$s")
    if [ -z "$port" ]; then echo "$s did not start:"; cat "$tmp/$s"; exit 1; fi
    read -r rps[$s.ka] bal[$s.ka] <<<"$(best -c50 "http://127.0.0.1:$port/")"
    read -r rps[$s.cl] bal[$s.cl] <<<"$(best -c8 -H 'Connection: close' "http://127.0.0.1:$port/")"
    stop "$p"
done
printf '%-32s %14s %14s %14s %14s\n' "" "mrun fork(2)" "mrun :shared" "node cluster" "mrun 1 process"
for k in ka cl; do
    [ $k = ka ] && label="a. keep-alive req/s (50 conns)" || label="b. req/s, a connection each"
    printf '%-32s %14s %14s %14s %14s\n' "$label" "${rps[mrun_reuseport.$k]}" "${rps[mrun_shared.$k]}" "${rps[node.$k]}" "${rps[mrun_single.$k]}"
    printf '%-32s %14s %14s %14s %14s\n' "   balance max/min" "${bal[mrun_reuseport.$k]}" "${bal[mrun_shared.$k]}" "${bal[node.$k]}" "-"
    printf '%-32s %14s %14s\n' "   fork(2) / node, / 1 process" "$(ratio "${rps[mrun_reuseport.$k]}" "${rps[node.$k]}")x" "$(ratio "${rps[mrun_reuseport.$k]}" "${rps[mrun_single.$k]}")x"
done
