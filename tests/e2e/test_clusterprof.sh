#!/usr/bin/env bash
# End-to-end tests of a cluster profiled as one program (issue 24, part 2): a primary with two
# workers (tests/scripts/cluster/spin.rb: pure CPU work, burn_primary in the primary, burn_worker
# in each worker) recorded to one Trace Event file with a process per worker (pid, "cluster
# worker N") that the consumers (DevTools' trace engine, speedscope) read as such; .cpuprofile
# output kept one file per process and listed by `record`; report/view/diff filtering by
# process; `check` counting every process's samples.
source "$(dirname "$0")/lib.sh"

export SPIN=tests/scripts/cluster/spin.rb

# cluster_trace [OUT]: records spin.rb to a trace ($T/c.json by default); sets $wpid1 $wpid2
# (the workers' pids, as the primary printed them) and $out/$err.
cluster_trace() {
    local o=${1:-$T/c.json}
    run $MRUN --cpu-prof --prof-format trace --prof-out "$o" $SPIN
    expect_rc 0
    expect_out_has done
    wpid1=$(printf '%s\n' "$out" | awk '$1 == "worker" && $2 == 1 { print $3 }')
    wpid2=$(printf '%s\n' "$out" | awk '$1 == "worker" && $2 == 2 { print $3 }')
    [ -n "$wpid1" ] && [ -n "$wpid2" ] || fail "no worker pids in [$out]"
    expect_file "$o"
}

t_trace_holds_one_process_per_worker() {
    cluster_trace
    expect_err_has "cluster worker 1 (pid $wpid1,"
    expect_err_has "cluster worker 2 (pid $wpid2,"
    # merged: no worker file is left beside the primary's
    ls "$T"/c.worker-* 2>/dev/null && fail "a worker's file was left: $(ls "$T")"
    # the trace itself: a process_name per pid, each with its own Profile
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1]));
      const names = {}, profs = {};
      for (const e of j.traceEvents) {
        if (e.name === "process_name") names[e.pid] = e.args.name;
        if (e.name === "Profile") profs[e.pid] = (profs[e.pid] || 0) + 1;
      }
      for (const pid of Object.keys(names).sort((a, b) => a - b)) console.log(pid, names[pid], profs[pid] || 0);' \
        "$T/c.json" >"$T/procs" || fail "cannot read the trace"
    grep -qx "$wpid1 cluster worker 1 1" "$T/procs" || fail "worker 1: $(cat "$T/procs")"
    grep -qx "$wpid2 cluster worker 2 1" "$T/procs" || fail "worker 2: $(cat "$T/procs")"
    grep -q " cluster primary 1$" "$T/procs" || fail "primary: $(cat "$T/procs")"
    [ "$(wc -l <"$T/procs")" = 3 ] || fail "three processes expected: $(cat "$T/procs")"
    # read back: report's header lists them with their threads
    run $MRPROF report "$T/c.json" --top 5
    expect_rc 0
    expect_out_has "processes 3: cluster primary (pid "
    expect_out_has "cluster worker 1 (pid $wpid1), threads"
    expect_out_has "cluster worker 2 (pid $wpid2), threads"
    expect_out_has burn_worker
    # a round trip keeps them
    run $MRPROF convert "$T/c.json" "$T/c2.json"
    expect_rc 0
    run $MRPROF report "$T/c2.json" --top 5
    expect_out_has "cluster worker 2 (pid $wpid2), threads"
}

t_consumers_see_one_process_per_worker() {
    [ -d "$ROOT/tests/node/node_modules/@paulirish/trace_engine" ] ||
        fail "the trace engine is not installed in tests/node (make deps runs npm ci)"
    cluster_trace
    run node "$ROOT/tests/node/cluster_processes.mjs" "$T/c.json"
    expect_rc 0
    printf '%s\n' "$out" | grep -q "^engine	$wpid1	cluster worker 1	[1-9]" || fail "engine: worker 1 missing: $out"
    printf '%s\n' "$out" | grep -q "^engine	$wpid2	cluster worker 2	[1-9]" || fail "engine: worker 2 missing: $out"
    printf '%s\n' "$out" | grep -q "^engine	[0-9]*	cluster primary	[1-9]" || fail "engine: primary missing: $out"
    [ "$(printf '%s\n' "$out" | grep -c '^speedscope	')" = 3 ] || fail "speedscope: not 3 profiles: $out"
    # speedscope's own format names each profile with its process
    run $MRPROF convert "$T/c.json" "$T/c.speedscope.json"
    expect_rc 0
    run node "$ROOT/tests/node/cluster_processes.mjs" "$T/c.speedscope.json" speedscope
    expect_rc 0
    expect_out_has "speedscope	cluster worker 1 (pid $wpid1): main	"
    expect_out_has "speedscope	cluster worker 2 (pid $wpid2): main	"
    expect_out_has "speedscope	cluster primary (pid "
}

t_report_view_diff_filter_by_process() {
    cluster_trace
    run $MRPROF report "$T/c.json" --top 0 --process "worker 1"
    expect_rc 0
    expect_out_has burn_worker
    case $out in *burn_primary*) fail "worker 1's report has the primary's function";; esac
    run $MRPROF report "$T/c.json" --top 0 --process "$wpid2"
    expect_rc 0
    expect_out_has burn_worker
    run $MRPROF report "$T/c.json" --top 0 --process primary
    expect_rc 0
    expect_out_has burn_primary
    case $out in *burn_worker*) fail "the primary's report has a worker's function";; esac
    run $MRPROF report "$T/c.json" --process "cluster worker 7"
    expect_rc 2
    expect_err_has "no process 'cluster worker 7' in the profile (it holds: cluster primary (pid "
    expect_err_has "cluster worker 2 (pid $wpid2)"
    run $MRPROF view --once --view threads --size 100x12 "$T/c.json"
    expect_rc 0
    expect_out_has "PROCESS: THREAD"
    expect_out_has "worker 1 ($wpid1): main"
    expect_out_has "worker 2 ($wpid2): main"
    run $MRPROF view --once --view top --size 100x30 --process "cluster worker 2" "$T/c.json"
    expect_rc 0
    expect_out_has burn_worker
    case $out in *burn_primary*) fail "view of worker 2 has the primary's function";; esac
    # diff of two runs, worker 1 against worker 1
    mv "$T/c.json" "$T/a.json"
    cluster_trace "$T/b.json"
    run $MRPROF diff "$T/a.json" "$T/b.json" --no-tree --top 0 --process "worker 1"
    expect_rc 0
    expect_out_has burn_worker
    case $out in *burn_primary*) fail "diff of worker 1 has the primary's function";; esac
}

t_cpuprofile_one_file_per_process_listed_by_record() {
    run $MRPROF record -o "$T/r.cpuprofile" -- $SPIN
    expect_rc 0
    expect_err_has "the cluster's workers wrote, one file per process:"
    [ "$(ls "$T"/r.worker-1.*.cpuprofile "$T"/r.worker-2.*.cpuprofile | wc -l)" = 2 ] ||
        fail "not one .cpuprofile per worker: $(ls "$T")"
    for f in "$T"/r.worker-*.cpuprofile; do expect_err_has "  $f"; done
    # the files of one program, reported together
    run $MRPROF report "$T/r.cpuprofile" "$T"/r.worker-*.cpuprofile --top 0
    expect_rc 0
    expect_out_has "processes 3: cluster primary (pid "
    expect_out_has "cluster worker 1 (pid "
    expect_out_has burn_worker
    expect_out_has burn_primary
    # record -f trace leaves one file
    run $MRPROF record -f trace -o "$T/r.json" -- $SPIN
    expect_rc 0
    expect_err_lacks "workers wrote"
    ls "$T"/r.worker-*.json 2>/dev/null && fail "record -f trace left worker files"
    run $MRPROF report "$T/r.json" --top 0
    expect_out_has "processes 3:"
}

t_check_counts_every_process() {
    run $MRPROF check --runs 2 --save-baseline "$T/base.json" -- $SPIN
    expect_rc 0
    case "$out$err" in *"saved 2 runs"*) ;; *) fail "check did not save 2 runs: $out $err";; esac
    # the workers' function is in the baseline: their samples were counted
    grep -q 'burn_worker' "$T/base.json" || fail "the workers' samples are not in the baseline"
    grep -q 'burn_primary' "$T/base.json" || fail "the primary's samples are not in the baseline"
    run $MRPROF check --runs 2 --baseline-json "$T/base.json" -- $SPIN
    case $rc in 0|1) ;; *) fail "check against the baseline: status $rc: $err";; esac
}

t_one_process_profiles_unchanged() {
    run $MRUN --cpu-prof --prof-format trace --prof-out "$T/one.json" -e 'def f(n) = (1..n).reduce(0) { |a, i| a + i }; f(200_000)'
    expect_rc 0
    run $MRPROF report "$T/one.json"
    expect_rc 0
    expect_out_lacks() { case $out in *"$1"*) fail "stdout has [$1]";; esac; }
    expect_out_lacks "processes"
    run $MRPROF report "$T/one.json" --process primary --top 3
    expect_rc 0
    run $MRPROF report "$T/one.json" --process "worker 1"
    expect_rc 2
    expect_err_has "no process 'worker 1'"
}

[ "${1:-}" = --lib ] || run_tests
