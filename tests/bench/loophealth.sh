#!/usr/bin/env bash
# loophealth.sh — what loop health and the stall recorder cost (called by tests/bench/run.sh,
# never by make test). Side by side in one run, the two sides' runs interleaved (A B A B ...) so
# that the machine's load drifts over both alike; each figure is the median and the best of RUNS.
#
#   1. Loop health (always on: two clock reads per callback, one per loop iteration) against an
#      mrun built without it (-DMRPROF_NO_LOOP_HEALTH, into build/bench/nohealth/, built here
#      when missing): CPU seconds of
#        - imm.rb: 500 000 set_immediate callbacks that do nothing (the worst case: all loop)
#        - fib.rb: no callbacks (sanity: 1.00)
#      and req/s of the HTTP bench server (tests/bench/http/server.rb) under wrk.
#   2. The stall recorder (mrun --prof-stall 100: a 50 Hz wall ring, the watchdog every 25 ms)
#      against plain mrun, nothing stalling: CPU seconds on fib.rb and imm.rb; on the HTTP
#      server under wrk, req/s and the server's CPU seconds per request.
#   3. Instructions (valgrind --tool=callgrind: the same binary on the same input counts the same
#      instructions whatever the machine's load, which moves the CPU figures above by more than
#      the costs measured): 100 000 immediates with loop health off, on, and on with
#      --prof-stall 100, and the instructions each adds per callback.
# Ratios are new/base: for CPU, above 1 costs; for req/s, below 1 costs.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
SECS=${HTTP_SECS:-4}
W=tests/bench/workloads
pin_server="taskset -c 0"; pin_load="taskset -c 1"
command -v taskset >/dev/null || { pin_server=""; pin_load=""; }
source tests/bench/lib.sh
tmp=$(mktemp -d /tmp/mrprof-loophealth.XXXXXX)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT

NOH=build/bench/nohealth
if [ ! -x "$NOH/mrun" ] || [ runtime/loophealth.c -nt "$NOH/mrun" ]; then
    echo "(building $NOH/mrun with -DMRPROF_NO_LOOP_HEALTH)"
    CFLAGS=-DMRPROF_NO_LOOP_HEALTH make --no-print-directory -j2 BUILD="$NOH" "$NOH/mrun" >/dev/null ||
        { echo "cannot build $NOH/mrun"; exit 1; }
fi
cat >"$tmp/imm.rb" <<'EOF'
n = 0
step = lambda { n += 1; set_immediate(&step) if n < 500_000 }
set_immediate(&step)
EOF

cpu_once() { { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'; }
# stats "v1 v2 ..." → "median best" (best = min for CPU, max for req/s when $2 = max)
stats() {
    printf '%s\n' $1 | sort -g | awk -v hi="${2:-}" '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f %.3f", m, (hi == "max") ? v[NR] : v[1] }'
}
line() { printf '%-40s %14s %14s %8s %8s\n' "$@"; }
r3() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }

# cpu_pair LABEL "BASE CMD" "NEW CMD": interleaved CPU seconds.
cpu_pair() {
    local label=$1 a=$2 b=$3 va="" vb=""
    for _ in $(seq "$RUNS"); do
        va="$va $(cpu_once $a)"; vb="$vb $(cpu_once $b)"
    done
    read -r ma ba <<<"$(stats "$va")"; read -r mb bb <<<"$(stats "$vb")"
    line "$label" "$ma / $ba" "$mb / $bb" "$(r3 "$mb" "$ma")" "$(r3 "$bb" "$ba")"
}

# server_cpu PID → its user+sys CPU seconds so far
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# http_pair LABEL "BASE MRUN ARGS" "NEW MRUN ARGS": both servers up, wrk on each in turn.
http_pair() {
    local label=$1 a b pa pb ra="" rb="" ca="" cb=""
    a=$(start_server "$tmp/a.log" $2 tests/bench/http/server.rb 0); pids="$pids $a"
    b=$(start_server "$tmp/b.log" $3 tests/bench/http/server.rb 0); pids="$pids $b"
    pa=$(port_of "$tmp/a.log"); pb=$(port_of "$tmp/b.log")
    if [ -z "$pa" ] || [ -z "$pb" ]; then echo "a server did not start"; cat "$tmp/a.log" "$tmp/b.log"; return; fi
    for _ in $(seq "$RUNS"); do
        local c0 out rps c1
        for side in a b; do
            local pid port
            if [ $side = a ]; then pid=$a port=$pa; else pid=$b port=$pb; fi
            c0=$(server_cpu "$pid")
            out=$($pin_load wrk -t1 -c50 -d"${SECS}s" "http://127.0.0.1:$port/" 2>&1)
            c1=$(server_cpu "$pid")
            rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ { print $2 }')
            local reqs
            reqs=$(printf '%s\n' "$out" | awk '/requests in/ { print $1 }')
            local us
            us=$(awk -v c0="$c0" -v c1="$c1" -v n="$reqs" 'BEGIN { printf "%.3f", (n > 0) ? (c1 - c0) * 1e6 / n : 0 }')
            if [ $side = a ]; then ra="$ra $rps"; ca="$ca $us"; else rb="$rb $rps"; cb="$cb $us"; fi
        done
    done
    kill "$a" "$b" 2>/dev/null; wait "$a" "$b" 2>/dev/null
    read -r ma ba <<<"$(stats "$ra" max)"; read -r mb bb <<<"$(stats "$rb" max)"
    line "$label req/s" "$ma / $ba" "$mb / $bb" "$(r3 "$mb" "$ma")" "$(r3 "$bb" "$ba")"
    read -r ma ba <<<"$(stats "$ca")"; read -r mb bb <<<"$(stats "$cb")"
    line "$label server CPU µs/request" "$ma / $ba" "$mb / $bb" "$(r3 "$mb" "$ma")" "$(r3 "$bb" "$ba")"
}

echo "== loop health: build/mrun (on) vs $NOH/mrun (off); median / best of $RUNS, interleaved"
line "" "off" "on" "ratio" "(best)"
cpu_pair "imm.rb 500k immediates, CPU s" "$NOH/mrun $tmp/imm.rb" "build/mrun $tmp/imm.rb"
cpu_pair "fib.rb, CPU s" "$NOH/mrun $W/fib.rb" "build/mrun $W/fib.rb"
if command -v wrk >/dev/null; then
    http_pair "HTTP hello (wrk -c50 ${SECS}s)" "$NOH/mrun" "build/mrun"
else
    echo "wrk is not installed (make deps installs it): no HTTP rows"
fi

echo
echo "== stall recorder: mrun vs mrun --prof-stall 100 (nothing stalls); median / best of $RUNS, interleaved"
line "" "plain" "--prof-stall" "ratio" "(best)"
export MRUN_QUIET=1
cpu_pair "fib.rb, CPU s" "build/mrun $W/fib.rb" "build/mrun --prof-stall 100 --prof-out $tmp/st $W/fib.rb"
cpu_pair "imm.rb 500k immediates, CPU s" "build/mrun $tmp/imm.rb" "build/mrun --prof-stall 100 --prof-out $tmp/st $tmp/imm.rb"
if command -v wrk >/dev/null; then
    http_pair "HTTP hello (wrk -c50 ${SECS}s)" "build/mrun" "build/mrun --prof-stall 100 --prof-out $tmp/st"
fi
[ -e "$tmp/st" ] && echo "(stalls were recorded during the bench:" && cat "$tmp/st/index.json" && echo ")"

echo
echo "== instructions (callgrind) of 100 000 immediates: loop health off, on, on + --prof-stall 100"
if command -v valgrind >/dev/null; then
    sed 's/500_000/100_000/' "$tmp/imm.rb" >"$tmp/imm100k.rb"
    ir() {  # ir CMD...: the instructions callgrind counted
        valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" >/dev/null 2>"$tmp/cg.err"
        sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/cg.out"
    }
    off=$(ir "$NOH/mrun" "$tmp/imm100k.rb")
    on=$(ir build/mrun "$tmp/imm100k.rb")
    st=$(ir build/mrun --prof-stall 100 --prof-out "$tmp/st2" "$tmp/imm100k.rb")
    printf '%-34s %14s %8s %14s\n' "" instructions ratio "per callback"
    printf '%-34s %14s %8s %14s\n' "loop health off" "$off" 1.000 -
    printf '%-34s %14s %8s %14s\n' "loop health on" "$on" "$(r3 "$on" "$off")" "+$(( (on - off) / 100000 ))"
    printf '%-34s %14s %8s %14s\n' "on + --prof-stall 100" "$st" "$(r3 "$st" "$on")" "+$(( (st - on) / 100000 ))"
else
    echo "valgrind is not installed: no instruction counts"
fi
exit 0
