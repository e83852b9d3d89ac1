#!/bin/sh
# tests/run.sh — the whole suite, as `make test` runs it. Prints one line per test (or per
# Criterion binary's synthesis) and ends with `N passed, N failed`. Exit 0 only when none failed.
#
# Suites (MRPROF_SUITES, default "plain asan tsan valgrind fuzz"):
#   plain     Criterion unit tests and end-to-end tests against build/
#   asan      the same against build/asan/ (AddressSanitizer + UndefinedBehaviorSanitizer)
#   tsan      the Deferred end-to-end tests (and JSON in a worker) against build/tsan/mrun (ThreadSanitizer: any
#             reported race fails the test through its exit code)
#   valgrind  sample scripts under valgrind's leak checker, with build/mrun
#   fuzz      every libFuzzer target in build/fuzz/ (make fuzz-targets) over its seed corpus
#             and the reproducers of fixed bugs, then a short fresh run (tests/fuzz/run.sh)
# ONLY=pattern runs only matching end-to-end tests (and unit binaries).
#
# Flaky hunt (`make flaky`): FLAKY_ROUNDS=N repeats the chosen suites (and ONLY) N times under
# CPU load, FLAKY_LOAD busy loops (default: one per core; 0 = only what the machine already
# runs), and ends with every test that failed in any round, its failure count and rate, and
# each failure's reason. Every round's full output stays in FLAKY_DIR (default a new
# /tmp/mrprof-flaky.XXXXXX). Exit 0 only when no round failed.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)

flaky_rounds() {
    local n=$1 dir=${FLAKY_DIR:-} load=${FLAKY_LOAD:-$(nproc 2>/dev/null || echo 2)} i r start
    [ -n "$dir" ] || dir=$(mktemp -d /tmp/mrprof-flaky.XXXXXX)
    mkdir -p "$dir"
    FLAKY_PIDS="" i=0
    while [ "$i" -lt "$load" ]; do
        sh -c 'while :; do :; done' &
        FLAKY_PIDS="$FLAKY_PIDS $!"; i=$((i + 1))
    done
    trap '[ -z "$FLAKY_PIDS" ] || kill $FLAKY_PIDS 2>/dev/null' EXIT
    trap 'exit 130' INT TERM
    echo "# flaky: $n rounds of suites '$SUITES'${ONLY:+, ONLY=$ONLY}, $load busy loops beside them, logs in $dir"
    r=1
    while [ "$r" -le "$n" ]; do
        start=$(date +%s)
        FLAKY_ROUNDS= sh tests/run.sh >"$dir/round-$r.log" 2>&1
        echo "# round $r/$n: $(tail -n 1 "$dir/round-$r.log"), $(($(date +%s) - start)) s"
        grep '^not ok ' "$dir/round-$r.log" | sed 's/^/#   /'
        r=$((r + 1))
    done
    # One key per test: a unit binary's lines ("#3", "failure 2") count as the binary; a test
    # counts once per round it failed in.
    awk -v rounds="$n" '
        FNR == 1 { round++ }
        /^(not )?ok - / {
            bad = ($1 == "not"); line = $0
            sub(/^(not )?ok - /, "", line)
            key = line
            sub(/ \(.*$/, "", key); sub(/ (#|failure )[0-9]+$/, "", key)
            seen[key] = 1
            if (bad && last[key] != round) { fails[key]++; last[key] = round }
            if (bad) why[key] = why[key] "\n#   round " round ": " line
        }
        END {
            for (k in seen) { tests++; if (k in fails) flaky++ }
            printf "# flaky: %d tests, %d failed in at least one of %d rounds\n", tests, flaky + 0, rounds
            for (k in fails) printf "%d/%d %5.1f%%  %s\n", fails[k], rounds, 100 * fails[k] / rounds, k | "sort -t/ -k1,1nr"
            close("sort -t/ -k1,1nr")
            for (k in fails) printf "# %s failed:%s\n", k, why[k]
        }' "$dir"/round-*.log
    ! grep -q '^not ok ' "$dir"/round-*.log
}
# Python (a test peer) through a pyenv shim starts `pyenv exec` first, a bash script that costs
# about 0.5 s of CPU per start: every test gets the interpreter the shim would run, once resolved.
case $(command -v python3) in
    */shims/python3) py3=$(pyenv which python3 2>/dev/null) && [ -x "$py3" ] && PATH="${py3%/*}:$PATH" && export PATH ;;
esac
SUITES=${MRPROF_SUITES:-plain asan tsan valgrind fuzz}
passed=0 failed=0
log=$(mktemp /tmp/mrprof-suite.XXXXXX)

tally() {  # reads test lines on stdin, echoes them, counts them
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case $line in
            "ok "*) echo ok >>"$log" ;;
            "not ok "*) echo fail >>"$log" ;;
        esac
    done
}

unit_suite() {  # $1 = build dir, $2 = label
    for bin in "$1"/tests/test_*; do
        [ -x "$bin" ] || continue
        name=$(basename "$bin")
        if [ -n "${ONLY:-}" ] && ! echo "$name" | grep -q -- "$ONLY"; then continue; fi
        res=$(timeout -k 5 600 "$bin" -j2 2>&1)
        syn=$(printf '%s\n' "$res" | grep 'Synthesis:' | tail -n 1)
        pass=$(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
        fail=$(printf '%s' "$syn" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
        crash=$(printf '%s' "$syn" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
        if [ -z "$syn" ]; then
            echo "not ok - $2 $name (no Criterion summary: crashed or timed out)"
            printf '%s\n' "$res" | tail -n 20 | sed 's/^/    # /'
            continue
        fi
        i=0; while [ $i -lt "${pass:-0}" ]; do echo "ok - $2 $name #$((i+1))"; i=$((i+1)); done
        if [ "$((fail + crash))" -gt 0 ]; then
            printf '%s\n' "$res" | grep -E '\[(FAIL|----)\]|Assertion|crash|signal' | head -n 30 | sed 's/^/    # /'
            i=0; while [ $i -lt "$((fail + crash))" ]; do echo "not ok - $2 $name failure $((i+1))"; i=$((i+1)); done
        fi
    done
}

e2e_one() {  # $1 = build dir, $2 = label, $3 = test file
    local t0
    t0=$(date +%s)
    SUITE=$2 MRUN="$ROOT/$1/mrun" MRPROF="$ROOT/$1/mrprof" ROOT="$ROOT" bash "$3" 2>&1 | sed "s/^\(not ok\|ok\) - /\1 - $2 /"
    echo "# $2 $(basename "$3" .sh): $(($(date +%s) - t0)) s"  # where the suite's time goes
}

# The end-to-end files run TEST_JOBS at a time (default 2: the tests hold under that much
# contention, which `make flaky` checks), each into a file of its own; their output is printed
# in the files' order as each finishes, so the log reads the same as a serial run.
e2e_suite() {  # $1 = build dir, $2 = label
    local jobs=${TEST_JOBS:-2} dir f
    if [ "$jobs" -le 1 ]; then
        for f in tests/e2e/test_*.sh; do e2e_one "$1" "$2" "$f"; done
        return
    fi
    dir=$(mktemp -d /tmp/mrprof-e2e.XXXXXX)
    for f in tests/e2e/test_*.sh; do
        printf '%s\n' "$f"
    done | xargs -P "$jobs" -L 1 sh -c 'sh "$0" --e2e-one "$1" "$2" "$4" >"$3/$(basename "$4").out"; touch "$3/$(basename "$4").done"' \
        "$ROOT/tests/run.sh" "$1" "$2" "$dir" &
    for f in tests/e2e/test_*.sh; do
        while [ ! -e "$dir/$(basename "$f").done" ]; do sleep 1; done
        cat "$dir/$(basename "$f").out"
    done
    wait
    rm -rf "$dir"
}

valgrind_suite() {
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "not ok - valgrind: not installed (make deps installs it)"; return
    fi
    for s in samples/fib.rb samples/timers.rb tests/scripts/gc_stress.rb; do
        [ -f "$s" ] || continue
        vlog=$(mktemp /tmp/mrprof-vg.XXXXXX)
        if timeout -k 5 600 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
            build/mrun "$s" 18 >/dev/null 2>"$vlog"; then
            echo "ok - valgrind $s: no errors, no leaks"
        else
            echo "not ok - valgrind $s"; head -n 30 "$vlog" | sed 's/^/    # /'
        fi
        rm -f "$vlog"
    done
    for s in tests/scripts/valgrind_*.sh; do
        [ -f "$s" ] || continue
        if out=$(MRUN="$ROOT/build/mrun" MRPROF="$ROOT/build/mrprof" timeout -k 5 600 sh "$s" 2>&1); then
            echo "ok - valgrind $s"
        else
            echo "not ok - valgrind $s"; printf '%s\n' "$out" | head -n 30 | sed 's/^/    # /'
        fi
    done
}

if [ "${1:-}" = --e2e-one ]; then  # one end-to-end file, for e2e_suite's parallel runs
    e2e_one "$2" "$3" "$4"
    exit 0
fi

if [ -n "${FLAKY_ROUNDS:-}" ]; then
    flaky_rounds "$FLAKY_ROUNDS"
    exit $?
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for suite in $SUITES; do
    echo "# suite: $suite"
    case $suite in
        plain) { unit_suite build plain; e2e_suite build plain; } | tally ;;
        asan) { TEST_TIMEOUT=300 unit_suite build/asan asan; TEST_TIMEOUT=300 e2e_suite build/asan asan; } | tally ;;
        tsan) SUITE=tsan MRUN="$ROOT/build/tsan/mrun" MRPROF="$ROOT/build/mrprof" ROOT="$ROOT" \
                TEST_TIMEOUT=300 TSAN_OPTIONS="halt_on_error=1:exitcode=66:report_signal_unsafe=0" \
                sh -c 'bash tests/e2e/test_deferred.sh; ONLY="workers\|together" bash tests/e2e/test_memory.sh
                       ONLY="deferred_workers" bash tests/e2e/test_process.sh
                       ONLY="deferred_workers" bash tests/e2e/test_regexp.sh
                       ONLY=deferred bash tests/e2e/test_json.sh' |
                sed "s/^\(not ok\|ok\) - /\1 - tsan /" | tally ;;
        valgrind) valgrind_suite | tally ;;
        # The fuzz suite: tests/fuzz/run.sh prints its own ok/not ok lines (ONLY= filters targets).
        fuzz) FUZZ_MODE=suite sh tests/fuzz/run.sh | tally ;;
        *) echo "not ok - unknown suite '$suite'" | tally ;;
    esac
done
passed=$(grep -c '^ok$' "$log")
failed=$(grep -c '^fail$' "$log")
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
