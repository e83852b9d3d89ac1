#!/usr/bin/env bash
# End-to-end tests of the folded-stacks and speedscope readers (issue 19) and of what idle
# becomes per output format (issue 18 item 10):
#  - round trips through both formats give the report the original gives;
#  - files other tools write are read as those tools show them: a real perf/stackcollapse file
#    (the one speedscope's npm package ships) and a file speedscope's own exporter writes, held
#    to speedscope's own shares; py-spy's and rbspy's frame names split into name, file, line;
#  - report, diff, check and view take both formats; bad files get exit 2 and a message naming
#    the line and column (folded) or the profile and event (speedscope);
#  - folded stacks, speedscope and pprof leave (idle) out unless convert --idle.
# The tests that run Node (speedscope) run in the plain suite only; the rest in every suite.
source "$(dirname "$0")/lib.sh"

plain_only() { [ "${SUITE:-plain}" = plain ]; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

record_split() {  # self_split.rb: three functions at about 60/30/10 % of the time
    $MRUN --cpu-prof --prof-hz 2000 --prof-out "$T/p.cpuprofile" tests/scripts/self_split.rb 150 2>/dev/null ||
        fail "mrun could not record"
}
record_idle() {   # half_idle.rb in wall mode: about half the time is (idle)
    $MRUN --cpu-prof --prof-mode wall --prof-out "$T/i.cpuprofile" tests/scripts/half_idle.rb 2>/dev/null ||
        fail "mrun could not record"
}
# rows FILE COLS: the whole top table as tsv, columns COLS (cut -f), sorted.
rows() { $MRPROF report --format tsv --top 0 "$1" | tail -n +2 | cut -f"$2" | LC_ALL=C sort; }
# by_name FILE: self samples summed per function name (folded stacks hold names only, so two
# functions of one name in different files are one there).
by_name() { $MRPROF report --format tsv --top 0 "$1" | tail -n +2 | awk -F'\t' '{ n[$6] += $5 } END { for (k in n) print n[k] "\t" k }' | LC_ALL=C sort; }
# self_of FILE NAME: the self samples of function NAME (empty when absent).
self_of() { $MRPROF report --format tsv --top 0 "$1" | awk -F'\t' -v n="$2" '$6 == n { print $5 }'; }

t_speedscope_round_trip_gives_the_same_report() {
    record_split
    run $MRPROF convert --idle "$T/p.cpuprofile" "$T/p.speedscope.json"
    expect_rc 0
    # Shares, ms, sample counts (from "$mrprof".samples), names and locations.
    [ "$(rows "$T/p.cpuprofile" 1-7)" = "$(rows "$T/p.speedscope.json" 1-7)" ] ||
        fail "reports differ: $(diff <(rows "$T/p.cpuprofile" 1-7) <(rows "$T/p.speedscope.json" 1-7) | head)"
    run $MRPROF report "$T/p.speedscope.json"
    expect_out_has "tool mrprof, cpu mode, 2000 Hz requested"
    expect_out_has "$($MRPROF report "$T/p.cpuprofile" | grep -o 'over [0-9]* samples')"
}

t_folded_round_trip_gives_the_same_samples() {
    record_split
    run $MRPROF convert --idle "$T/p.cpuprofile" "$T/p.folded"
    expect_rc 0
    # Folded stacks keep names and sample counts (no files, no times).
    [ "$(by_name "$T/p.cpuprofile")" = "$(by_name "$T/p.folded")" ] ||
        fail "self samples differ: $(diff <(by_name "$T/p.cpuprofile") <(by_name "$T/p.folded") | head)"
    run $MRPROF report "$T/p.folded"
    expect_out_has "tool folded stacks"
}

t_several_threads_become_several_speedscope_profiles_and_back() {
    $MRUN --cpu-prof --prof-out "$T/d.json" --prof-format trace samples/deferred_parallel.rb >/dev/null 2>&1 ||
        fail "mrun could not record"
    run $MRPROF convert --idle "$T/d.json" "$T/d.speedscope.json"
    expect_rc 0
    local want got
    want=$($MRPROF report "$T/d.json" | grep '^  threads')
    got=$($MRPROF report "$T/d.speedscope.json" | grep '^  threads')
    [ -n "$want" ] && [ "$want" = "$got" ] || fail "threads: [$want] became [$got]"
    local n=$($MRPROF report "$T/d.json" | awk '/^  threads/ { print $2 + 0 }') th
    [ "$n" -ge 2 ] || fail "the sample ran $n thread(s)"
    # CPU mode gives a waiting thread's samples no weight: a stretch of 0 ms has no place on
    # speedscope's value axis, so rows that weigh nothing are left out of the comparison.
    for th in $(seq 0 $((n - 1))); do
        [ "$($MRPROF report --thread $th --format tsv --top 0 "$T/d.json" | cut -f3,5,6 | awk -F'\t' '$1 != "0.000"' | LC_ALL=C sort)" = \
          "$($MRPROF report --thread $th --format tsv --top 0 "$T/d.speedscope.json" | cut -f3,5,6 | awk -F'\t' '$1 != "0.000"' | LC_ALL=C sort)" ] ||
            fail "thread $th's report differs"
    done
}

t_real_perf_folded_file_reads_as_speedscope_shows_it() {
    plain_only || return 0
    # Brendan Gregg's perf + stackcollapse-perf.pl output of a Vert.x server, as shipped (for its
    # own tests and demo) in speedscope's npm package; trailing ';' before the count included.
    local f
    f=$(ls "$ROOT"/tests/node/node_modules/speedscope/dist/release/perf-vertx-stacks-01-collapsed-all-*.txt) ||
        fail "speedscope's sample folded file is missing"
    run node "$ROOT/tests/node/speedscope_top.js" "$f" 5
    expect_rc 0
    expect_out_has "format=collapsed stack"
    local want got
    want=$(printf '%s\n' "$out" | grep -v '^#')
    got=$($MRPROF report --format tsv --top 5 "$f" | tail -n +2 | awk -F'\t' '{ printf "%.2f\t%s\n", $1, $6 }')
    # Ties (2.46 %) may come in either order: compare as sets.
    [ "$(printf '%s\n' "$want" | LC_ALL=C sort)" = "$(printf '%s\n' "$got" | LC_ALL=C sort)" ] ||
        fail "speedscope's top 5: [$want], mrprof's: [$got]"
}

t_file_from_speedscopes_own_exporter_reads_as_speedscope_shows_it() {
    plain_only || return 0
    record_split
    run node "$ROOT/tests/node/speedscope_export.js" "$T/p.cpuprofile" "$T/exported.json"
    expect_rc 0
    grep -q '"exporter":"speedscope@' "$T/exported.json" || fail "not written by speedscope's exporter"
    run node "$ROOT/tests/node/speedscope_top.js" "$T/exported.json" 3
    expect_rc 0
    local want got name a b
    want=$(printf '%s\n' "$out" | grep -v '^#')
    got=$($MRPROF report --format tsv --top 3 "$T/exported.json" | tail -n +2 | cut -f1,6)
    [ "$(printf '%s\n' "$want" | cut -f2)" = "$(printf '%s\n' "$got" | cut -f2)" ] ||
        fail "top 3: speedscope [$want], mrprof [$got]"
    for name in $(printf '%s\n' "$want" | cut -f2); do
        a=$(printf '%s\n' "$want" | awk -F'\t' -v n="$name" '$2 == n { print $1 }')
        b=$(printf '%s\n' "$got" | awk -F'\t' -v n="$name" '$2 == n { print $1 }')
        near "$a" "$b" 0.01 || fail "$name: $a % in speedscope, $b % in mrprof"
    done
}

t_py_spy_and_rbspy_frames_give_name_file_and_line() {
    # py-spy `record --format raw`: `name (file:line)` per frame, root first (benfred/py-spy
    # src/flamegraph.rs); rbspy `record --format collapsed`: `name - path:line` (rbspy/rbspy
    # src/core/types.rs, StackFrame's Display). Both tools' line is the line being run.
    printf '%s\n' '<module> (fib.py:15);fib (fib.py:11);fib (fib.py:12) 30' \
                  '<module> (fib.py:15);fib (fib.py:11) 10' 'process 42:"python fib.py";idle (fib.py:20) 5' >"$T/py.txt"
    run $MRPROF report --top 0 "$T/py.txt"
    expect_rc 0
    printf '%s\n' "$out" | grep -Eq '^ +40\.0 +88\.9% +40\.0 +88\.9% +fib +fib\.py$' || fail "fib row: $out"
    run $MRPROF report --by line --top 0 "$T/py.txt"
    expect_out_has "fib.py:12"
    printf '%s\n' "$out" | grep -Eq '^ +30\.0 .*fib +fib\.py:12$' || fail "line 12 row: $out"
    printf '%s\n' "$out" | grep -Eq '^ +10\.0 .*fib +fib\.py:11$' || fail "line 11 row: $out"
    printf '%s\n' '<main> - /srv/app.rb:30;Store#get - /srv/store.rb:12;block in Store#get - /srv/store.rb:14 8' \
                  '<main> - /srv/app.rb:31;<c function> - unknown:0 2' >"$T/rb.txt"
    run $MRPROF report --by file --top 0 "$T/rb.txt"
    expect_rc 0
    printf '%s\n' "$out" | grep -Eq '^ +8\.0 +80\.0% .*/srv/store\.rb' || fail "store.rb row: $out"
    run $MRPROF report --tree "$T/rb.txt"
    expect_out_has "block in Store#get"
}

t_report_diff_check_and_view_take_both_formats() {
    record_split
    $MRPROF convert --idle "$T/p.cpuprofile" "$T/a.folded" || fail "convert"
    $MRPROF convert --idle "$T/p.cpuprofile" "$T/b.speedscope.json" || fail "convert"
    run $MRPROF diff "$T/a.folded" "$T/a.folded"
    expect_rc 0
    expect_out_has "sixty"
    run $MRPROF diff "$T/p.cpuprofile" "$T/b.speedscope.json"
    expect_rc 0
    run $MRPROF check --baseline "$T/a.folded" "$T/a.folded"
    expect_rc 0
    run $MRPROF check --baseline "$T/p.cpuprofile" "$T/b.speedscope.json"
    expect_rc 0
    run $MRPROF check "$T/a.folded" --budget 'sixty<=90%'
    expect_rc 0
    run $MRPROF view --once --view top "$T/a.folded"
    expect_rc 0
    expect_out_has "sixty"
    run $MRPROF view --once --view top "$T/b.speedscope.json"
    expect_rc 0
    expect_out_has "thirty"
}

t_bad_folded_and_speedscope_files_exit_2_naming_the_place() {
    printf 'a;b 3\na;b;c\n' >"$T/nocount.folded"
    printf 'a;b 3\na;;b 2\n' >"$T/empty.folded"
    # The control byte past the first 512 bytes, which the input sniff checks (a binary file is
    # refused there, before any reader): the folded reader itself names its line and column.
    { for i in $(seq 60); do printf 'main;work 12\n'; done; printf 'main;work\x01 1\n'; } >"$T/ctl.folded"
    printf '{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"evented","name":"m","unit":"nanoseconds","startValue":0,"endValue":5,"events":[{"type":"C","frame":0,"at":1}]}]}' >"$T/close.json"
    printf '{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","name":"m","unit":"bytes","startValue":0,"endValue":5,"samples":[[3]],"weights":[1]}]}' >"$T/index.json"
    local cmd f
    for cmd in report diff view; do
        for f in nocount.folded:"line 2, column 6: expected white space and a sample count" \
                 empty.folded:"line 2, column 3: an empty frame name" \
                 ctl.folded:"line 61, column 10 holds the control byte 0x01" \
                 close.json:"profiles[0].events[0] closes frame 0, but no frame is open" \
                 index.json:"profiles[0].samples[0][0] is not an index into shared.frames"; do
            if [ $cmd = diff ]; then
                run $MRPROF diff "$T/${f%%:*}" "$T/${f%%:*}"
            elif [ $cmd = view ]; then
                run $MRPROF view --once "$T/${f%%:*}"
            else
                run $MRPROF report "$T/${f%%:*}"
            fi
            expect_rc 2
            expect_err_has "${f%%:*}: looks like"
            expect_err_has "${f#*:}"
        done
    done
}

t_idle_is_left_out_of_folded_speedscope_and_pprof_unless_asked() {
    record_idle
    local idle n
    idle=$(self_of "$T/i.cpuprofile" "(idle)")
    [ "${idle:-0}" -gt 20 ] || fail "the wall-mode recording holds ${idle:-0} idle samples"
    for f in i.folded i.speedscope.json i.pb.gz; do
        run $MRPROF convert "$T/i.cpuprofile" "$T/$f"
        expect_rc 0
        [ -z "$(self_of "$T/$f" "(idle)")" ] || fail "$f holds (idle) without --idle"
        run $MRPROF convert --idle "$T/i.cpuprofile" "$T/keep.$f"
        expect_rc 0
        [ -n "$(self_of "$T/keep.$f" "(idle)")" ] || fail "$f lacks (idle) with --idle"
    done
    ! grep -q '(idle)' "$T/i.folded" || fail "i.folded: $(grep '(idle)' "$T/i.folded")"
    grep -qx "(idle) $idle" "$T/keep.i.folded" || fail "keep.i.folded: $(grep '(idle)' "$T/keep.i.folded")"
    # speedscope keeps the time as a gap: the timeline's end is the whole recording.
    n=$(grep -o '"endValue":[0-9]*' "$T/i.speedscope.json" | head -n 1 | cut -d: -f2)
    [ "$n" = "$(grep -o '"endValue":[0-9]*' "$T/keep.i.speedscope.json" | head -n 1 | cut -d: -f2)" ] ||
        fail "endValue without idle ($n) differs from with it"
    # The DevTools formats keep (idle): DevTools shows it apart.
    run $MRPROF convert "$T/i.cpuprofile" "$T/i.json"
    [ -n "$(self_of "$T/i.json" "(idle)")" ] || fail "the trace lost (idle)"
    if plain_only; then
        run node "$ROOT/tests/node/speedscope_top.js" "$T/i.speedscope.json" 20
        expect_rc 0
        case $out in *"(idle)"*) fail "speedscope shows (idle): $out" ;; esac
        run node "$ROOT/tests/node/speedscope_top.js" "$T/i.folded" 20
        expect_rc 0
        case $out in *"(idle)"*) fail "speedscope shows (idle) from folded stacks: $out" ;; esac
    fi
}

t_record_and_mrun_write_folded_stacks_by_the_same_rule() {
    run $MRPROF record --mrun "$MRUN" --mode wall -o "$T/r.folded" -- tests/scripts/half_idle.rb
    expect_rc 0
    expect_file "$T/r.folded"
    ! grep -q '(idle)' "$T/r.folded" || fail "record's folded stacks hold (idle): $(grep '(idle)' "$T/r.folded")"
    run $MRPROF record --mrun "$MRUN" --mode wall --idle -o "$T/ri.folded" -- tests/scripts/half_idle.rb
    expect_rc 0
    grep -Eq '^\(idle\) [0-9]+$' "$T/ri.folded" || fail "record --idle lost (idle): $(head -3 "$T/ri.folded")"
    run $MRUN --cpu-prof --prof-mode wall --prof-idle --prof-out "$T/m.speedscope.json" tests/scripts/half_idle.rb
    expect_rc 0
    [ -n "$(self_of "$T/m.speedscope.json" "(idle)")" ] || fail "mrun --prof-idle: no (idle) in speedscope"
    run $MRUN --cpu-prof --prof-mode wall --prof-out "$T/m.pb.gz" tests/scripts/half_idle.rb
    expect_rc 0
    [ -z "$(self_of "$T/m.pb.gz" "(idle)")" ] || fail "mrun's pprof holds (idle) without --prof-idle"
}

run_tests
