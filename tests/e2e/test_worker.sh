#!/bin/bash
# End-to-end tests of Worker: a file on its own thread with its own VM and event loop, messages
# both ways through the copier, :error, :exit, terminate, many Workers, and the profile of a
# Worker. Scripts: tests/scripts/worker/.
. "$(dirname "$0")/lib.sh"
export W=tests/scripts/worker

t_timer_and_tcp_echo_server_inside_a_worker_python_client() {
    command -v python3 >/dev/null || { skip "python3 missing"; return; }
    run $MRUN $W/echo_main.rb "python3 $W/echo_client.py"
    expect_rc 0
    expect_out 'client: HELLO WORKER
seen ["port", "timer"]
exit 0'
}
t_tcp_echo_server_inside_a_worker_node_client() {
    command -v node >/dev/null || { skip "node missing"; return; }
    run $MRUN $W/echo_main.rb "node $W/echo_client.js"
    expect_rc 0
    expect_out_has "client: HELLO WORKER"
    expect_out_has "exit 0"
}
t_messages_both_ways_with_every_copier_type() {
    run $MRUN $W/roundtrip.rb
    expect_rc 0
    expect_out "TypeError: cannot copy an object of class Object (found at message) to another VM: only nil, true, false, Integer, Float, String, Symbol, Array and Hash cross between VMs
ArgumentError: ArgumentError
data: ok
round trip: 19 ok
shared kept: true
exit 0
post after exit: dropped"
}
t_messages_wait_for_the_workers_listener() {
    run $MRUN $W/late_main.rb
    expect_rc 0
    expect_out "[0, 1, 2]
exit 0"
}
t_uncaught_errors_are_error_events_with_the_workers_backtrace_then_exit_1() {
    run $MRUN $W/raise_main.rb
    expect_rc 0
    local r="$PWD/$W/raise_child.rb"
    expect_lines "timer: error ArgumentError: bad value 0
timer: $r:4:in inner | $r:5:in inner
timer: exit 1
top: error ArgumentError: bad value 0
top: $r:4:in inner | $r:5:in inner
top: exit 1
custom: error Worker::RemoteError: only in the worker (CustomFailure)
custom: $r:11 | (Worker $r, on its own thread)
custom: exit 1
exit: exit 7
syntax: error SyntaxError: $PWD/$W/bad_syntax.rb.txt:2:3: syntax error, unexpected integer literal, expecting ')'
syntax: $r:13:in load | $r:13
syntax: exit 1"
    # :error comes before :exit
    expect_order "top: error ArgumentError: bad value 0" "top: exit 1"
}
t_error_without_listener_is_the_parents_uncaught_exception() {
    run $MRUN -e 'Worker.new(ARGV[0], data: "top")' "$W/raise_child.rb"
    expect_rc 1
    expect_err_has "bad value 0 (ArgumentError)"
    expect_err_has "raise_child.rb:4:in inner"
}
t_terminate_stops_busy_waiting_and_unstarted_workers() {
    run $MRUN $W/busy_main.rb
    expect_rc 0
    expect_lines "calls: started
allocs: started
calls: exit 1 running=false
allocs: exit 1 running=false
idle: exit 1
early: exit 1"
}
t_hundred_workers_no_fd_leak_rss_bounded() {
    # RSS after 100 more Workers, within 64 MiB of the first wave's (sanitized builds hold freed
    # memory back on purpose: 1 GiB there; their leak checkers see leaks instead)
    local bound=65536
    case ${SUITE:-plain} in asan|tsan) bound=1048576 ;; esac
    run $MRUN $W/many.rb 100 $bound
    expect_rc 0
    expect_out "fds: back
rss: bounded
done 100"
}
t_parent_exit_while_workers_run_joins_them() {
    run $MRUN -e 'w = Worker.new(ARGV[0], data: "calls"); w.on(:message) { exit 3 }' "$W/busy_child.rb"
    expect_rc 3
}
t_parent_loop_alive_while_worker_runs_and_unref() {
    run $MRUN -e 'w = Worker.new(ARGV[0], data: 1); w.on(:exit) { |c| puts "exit #{c}" }' "$W/tiny_child.rb"
    expect_rc 0; expect_out "exit 0"
    # unref: the parent does not wait for a Worker that would run for ever
    run $MRUN -e 'w = Worker.new(ARGV[0]); w.unref; puts "bye"' "$W/idle_child.rb"
    expect_rc 0; expect_out "bye"
}
t_worker_inside_api_and_main_only_parts() {
    run $MRUN $W/api_main.rb
    expect_rc 0
    expect_out "main? true, id 0, data nil
post_message on main: RuntimeError
on(:message) on main: RuntimeError
missing file: ArgumentError: Worker.new: no such file -- nope.rb
bad data: TypeError
child: main? false, id>0 true, ARGV [], data {\"k\"=>[1, :two]}
child: Process.on: NotImplementedError
child: deferred 42
child: nested reply 10
exit 0"
}
t_profile_has_the_workers_thread_and_its_frames_at_their_lines() {
    # 4000 Hz: the Worker works ~60 ms, and under load a CPU-mode run keeps only on-CPU signals.
    run $MRUN --cpu-prof --prof-hz 4000 --prof-out "$T/p.cpuprofile" $W/prof_main.rb
    expect_rc 0
    expect_file "$T/p.thread-1.cpuprofile"
    expect_err_has "thread Worker 1"
    run $MRPROF report "$T/p.thread-1.cpuprofile" --tree
    expect_rc 0
    expect_out_has "[0] Worker 1"
    # the Worker's methods named with its own file and lines
    printf '%s\n' "$out" | grep -q "^ *[0-9.]*% .* worker_hot  $PWD/$W/prof_child.rb:7\$" ||
        fail "no worker_hot at prof_child.rb:7 in the Worker's tree: $(printf '%s' "$out" | head -c 1500)"
    expect_out_has "block in worker_hot  $PWD/$W/prof_child.rb:9"
    # one file with both threads: --thread 1 is the Worker's
    run $MRUN --cpu-prof --prof-hz 4000 --prof-format perfetto --prof-out "$T/p.perfetto" $W/prof_main.rb
    expect_rc 0
    run $MRPROF report "$T/p.perfetto" --thread 1
    expect_rc 0
    expect_out_has "threads 2: [0] main [1] Worker 1"
    expect_out_has "worker_hot"
    expect_out_has "$W/prof_child.rb:7"
}
t_live_view_lists_the_worker_thread() {
    run env MRUN="$MRUN" $MRPROF top --once --view threads -- $W/prof_main.rb
    expect_rc 0
    expect_out_has "result 106658666800000"
    printf '%s\n' "$out" | grep -q "^ *Worker 1  *[0-9]" || fail "no Worker 1 row in the live threads view: $out"
}

[ "${1:-}" = --lib ] || run_tests
