#!/usr/bin/env bash
# End-to-end tests of the formats (issue 11):
#  - profiles written by a real producer (Node: --cpu-prof of two threads, --heap-prof, a trace
#    with Profile/ProfileChunk events) are read by mrprof with the same top function as
#    speedscope's own importer finds;
#  - mrprof's outputs are read by real consumers: Google's pprof (built from Debian's source)
#    and speedscope's importer, with the same top functions and shares as `mrprof report`;
#  - round trips keep the sample count and the top functions;
#  - bad inputs get exit 2 and a message naming the file from every command that reads files.
# The producer and consumer tests run in the plain suite (the files are the same whatever the
# build); round trips and bad inputs run in every suite.
source "$(dirname "$0")/lib.sh"

# Google's pprof, built once per machine from Debian's golang-github-google-pprof-dev. Suites
# run side by side (several checkouts on one machine) may build it at once: each into a file of
# its own, renamed into place.
pprof_bin() {
    local dir=/tmp/mrprof-pprof-$(id -u)
    if [ ! -x "$dir/pprof" ]; then
        mkdir -p "$dir"
        GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$dir/cache" GOFLAGS=-mod=mod \
            go build -o "$dir/pprof.new.$$" github.com/google/pprof >"$dir/build.$$.log" 2>&1 &&
            mv -f "$dir/pprof.new.$$" "$dir/pprof" || { cat "$dir/build.$$.log" >&2; return 1; }
        rm -f "$dir/build.$$.log"
    fi
    echo "$dir/pprof"
}

plain_only() { [ "${SUITE:-plain}" = plain ]; }

# top_of FILE: mrprof's heaviest function by self time that is not (idle) (speedscope's
# importer leaves idle samples out).
top_of() { $MRPROF report --format tsv --top 0 "$1" | tail -n +2 | awk -F'\t' '$6 != "(idle)" { print $6; exit }'; }
# hot_in_top3 FILE: `hot`, which does most of work.js's CPU work, is among mrprof's three
# heaviest functions. Not necessarily first: Node's samples weigh a thread's preempted time too,
# and on a loaded machine a worker thread's start-up (compileForInternalLoader) or a collection
# waiting for its helper threads ((garbage collector)) came first.
hot_in_top3() {
    $MRPROF report --format tsv --top 0 "$1" | tail -n +2 | awk -F'\t' '$6 != "(idle)"' | head -n 3 |
        cut -f6 | grep -qx hot || fail "$(basename "$1"): hot is not in the top 3: $($MRPROF report --top 5 "$1")"
}
speedscope_top() { node "$ROOT/tests/node/speedscope_top.js" "$1" 3 | grep -v '^#' | head -n 1 | cut -f2; }

same_top_as_speedscope() {
    local f=$1 a b
    a=$(top_of "$f"); b=$(speedscope_top "$f")
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "$(basename "$f"): mrprof's top function is [$a], speedscope's [$b]"
}

t_node_cpu_prof_of_two_threads() {
    plain_only || return 0
    (cd "$T" && node --cpu-prof --cpu-prof-dir=cpu "$ROOT/tests/node/producers/work.js" worker) || fail "node failed"
    set -- "$T"/cpu/*.cpuprofile
    [ $# = 2 ] || fail "expected a profile per thread, got $#"
    for f in "$@"; do
        same_top_as_speedscope "$f"
        hot_in_top3 "$f"
    done
}

t_node_heap_prof() {
    plain_only || return 0
    (cd "$T" && node --heap-prof --heap-prof-interval=4096 --heap-prof-dir=heap "$ROOT/tests/node/producers/work.js" heap) ||
        fail "node failed"
    local f
    f=$(ls "$T"/heap/*.heapprofile)
    run $MRPROF report "$f"
    expect_rc 0; expect_out_has "heap mode"; expect_out_has "self KiB"
    same_top_as_speedscope "$f"
    [ "$(top_of "$f")" = retain ] || fail "top allocator is $(top_of "$f"), expected retain"
}

t_node_trace_with_profile_chunks() {
    plain_only || return 0
    (cd "$T" && node --cpu-prof --cpu-prof-dir=cpu --trace-event-categories v8,disabled-by-default-v8.cpu_profiler \
        --trace-event-file-pattern 'node_trace.${rotation}.log' "$ROOT/tests/node/producers/work.js") || fail "node failed"
    expect_file "$T/node_trace.1.log"
    grep -q '"ProfileChunk"' "$T/node_trace.1.log" || fail "the trace has no ProfileChunk events"
    same_top_as_speedscope "$T/node_trace.1.log"
    hot_in_top3 "$T/node_trace.1.log"
}

# record: self_split's three methods (about 60/30/10 % of self time) into $T/p.cpuprofile.
record() {
    $MRUN --cpu-prof --prof-hz 2000 --prof-out "$T/p.cpuprofile" tests/scripts/self_split.rb 200 2>/dev/null ||
        fail "mrun could not record"
    $MRPROF report --format tsv --top 3 "$T/p.cpuprofile" | tail -n +2 | cut -f1,6 >"$T/report.tsv"
}
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# same_shares LISTING TOL: LISTING has "pct<TAB>name" lines; the top 3 names and shares match.
same_shares() {
    local got=$1 tol=$2 n a b
    [ "$(printf '%s\n' "$got" | head -n 3 | cut -f2 | tr '\n' ' ')" = "sixty thirty ten " ] ||
        fail "consumer's top 3: [$got]"
    for n in sixty thirty ten; do
        a=$(printf '%s\n' "$got" | awk -F'\t' -v n=$n '$2 == n { print $1 }')
        b=$(awk -F'\t' -v n=$n '$2 == n { print $1 }' "$T/report.tsv")
        near "$a" "$b" "$tol" || fail "$n: $a % in the consumer, $b % in mrprof report"
    done
}

t_pprof_is_read_by_google_pprof() {
    plain_only || return 0
    record
    local pprof
    pprof=$(pprof_bin) || fail "cannot build Google's pprof (go, golang-github-google-pprof-dev)"
    run $MRPROF convert "$T/p.cpuprofile" "$T/p.pb.gz"
    expect_rc 0
    [ "$(head -c 2 "$T/p.pb.gz" | od -An -tx1 | tr -d ' ')" = 1f8b ] || fail "not gzipped"
    run "$pprof" -top "$T/p.pb.gz"
    expect_rc 0
    expect_out_has "Type: cpu"
    # "  246.59ms 59.71% 59.71%   246.59ms 59.71%  sixty" -> "59.71<TAB>sixty"
    same_shares "$(printf '%s\n' "$out" | awk '$2 ~ /%$/ && NF >= 6 { p = $2; sub("%", "", p); print p "\t" $6 }')" 0.1
}

t_speedscope_and_collapsed_are_imported_by_speedscope() {
    plain_only || return 0
    record
    local f
    for f in p.speedscope.json p.folded; do
        run $MRPROF convert "$T/p.cpuprofile" "$T/$f"
        expect_rc 0
        run node "$ROOT/tests/node/speedscope_top.js" "$T/$f" 3
        expect_rc 0
        # speedscope JSON carries mrprof's weights (CPU ns); folded stacks carry sample counts,
        # so they are held to the report's shares of samples instead.
        if [ $f = p.folded ]; then
            $MRPROF report --format tsv --top 0 "$T/p.cpuprofile" | tail -n +2 |
                awk -F'\t' '{ n[NR] = $6; c[NR] = $5; sum += $5 } END { for (i = 1; i <= 3; i++) printf "%.2f\t%s\n", 100 * c[i] / sum, n[i] }' >"$T/report.tsv"
        fi
        same_shares "$(printf '%s\n' "$out" | grep -v '^#')" 0.1
    done
    run $MRPROF convert -f speedscope "$T/p.cpuprofile" "$T/explicit.out"
    expect_rc 0
    grep -q 'speedscope.app/file-format-schema.json' "$T/explicit.out" || fail "-f speedscope did not write speedscope"
}

# Round trips keep the sample count and the top 3 (every suite: these are mrprof's own readers).
t_round_trips_keep_samples_and_top() {
    record
    local want_n want_top
    want_n=$($MRPROF report "$T/p.cpuprofile" | awk '/samples,/ { print $4; exit }')
    want_top=$($MRPROF report --format tsv --top 3 "$T/p.cpuprofile" | tail -n +2 | cut -f6 | tr '\n' ' ')
    for chain in "p.pb.gz" "p.json" "p.json q.cpuprofile" "p.pb.gz q.json"; do
        local src="$T/p.cpuprofile" f
        for f in $chain; do
            run $MRPROF convert "$src" "$T/rt-$f"; expect_rc 0; src="$T/rt-$f"
        done
        run $MRPROF report "$src"
        expect_rc 0
        [ "$(printf '%s\n' "$out" | awk '/samples,/ { print $4; exit }')" = "$want_n" ] ||
            fail "cpuprofile -> $chain: sample count $(printf '%s\n' "$out" | awk '/samples,/ { print $4; exit }'), expected $want_n"
        [ "$($MRPROF report --format tsv --top 3 "$src" | tail -n +2 | cut -f6 | tr '\n' ' ')" = "$want_top" ] ||
            fail "cpuprofile -> $chain changed the top 3"
        rm -f "$T"/rt-*
    done
}

t_bad_inputs_on_every_reading_command() {
    record
    printf '{"traceEvents": [{"name": "ProfileChunk", ' >"$T/cut.json"
    head -c 400 /dev/urandom | tr -d '\037{[' >"$T/random.bin"
    printf '[{"ph": "X", "name": "a", "ts": 1}]' >"$T/noprofile.json"
    printf '{"head": {"callFrame": {}, "selfSize": 1, "id": 1, "children": [{"callFrame": {}, "selfSize": 1, "id": 1}]}}' >"$T/badheap.heapprofile"
    printf '{"head": {"functionName": "(root)", "id": 1, "children": [7]}, "startTime": 1, "endTime": 2}' >"$T/badlegacy.cpuprofile"
    printf '\037\213garbage' >"$T/badgzip.pb.gz"
    : >"$T/empty.cpuprofile"
    mkdir "$T/dir"
    local f
    for f in cut.json random.bin noprofile.json badheap.heapprofile badlegacy.cpuprofile badgzip.pb.gz empty.cpuprofile dir missing; do
        run $MRPROF report "$T/$f"
        expect_rc 2; expect_err_has "$f"
        run $MRPROF diff "$T/p.cpuprofile" "$T/$f"
        expect_rc 2; expect_err_has "$f"
        run $MRPROF diff "$T/$f" "$T/p.cpuprofile"
        expect_rc 2; expect_err_has "$f"
        run $MRPROF check --baseline "$T/$f" "$T/p.cpuprofile"
        expect_rc 2; expect_err_has "$f"
        run $MRPROF convert "$T/$f" "$T/out.pb.gz"
        expect_rc 2; expect_err_has "$f"
        run $MRPROF view --once "$T/$f"
        expect_rc 2; expect_err_has "$f"
        [ -e "$T/out.pb.gz" ] && fail "convert wrote output for bad input $f"
    done
    run $MRPROF report "$T/cut.json"; expect_err_has "cut short"; expect_err_has "line 1, column"
    run $MRPROF report "$T/noprofile.json"; expect_err_has "looks like a Trace Event file, but it holds no CPU profile"
    run $MRPROF report "$T/badheap.heapprofile"; expect_err_has "looks like a .heapprofile, but two nodes share the id 1"
    run $MRPROF report "$T/badlegacy.cpuprofile"; expect_err_has "not a node object"
    run $MRPROF report "$T/badgzip.pb.gz"; expect_err_has "looks like a pprof profile"
    run $MRPROF report "$T/dir"; expect_err_has "directory"
}

[ "${1:-}" = --lib ] || run_tests
