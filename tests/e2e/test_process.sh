#!/usr/bin/env bash
# End-to-end tests of Process, Signal and the blocking Kernel calls (runtime/process.c,
# runtime/prelude/process.rb, runtime/prelude/vm/process.rb): pid, clocks, kill, memory_usage,
# signal handlers on libuv (and beside the profiler), sleep, system, backticks, at_exit. Where
# CRuby defines the behaviour, the same snippet runs under `ruby` and the outputs must match.
source "$(dirname "$0")/lib.sh"

# same_as_ruby CODE: CODE prints the same under mrun and CRuby (exit status too).
same_as_ruby() {
    command -v ruby >/dev/null || fail "CRuby (ruby) is not installed: this comparison cannot run (apt-get install ruby)"
    local want wrc
    want=$(ruby -e "$1" 2>&1); wrc=$?
    run $MRUN -e "$1"
    [ "$rc" = "$wrc" ] || fail "exit $rc under mrun, $wrc under ruby; stderr: $err"
    expect_out "$want"
}

t_pid_ppid_and_dollar_dollar() {
    run $MRUN -e 'p Process.pid == $$; p Process.ppid == File.open("/proc/#{$$}/stat").read.split(" ")[3].to_i; p Process.pid.class'
    expect_rc 0; expect_out "$(printf 'true\ntrue\nInteger')"
}

t_clock_gettime_units_like_cruby() {
    same_as_ruby 'ids = [Process::CLOCK_REALTIME, Process::CLOCK_MONOTONIC, Process::CLOCK_PROCESS_CPUTIME_ID, Process::CLOCK_THREAD_CPUTIME_ID]
units = [:float_second, :float_millisecond, :float_microsecond, :second, :millisecond, :microsecond, :nanosecond]
ids.each { |id| p units.map { |u| Process.clock_gettime(id, u).class } }
p Process.clock_gettime(Process::CLOCK_MONOTONIC).class
a = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond); b = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond); p b >= a
r = Process.clock_gettime(Process::CLOCK_REALTIME); p (r - Time.now.to_f).abs < 5
c0 = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID); x = 0; 300000.times { x += 1 }; p Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) > c0
s = Process.clock_gettime(Process::CLOCK_MONOTONIC, :second); ms = Process.clock_gettime(Process::CLOCK_MONOTONIC, :millisecond); p (ms / 1000 - s).abs <= 1
begin; Process.clock_gettime(Process::CLOCK_MONOTONIC, :hours); rescue ArgumentError => e; puts e.message; end'
}

t_kill_errors_like_cruby() {
    same_as_ruby 'begin; Process.kill(:TERM, 2**22 + 12345); rescue Errno::ESRCH => e; p e.class; puts e.message; end
begin; Process.kill(:FOO, $$); rescue ArgumentError => e; puts e.message; end
begin; Process.kill("SIGNOPE", $$); rescue ArgumentError => e; puts e.message; end
p Process.kill(0, $$)
p Process.kill(:SIGCONT, $$, $$)
p Signal.list["INT"], Signal.list["USR1"], Signal.signame(15)'
}

t_kill_error_has_code_and_syscall() {
    run $MRUN -e 'begin; Process.kill(:TERM, 2**22 + 12345); rescue SystemCallError => e; p [e.code, e.syscall, e.errno]; end'
    expect_rc 0; expect_out '["ESRCH", "kill", 3]'
}

t_memory_usage_counts_heap_and_rss() {
    run $MRUN -e 'm = Process.memory_usage; p m.keys; p m.values.all? { |v| v.is_a?(Integer) } && m[:rss] > 0 && m[:heap_used] > 0 && m[:external] >= 0; p m[:heap_used] <= m[:heap_total]
keep = Array.new(200_000) { |i| "s#{i}" }
m2 = Process.memory_usage; p m2[:heap_used] > m[:heap_used] + 200_000 * 40, m2[:rss] > m[:rss], m2[:heap_total] > m[:heap_total]; keep.size'
    expect_rc 0; expect_out "$(printf '[:rss, :heap_total, :heap_used, :external]\ntrue\ntrue\ntrue\ntrue\ntrue')"
}

t_signal_to_self_reaches_handler() {
    # The interval keeps the loop alive (a listener does not) until all three arrived.
    run $MRUN -e 'keep = set_interval(60_000) { }; seen = 0
done = proc { seen += 1; if seen == 3; clear_interval(keep); puts "end"; end }
Process.on(:SIGUSR1) { |s| puts "got #{s}"; done.call }; Process.on("SIGUSR2") { |s| puts "two #{s}"; done.call }
Process.kill(:SIGUSR1, Process.pid); Process.kill("USR2", $$); Process.kill(Signal.list["USR1"], $$)'
    expect_rc 0; expect_lines "$(printf 'got SIGUSR1\ngot SIGUSR1\ntwo SIGUSR2\nend')"
}

t_every_listener_runs_and_once_runs_once() {
    run $MRUN -e 'keep = set_interval(60_000) { }; n = 0
Process.on(:SIGHUP) { puts "a"; n += 1; n == 1 ? set_immediate { p Process.listener_count(:SIGHUP); Process.kill(:HUP, $$) } : clear_interval(keep) }
Process.once(:SIGHUP) { puts "b" }
Process.kill(:HUP, $$)'
    expect_rc 0; expect_out "$(printf 'a\nb\n1\na')"
}

t_default_action_without_handler_kills() {
    run $MRUN -e 'Process.kill(:SIGTERM, Process.pid); sleep 2; puts "survived"'
    expect_rc 143; expect_out ""
}

t_default_action_comes_back_after_off() {
    run $MRUN -e 'set_interval(60_000) { }
l = proc { |s| puts "handled #{s}"; Process.off(:SIGTERM, l); Process.kill(:TERM, $$); puts "survived" }
Process.on(:SIGTERM, l); Process.kill(:TERM, $$)'
    expect_rc 143; expect_out "handled SIGTERM"
}

t_remove_all_listeners_restores_default() {
    run $MRUN -e 'set_interval(60_000) { }
Process.on(:SIGINT) { puts "one" }
Process.on(:SIGINT) { puts "two"; Process.remove_all_listeners(:SIGINT); p Process.listener_count(:SIGINT); Process.kill(:INT, $$); puts "survived" }
Process.kill(:INT, $$)'
    expect_rc 130; expect_out "$(printf 'one\ntwo\n0')"
}

# Node: process.on('SIGUSR1', ...) alone does not keep the process alive (its signal handles
# are unref'd); mrun does the same.
t_signal_listener_does_not_keep_process_alive() {
    run $MRUN -e 'Process.on(:SIGUSR1) { puts "never" }; puts "done"'
    expect_rc 0; expect_out "done"
}

t_sigpipe_stays_ignored_after_a_handler_left() {
    run $MRUN -e 'keep = set_interval(60_000) { }
Process.on(:SIGPIPE) { puts "pipe"; Process.remove_all_listeners(:SIGPIPE); Process.kill(:PIPE, $$); puts "alive"; clear_interval(keep) }
Process.kill(:PIPE, $$)'
    expect_rc 0; expect_out "$(printf 'pipe\nalive')"
}

t_refused_signals_name_the_reason() {
    run $MRUN -e '[:SIGPROF, :SIGKILL, :SIGSEGV, :SIGFOO, 999].each { |s| begin; Process.on(s) { }; rescue ArgumentError => e; puts e.message; end }; p Process.event_names'
    expect_rc 0
    expect_out "cannot handle SIGPROF: SIGPROF is the profiler's sampling timer
cannot handle SIGKILL: it cannot be caught
cannot handle SIGSEGV: it reports a fault in mrun itself; a handler would run the fault again for ever
unsupported signal \`SIGFOO'
invalid signal number (999)
[]"
}

t_process_is_an_event_emitter_for_other_events_too() {
    run $MRUN -e 'Process.on(:ready) { |x| puts "ready #{x}" }; Process.emit(:ready, 1)'
    expect_rc 0; expect_out "ready 1"
}

# The script's handlers and the profiler: SIGUSR1 and SIGINT handled while --cpu-prof samples;
# the profile is whole, and once the SIGINT handler is gone Ctrl-C is the profiler's again
# (Interrupt, 130, profile written).
t_handlers_beside_cpu_prof() {
    run $MRUN --cpu-prof --prof-out "$T/a.cpuprofile" -e 'keep = set_interval(60_000) { }; seen = 0
work = proc { seen += 1; next unless seen == 2; x = 0; 200_000.times { x += 1 }; clear_interval(keep); puts "end" }
Process.on(:SIGUSR1) { puts "usr1"; work.call }; Process.on(:SIGINT) { puts "int"; work.call }
Process.kill(:USR1, $$); Process.kill(:INT, $$)'
    expect_rc 0; expect_lines "$(printf 'usr1\nint\nend')"
    expect_file "$T/a.cpuprofile"
    run $MRPROF report "$T/a.cpuprofile"
    expect_rc 0; expect_out_has "Integer#times"
    run $MRUN --cpu-prof --prof-out "$T/b.cpuprofile" -e 'set_interval(5) { }
Process.on(:SIGINT) { puts "int"; Process.remove_all_listeners(:SIGINT); Process.kill(:INT, $$) }
Process.kill(:INT, $$)'
    expect_rc 130; expect_out "int"; expect_err_has "stopped by Ctrl-C"
    expect_file "$T/b.cpuprofile"
}

t_sleep_blocks_the_loop_and_rounds() {
    run $MRUN -e 't = Process.clock_gettime(Process::CLOCK_MONOTONIC); set_timeout(1) { puts "timer" }
p sleep(0.3).class; p sleep(1.2).between?(1, 2); p Process.clock_gettime(Process::CLOCK_MONOTONIC) - t >= 0.29; puts "after"'
    expect_rc 0; expect_out "$(printf 'Integer\ntrue\ntrue\nafter\ntimer')"
}

t_sleep_errors_like_cruby() {
    same_as_ruby 'p sleep(0.01).class; begin; sleep(-1); rescue ArgumentError => e; puts e.message; end
begin; sleep("1"); rescue TypeError => e; puts e.class; end'
}

t_system_and_status_like_cruby() {
    same_as_ruby 'p system("true"); p system("false"); p system("exit 3"); p $?.exitstatus, $?.success?, $?.exited?, $?.signaled?
p system("nonexistent_program_zz"); p $?.exitstatus
p system("sh", "-c", "exit 5"); p $?.exitstatus
p system({"MRPROF_X" => "a b"}, "test \"$MRPROF_X\" = \"a b\"")
p system("echo from child"); p system("kill -TERM $$"); p $?.termsig, $?.exitstatus, $?.success?
p $?.pid.is_a?(Integer), $?.to_s.start_with?("pid ")
begin; system("false", exception: true); rescue RuntimeError => e; puts e.message; end'
}

t_backticks_like_cruby() {
    same_as_ruby 'p `echo hi; echo there`; p $?.success?; p `exit 2`; p $?.exitstatus
begin; `nonexistent_program_zz`; rescue Errno::ENOENT => e; puts e.message; end'
}

t_system_output_keeps_its_order() {
    run $MRUN -e 'puts "a"; system("echo b"); puts "c"'
    expect_rc 0; expect_out "$(printf 'a\nb\nc')"
}

t_at_exit_like_cruby() {
    same_as_ruby 'at_exit { puts "first registered" }; at_exit { puts "second registered" }; puts "main"'
    same_as_ruby 'at_exit { puts "runs after exit" }; begin; exit 4; ensure; puts "ensure"; end'
}

t_at_exit_error_is_reported_and_others_run() {
    run $MRUN -e 'at_exit { puts "a" }; at_exit { raise "boom" }; at_exit { puts "c" }; puts "main"'
    expect_rc 1; expect_out "$(printf 'main\nc\na')"; expect_err_has "boom (RuntimeError)"
    run $MRUN -e 'at_exit { exit 7 }; puts "main"'
    expect_rc 7; expect_out "main"
}

t_at_exit_runs_after_the_loop_and_after_an_uncaught_error() {
    run $MRUN -e 'at_exit { puts "bye" }; set_timeout(20) { puts "timer" }'
    expect_rc 0; expect_out "$(printf 'timer\nbye')"
    run $MRUN -e 'at_exit { puts "bye" }; set_timeout(5) { raise "late" }'
    expect_rc 1; expect_out "bye"; expect_err_has "late (RuntimeError)"
}

# Once the loop ended no listener can run: in at_exit a signal gets the action it had before
# the listener (the default; under --cpu-prof the profiler's Interrupt, profile written).
t_signal_after_the_loop_gets_the_previous_action() {
    run $MRUN -e 'Process.on(:SIGINT) { puts "listener" }; at_exit { Process.kill(:INT, $$); sleep 1; puts "survived" }'
    expect_rc 130; expect_out ""
    run $MRUN --cpu-prof --prof-out "$T/x.cpuprofile" -e 'Process.on(:SIGINT) { puts "listener" }; at_exit { Process.kill(:INT, $$); x = 0; 100_000.times { x += 1 }; puts "survived" }'
    expect_rc 130; expect_out ""; expect_err_has "stopped by Ctrl-C"; expect_file "$T/x.cpuprofile"
}

# Blocking calls are named in profiles: the time inside sleep and system is that C method's.
t_blocking_calls_are_named_in_profiles() {
    run $MRUN --cpu-prof --prof-mode wall --prof-out "$T/w.cpuprofile" -e 'sleep(0.3); system("sleep 0.3")'
    expect_rc 0
    run $MRPROF report "$T/w.cpuprofile"
    expect_rc 0; expect_out_has "Kernel#sleep"; expect_out_has "Kernel#system"
}

t_blocking_calls_work_in_deferred_workers() {
    run $MRUN -e 'Deferred.new { sleep(0.01); [system("true"), `echo w`, Process.pid, Process.clock_gettime(Process::CLOCK_MONOTONIC).class.to_s] }.then { |v| p v[0], v[1], v[2] == $$; puts v[3] }'
    expect_rc 0; expect_out "$(printf 'true\n"w\\n"\ntrue\nFloat')"
}

[ "${1:-}" = --lib ] || run_tests
