#!/usr/bin/env bash
# End-to-end tests of `mrprof diff` and `mrprof check`: synthetic profiles with known shares,
# real runs of a script made slower in one method, the JUnit and Markdown outputs read by real
# consumers (tests/node/junit_md_check.mjs), budgets and bad input.
source "$(dirname "$0")/lib.sh"

# synth OUT NAME=COUNT...: a .cpuprofile with those functions under `main`, 1 ms per sample.
synth() {
    local out=$1; shift
    awk -v specs="$*" 'BEGIN {
        n = split(specs, s, " ")
        frame = "{\"id\":%d,\"callFrame\":{\"functionName\":\"%s\",\"scriptId\":\"1\",\"url\":\"app.rb\",\"lineNumber\":%d,\"columnNumber\":0}"
        printf "{\"nodes\":[" frame ",\"children\":[2]},", 1, "(root)", -1
        printf frame ",\"children\":[", 2, "main", 0
        for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? "," : ""), i + 2
        printf "]}"
        for (i = 1; i <= n; i++) { split(s[i], kv, "="); cnt[i] = kv[2]; printf "," frame "}", i + 2, kv[1], i * 10 }
        printf "],\"startTime\":0,\"endTime\":100000000,\"samples\":["
        total = 0
        for (r = 0; ; r++) { any = 0
            for (i = 1; i <= n; i++) if (r < cnt[i]) { printf "%s%d", (total ? "," : ""), i + 2; total++; any = 1 }
            if (!any) break }
        printf "],\"timeDeltas\":["
        for (k = 0; k < total; k++) printf "%s1000", (k ? "," : "")
        printf "]}\n" }' >"$out"
}

t_diff_shows_changes_new_and_gone_functions() {
    synth "$T/a.cpuprofile" A=5000 B=3000 C=2000
    synth "$T/b.cpuprofile" A=6000 B=3000 D=2000
    run $MRPROF diff "$T/a.cpuprofile" "$T/b.cpuprofile" --format tsv
    expect_rc 0
    printf '%s\n' "$out" | grep -q "^gone	20.00	0.00	-20.00	2000.000	0.000	.*	C	" || fail "C not gone: $out"
    printf '%s\n' "$out" | grep -q "^new	0.00	18.18	+18.18	0.000	2000.000	.*	D	" || fail "D not new: $out"
    printf '%s\n' "$out" | grep -q "^both	50.00	54.55	+4.55	5000.000	6000.000	.*	A	" || fail "A change wrong: $out"
    run $MRPROF diff "$T/a.cpuprofile" "$T/b.cpuprofile"
    expect_out_has "Time in the new profile: +10.0% against the base"
}

t_diff_call_tree_and_the_change_as_files() {
    synth "$T/a.cpuprofile" A=5000 B=3000 C=2000
    synth "$T/b.cpuprofile" A=6000 B=3000 D=2000
    run $MRPROF diff "$T/a.cpuprofile" "$T/b.cpuprofile" --tree-min 3 -o "$T/d.speedscope.json"
    expect_rc 0
    # The base is scaled to the new total (11 s): A 50 % -> 54.5 %, C gone, D new, B -2.7 points
    # (under --tree-min); the path to them (synth's (root) node, main) did not move.
    expect_out_has "Call tree of the change"
    expect_out_has "  100.0  100.0    +0.0    main  app.rb:1"
    expect_out_has "   50.0   54.5    +4.5      A  app.rb:11"
    expect_out_has "   20.0    0.0   -20.0      C  app.rb:31"
    expect_out_has "    0.0   18.2   +18.2      D  app.rb:31"
    printf '%s\n' "$out" | grep -q "      B  app.rb" && fail "B moved under --tree-min but is in the tree: $out"
    # speedscope imports the change as two profiles; the heavier one is what grew: D then A.
    run node "$ROOT/tests/node/speedscope_top.js" "$T/d.speedscope.json" 2
    expect_rc 0
    expect_out_has "profiles=2"
    [ "$(printf '%s\n' "$out" | grep -v '^#' | cut -f2 | tr '\n' ' ')" = "D A " ] ||
        fail "speedscope: what grew is not D then A: $out"
    # a .cpuprofile holds what grew, valid for DevTools; absolute: A +1000 ms, D +2000 ms
    run $MRPROF diff "$T/a.cpuprofile" "$T/b.cpuprofile" --absolute --no-tree -o "$T/d.cpuprofile"
    expect_rc 0
    printf '%s\n' "$out" | grep -q "Call tree" && fail "--no-tree printed the tree"
    run node "$ROOT/tests/node/check_cpuprofile.js" "$T/d.cpuprofile"
    expect_rc 0
    run $MRPROF report "$T/d.cpuprofile" --format tsv
    printf '%s\n' "$out" | grep -q "^66.67	66.67	2000.000	.*	D	" || fail "report of the change: D is not 2000 ms: $out"
    run $MRPROF diff "$T/a.cpuprofile" "$T/b.cpuprofile" -o "$T/d.unknown"
    expect_rc 2; expect_err_has "cannot tell the format"
    run $MRPROF diff "$T/a.cpuprofile" "$T/b.cpuprofile" --tree-min lots
    expect_rc 2; expect_err_has "--tree-min must be 0..100, not 'lots'"
}

t_check_flags_a_function_made_20_percent_slower_first() {
    synth "$T/a.cpuprofile" A=5000 B=3000 C=2000
    synth "$T/b.cpuprofile" A=6000 B=3000 C=2000
    run $MRPROF check --baseline "$T/a.cpuprofile" "$T/b.cpuprofile"
    expect_rc 1
    [ "$(printf '%s\n' "$out" | grep '^FAIL [^ ]' | head -n 1 | cut -d: -f1)" = "FAIL A" ] || fail "A not named first: $out"
    expect_out_has "REGRESSION"
}

t_check_passes_identical_work_and_small_noise() {
    synth "$T/a.cpuprofile" A=5000 B=3000 C=2000
    synth "$T/b.cpuprofile" A=5000 B=3000 C=2000
    run $MRPROF check --baseline "$T/a.cpuprofile" "$T/b.cpuprofile"
    expect_rc 0
    # a 2 % wobble (under the 5 % threshold) and a tiny function tripling (noise) pass too
    synth "$T/c.cpuprofile" A=5100 B=2950 C=1950 E=3
    synth "$T/d.cpuprofile" A=5000 B=3000 C=2000 E=1
    run $MRPROF check --baseline "$T/d.cpuprofile" "$T/c.cpuprofile"
    expect_rc 0
}

t_check_flags_a_new_hot_function() {
    synth "$T/a.cpuprofile" A=5000 B=3000
    synth "$T/b.cpuprofile" A=5000 B=3000 N=2000
    run $MRPROF check --baseline "$T/a.cpuprofile" "$T/b.cpuprofile"
    expect_rc 1
    expect_out_has "FAIL N: new: 20.0% of the time"
}

t_junit_and_markdown_are_read_by_real_consumers() {
    synth "$T/a.cpuprofile" A=5000 B=3000 C=2000
    synth "$T/b.cpuprofile" A=6000 B=3000 C=2000
    run $MRPROF check --baseline "$T/a.cpuprofile" "$T/b.cpuprofile" --junit "$T/j.xml" --markdown "$T/m.md"
    expect_rc 1
    run node tests/node/junit_md_check.mjs "$T/j.xml" "$T/m.md"
    expect_rc 0
    expect_out_has "junit tests=4 failures=1 failed=A"
    expect_out_has "markdown tables=1 rows=4"
}

t_budgets_from_options_and_from_mrprof_budget() {
    synth "$T/a.cpuprofile" A=5000 B=3000 C=2000
    run $MRPROF check "$T/a.cpuprofile" --budget 'A<=40%'
    expect_rc 1
    expect_out_has "FAIL budget A<=40%: A takes 50.0% of the time"
    run $MRPROF check "$T/a.cpuprofile" --budget 'A<=60%' --budget 'B<=30%'
    expect_rc 0
    mkdir "$T/repo" && printf '# budgets for this repo\nC<=10%%\n' >"$T/repo/mrprof.budget"
    run sh -c "cd '$T/repo' && '$MRPROF' check '$T/a.cpuprofile' --budget 'A<=60%'"
    expect_rc 1
    expect_out_has "FAIL budget C<=10%"
    run sh -c "cd '$T/repo' && '$MRPROF' check '$T/a.cpuprofile' --budget 'A<=60%' --no-budget-file"
    expect_rc 0
    run $MRPROF check "$T/a.cpuprofile" --budget 'A=40'
    expect_rc 2
    expect_err_has "a budget is NAME<=PERCENT%"
}

t_bad_inputs_get_exit_2_with_the_file_named() {
    synth "$T/good.cpuprofile" A=10
    : >"$T/empty.cpuprofile"
    head -c 60 "$T/good.cpuprofile" >"$T/cut.cpuprofile"
    head -c 300 /dev/urandom >"$T/random.cpuprofile"
    echo '{"nodes": 3}' >"$T/shape.cpuprofile"
    mkdir "$T/dir.cpuprofile"
    local f
    for f in empty cut random shape dir missing; do
        run $MRPROF diff "$T/good.cpuprofile" "$T/$f.cpuprofile"
        expect_rc 2; expect_err_has "$T/$f.cpuprofile"
        run $MRPROF check --baseline "$T/$f.cpuprofile" "$T/good.cpuprofile"
        expect_rc 2; expect_err_has "$T/$f.cpuprofile"
    done
    echo '{"runs": 3}' >"$T/bl.json"
    run $MRPROF check --runs 2 --baseline-json "$T/bl.json" -- tests/scripts/check_work.rb
    expect_rc 2; expect_err_has "is not a baseline written by 'mrprof check --save-baseline'"
}

t_usage_errors_exit_2() {
    run $MRPROF diff only-one.cpuprofile
    expect_rc 2
    run $MRPROF check --baseline a.cpuprofile
    expect_rc 2
    run $MRPROF check --runs 1 --save-baseline x.json -- tests/scripts/check_work.rb
    expect_rc 2; expect_err_has "--runs must be 2..1000, not '1'"
    run $MRPROF check --runs 3 -- tests/scripts/check_work.rb
    expect_rc 2; expect_err_has "needs one of --against"
    run $MRPROF check --threshold lots --baseline a b
    expect_rc 2
}

t_check_runs_passes_same_code_and_catches_a_slower_method() {
    # Base and new run in turn (--against), so a machine that slows down mid-check slows both
    # sides alike; CI session 2 saw a neighbour slow a whole batch of runs by 16 %. The false-
    # alarm rate over 20 repetitions is measured by `make bench` (tests/bench/check_rates.sh);
    # one retry (here and for the slow variant) keeps a burst of noise from failing the suite
    # without hiding a systematic false alarm or a systematic miss.
    local w=tests/scripts/check_work.rb
    run $MRPROF check --runs 10 --against "$w" -- $w
    [ "$rc" = 0 ] || run $MRPROF check --runs 10 --against "$w" -- $w
    expect_rc 0
    # The plain suite uses the 25 % slower method the issue names (`make bench` measured the
    # catch rate at 20/20 once functions were judged against the rest of each run, at 4 kHz).
    # Under ASan+UBSan run times are far noisier than the product's: that suite checks the same
    # path with a 2x slower method.
    local slow=1.25
    [ "${SUITE:-plain}" = plain ] || slow=2.0
    first_fail() { printf '%s\n' "$out" | grep '^FAIL [^ ]' | head -n 1 | cut -d: -f1; }
    run $MRPROF check --runs 10 --against "$w" --junit "$T/j.xml" -- $w $slow
    # The retry also covers an unchanged method that noise pushed past parse (seen once in CI:
    # `store` +17 %, p = 0.0002, while parse was caught). It takes twice the runs: a burst of
    # load (a benchmark run beside the suite once made the 95 % CI of an unchanged method
    # -28 %..+37 %) costs the test power, not correctness.
    [ "$rc" = 1 ] && [ "$(first_fail)" = "FAIL parse" ] ||
        run $MRPROF check --runs 20 --against "$w" --junit "$T/j.xml" -- $w $slow
    expect_rc 1
    [ "$(first_fail)" = "FAIL parse" ] || fail "parse not named first: $out"
    grep -q 'name="parse"' "$T/j.xml" || fail "junit lacks parse"
}
# Up to 80 profiled runs of check_work.rb (0.4 s of CPU each): 4 s of wall time each beside six
# other builds on 2 cores, and longer under ASan.
long_test t_check_runs_passes_same_code_and_catches_a_slower_method 1200

t_check_runs_stored_baseline_round_trip() {
    # A baseline stored by one checkout and read by another: keys hold the file relative to the
    # script's root (and the function's line), so a copy of the script elsewhere meets its
    # functions. Batches made one after the other are
    # exposed to the machine's drift (a CI run once saw a whole baseline batch made while the
    # machine was slow enough to hide a 2x slower parse in plain times); functions are judged
    # against the rest of each run, which cancels that. A retry stores a fresh baseline.
    cp tests/scripts/check_work.rb "$T/copy.rb" && mkdir -p "$T/other" && cp "$T/copy.rb" "$T/other/copy.rb"
    for attempt in 1 2; do
        run $MRPROF check --runs 6 --save-baseline "$T/bl.json" -- "$T/copy.rb"
        expect_rc 0; expect_file "$T/bl.json"; expect_out_has "saved 6 runs"
        grep -q '"parse\\tcopy.rb\\t[0-9]*"' "$T/bl.json" || fail "baseline keys lack the relative file and line: $(head -c 400 "$T/bl.json")"
        run $MRPROF check --runs 6 --baseline-json "$T/bl.json" -- "$T/other/copy.rb" 2.0
        [ "$rc" = 1 ] && break
    done
    expect_rc 1
    expect_out_has "FAIL parse:"
}
long_test t_check_runs_stored_baseline_round_trip 900  # up to 24 profiled runs

t_check_runs_reads_a_baseline_of_an_older_release() {
    # tests/data/check/old-baseline.json was written by the cJSON writer that formats/json.c
    # replaced, from tests/scripts/collide/main.rb (two `helper`s, in lib/a/util.rb and
    # lib/b/util.rb): it still loads, and each helper meets its own. Two runs per side never
    # reach significance (the smallest p of 2 against 2 is 1/6), so the verdict is fixed.
    run $MRPROF check --runs 2 --baseline-json tests/data/check/old-baseline.json -- "$ROOT/tests/scripts/collide/main.rb"
    expect_rc 0
    expect_out_has "helper (lib/a/util.rb:2)"
    expect_out_has "helper (lib/b/util.rb:2)"
    expect_out_has "no regression"
}

t_check_runs_against_usage_errors() {
    run $MRPROF check --runs 4 --against x.rb --baseline-json y.json -- a.rb
    expect_rc 2; expect_err_has "needs one of --against"
    run $MRPROF check --runs 4 --against "   " -- tests/scripts/check_work.rb
    expect_rc 2
    run $MRPROF check --runs 2 --against "-e 'raise 1'" -- tests/scripts/check_work.rb
    expect_rc 3; expect_err_has "run 1 of base -e failed"
    # 20.1: a base command with leading blanks freed a pointer into its own copy (abort).
    run $MRPROF check --runs 2 --against "  -e 'raise 1'" -- tests/scripts/check_work.rb
    expect_rc 3; expect_err_has "run 1 of base -e failed"
}

t_check_runs_script_failure_exits_3() {
    run $MRPROF check --runs 2 --save-baseline "$T/bl.json" -- -e 'raise "boom"'
    expect_rc 3
    expect_err_has "run 1 of -e failed"
}

[ "${1:-}" = --lib ] || run_tests
