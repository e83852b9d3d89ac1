#!/usr/bin/env bash
# End-to-end tests that the command line says what is true (issue 18.11-18.12): an option that
# would have no effect is an error that names it, a budget for a function the profile lacks is
# an error, and the smaller messages (rates, labels, names, help) state what happens.
source "$(dirname "$0")/lib.sh"

# 18.11: --prof-out with --heap-prof alone wrote the heap profile under the default name and
# said nothing; every mrun option that would do nothing is refused with the reason (exit 2).
t_mrun_options_without_effect_are_errors() {
    cd "$T" || fail "no temp dir"
    run $MRUN --heap-prof --prof-out "$T/x.heapprofile" -e 'p 1'
    expect_rc 2
    expect_err_has "--prof-out names the CPU profile's file, but no CPU profile is written (add --cpu-prof; the heap profile's file is --heap-prof-out)"
    [ -z "$(ls "$T" | grep -v '^\.')" ] || fail "files were written: $(ls "$T")"
    run $MRUN --prof-format trace -e 'p 1'
    expect_rc 2; expect_err_has "--prof-format is the CPU profile's format, but no CPU profile is written"
    run $MRUN --heap-prof --prof-hz 100 -e 'p 1'
    expect_rc 2; expect_err_has "--prof-hz sets the CPU sampler of --cpu-prof or --prof-live, and neither is given"
    run $MRUN --prof-mode wall -e 'p 1'
    expect_rc 2; expect_err_has "--prof-mode sets the CPU sampler"
    run $MRUN --heap-prof-interval 4096 -e 'p 1'
    expect_rc 2; expect_err_has "--heap-prof-interval sets the allocation sampling of --heap-prof or --prof-live"
    [ -z "$(ls "$T" | grep -v '^\.')" ] || fail "files were written: $(ls "$T")"
    # The same options where they do something still work.
    run $MRUN --heap-prof --heap-prof-out "$T/h.heapprofile" --cpu-prof --prof-out "$T/c.json" --prof-hz 500 -e 'p 1'
    expect_rc 0; expect_file "$T/h.heapprofile"; expect_file "$T/c.json"
}

# 18.11: a budget for a misspelled function passed with "ok 0.0".
t_budget_for_a_missing_function_is_an_error() {
    $MRUN --cpu-prof --prof-out "$T/w.cpuprofile" tests/scripts/check_work.rb 2>/dev/null || fail "could not record"
    run $MRPROF check --no-budget-file --budget 'rendr<=40%' "$T/w.cpuprofile"
    expect_rc 2
    expect_err_has "budget 'rendr<=40%': the profile has no function named 'rendr' (did you mean 'render'?)"
    case $out in *ok*) fail "a verdict was printed: $out";; esac
    # A budget of a function the profile has is judged as before.
    run $MRPROF check --no-budget-file --budget 'render<=99%' "$T/w.cpuprofile"
    expect_rc 0; expect_out_has "no regression"
}

# 18.12: Ctrl-C under --prof-live alone said "stopping to write the profile"; no file is written.
t_prof_live_ctrl_c_says_no_file_is_written() {
    cd "$T" || fail "no temp dir"
    $MRUN --prof-live -e 'set_timeout(20_000) { }' 2>"$T/err" &
    local pid=$! i
    for i in $(seq 100); do grep -q 'live profile at' "$T/err" && break; sleep 0.1; done
    kill -INT $pid
    wait $pid
    err=$(cat "$T/err")
    expect_err_has "stopping; the live viewers get the final profile (no file is written"
    expect_err_lacks "stopping to write"
    [ -z "$(ls "$T" | grep -v '^err$')" ] || fail "files were written: $(ls "$T")"
}

run_tests
