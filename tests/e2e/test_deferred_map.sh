#!/bin/bash
# End-to-end tests of Deferred.map (a Deferred that schedules itself: inline, batched or split
# over the workers), Deferred#cancel and Deferred.stats. Scripts: tests/scripts/deferred_map/.
# No test reads a clock: the scheduling is checked through Deferred.stats and side effects.
. "$(dirname "$0")/lib.sh"
export DM=tests/scripts/deferred_map

t_map_keeps_order_over_10000_mixed_items() {
    run $MRUN $DM/order.rb
    expect_rc 0
    expect_out "10000 results, equal to the inline map: true
indexes in order: true
every item ran once: true (shipped to workers: true)
tasks: true"
}
t_map_matches_cruby_map() {
    command -v ruby >/dev/null || { skip "no ruby (CRuby) to compare with"; return; }
    run ruby -r "./$DM/ruby_shim.rb" $DM/peer.rb
    expect_rc 0
    local want=$out
    run $MRUN $DM/peer.rb
    expect_rc 0
    expect_out "$want"
}
t_map_error_names_index_and_carries_worker_backtrace() {
    run $MRUN $DM/errors.rb
    expect_rc 0
    expect_out "Deferred::MapError: Deferred.map: the block raised on item 7321: item 7321 is bad (ArgumentError)
index 7321, error ArgumentError: item 7321 is bad
backtrace $DM/errors.rb:6:in check | $DM/errors.rb:14 | (Deferred block at $DM/errors.rb:11, on a worker thread)
rescued Deferred::MapError: Deferred.map: the block raised on item 3: divided by 0 (ZeroDivisionError) (ZeroDivisionError)
after: queued 0"
}
t_map_enumerables_and_bad_calls() {
    run $MRUN $DM/forms.rb
    expect_rc 0
    expect_out "[]
[1, 4, 9, 16, 25, 36]
[\"a=1\", \"b=2\"]
[3, 7]
hash of 300 pairs: true
TypeError: Deferred.map needs an Enumerable (Array, Range, Hash...), not Integer
ArgumentError: Deferred.map needs a block to run on the workers
ArgumentError: the block of Deferred.map at $DM/forms.rb:15 uses y from outside it; a Deferred block runs in a worker's own VM and cannot see them: pass values as arguments, e.g. Deferred.new(x) { |x| ... }
TypeError: Deferred.map: cannot copy an object of class Proc (found at item 40) to another VM: only nil, true, false, Integer, Float, String, Symbol, Array and Hash cross between VMs"
}
t_map_tiny_items_run_inline() {
    run $MRUN $DM/tiny.rb
    expect_rc 0
    expect_out "equal: true
every item inline, no task shipped, in at least 3 of 5 maps: true"
}
t_map_slow_item_leaves_no_core_idle() {
    run $MRUN $DM/split.rb "$T"
    expect_rc 0
    expect_out "results in order: true
tasks per worker: one stuck worker ran 1, the other the rest: true
several chunks: true
items: 400
uneven equal: true
uneven split into at least 2 tasks per worker: true"
}
t_cancel_removes_queued_tasks() {
    run $MRUN $DM/cancel.rb "$T"
    expect_rc 0
    expect_out "queued true, running 1
cancel running: false
cancel queued: true
cancel again: false
cancel map: true
queued: Deferred::Cancelled: the Deferred was cancelled (1 queued task removed)
map: Deferred::Cancelled
busy: :released
queued block ran: false
map items that ran: only the inline ones: true (true)
stats: queued 0, running 0, cancelled true, done 1, submitted = done + cancelled: true
cancel settled: false"
    [ ! -e "$T/queued_ran" ] || fail "a cancelled block ran"
}
t_stats_keys_and_consistency() {
    run $MRUN $DM/stats.rb
    expect_rc 0
    expect_out "[:cancelled, :done, :inline_items, :pool_size, :queued, :round_trip_us, :running, :submitted, :workers]
before any task: workers [], done 0, queued 0
workers: 2, keys [:busy, :busy_ms, :items, :name, :tasks]
queued 0, running 0
done = submitted: true, tasks on workers = done: true
items: true
busy_ms floats > 0: true
round trip measured: true"
}
t_profile_spans_carry_the_batch_size() {
    cat >"$T/prof.rb" <<'RB'
Deferred.setup { def cost(n) = n.times.inject(0) { |a, i| (a + i * 7) % 1_000_003 } }
r = Deferred.map(Array.new(300) { |i| 5_000 + i }) { |n| cost(n) }.value
puts "#{r.size} #{Deferred.stats[:submitted] > 1}"
RB
    run $MRUN --workers 2 --cpu-prof --prof-out "$T/p.json" --prof-format trace "$T/prof.rb"
    expect_rc 0; expect_out "300 true"
    grep -q '"name":"Deferred task [0-9]* (map, [0-9]* items)",[^}]*"cat":"mrprof.span"' "$T/p.json" ||
        fail "no span named 'Deferred task N (map, K items)' in the trace"
    run $MRPROF report "$T/p.json"
    expect_rc 0
    expect_out_has "[1] Deferred worker"
    expect_out_has "cost"
}
t_unhandled_map_failure_is_reported() {
    cat >"$T/u.rb" <<'RB'
Deferred.map([1, 0]) { |x| 1 / x }
RB
    run $MRUN "$T/u.rb"
    expect_rc 1
    expect_err_has "mrun: a Deferred was rejected and nothing handled it: $T/u.rb:1: Deferred.map: the block raised on item 1: divided by 0 (ZeroDivisionError)"
}

[ "${1:-}" = --lib ] || run_tests
