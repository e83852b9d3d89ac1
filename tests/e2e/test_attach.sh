#!/usr/bin/env bash
# End-to-end tests of attach on demand (issue 26 part 2): an mrun started with no flag, profiled
# by pid with `mrprof record --pid` and `mrprof top --pid` (SIGUSR2, then the live agent on
# /tmp/mrun-<euid>/<pid>.sock). The sampler's state is read from /proc/PID/timers: a POSIX
# timer (SIGPROF, signal 27) exists only while a session samples.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/test_tui.sh" --lib # tm, tui, screen, wait_for, poll, cleanup_tmux
for f in $(declare -F | awk '{print $3}' | grep '^t_'); do unset -f "$f"; done # its tests: not ours

export HOT="$ROOT/tests/scripts/attach/hot.rb"
export PAUSE=0.004 # hot.rb sleeps 4 ms after each 1.5 ms call: the suite runs beside it

# start_target [ENV...] [-- MRUN OPTIONS]: the hot script in the background; sets $tpid.
start_target() {
    env "$@" $MRUN "$HOT" $PAUSE 2>"$T/target.err" &
    tpid=$!
    # ready once it catches SIGUSR2 (or ignores it, with attach off)
    local i
    for i in $(seq 300); do
        grep -qE '^Sig(Cgt|Ign):.*[89abcdef]..$' /proc/$tpid/status 2>/dev/null && return 0
        sleep 0.1
    done
    fail "the target never set up its SIGUSR2 disposition"
}
stop_target() { kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; true; }
timers() { cat /proc/$tpid/timers 2>/dev/null | grep -c '^ID:'; }
no_timer() { [ "$(timers)" = 0 ]; }
no_socket() { [ ! -e "/tmp/mrun-$(id -u)/$tpid.sock" ]; }

t_record_pid_names_the_hot_function() {
    start_target
    trap stop_target EXIT
    no_timer || fail "a timer before any attach: $(cat /proc/$tpid/timers)"
    run $MRPROF record --pid "$tpid" --duration 1 -o "$T/p.cpuprofile"
    expect_rc 0
    expect_err_has "attached to pid $tpid"
    expect_file "$T/p.cpuprofile"
    run $MRPROF report "$T/p.cpuprofile"
    expect_out_has "hot_attach_fn"
    # the viewer left: the socket is gone and, soon after, nothing samples
    poll 10 no_socket || fail "the socket is still there"
    poll 10 no_timer || fail "still sampling after the viewer left: $(cat /proc/$tpid/timers)"
    grep -q "attach: live profile at unix:/tmp/mrun-" "$T/target.err" || fail "$(cat "$T/target.err")"
}

t_record_pid_memory_writes_a_heap_profile() {
    start_target
    trap stop_target EXIT
    run $MRPROF record --pid "$tpid" --duration 1 --memory -o "$T/m.cpuprofile"
    expect_rc 0
    expect_file "$T/m.heapprofile"
    run $MRPROF report "$T/m.cpuprofile"
    expect_out_has "hot_attach_fn"
}

t_top_pid_in_tmux_names_the_hot_function() {
    trap 'cleanup_tmux; stop_target' EXIT
    start_target
    tui 120 30 "$MRPROF top --pid $tpid"
    wait_for "hot_attach_fn"
    wait_for "attached to unix:/tmp/mrun-"
    [ "$(timers)" -ge 1 ] || fail "no sampling timer while attached"
    tm send-keys -t t q
    wait_for "EXIT=0"
    poll 10 no_socket || fail "the socket is still there after q"
    poll 10 no_timer || fail "still sampling after q: $(cat /proc/$tpid/timers)"
}

t_two_viewers_and_many_cycles_keep_fds_flat() {
    start_target
    trap stop_target EXIT
    # a second viewer while one looks joins it
    $MRPROF record --pid "$tpid" --duration 3 -o "$T/a.cpuprofile" 2>"$T/a.err" &
    local first=$!
    poll 10 test -S "/tmp/mrun-$(id -u)/$tpid.sock" || fail "no socket"
    run $MRPROF record --pid "$tpid" --duration 0.5 -o "$T/b.cpuprofile"
    expect_rc 0
    expect_err_has "joined the viewers of pid $tpid"
    wait $first || fail "the first viewer failed: $(cat "$T/a.err")"
    poll 10 no_timer || fail "still sampling"
    local before after i
    before=$(ls /proc/$tpid/fd | wc -l)
    for i in $(seq 8); do
        run $MRPROF top --pid "$tpid" --once --for 0.2
        expect_rc 0
        poll 10 no_socket || fail "cycle $i: the socket stayed"
        poll 10 no_timer || fail "cycle $i: still sampling"
    done
    after=$(ls /proc/$tpid/fd | wc -l)
    [ "$after" -le "$before" ] || fail "fds grew from $before to $after: $(ls -l /proc/$tpid/fd)"
    kill -0 "$tpid" || fail "the target died"
}

# --for and --duration count from the agent's welcome: an agent that welcomes late (a loaded
# machine; here a stand-in that relays to the real agent 1.5 s after the viewer came) still
# gives the time asked for, where the viewer used to stop before the welcome and say the agent
# "closed the connection before its welcome" (an ASan round under load).
t_a_late_welcome_still_gets_the_time_asked_for() {
    command -v python3 >/dev/null || fail "python3 is not installed (the stand-in agent)"
    start_target
    local sock="/tmp/mrun-$(id -u)/$tpid.sock" late="$ROOT/tests/scripts/attach/late_welcome.py" px
    trap 'kill $px 2>/dev/null; stop_target' EXIT
    mkdir -p -m 0700 "/tmp/mrun-$(id -u)"
    python3 "$late" "$sock" "$tpid" 1.5 >"$T/px1.out" 2>&1 &
    px=$!
    poll 10 grep -q ready "$T/px1.out" || fail "the stand-in did not start: $(cat "$T/px1.out")"
    run $MRPROF top --pid "$tpid" --once --for 0.3
    expect_rc 0
    expect_err_has "joined the viewers of pid $tpid"
    expect_out_has "hot_attach_fn"
    wait $px || fail "the stand-in failed: $(cat "$T/px1.out")"
    poll 10 no_timer || fail "still sampling after the first viewer"
    python3 "$late" "$sock" "$tpid" 1.5 >"$T/px2.out" 2>&1 &
    px=$!
    poll 10 grep -q ready "$T/px2.out" || fail "the stand-in did not start: $(cat "$T/px2.out")"
    run $MRPROF record --pid "$tpid" --duration 0.3 -o "$T/late.cpuprofile"
    expect_rc 0
    run $MRPROF report "$T/late.cpuprofile"
    expect_out_has "hot_attach_fn"
    wait $px || fail "the stand-in failed: $(cat "$T/px2.out")"
}

t_no_attach_and_env_refuse() {
    start_target MRUN_NO_ATTACH=1
    trap stop_target EXIT
    run $MRPROF record --pid "$tpid" --duration 0.3 -o "$T/x.cpuprofile"
    expect_rc 4
    expect_err_has "attach is disabled"
    kill -0 "$tpid" || fail "MRUN_NO_ATTACH: the target died"
    stop_target
    $MRUN --no-attach "$HOT" $PAUSE 2>/dev/null &
    tpid=$!
    poll 10 grep -qE '^SigIgn:.*[89abcdef]..$' /proc/$tpid/status || fail "--no-attach: SIGUSR2 not ignored"
    run $MRPROF top --pid "$tpid" --once --for 0.2
    expect_rc 4
    expect_err_has "attach is disabled"
    kill -USR2 "$tpid" # a stray signal is harmless
    kill -0 "$tpid" || fail "--no-attach: SIGUSR2 killed it"
    [ ! -e "/tmp/mrun-$(id -u)/$tpid.sock" ] || fail "--no-attach: a socket appeared"
}

t_non_mrun_and_missing_pid_are_refused_unharmed() {
    sleep 300 &
    local s=$!
    run $MRPROF top --pid "$s" --once
    expect_rc 4
    expect_err_has "is not an mrun"
    expect_err_has "not signalled"
    kill -0 "$s" || fail "the sleep was killed"
    kill "$s"; wait "$s" 2>/dev/null
    run $MRPROF record --pid "$s" --duration 1 -o "$T/y.cpuprofile"
    expect_rc 4
    expect_err_has "no such process"
}

t_another_uid_is_refused() {
    [ "$(id -u)" = 0 ] || { skip "not root: no second uid to run the viewer as"; return 0; }
    command -v setpriv >/dev/null || { skip "no setpriv: cannot run the viewer as nobody"; return 0; }
    local nob
    nob=$(id -u nobody 2>/dev/null) || { skip "no user nobody"; return 0; }
    start_target
    trap stop_target EXIT
    # by pid: nobody may not read the target's program nor signal it
    run setpriv --reuid="$nob" --regid="$nob" --clear-groups $MRPROF top --pid "$tpid" --once
    expect_rc 4
    expect_err_has "permission denied"
    no_timer || fail "nobody's attempt started sampling"
    # the socket itself, while root looks: its directory is 0700, so nobody cannot reach it
    $MRPROF record --pid "$tpid" --duration 3 -o "$T/r.cpuprofile" 2>"$T/r.err" &
    local rec=$!
    poll 10 test -S "/tmp/mrun-0/$tpid.sock" || fail "no socket"
    [ "$(stat -c %a /tmp/mrun-0)" = 700 ] || fail "the socket directory is $(stat -c %a /tmp/mrun-0)"
    run setpriv --reuid="$nob" --regid="$nob" --clear-groups $MRPROF top --attach "unix:/tmp/mrun-0/$tpid.sock" --once
    expect_rc 2
    expect_err_has "Permission denied"
    wait $rec || fail "root's viewer failed: $(cat "$T/r.err")"
}

t_refuses_a_socket_directory_not_its_own() {
    [ "$(id -u)" = 0 ] || { skip "not root: cannot make a directory owned by another uid"; return 0; }
    # MRUN_ATTACH_DIR is not a knob: the directory is /tmp/mrun-<euid>; run as a uid whose
    # directory we can plant with the wrong owner
    command -v setpriv >/dev/null || { skip "no setpriv"; return 0; }
    local uid=54321 d=/tmp/mrun-54321
    rm -rf "$d"; mkdir -m 0777 "$d"
    chmod 0777 "$d"
    setpriv --reuid=$uid --regid=$uid --clear-groups $MRUN "$HOT" $PAUSE 2>"$T/u.err" &
    tpid=$!
    trap 'stop_target; rm -rf /tmp/mrun-54321' EXIT
    poll 10 grep -qE '^SigCgt:.*[89abcdef]..$' /proc/$tpid/status || fail "not ready"
    run $MRPROF record --pid "$tpid" --duration 0.5 -o "$T/z.cpuprofile"
    expect_rc 4
    expect_err_has "did not open"
    grep -q "refusing /tmp/mrun-54321" "$T/u.err" || fail "no word from the target: $(cat "$T/u.err")"
    kill -0 "$tpid" || fail "the target died"
}

[ "${1:-}" = --lib ] || run_tests
