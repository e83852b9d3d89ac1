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
    # The address is printed before mrun's Ctrl-C handler is in place (rt_prof_begin), and this
    # background job starts with SIGINT ignored: a signal sent in between was lost (an ASan round
    # under load). Wait until SIGINT is caught (bit 1 of SigCgt).
    local cgt
    for i in $(seq 100); do
        cgt=$(awk '/^SigCgt/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        [ -n "$cgt" ] && [ $(((16#$cgt >> 1) & 1)) = 1 ] && break
        sleep 0.1
    done
    kill -INT $pid
    wait $pid
    err=$(cat "$T/err")
    expect_err_has "stopping; the live viewers get the final profile (no file is written"
    expect_err_lacks "stopping to write"
    [ -z "$(ls "$T" | grep -v '^err$')" ] || fail "files were written: $(ls "$T")"
}

# rate_check FILE: the header's "(X% of requested)" is this file's samples per thread over its
# duration at the requested rate (the session-wide signal count made a worker's file read up to 280 %).
rate_check() {
    run $MRPROF report "$1" --top 0
    expect_rc 0
    # What is checked is that the printed ratio is this file's own samples at the requested rate
    # (the bug was a session-wide count over one thread: 280 %). The ratio itself may pass 100 %
    # a little: n samples span n - 1 jittered intervals (165 samples read 100.7 % once).
    printf '%s\n' "$out" | awk '
        /Hz requested/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^Hz/) hz = $i }
        /duration/ { secs = $2; n = $4; for (i = 1; i <= NF; i++) if ($i ~ /^\(/) pct = substr($i, 2) + 0 }
        /^  threads [0-9]+:/ { nt = $2 + 0 }
        END { want = 100 * n / (secs * hz * nt); d = pct - want; if (d < 0) d = -d
              exit !(hz > 0 && pct > 0 && pct <= 105 && d <= 0.1 + want * 0.01) }' ||
        fail "$1: the rate ratio is not this file's samples at the requested rate: $out"
}

# 18.12: the header's rate, per file; trace reports name the tool and the rate.
t_report_rate_per_file_and_trace_meta() {
    cat >"$T/w.rb" <<'EOF'
Deferred.pool_size = 2
Deferred.setup { def spin(ms) = (t = Time.now; x = 0; x += 1 while (Time.now - t) * 1000 < ms; x) }
Deferred.all([Deferred.new { spin(150) }, Deferred.new { spin(150) }]).value
EOF
    run $MRUN --cpu-prof --prof-out "$T/c.cpuprofile" "$T/w.rb"
    expect_rc 0
    local f
    for f in "$T/c.cpuprofile" "$T"/c.thread-*.cpuprofile; do rate_check "$f"; done
    run $MRUN --cpu-prof --prof-mode wall --prof-hz 700 --prof-out "$T/t.json" "$T/w.rb"
    expect_rc 0
    run $MRPROF report "$T/t.json" --top 0
    expect_out_has "tool mrun, wall mode, 700 Hz requested"
    rate_check "$T/t.json"
}

# 18.12: the threads view of a wall profile says wall ms, not CPU ms; --by file names the rows
# without a file instead of leaving them blank.
t_threads_view_wall_label_and_by_file_blank_row() {
    run $MRUN --cpu-prof --prof-mode wall --prof-out "$T/w.cpuprofile" tests/scripts/check_work.rb
    expect_rc 0
    run $MRPROF view "$T/w.cpuprofile" --once --view threads --size 100x10
    expect_out_has "wall ms"
    case $out in *"CPU ms"*) fail "the wall profile's threads view says CPU ms: $out";; esac
    run $MRUN --cpu-prof --prof-out "$T/c.cpuprofile" tests/scripts/check_work.rb
    run $MRPROF view "$T/c.cpuprofile" --once --view threads --size 100x10
    expect_out_has "CPU ms"
    run $MRPROF report "$T/c.cpuprofile" --by file --top 0
    expect_out_has "(no source file: C methods, idle, GC)"
    printf '%s\n' "$out" | awk '/^ +[0-9.]+ +[0-9.]+% +[0-9.]+ +[0-9.]+%  *$/ { bad = 1 } END { exit bad }' ||
        fail "a --by file row has a blank name: $out"
}

# 18.12: the help screen tells that q quits (it said any key closes it), and q does quit.
t_help_screen_says_q_quits() {
    tm() { tmux -L "mrprof-$$" -f /dev/null "$@"; }
    trap 'tm kill-server 2>/dev/null' EXIT
    $MRUN --cpu-prof --prof-out "$T/c.cpuprofile" tests/scripts/check_work.rb 2>/dev/null
    tm new-session -d -s t -x 100 -y 30 "cd '$ROOT' && LANG=C.UTF-8 $MRPROF view $T/c.cpuprofile; echo EXIT=\$?; sleep 60" ||
        fail "tmux could not start"
    local i
    for i in $(seq 100); do tm capture-pane -p -t t | grep -q '1 Top' && break; sleep 0.1; done
    tm send-keys -t t '?'
    for i in $(seq 50); do tm capture-pane -p -t t | grep -q 'Keys' && break; sleep 0.1; done
    tm capture-pane -p -t t | grep -qF "q quits, any other key closes it" ||
        fail "the help does not say q quits: $(tm capture-pane -p -t t)"
    tm send-keys -t t q
    for i in $(seq 50); do tm capture-pane -p -t t | grep -q 'EXIT=0' && return 0; sleep 0.1; done
    fail "q on the help screen did not quit: $(tm capture-pane -p -t t)"
}

# 18.12: README and the user guide name the six views and keys 1-6 that the help screen lists.
t_docs_name_six_views() {
    local f
    for f in README.md docs/user-guide.md; do
        grep -qE '[Kk]eys 1[–-]5|five views' "$ROOT/$f" && fail "$f still names keys 1-5 / five views"
        grep -qE '[Kk]eys 1[–-]6' "$ROOT/$f" || fail "$f does not name keys 1-6"
    done
    run $MRPROF view --help
    expect_out_has "memory"
    expect_out_has "keys 1-6"
    printf '%s\n' "$out" | grep -qE '[Kk]eys 1[–-]5' && fail "view --help still names keys 1-5"
    return 0
}

# 18.13: make install puts mrun, mrprof and the docs under DESTDIR/PREFIX, and the installed
# mrprof runs the installed mrun beside it (no $MRUN, outside the source tree), as the CI
# examples of docs/ci.md use them. The plain suite only: it installs the plain build.
t_make_install_into_destdir_runs_installed_binaries() {
    [ "${SUITE:-plain}" = plain ] || return 0
    run make -s -C "$ROOT" install DESTDIR="$T/root" PREFIX=/opt/mp
    expect_rc 0
    local bin=$T/root/opt/mp/bin f
    for f in "$bin/mrun" "$bin/mrprof" "$T/root/opt/mp/share/doc/mrprof/README.md" \
             "$T/root/opt/mp/share/doc/mrprof/ci.md"; do
        expect_file "$f"
    done
    [ -x "$bin/mrun" ] && [ -x "$bin/mrprof" ] || fail "the installed binaries are not executable"
    mkdir -p "$T/svc/bench" "$T/svc/perf" && cp tests/scripts/check_work.rb "$T/svc/bench/workload.rb"
    cd "$T/svc" || fail "no service dir"
    run env -u MRUN -u MRPROF PATH="$bin:/usr/bin:/bin" mrun -e 'puts 6 * 7'
    expect_rc 0; expect_out 42
    run env -u MRUN -u MRPROF PATH="$bin:/usr/bin:/bin" mrprof record -o p.cpuprofile -- bench/workload.rb
    expect_rc 0; expect_file "$T/svc/p.cpuprofile"
    run env -u MRUN -u MRPROF PATH="$bin:/usr/bin:/bin" mrprof check --runs 2 --save-baseline perf/baseline.json -- bench/workload.rb
    expect_rc 0; expect_file "$T/svc/perf/baseline.json"
    run env -u MRUN -u MRPROF PATH="$bin:/usr/bin:/bin" mrprof check --runs 2 --baseline-json perf/baseline.json \
        --markdown perf.md --junit perf.xml -- bench/workload.rb
    expect_rc 0; expect_file "$T/svc/perf.md"; expect_file "$T/svc/perf.xml"
    expect_out_has "no regression"
}

# 18.12: MemoryProfile#top names allocation sites as the viewer's memory view does ("hold
# (String#*)"), not String#* at 100 %; group: :function keeps the old grouping.
t_memory_profile_top_names_sites() {
    cat >"$T/m.rb" <<'EOF'
$kept = []
def hold; $kept << ("h" * 20_000); end
def churn; ("c" * 20_000).size; end
Profiler.start_memory_profiling(interval: 64 * 1024)
2000.times { hold; churn }
mem = Profiler.stop_memory_profiling
mem.top(2).each { |r| puts "#{r[:name]}\t#{r[:pct]}\t#{r[:file]}:#{r[:line]}\t#{r[:bytes] == r[:total_bytes]}" }
puts mem.top(1, group: :function)[0][:name]
puts mem.top(1, by: :live)[0][:name]
mem.save(ARGV[0], live: false)
EOF
    run $MRUN "$T/m.rb" "$T/m.heapprofile"
    expect_rc 0
    # 2 000 calls of each allocate 40 MB at 64 KiB per sample: ~600 samples each, so each
    # site's share is 50 % within a few points; 35..65 leaves room for any sampling noise.
    printf '%s\n' "$out" | head -2 | sort | awk -F'\t' '
        NR == 1 && $1 == "churn (String#*)" && $2 > 35 && $2 < 65 && $3 ~ /m.rb:3$/ && $4 == "true" { ok++ }
        NR == 2 && $1 == "hold (String#*)" && $2 > 35 && $2 < 65 && $3 ~ /m.rb:2$/ && $4 == "true" { ok++ }
        END { exit ok != 2 }' || fail "the top sites are not churn (String#*) and hold (String#*) at ~50 %: $out"
    [ "$(printf '%s\n' "$out" | sed -n 3p)" = "String#*" ] || fail "group: :function: $out"
    [ "$(printf '%s\n' "$out" | sed -n 4p)" = "hold (String#*)" ] || fail "by: :live: $out"
    # The viewer's memory view lists the same sites.
    run $MRPROF view "$T/m.heapprofile" --once --view memory --size 100x12
    expect_out_has "hold (String#*)"; expect_out_has "churn (String#*)"
}

# 18.11 sweep: mrprof options that were accepted and did nothing are refused with the reason.
t_mrprof_options_without_effect_are_errors() {
    $MRUN --cpu-prof --prof-out "$T/w.cpuprofile" tests/scripts/check_work.rb 2>/dev/null || fail "could not record"
    local W=$T/w.cpuprofile
    run $MRPROF report "$W" --min-pct 5
    expect_rc 2; expect_err_has "--min-pct hides nodes of the call tree: add --tree"
    run $MRPROF report "$W" --format tsv --tree
    expect_rc 2; expect_err_has "--tree: --format tsv prints the top table alone"
    run $MRPROF report "$W" --tree --min-pct 5
    expect_rc 0
    run $MRPROF diff "$W" "$W" --no-tree --tree-min 3
    expect_rc 2; expect_err_has "--tree-min sets the call tree, which --no-tree leaves out"
    run $MRPROF diff "$W" "$W" --format tsv --absolute
    expect_rc 2; expect_err_has "--absolute scales the call tree and -o, and --format tsv prints neither"
    run $MRPROF view "$W" --absolute --once
    expect_rc 2; expect_err_has "--absolute scales a diff: it needs --diff BASE NEW"
    run $MRPROF top --for 2 -- tests/scripts/check_work.rb
    expect_rc 2; expect_err_has "--for is for --attach"
    run $MRPROF top --token abc -- tests/scripts/check_work.rb
    expect_rc 2; expect_err_has "--token is for --attach"
    run $MRPROF top --attach "unix:$T/none.sock" --hz 100 --once
    expect_rc 2; expect_err_has "--hz: with --attach the program runs already"
    run $MRPROF top --attach "unix:$T/none.sock" -o "$T/x.cpuprofile" --once
    expect_rc 2; expect_err_has "-o: with --attach"
    run $MRPROF check --alpha 0.05 --budget 'spin<=100%' "$W"
    expect_rc 2; expect_err_has "--alpha sets how --runs records and judges"
    run $MRPROF check --hz 100 --baseline "$W" "$W"
    expect_rc 2; expect_err_has "--hz sets how --runs records and judges"
    run $MRPROF check --no-budget-file --threshold 3% --budget 'spin<=100%' "$W"
    expect_rc 2; expect_err_has "--threshold applies to a comparison"
    run $MRPROF check --no-budget-file --threshold 3% --baseline "$W" "$W"
    expect_rc 0
}

# 20.1: --hz was parsed four ways: `mrprof top --hz abc` read an uninitialised variable and
# `mrprof check --hz 0` exited 2 without a word. Every command that takes a sampling rate now
# refuses a bad one with exit 2 and one message naming the option and the range.
t_bad_hz_is_refused_with_the_range_everywhere() {
    local v cmd
    for v in 0 abc 99999 -1 ''; do
        for cmd in record check top; do
            run $MRPROF $cmd --hz "$v" -- tests/scripts/check_work.rb
            expect_rc 2; expect_err_has "mrprof $cmd: --hz must be 1..10000, not '$v'"
        done
        run $MRUN --cpu-prof --prof-hz "$v" -e '1'
        expect_rc 2; expect_err_has "mrun: --prof-hz must be 1..10000, not '$v'"
        run $MRUN --cpu-prof --prof-hz="$v" -e '1'
        expect_rc 2; expect_err_has "mrun: --prof-hz must be 1..10000, not '$v'"
    done
    run $MRPROF top --hz
    expect_rc 2; expect_err_has "mrprof top: --hz needs a value (N: 1..10000)"
}

# 20.1: one parser for every command: --opt=VALUE works in mrprof as in mrun, -o/--output is
# the same option everywhere (top took -o only), --output-format is the text|tsv switch with
# --format kept as its old spelling, and -h/--help prints usage generated from the table.
t_one_option_parser_for_every_command() {
    $MRUN --cpu-prof --prof-out "$T/w.cpuprofile" tests/scripts/check_work.rb 2>/dev/null || fail "could not record"
    local W=$T/w.cpuprofile tsv
    run $MRPROF report "$W" --output-format tsv
    expect_rc 0; tsv=$out
    run $MRPROF report "$W" --format=tsv
    expect_rc 0; [ "$out" = "$tsv" ] || fail "--format=tsv differs from --output-format tsv"
    run $MRPROF report "$W" --top=3 --by=file --output-format=text
    expect_rc 0; expect_out_has "Top"
    run $MRPROF report "$W" --output-format tsv --tree
    expect_rc 2; expect_err_has "--tree: --output-format tsv prints the top table alone"
    run $MRPROF diff "$W" "$W" --format tsv --no-tree --tree-min 3
    expect_rc 2; expect_err_has "--tree-min sets the call tree, which --format tsv leaves out"
    run $MRPROF top --attach "unix:$T/none.sock" --output "$T/x.cpuprofile" --once
    expect_rc 2; expect_err_has "--output: with --attach"
    run $MRPROF convert "$W" "$T/c.out" --format=collapsed
    expect_rc 0; expect_file "$T/c.out"
    run $MRPROF convert "$W" "$T/c.out" -f nosuch
    expect_rc 2; expect_err_has "mrprof convert: -f must be one of cpuprofile,"
    run $MRPROF record --mode fast -- tests/scripts/check_work.rb
    expect_rc 2; expect_err_has "mrprof record: --mode must be cpu or wall, not 'fast'"
    run $MRPROF report "$W" --frob
    expect_rc 2; expect_err_has "mrprof report: unknown option '--frob'"; expect_err_has "Try 'mrprof report --help'."
    run $MRPROF check --budget
    expect_rc 2; expect_err_has "mrprof check: --budget needs a value"
    # A 65th --budget exited 2 without a word.
    local budgets=() i
    for i in $(seq 65); do budgets+=(--budget "f$i<=10%"); done
    run $MRPROF check --no-budget-file "${budgets[@]}" "$W"
    expect_rc 2; expect_err_has "mrprof check: --budget: at most 64 budgets"
    local c
    for c in record report convert diff check view top; do
        run $MRPROF $c --help
        expect_rc 0; expect_out_has "usage: mrprof $c"; expect_out_has "-h, --help"
        run $MRPROF $c -h
        expect_rc 0; expect_out_has "usage: mrprof $c"
    done
    run $MRPROF help top
    expect_rc 0; expect_out_has "-o, --output PATH"
    run $MRUN -h
    expect_rc 0; expect_out_has "--prof-hz N"
}

run_tests
