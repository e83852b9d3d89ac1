#!/usr/bin/env bash
# test_memory.sh — memory profiling end to end: the accuracy of the allocation sampler, live
# against allocated, the .heapprofile file (strict structure, read by speedscope), counters in
# the trace, Deferred workers, and bad input.
. "$(dirname "$0")/lib.sh"
export S=tests/scripts/memory

near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
field() { printf '%s\n' "$out" | awk -v k="$1" '$1 == k { print $2 }'; }

t_shares_within_5_points_and_total_within_10_percent() {
    run "$MRUN" "$S/shares.rb" 16384
    expect_rc 0
    # 1001 : 2001 : 3001 bytes -> 16.7 %, 33.3 %, 50.0 % of the strings' bytes, which are most
    # of what the script allocates (checked below).
    near "$(field small)" 16.7 5 || fail "small: $(field small)%, expected 16.7 +/- 5: $out"
    near "$(field medium)" 33.3 5 || fail "medium: $(field medium)%, expected 33.3 +/- 5: $out"
    near "$(field large)" 50.0 5 || fail "large: $(field large)%, expected 50.0 +/- 5: $out"
    set -- $(printf '%s\n' "$out" | grep '^estimated')
    local est=$2 counted=$4 requested=$6
    awk -v e="$est" -v c="$counted" 'BEGIN { r = e / c; exit !(r > 0.9 && r < 1.1) }' ||
        fail "estimated $est bytes, counted $counted: more than 10 % apart"
    awk -v c="$counted" -v r="$requested" 'BEGIN { exit !(c >= r && r / c > 0.9) }' ||
        fail "the hook counted $counted bytes; the script's Strings alone asked for $requested"
}

t_live_shows_the_kept_allocations_only() {
    run "$MRUN" "$S/live.rb" "$T/live.heapprofile"
    expect_rc 0
    local ak ad lk ld
    ak=$(printf '%s\n' "$out" | awk '$1 == "allocated" && $2 == "keep" { print $3 }')
    ad=$(printf '%s\n' "$out" | awk '$1 == "allocated" && $2 == "drop" { print $3 }')
    lk=$(printf '%s\n' "$out" | awk '$1 == "live" && $2 == "keep" { print $3 }')
    ld=$(printf '%s\n' "$out" | awk '$1 == "live" && $2 == "drop" { print $3 }')
    near "$ak" 50 10 && near "$ad" 50 10 || fail "allocated: keep $ak%, drop $ad% (expected about half each)"
    awk -v k="$lk" -v d="$ld" 'BEGIN { exit !(k > 90 && d < 5) }' || fail "live: keep $lk%, drop $ld%"
    run "$MRPROF" report "$T/live.heapprofile" --top 3
    expect_rc 0
    expect_out_has "heap mode"
    printf '%s\n' "$out" | grep -A4 '^Top' | grep -q 'keep\|String#\*' || fail "report: $out"
}

t_heap_prof_file_is_strict_and_speedscope_imports_it() {
    printf '%s\n' '$kept = []' 'def keep; $kept << ("k" * 4000); end' 'def drop; ("d" * 4000).size; end' \
        '5000.times { keep; drop }' >"$T/kd.rb"
    run "$MRUN" --heap-prof --heap-prof-out "$T/run.heapprofile" "$T/kd.rb"
    expect_rc 0
    expect_err_has "heap profile written to $T/run.heapprofile"
    run python3 "$ROOT/tests/scripts/memory/check_heapprofile.py" "$T/run.heapprofile"
    expect_rc 0
    run node "$ROOT/tests/node/speedscope_top.js" "$T/run.heapprofile" 3
    expect_rc 0
    expect_out_has "unit=bytes"
    printf '%s\n' "$out" | sed -n 2p | grep -q 'String#\*' || fail "speedscope's top: $out"
    # every allocation, and the default Node-style name in a directory
    mkdir "$T/dir"
    run "$MRUN" --heap-prof-all --heap-prof-out "$T/dir" "$T/kd.rb"
    expect_rc 0
    set -- "$T"/dir/Heap.*.heapprofile
    [ -s "$1" ] || fail "no Heap.*.heapprofile in $T/dir: $(ls "$T/dir")"
    run python3 "$ROOT/tests/scripts/memory/check_heapprofile.py" "$1"
    expect_rc 0
}

t_record_memory_writes_cpu_heap_and_counters() {
    run "$MRPROF" record --memory -o "$T/r.json" -- tests/scripts/gc_stress.rb
    expect_rc 0
    expect_file "$T/r.json"
    expect_file "$T/r.heapprofile"
    grep -q '"ph":"C".*"name":"RSS bytes"\|"name":"RSS bytes".*"ph":"C"' "$T/r.json" || fail "no RSS counter in the trace"
    grep -q '"live objects"' "$T/r.json" || fail "no live objects counter in the trace"
    run "$MRPROF" report "$T/r.heapprofile"
    expect_rc 0
    expect_out_has "allocation samples"
}

t_deferred_workers_are_threads_of_their_own() {
    run "$MRUN" --heap-prof-all --heap-prof-interval 8192 --heap-prof-out "$T/w.heapprofile" "$S/workers.rb"
    expect_rc 0
    expect_out_has "worker kept 200"
    # The worker's block (line 3) and the main thread's method (line 2) allocated about the
    # same: 200 Strings of 50 000 bytes each.
    run python3 - "$T/w.heapprofile" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
def total(n): return n["selfSize"] + sum(total(c) for c in n["children"])
def find(n, name):
    if n["callFrame"]["functionName"] == name: return total(n)
    return sum(find(c, name) for c in n["children"])
# A worker's stack starts at its block (the C call into the task is left out): a child of the root.
worker = sum(total(c) for c in doc["head"]["children"]
             if c["callFrame"]["functionName"] == "block in <main>" and c["callFrame"]["lineNumber"] == 2)
print(worker // 1000000, find(doc["head"], "on_main") // 1000000)
PY
    expect_rc 0
    set -- $out
    [ "$1" -ge 7 ] && [ "$1" -le 13 ] && [ "$2" -ge 7 ] && [ "$2" -le 13 ] ||
        fail "worker block ${1} MB, on_main ${2} MB (expected about 10 each)"
}

t_bad_input_is_refused_clearly() {
    run "$MRUN" --heap-prof-interval 0 -e '1'
    expect_rc 2
    expect_err_has "--heap-prof-interval must be 1..1099511627776, not '0'"
    run "$MRUN" -e 'Profiler.start_memory_profiling(interval: -5)'
    expect_rc 1
    expect_err_has "interval must be a positive number of bytes"
    run "$MRUN" -e 'Profiler.stop_memory_profiling'
    expect_rc 1
    expect_err_has "memory profiling is not running"
    run "$MRUN" -e 'Profiler.start_memory_profiling; Profiler.start_memory_profiling'
    expect_rc 1
    expect_err_has "already running"
    run "$MRPROF" convert tests/scripts/memory/../../scripts/shares.rb "$T/x.heapprofile"
    [ "$rc" = 2 ] || fail "convert of a script: exit $rc"
    printf '{"head":{"callFrame":{"functionName":"a"},"selfSize":1,"id":1,"children":[]},"samples":[{"size":1,"nodeId":9,"ordinal":1}],"$mrprof":{"version":1}}' >"$T/bad.heapprofile"
    run "$MRPROF" report "$T/bad.heapprofile"
    expect_rc 2
    expect_err_has "sample 0 has no valid nodeId and size"
}

t_cpu_profile_and_memory_profile_together() {
    cat >"$T/both.rb" <<'RB'
Profiler.start_profiling(hz: 1000)
Profiler.start_memory_profiling(interval: 8192)
a = []; 3000.times { a << ("x" * 3000) }
mem = Profiler.stop_memory_profiling
Profiler.stop_profiling
puts mem.samples > 100 ? "memory ok" : "memory: #{mem.inspect}"
puts Profiler.get_profile.samples >= 0 ? "cpu ok" : "cpu?"
puts Profiler.get_memory_profile.equal?(mem) ? "same" : "other"
RB
    run "$MRUN" "$T/both.rb"
    expect_rc 0
    expect_out "memory ok
cpu ok
same"
}

run_tests
