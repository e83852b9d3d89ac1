# lib.sh — the end-to-end test harness, sourced by each tests/e2e/test_*.sh.
#
# A test is a shell function named t_<something>; the file ends with `run_tests`, which runs
# every t_* function in its own subshell with a time limit and prints one TAP-style line each:
#   ok - file: name            not ok - file: name (reason)
# Inside a test: run CMD... captures $out, $err and $rc; expect_* helpers fail the test with a
# message that shows what was expected and what came. $MRUN and $MRPROF name the binaries of the
# suite being run (plain or sanitized); $T is a fresh temporary directory for the test.

: "${ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MRUN:=$ROOT/build/mrun}" "${MRPROF:=$ROOT/build/mrprof}"
export ROOT MRUN MRPROF
# mrprof check writes GitHub annotations and a step summary when it runs under GitHub Actions: a
# suite run inside such a job must not post its own tests' regressions (test_ci_evidence sets them).
unset GITHUB_ACTIONS GITHUB_STEP_SUMMARY
# Python (a test peer) through a pyenv shim starts `pyenv exec` first, a bash script that costs
# about 0.5 s of CPU per start (10 times the interpreter's own start): run the interpreter the
# shim would run, once resolved. A machine without pyenv is left as it is.
case $(command -v python3) in
    */shims/python3) py3=$(pyenv which python3 2>/dev/null) && [ -x "$py3" ] && PATH="${py3%/*}:$PATH" ;;
esac
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
# long_test NAME SECONDS: NAME's own time limit (when more than TEST_TIMEOUT), for a test whose
# work is long by design (dozens of profiled runs): the limit catches a hang, and a loaded
# machine stretches such work several times over (issue 28: check --runs hit 120 s).
long_test() { eval "long_timeout_$1=$2"; }

fail() { printf '%s\n' "$*" >"$T/.failure"; exit 1; }
# skip REASON: what a test could not check here (no ::1, a peer missing); the test goes on (or
# returns) and its ok line ends with "# SKIP REASON", TAP's way, so a skip is never silent.
skip() { printf '%s\n' "$*" >>"$T/.skip"; }

run() {
    out=$("$@" 2>"$T/.stderr"); rc=$?
    err=$(cat "$T/.stderr")
}

expect_rc() {
    [ "$rc" = "$1" ] || fail "exit code $rc, expected $1; stderr: $(printf '%s' "$err" | head -c 600); stdout: $(printf '%s' "$out" | head -c 1200)"
}
expect_out() { [ "$out" = "$1" ] || fail "stdout was [$(printf '%s' "$out" | head -c 600)], expected [$1]"; }
expect_out_has() { case $out in *"$1"*) ;; *) fail "stdout lacks [$1]: [$(printf '%s' "$out" | head -c 800)]";; esac; }
expect_err_has() { case $err in *"$1"*) ;; *) fail "stderr lacks [$1]: [$(printf '%s' "$err" | head -c 800)]";; esac; }
expect_err_lacks() { case $err in *"$1"*) fail "stderr has [$1]: [$(printf '%s' "$err" | head -c 800)]";; esac; }
# expect_lines TEXT: stdout holds the lines of TEXT, each as often, in any order.
expect_lines() {
    [ "$(printf '%s\n' "$out" | LC_ALL=C sort)" = "$(printf '%s\n' "$1" | LC_ALL=C sort)" ] ||
        fail "stdout's lines were [$(printf '%s' "$out" | head -c 800)], expected these in any order: [$1]"
}
# expect_order LINE...: each LINE is a whole line of stdout, each after the one before (lines
# between them are allowed): the order a chain of events promises, whatever runs beside it.
expect_order() {
    local -a lines
    local l i=0 prev="(start)"
    mapfile -t lines <<<"$out"
    for l in "$@"; do
        while [ $i -lt ${#lines[@]} ] && [ "${lines[$i]}" != "$l" ]; do i=$((i + 1)); done
        [ $i -lt ${#lines[@]} ] ||
            fail "stdout lacks the line [$l] after [$prev]: [$(printf '%s' "$out" | head -c 800)]"
        i=$((i + 1)); prev=$l
    done
}
expect_file() { [ -s "$1" ] || fail "file $1 missing or empty"; }

# E2E_TIMES=1: each test's wall time and CPU time (user+sys of its processes, those that were
# waited for), to see where a file's time goes.
cpu_ms() {  # sets $cpu; `times` must run in this shell (a pipe or $(...) is a subshell)
    times >"$T/.times"
    cpu=$(awk 'NR == 2 { split($0, f, /[ms]+/); print int((f[1] * 60 + f[2] + f[3] * 60 + f[4]) * 1000) }' "$T/.times")
}

# E2E_KEEP_FAILED=DIR (set by `make flaky` for each round): a failed test's directory, with
# its whole output (.log), is copied to DIR/NAME.XXXX before it is removed, when under 100 MB.
keep_failed() {
    [ -n "${E2E_KEEP_FAILED:-}" ] || return 0
    local k
    [ "$(du -sm "$T" 2>/dev/null | cut -f1)" -le 100 ] 2>/dev/null || return 0
    mkdir -p "$E2E_KEEP_FAILED" && k=$(mktemp -d "$E2E_KEEP_FAILED/$1.XXXX") &&
        cp -a "$T/." "$k/" 2>/dev/null
    true
}

run_tests() {
    file=$(basename "$0" .sh)
    # Each test runs in a child bash under `timeout`: export the functions it needs.
    export -f $(declare -F | awk '{print $3}')
    export TEST_FILE="$0"
    for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
        if [ -n "${ONLY:-}" ] && ! printf '%s' "$t" | grep -q -- "$ONLY"; then continue; fi
        T=$(mktemp -d /tmp/mrprof-e2e.XXXXXX)
        [ -z "${E2E_TIMES:-}" ] || { t0=$(date +%s%N); cpu_ms; c0=$cpu; }
        limit=$(eval "echo \${long_timeout_$t:-0}")
        [ "$limit" -gt "$TEST_TIMEOUT" ] || limit=$TEST_TIMEOUT
        ( cd "$ROOT" && timeout -k 5 "$limit" bash -c "set +e; T='$T'; $t" ) \
            >"$T/.log" 2>&1
        r=$?
        [ -z "${E2E_TIMES:-}" ] || { cpu_ms
            echo "# time ${t#t_}: $((($(date +%s%N) - t0) / 1000000)) ms wall, $((cpu - c0)) ms CPU"; }
        if [ $r = 0 ] && [ -s "$T/.skip" ]; then
            echo "ok - $file: ${t#t_} # SKIP $(tr '\n' ' ' <"$T/.skip")"
        elif [ $r = 0 ]; then
            echo "ok - $file: ${t#t_}"
        else
            reason=$(cat "$T/.failure" 2>/dev/null || true)
            [ $r = 124 ] && reason="timed out after ${limit}s"
            [ -z "$reason" ] && reason="exit $r: $(tail -n 3 "$T/.log" | tr '\n' ' ')"
            echo "not ok - $file: ${t#t_} ($reason)"
            keep_failed "$file-${t#t_}"
        fi
        rm -rf "$T"
    done
}
