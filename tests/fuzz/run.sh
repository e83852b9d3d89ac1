#!/bin/sh
# tests/fuzz/run.sh — runs every libFuzzer target in build/fuzz/ (built by `make fuzz-targets`
# from tests/fuzz/fuzz_*.c) and prints one ok/not ok line per target and step, as tests/run.sh.
#
#   FUZZ_MODE=suite (default)  each target over its seed corpus tests/fuzz/corpus/NAME/ (every
#                              file once: the reproducers of fixed bugs live there too), then a
#                              short fresh run of FUZZ_SECONDS (default 4) from that corpus
#   FUZZ_MODE=long             a fresh run of FUZZ_SECONDS (default 60) per target (`make fuzz`)
#   ONLY=pattern               only the targets whose name matches
# New inputs a fresh run finds go to a temporary directory, not into the tree. A crash, leak,
# sanitizer report or timeout fails the target; its reproducer is kept under build/fuzz/crashes/
# (rerun it with `build/fuzz/fuzz_NAME FILE`). Exit 0 only when every target passed.
set -u
cd "$(dirname "$0")/../.."
MODE=${FUZZ_MODE:-suite}
if [ "$MODE" = long ]; then SECS=${FUZZ_SECONDS:-60}; else SECS=${FUZZ_SECONDS:-4}; fi
CRASHES=build/fuzz/crashes
mkdir -p "$CRASHES"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
found=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    short=${name#fuzz_}
    if [ -n "${ONLY:-}" ] && ! echo "$name" | grep -q -- "$ONLY"; then continue; fi
    found=1
    bin=build/fuzz/$name
    if [ ! -x "$bin" ]; then
        echo "not ok - fuzz $short: $bin is not built (make fuzz-targets)"; status=1; continue
    fi
    seeds=tests/fuzz/corpus/$short
    log=$(mktemp /tmp/mrprof-fuzz.XXXXXX)
    # Flags: one input may take 10 s at most (a hang is a failure), 2 GB of RSS at most, and
    # stderr of the code under test (readers' messages) is not shown.
    flags="-timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 -artifact_prefix=$CRASHES/$short-"
    if [ "$MODE" != long ] && [ -d "$seeds" ]; then
        # Every seed once, as files (libFuzzer runs each and stops).
        if find "$seeds" -type f | sort | xargs timeout -k 5 300 "$bin" $flags -runs=1 >"$log" 2>&1; then
            echo "ok - fuzz $short: $(find "$seeds" -type f | wc -l | tr -d ' ') seeds and reproducers"
        else
            echo "not ok - fuzz $short: a seed fails"; tail -n 30 "$log" | sed 's/^/    # /'; status=1
        fi
    fi
    # The fresh run mutates from the seeds only (seed-*): the reproducers (repro-*) of fixed
    # bugs are slow on purpose (a 300 000-frame stack, a count of 1e8) and were run above.
    work=$(mktemp -d /tmp/mrprof-fuzz-corpus.XXXXXX)
    [ -d "$seeds" ] && find "$seeds" -type f -name 'seed-*' -exec cp {} "$work/" \;
    # timeout: a report whose symbolizer hangs (seen under heavy load) must not hang the suite.
    if timeout -k 5 $((SECS + 120)) "$bin" $flags -max_total_time="$SECS" -print_final_stats=1 "$work" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        echo "ok - fuzz $short: ${runs:-?} executions in ${SECS} s, nothing found"
    else
        echo "not ok - fuzz $short: found a failure in a ${SECS} s run (reproducer: $(ls -t "$CRASHES/$short-"* 2>/dev/null | head -n 1))"
        grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x' "$log" | head -n 30 | sed 's/^/    # /'
        status=1
    fi
    rm -rf "$work" "$log"
done
[ "$found" = 1 ] || echo "# fuzz: no target matches '${ONLY:-}'"
exit $status
