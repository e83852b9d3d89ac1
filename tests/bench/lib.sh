# lib.sh — shell helpers shared by the benchmarks that compare an mrun server with a Node one
# under the same load (sourced by tests/bench/http.sh and https.sh). The caller sets RUNS, SECS,
# pin_server and pin_load ("taskset -c 0" / "taskset -c 1", or "" without taskset).

start_server() {  # start_server LOG CMD...: starts it, waits until it prints its port, echoes the pid
    local log=$1; shift
    $pin_server "$@" >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do grep -q listening "$log" && break; sleep 0.05; done
    echo $pid
}
port_of() { sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -n 1; }

best_wrk() {  # best_wrk WRK-ARGS... (URL included) → "req/s p99" of the best run
    local best=0 p99=""
    for _ in $(seq "$RUNS"); do
        local out rps lat
        out=$($pin_load wrk -t1 -d"${SECS}s" --latency "$@" 2>&1)
        rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ { print $2 }')
        lat=$(printf '%s\n' "$out" | awk '$1 == "99%" { print $2 }')
        if awk -v a="${rps:-0}" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$rps; p99=$lat; fi
    done
    echo "$best $p99"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
to_ms() {  # wrk latency (123.45us, 1.23ms, 1.02s) → ms
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
row() { printf '%-34s %12s %12s %8s\n' "$@"; }
