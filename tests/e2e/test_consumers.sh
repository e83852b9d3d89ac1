#!/usr/bin/env bash
# Real consumers open what mrprof writes and see what `mrprof report` sees: speedscope's own
# importer (.cpuprofile, trace, collapsed stacks) and the DevTools Performance panel's trace engine
# (.cpuprofile and trace: it must build JS flame-chart entries). Both are npm packages pinned in
# tests/node/package-lock.json and installed by `make deps`. The files are the same whatever the
# build, so this file runs in the plain suite only.
source "$(dirname "$0")/lib.sh"
[ "${SUITE:-plain}" = plain ] && [ "${1:-}" != --lib ] || exit 0


# names: the first three function names of a "self_pct<TAB>name" listing, one per line.
names() { grep -v '^#' | head -n 3 | cut -f2; }
share_of() { awk -F'\t' -v n="$1" '$2 == n { print $1; exit }'; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# record once per test: three methods whose self times split about 60/30/10.
record() {  # record [MODE]: cpu (default) or wall
    $MRUN --cpu-prof --prof-mode "${1:-cpu}" --prof-hz 2000 --prof-out "$T/p.cpuprofile" tests/scripts/self_split.rb 300 2>/dev/null ||
        fail "mrun could not record"
    # The consumers weigh a sample by the time to the next sample (DevTools' rule); mrprof by
    # the CPU time mrun recorded for it ("$mrprof".weights). Without that extension mrprof too
    # applies DevTools' rule, so the copy below shows what the consumers must show.
    # The consumers also give the last sample no time, where DevTools' rule gives it the time to
    # endTime (mrun stops a few ms after the last sample: a point and more of a 0.3 s profile);
    # endTime is moved to the last sample for the reference.
    node -e 'const fs = require("fs"), j = JSON.parse(fs.readFileSync(process.argv[1]));
             delete j["$mrprof"]; j.endTime = j.startTime + j.timeDeltas.reduce((a, b) => a + b, 0);
             fs.writeFileSync(process.argv[2], JSON.stringify(j));' \
        "$T/p.cpuprofile" "$T/plain.cpuprofile" || fail "cannot strip the extension"
    # self_pct and name, as the consumer scripts print them
    $MRPROF report --format tsv --top 3 "$T/plain.cpuprofile" | tail -n +2 | cut -f1,6 >"$T/report.tsv"
    [ "$(names <"$T/report.tsv" | tr '\n' ' ')" = "sixty thirty ten " ] ||
        fail "report's own top 3 is not sixty thirty ten: $(cat "$T/report.tsv")"
    # Folded stacks carry sample counts: their reference is the report's shares of samples.
    $MRPROF report --format tsv --top 0 "$T/p.cpuprofile" | tail -n +2 |
        awk -F'\t' '{ n[NR] = $6; c[NR] = $5; sum += $5 } END { for (i = 1; i <= 3; i++) printf "%.2f\t%s\n", 100 * c[i] / sum, n[i] }' >"$T/counts.tsv"
}

# same_top CONSUMER_OUTPUT [REFERENCE [TOLERANCE]]: same three names in the same order as the
# reference (default report.tsv), shares within TOLERANCE points (default 1).
same_top() {
    local got=$1 ref=$T/${2:-report.tsv} tol=${3:-1} n a b
    [ "$(printf '%s\n' "$got" | names | tr '\n' ' ')" = "$(names <"$ref" | tr '\n' ' ')" ] ||
        fail "consumer's top 3 differs from mrprof report's: [$got] vs [$(cat "$ref")]"
    for n in sixty thirty ten; do
        a=$(printf '%s\n' "$got" | share_of $n); b=$(share_of $n <"$ref")
        near "$a" "$b" "$tol" || fail "$n: $a% in the consumer, $b% in mrprof report"
    done
}

consume() {  # consume speedscope|trace_engine FILE
    local tool=$1 file=$2
    case $tool in
        speedscope) run node "$ROOT/tests/node/speedscope_top.js" "$file" 4 ;;
        trace_engine) run node "$ROOT/tests/node/trace_engine_top.mjs" "$file" 4 ;;
    esac
    expect_rc 0
}

t_speedscope_imports_cpuprofile_with_same_top() {
    record
    consume speedscope "$T/p.cpuprofile"
    expect_out_has "format=Chrome CPU Profile"
    same_top "$out"
}

t_speedscope_imports_trace_as_chrome_timeline_with_same_top() {
    # Wall mode: a trace keeps its samples on wall time (its task spans and counters are), so in
    # CPU mode its gaps are wall gaps and, on a loaded machine, not the CPU weights report uses
    # (62.5 against 64.2 % once); the .cpuprofile is laid on CPU time instead. What is tested
    # here is that speedscope reads the trace as DevTools' rule says.
    record wall
    $MRPROF convert "$T/p.cpuprofile" "$T/p.json" || fail "convert to trace failed"
    consume speedscope "$T/p.json"
    expect_out_has "format=Chrome Timeline Object"
    same_top "$out"
}

t_speedscope_imports_collapsed_stacks_with_same_top() {
    record
    $MRPROF convert "$T/p.cpuprofile" "$T/p.folded" || fail "convert to collapsed failed"
    consume speedscope "$T/p.folded"
    expect_out_has "format=collapsed stack"
    same_top "$out" counts.tsv
}

t_devtools_trace_engine_builds_flame_chart_from_cpuprofile() {
    record
    consume trace_engine "$T/p.cpuprofile"
    expect_out_has "calls="
    # The trace engine measures self time on the flame chart's calls, whose edges it places a
    # little differently from the per-sample rule: seen up to 1.1 points apart on "ten".
    same_top "$out" report.tsv 1.5
}

t_devtools_trace_engine_builds_flame_chart_from_trace() {
    $MRUN --cpu-prof --prof-format trace --prof-hz 2000 --prof-out "$T/t.json" tests/scripts/self_split.rb 300 2>/dev/null ||
        fail "mrun could not record a trace"
    consume trace_engine "$T/t.json"
    expect_out_has "threads=1"
    # A different run from report.tsv's: the same order, shares within sampling noise.
    [ "$(printf '%s\n' "$out" | names | tr '\n' ' ')" = "sixty thirty ten " ] ||
        fail "trace engine's top 3 is not sixty thirty ten: [$out]"
}

[ "${1:-}" = --lib ] || run_tests
