#!/usr/bin/env bash
# inspect.sh — what mrun --inspect costs the program (make bench): CPU seconds (user+sys of mrun,
# best of RUNS) of fib.rb and calls.rb run plain; with --inspect and no client; with a CDP client
# attached and idle (chrome-remote-interface: Runtime.enable, then nothing); with the client
# recording a CPU profile at 1000 µs (Profiler.start before the run, through --inspect-wait); and
# beside them --prof-live (whose sampler always runs) and --cpu-prof at 1000 Hz. The ratios are
# to plain, in the same run.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
W=tests/bench/workloads
if [ ! -d tests/node/node_modules/chrome-remote-interface ]; then
    echo "== inspect.sh: SKIP chrome-remote-interface is not installed in tests/node"
    exit 0
fi
tmp=$(mktemp -d /tmp/mrprof-bench-inspect.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

TIMEFORMAT='%U %S'
cpu_once() {
    { time "$@" >/dev/null 2>"$tmp/err"; } 2>"$tmp/t1"
    tail -n 1 "$tmp/t1" | awk '{ print $1 + $2 }'
}
# One run of mrun --inspect-wait with a client in MODE (idle or profile); mrun's CPU seconds.
cpu_attached() {
    local mode=$1 w=$2 t
    rm -f "$tmp/ierr"
    { time build/mrun --inspect-wait=127.0.0.1:0 "$w" >/dev/null 2>"$tmp/ierr"; } 2>"$tmp/time" </dev/null &
    local p=$! port="" i
    for i in $(seq 1 400); do
        port=$(sed -n 's|.*ws://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$tmp/ierr" 2>/dev/null | head -n 1)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "inspect.sh: mrun --inspect-wait did not listen: $(cat "$tmp/ierr")" >&2; kill "$p"; return 1; }
    timeout 120 node tests/node/inspect_client.js attach "$port" $([ "$mode" = profile ] && echo profile) >/dev/null 2>&1
    wait "$p"
    tail -n 1 "$tmp/time" | awk '{ print $1 + $2 }'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }

echo "== mrun --inspect's cost (CPU seconds of mrun, best of $RUNS; ratio to plain)"
printf '%-8s %8s %10s %10s %10s %10s %10s\n' workload plain inspect attached recording prof-live cpu-prof
for w in ${BENCH_WORKLOADS:-fib calls}; do
    plain="" ins="" att="" rec="" live="" cpu=""
    for _ in $(seq "$RUNS"); do
        plain=$(min "$(cpu_once build/mrun "$W/$w.rb")" "$plain")
        ins=$(min "$(cpu_once build/mrun --inspect=127.0.0.1:0 "$W/$w.rb")" "$ins")
        att=$(min "$(cpu_attached idle "$W/$w.rb")" "$att")
        rec=$(min "$(cpu_attached profile "$W/$w.rb")" "$rec")
        live=$(min "$(cpu_once build/mrun --prof-live "unix:$tmp/l.sock" "$W/$w.rb")" "$live")
        cpu=$(min "$(cpu_once env MRUN_QUIET=1 build/mrun --cpu-prof --prof-out "$tmp/p.cpuprofile" "$W/$w.rb")" "$cpu")
    done
    printf '%-8s %8s %10s %10s %10s %10s %10s\n' "$w" "$plain" "$ins" "$att" "$rec" "$live" "$cpu"
    printf '%-8s %8s %10s %10s %10s %10s %10s\n' "  ratio" 1.000 "$(ratio "$ins" "$plain")" \
        "$(ratio "$att" "$plain")" "$(ratio "$rec" "$plain")" "$(ratio "$live" "$plain")" "$(ratio "$cpu" "$plain")"
done
