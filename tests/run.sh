#!/bin/sh
# tests/run.sh — the whole suite, as `make test` runs it. Prints one line per test (or per
# Criterion binary's synthesis) and ends with `N passed, N failed`. Exit 0 only when none failed.
#
# Suites (MRPROF_SUITES, default "plain asan tsan valgrind fuzz"):
#   plain     Criterion unit tests and end-to-end tests against build/
#   asan      the same against build/asan/ (AddressSanitizer + UndefinedBehaviorSanitizer)
#   tsan      the Deferred and Worker end-to-end tests (and JSON and Crypto in a worker) against build/tsan/mrun (ThreadSanitizer: any
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
# /tmp/mrprof-flaky.XXXXXX), and each failed end-to-end test's files and output (.log) in
# FLAKY_DIR/round-N-failed/. Exit 0 only when no round failed.
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
        FLAKY_ROUNDS= E2E_KEEP_FAILED="$dir/round-$r-failed" sh tests/run.sh >"$dir/round-$r.log" 2>&1
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

# in_order KIND A B ITEM...: `one KIND A B ITEM` for each ITEM, TEST_JOBS at a time (default 2:
# the tests hold under that much contention, which `make flaky` checks), each into a file of its
# own; the outputs are printed in the ITEMs' order as each finishes, so the log reads the same as
# a serial run. The ITEMs named in $FIRST (the longest ones) start first, so that no long one
# starts last and keeps one core busy alone at the end.
in_order() {
    local kind=$1 a=$2 b=$3 jobs=${TEST_JOBS:-2} dir i f
    shift 3
    if [ "$jobs" -le 1 ]; then
        for i in "$@"; do one "$kind" "$a" "$b" "$i"; done
        return
    fi
    dir=$(mktemp -d /tmp/mrprof-par.XXXXXX)
    {
        for f in ${FIRST:-}; do
            for i in "$@"; do [ "$i" = "$f" ] && printf '%s\n' "$i"; done
        done
        for i in "$@"; do
            case " ${FIRST:-} " in *" $i "*) ;; *) printf '%s\n' "$i" ;; esac
        done
    } | xargs -P "$jobs" -L 1 sh -c 'o="$4/$(printf %s "$5" | tr / _)"; sh "$0" --one "$1" "$2" "$3" "$5" >"$o.out" 2>&1; touch "$o.done"' \
        "$ROOT/tests/run.sh" "$kind" "$a" "$b" "$dir" &
    for i in "$@"; do
        f="$dir/$(printf %s "$i" | tr / _)"
        while [ ! -e "$f.done" ]; do sleep 1; done
        cat "$f.out"
    done
    wait
    rm -rf "$dir"
}

# one KIND A B ITEM: one item of a suite (in_order runs them).
one() {
    local t0
    t0=$(date +%s)
    case $1 in
        e2e) e2e_one "$2" "$3" "$4"; return ;;
        valgrind) valgrind_one "$4" ;;
        fuzz) FUZZ_MODE=suite ONLY="^fuzz_$4\$" sh tests/fuzz/run.sh ;;
        tsan) tsan_one "$4" ;;
    esac
    echo "# $1 $(basename "$4"): $(($(date +%s) - t0)) s"  # where the suite's time goes
}

# The end-to-end files, longest first (their times in a CI log: `grep '^# plain test_'`).
e2e_suite() {  # $1 = build dir, $2 = label
    local n first=""
    for n in http_server check devtools tui realistic profiler robust http_client hostile deferred \
        core regexp readers json; do first="$first tests/e2e/test_$n.sh"; done
    FIRST=$first in_order e2e "$1" "$2" tests/e2e/test_*.sh
}

valgrind_one() {  # $1 = a script run under valgrind, or a tests/scripts/valgrind_*.sh
    case $1 in
        *.sh)
            if out=$(MRUN="$ROOT/build/mrun" MRPROF="$ROOT/build/mrprof" timeout -k 5 600 sh "$1" 2>&1); then
                echo "ok - valgrind $1"
            else
                echo "not ok - valgrind $1"; printf '%s\n' "$out" | head -n 30 | sed 's/^/    # /'
            fi ;;
        *)
            vlog=$(mktemp /tmp/mrprof-vg.XXXXXX)
            if timeout -k 5 600 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
                --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
                build/mrun "$1" 18 >/dev/null 2>"$vlog"; then
                echo "ok - valgrind $1: no errors, no leaks"
            else
                echo "not ok - valgrind $1"; head -n 30 "$vlog" | sed 's/^/    # /'
            fi
            rm -f "$vlog" ;;
    esac
}

valgrind_suite() {
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "not ok - valgrind: not installed (make deps installs it)"; return
    fi
    FIRST="tests/scripts/valgrind_net.sh tests/scripts/valgrind_http_client.sh" \
        in_order valgrind - - $(ls samples/fib.rb samples/timers.rb tests/scripts/gc_stress.rb \
            tests/scripts/valgrind_*.sh 2>/dev/null)
}

# The Deferred end-to-end tests (and JSON in a worker) against build/tsan/mrun: any reported race
# fails the test through its exit code.
tsan_one() {
    case $1 in
        deferred) bash tests/e2e/test_deferred.sh ;;
        deferred_map) bash tests/e2e/test_deferred_map.sh ;;
        memory) ONLY="workers\|together" bash tests/e2e/test_memory.sh ;;
        process) ONLY="deferred_workers" bash tests/e2e/test_process.sh ;;
        regexp) ONLY="deferred_workers" bash tests/e2e/test_regexp.sh ;;
        json) ONLY=deferred bash tests/e2e/test_json.sh ;;
        crypto) ONLY="deferred_workers\|workers_fetch\|block_forms" bash tests/e2e/test_crypto.sh ;;
        waitstates) ONLY=deferred bash tests/e2e/test_waitstates.sh ;;
        worker) bash tests/e2e/test_worker.sh ;;
        loophealth) ONLY="stall_recorder_with_deferred\\|stall_exactly_one" bash tests/e2e/test_loophealth.sh ;;
        # the inspector's thread against the main VM (jobs, console, interrupts, disconnects);
        # its profile test is left out: under TSan the hot loop's samples fall on its caller
        # (the sampler's known TSan quirk, see test_loophealth in the log of 59ca50a); so is the
        # NodeWorker test that asserts names (nodeworker_sessions runs the same without)
        inspect) ONLY="evaluate\\|cycles\\|wait\\|1gb\\|json_list\\|nodeworker_sessions" bash tests/e2e/test_inspect.sh ;;
    esac | sed "s/^\(not ok\|ok\) - /\1 - tsan /"
}

# Every libFuzzer target (build/fuzz/, make fuzz-targets) over its seed corpus and the
# reproducers of fixed bugs, then a short fresh run: tests/fuzz/run.sh, one target at a time
# here, TEST_JOBS targets at once (a fresh run lasts FUZZ_SECONDS of wall time whatever the
# load). ONLY= filters the targets.
fuzz_suite() {
    local src name targets=""
    for src in tests/fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        if [ -n "${ONLY:-}" ] && ! echo "$name" | grep -q -- "$ONLY"; then continue; fi
        targets="$targets ${name#fuzz_}"
    done
    [ -n "$targets" ] || { echo "# fuzz: no target matches '${ONLY:-}'"; return; }
    in_order fuzz - - $targets
}

if [ "${1:-}" = --one ]; then  # one item of a suite, for in_order's parallel runs
    rm -f "$log"  # the tally is the parent's
    shift
    one "$@"
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
    suite_start=$(date +%s)
    case $suite in
        plain) { unit_suite build plain; e2e_suite build plain; } | tally ;;
        asan) { TEST_TIMEOUT=300 unit_suite build/asan asan; TEST_TIMEOUT=300 e2e_suite build/asan asan; } | tally ;;
        tsan) ( export SUITE=tsan MRUN="$ROOT/build/tsan/mrun" MRPROF="$ROOT/build/mrprof" ROOT="$ROOT" \
                    TEST_TIMEOUT=300 TSAN_OPTIONS="halt_on_error=1:exitcode=66:report_signal_unsafe=0"
                FIRST=deferred in_order tsan - - deferred deferred_map memory process regexp json crypto waitstates worker loophealth inspect ) | tally ;;
        valgrind) valgrind_suite | tally ;;
        # The fuzz suite: tests/fuzz/run.sh prints its own ok/not ok lines (ONLY= filters targets).
        fuzz) fuzz_suite | tally ;;
        *) echo "not ok - unknown suite '$suite'" | tally ;;
    esac
    echo "# suite $suite: $(($(date +%s) - suite_start)) s"
done
passed=$(grep -c '^ok$' "$log")
failed=$(grep -c '^fail$' "$log")
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
