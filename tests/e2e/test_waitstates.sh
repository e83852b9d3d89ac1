#!/usr/bin/env bash
# End-to-end tests of wall mode's wait states (issue 27, part 2): the time the main thread does
# not run Ruby is (idle) while the loop waits for I/O or timers, "(blocked: NAME)" under the
# stack that made a synchronous call (sleep, FS.*_sync, system and backticks, Deferred#value's
# wait), and (garbage collector); CPU mode has none of the blocked frames. `report --hide-idle`,
# `view --hide-idle` and the viewer's key i leave (idle) out and agree. Every writer's output
# of such a profile reads back with the same wait states.
# The scripts are in tests/scripts/waitstates/. The waits they make are sleeps and children of
# known length: the tests compare which frames the samples have, and bound a blocked frame's time
# from below only (a wait can come out longer on a loaded machine, never shorter).
source "$(dirname "$0")/lib.sh"

export S=tests/scripts/waitstates

# wall NAME [ARGS]: records $S/NAME.rb in wall mode into $T/NAME.cpuprofile, then its folded
# stacks (idle kept) into $T/NAME.folded.
wall() {
    local name=$1; shift
    $MRUN --cpu-prof --prof-mode wall --prof-out "$T/$name.cpuprofile" "$S/$name.rb" "$@" \
        >"$T/$name.out" 2>"$T/$name.err" || fail "mrun $name.rb failed: $(head -c 600 "$T/$name.err")"
    $MRPROF convert --idle "$T/$name.cpuprofile" "$T/$name.folded" 2>"$T/$name.err" ||
        fail "convert $name failed: $(head -c 600 "$T/$name.err")"
}
# samples_of FOLDED REGEX: the samples of the stacks (whole lines, count left out) matching REGEX.
samples_of() {
    awk -v re="$2" '{ n = $NF; $NF = ""; sub(/ $/, ""); if ($0 ~ re) s += n } END { print s + 0 }' "$1"
}
# self_ms FILE NAME: the self ms of function NAME in FILE's report (0 when absent).
self_ms() {
    $MRPROF report --format tsv --top 0 "$1" | awk -F'\t' -v n="$2" '$6 == n { ms += $3 } END { print ms + 0 }'
}
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

t_sleep_in_a_timer_callback_is_blocked_not_idle() {
    wall sleep_in_timer
    local blocked idle_under_sleep any_blocked
    blocked=$(samples_of "$T/sleep_in_timer.folded" '^Timer#__fire;block in <main>;hold;Kernel#sleep;\(blocked: sleep\)$')
    [ "$blocked" -gt 0 ] || fail "no sample of hold;Kernel#sleep;(blocked: sleep): $(cat "$T/sleep_in_timer.folded")"
    # Under the sleep, nothing but the blocked frame; and (idle) only where the loop waits.
    any_blocked=$(samples_of "$T/sleep_in_timer.folded" '\(blocked: sleep\)')
    [ "$any_blocked" = "$blocked" ] || fail "(blocked: sleep) elsewhere: $(cat "$T/sleep_in_timer.folded")"
    idle_under_sleep=$(samples_of "$T/sleep_in_timer.folded" 'sleep.*\(idle\)|hold.*\(idle\)')
    [ "$idle_under_sleep" = 0 ] || fail "(idle) under the sleep: $(cat "$T/sleep_in_timer.folded")"
    [ "$(samples_of "$T/sleep_in_timer.folded" '^\(idle\)$')" -gt 0 ] ||
        fail "the waits for the timers are not (idle): $(cat "$T/sleep_in_timer.folded")"
    # sleep 0.3 holds the thread for 300 ms or more: its wall time is all there.
    local ms
    ms=$(self_ms "$T/sleep_in_timer.cpuprofile" "(blocked: sleep)")
    at_least "$ms" 250 || fail "(blocked: sleep) is $ms ms for a sleep of 300 ms"
    # Kernel#sleep itself holds no self time: the time is the wait's.
    run $MRPROF report --tree "$T/sleep_in_timer.cpuprofile"
    expect_rc 0
    printf '%s\n' "$out" | grep -qE '^ +[0-9.]+% +[0-9.]+% +\(blocked: sleep\)$' ||
        fail "no (blocked: sleep) node in the tree: $out"
}

t_waiting_on_a_timer_or_a_socket_is_idle() {
    wall waits
    [ "$(cat "$T/waits.out")" = hello ] || fail "the script printed [$(cat "$T/waits.out")]"
    ! grep -q '(blocked' "$T/waits.folded" || fail "a blocked frame while the loop waits: $(cat "$T/waits.folded")"
    # 200 ms for the timer, then 200 ms for the server's answer.
    local ms
    ms=$(self_ms "$T/waits.cpuprofile" "(idle)")
    at_least "$ms" 300 || fail "(idle) is $ms ms for two waits of 200 ms: $(cat "$T/waits.folded")"
}

t_ruby_run_by_a_poll_phase_callback_is_running_not_idle() {
    # The loop's state says polling from its poll to the first rt_call; Ruby that a C callback
    # of the poll phase runs before that (Net::Socket.new for an accepted connection: here a
    # subclass's initialize that spins 0.3 s) is running. It was (idle) in wall mode and weight 0
    # in CPU mode (seen as "(idle) under Ruby frames" in a loaded round of test_realistic).
    wall slow_accept
    local f="$T/slow_accept.folded" spin all
    ! grep -q ';(idle)' "$f" || fail "(idle) under Ruby frames: $(grep ';(idle)' "$f")"
    spin=$(samples_of "$f" '^SlowSocket#initialize')
    all=$(samples_of "$f" '.')
    [ "$spin" -gt 0 ] && at_least "$spin" "$((all / 2))" ||
        fail "SlowSocket#initialize has $spin of $all samples: $(cat "$f")"
    # CPU mode: the spin is on-CPU time of SlowSocket#initialize.
    $MRUN --cpu-prof --prof-hz 2000 --prof-out "$T/c.cpuprofile" "$S/slow_accept.rb" >/dev/null 2>&1 ||
        fail "mrun slow_accept.rb (CPU mode) failed"
    local total
    total=$($MRPROF report --format tsv --top 0 "$T/c.cpuprofile" | awk -F'\t' '$6 == "SlowSocket#initialize" { print $2 }')
    at_least "${total:-0}" 50 || fail "CPU mode: SlowSocket#initialize has ${total:-0} % of the CPU time: $($MRPROF report "$T/c.cpuprofile" --top 6)"
}

t_sync_file_read_and_system_show_their_blocked_names() {
    mkfifo "$T/fifo" || fail "mkfifo failed"
    wall sync_calls "$T/fifo"
    local f="$T/sync_calls.folded"
    [ "$(samples_of "$f" '^<main>;read_fifo;FS.read_file_sync;\(blocked: file system\)$')" -gt 0 ] ||
        fail "no (blocked: file system) under FS.read_file_sync: $(cat "$f")"
    [ "$(samples_of "$f" '^<main>;run_system;Kernel#system;\(blocked: child process\)$')" -gt 0 ] ||
        fail "no (blocked: child process) under Kernel#system: $(cat "$f")"
    [ "$(samples_of "$f" '^<main>;run_backticks;Kernel#`;\(blocked: child process\)$')" -gt 0 ] ||
        fail "no (blocked: child process) under Kernel#\`: $(cat "$f")"
    # The script does not return to the loop before its end: no wait under its calls is idle
    # (after it, the loop may wait for the writer's exit: that (idle) is under the root).
    ! grep -q ';(idle)' "$f" || fail "(idle) under a synchronous call: $(cat "$f")"
    # Each wait is 200 ms or more (the read waits for a writer that sleeps 0.2 s first).
    local name ms
    for name in "(blocked: file system)" "(blocked: child process)"; do
        ms=$(self_ms "$T/sync_calls.cpuprofile" "$name")
        at_least "$ms" 150 || fail "$name is $ms ms"
    done
}

t_deferred_value_waits_blocked_and_callbacks_in_the_wait_run() {
    # A .cpuprofile per thread: d.cpuprofile (main), d.thread-N.cpuprofile (the worker that ran
    # the task: N is its number, 1 or 2, whichever the pool picked).
    $MRUN --cpu-prof --prof-mode wall --prof-out "$T/d.cpuprofile" "$S/deferred_wait.rb" \
        >"$T/d.out" 2>"$T/d.err" || fail "mrun failed: $(head -c 600 "$T/d.err")"
    [ "$(cat "$T/d.out")" = 42 ] || fail "the script printed [$(cat "$T/d.out")]"
    run $MRPROF convert --idle "$T/d.cpuprofile" "$T/main.folded"
    expect_rc 0
    [ "$(samples_of "$T/main.folded" '^<main>;Deferred#value;Deferred.__run_once;\(blocked: Deferred#value\)$')" -gt 0 ] ||
        fail "no (blocked: Deferred#value) under Deferred#value: $(cat "$T/main.folded")"
    # The timer callback that ran inside the wait is running Ruby: spin's samples have no
    # blocked leaf under them (rt_call clears the mark for the Ruby it runs).
    [ "$(samples_of "$T/main.folded" 'spin')" -gt 0 ] || fail "spin, run inside the wait, has no sample: $(cat "$T/main.folded")"
    [ "$(samples_of "$T/main.folded" 'spin.*\(blocked')" = 0 ] ||
        fail "code run inside Deferred#value's wait is shown as blocked: $(cat "$T/main.folded")"
    # The worker's task sleeps: (blocked: sleep) on the worker's thread, under the task.
    local workers=("$T"/d.thread-*.cpuprofile)
    [ ${#workers[@]} = 1 ] && [ -f "${workers[0]}" ] || fail "not one worker profile: ${workers[*]}"
    run $MRPROF convert --idle "${workers[0]}" "$T/worker.folded"
    expect_rc 0
    [ "$(samples_of "$T/worker.folded" '^block in <main>;Kernel#sleep;\(blocked: sleep\)$')" -gt 0 ] ||
        fail "no (blocked: sleep) on the worker: $(cat "$T/worker.folded")"
}

t_cpu_mode_has_no_wait_states() {
    $MRUN --cpu-prof --prof-out "$T/c.cpuprofile" "$S/sleep_in_timer.rb" 2>"$T/err" ||
        fail "mrun failed: $(cat "$T/err")"
    run $MRPROF convert --idle "$T/c.cpuprofile" "$T/c.folded"
    expect_rc 0
    ! grep -q '(blocked' "$T/c.folded" || fail "CPU mode has a blocked frame: $(cat "$T/c.folded")"
}

# The top table of `report --hide-idle` as "self_ms self% name" lines (one decimal, as the
# viewer shows them), its N first rows.
# The TSV's values as it prints them (ms to 3 decimals, shares to 2): the viewer rounds the exact
# values to one decimal, so a row agrees when each of its numbers is within 0.05 of the TSV's
# (rounding the TSV's 99.15 again could say 99.2 where the exact 99.149 is 99.1).
report_rows() {
    $MRPROF report --format tsv --top "$2" --hide-idle "$1" |
        awk -F'\t' 'NR > 1 { printf "%s %s %s\n", $3, $1, $6 }'
}

t_report_hide_idle_and_the_viewer_agree() {
    wall sleep_in_timer
    local f="$T/sleep_in_timer.cpuprofile"
    run $MRPROF report --hide-idle "$f"
    expect_rc 0
    expect_out_has "idle hidden: "
    expect_out_has "shares are of the rest"
    printf '%s\n' "$out" | grep -qE '^ +[0-9.]+ +[0-9.]+% +[0-9.]+ +[0-9.]+% +\(idle\)' &&
        fail "report --hide-idle still lists (idle): $out"
    # What was left out plus what is shown is the whole.
    local all shown idle
    all=$($MRPROF report "$f" | sed -n 's/.*wall time in this report: \([0-9.]*\) ms.*/\1/p')
    shown=$(printf '%s\n' "$out" | sed -n 's/.*wall time in this report: \([0-9.]*\) ms.*/\1/p')
    idle=$(printf '%s\n' "$out" | sed -n 's/.*idle hidden: \([0-9.]*\) ms.*/\1/p')
    awk -v a="$all" -v s="$shown" -v i="$idle" 'BEGIN { d = a - s - i; exit !(d < 0.2 && d > -0.2) }' ||
        fail "shown $shown ms + idle $idle ms is not the whole $all ms"
    # The viewer with --hide-idle shows the report's rows, shares of the rest.
    run $MRPROF view "$f" --once --hide-idle --size 120x20
    expect_rc 0
    expect_out_has "idle hidden"
    local once=$out row ms pct name
    [ -n "$(report_rows "$f" 5)" ] || fail "report --hide-idle gave no rows"
    while read -r ms pct name; do
        printf '%s\n' "$once" | grep -F -- "$name" | awk -v ms="$ms" -v pct="$pct" '
            { p = $1; sub(/%$/, "", p); d1 = p - pct; d2 = $2 - ms
              if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2
              if (d1 <= 0.0501 && d2 <= 0.0501) ok = 1 }
            END { exit !ok }' ||
            fail "the viewer lacks the report's row [$pct% $ms ms $name]: $once"
    done < <(report_rows "$f" 5)
    printf '%s\n' "$once" | grep -qF '(idle)' && fail "view --hide-idle lists (idle): $once"
    # Without the flag, (idle) is there and the shares differ.
    run $MRPROF view "$f" --once --size 120x20
    expect_out_has "(idle)"
    # A memory profile has no idle time: the flag would do nothing, and is refused.
    printf 'a = []\n1000.times { a << "x" * 100 }\n' >"$T/h.rb"
    $MRUN --heap-prof --heap-prof-out "$T/h.heapprofile" "$T/h.rb" 2>/dev/null || fail "mrun --heap-prof failed"
    run $MRPROF report --hide-idle "$T/h.heapprofile"
    expect_rc 2
    expect_err_has "--hide-idle: $T/h.heapprofile is a memory profile, which has no idle time"
}

t_the_viewer_key_i_hides_idle_as_the_flag_does() {
    command -v tmux >/dev/null || { skip "tmux is not installed"; return 0; }
    wall sleep_in_timer
    local f="$T/sleep_in_timer.cpuprofile"
    tm() { tmux -L "mrprof-ws-$$" -f /dev/null "$@"; }
    trap 'tm kill-server 2>/dev/null' EXIT
    tm new-session -d -s t -x 120 -y 20 "cd '$ROOT' && TERM=xterm $MRPROF view '$f'; sleep 60" ||
        fail "tmux could not start"
    local i
    for i in $(seq 300); do tm capture-pane -p -t t | grep -qF "(idle)" && break; sleep 0.1; done
    tm send-keys -t t i
    for i in $(seq 300); do tm capture-pane -p -t t | grep -qF "idle hidden" && break; sleep 0.1; done
    local screen once
    screen=$(tm capture-pane -p -t t)
    printf '%s\n' "$screen" | grep -qF "idle hidden" || fail "no 'idle hidden' after the key i: $screen"
    # The screen, its last line (the key's message) aside, is the --once text of --hide-idle.
    once=$($MRPROF view "$f" --once --hide-idle --size 120x20)
    [ "$(printf '%s\n' "$screen" | head -n 19 | sed 's/ *$//')" = "$(printf '%s\n' "$once" | head -n 19 | sed 's/ *$//')" ] ||
        fail "key i and --hide-idle differ: $(diff <(printf '%s\n' "$screen" | head -n 19 | sed 's/ *$//') <(printf '%s\n' "$once" | head -n 19 | sed 's/ *$//'))"
    # i again shows it back.
    tm send-keys -t t i
    for i in $(seq 300); do tm capture-pane -p -t t | grep -qF "idle shown" && break; sleep 0.1; done
    tm capture-pane -p -t t | grep -qF "(idle)" || fail "the second i did not bring (idle) back: $(tm capture-pane -p -t t)"
}

# self_n FILE NAME: the self samples of NAME in FILE.
self_n() {
    $MRPROF report --format tsv --top 0 "$1" | awk -F'\t' -v n="$2" '$6 == n { c += $5 } END { print c + 0 }'
}

t_every_writer_reads_back_the_wait_states() {
    mkfifo "$T/fifo" || fail "mkfifo failed"
    wall sync_calls "$T/fifo"
    local src="$T/sync_calls.cpuprofile" fmt out_file name want got
    # One more with idle and a sleep in it.
    wall sleep_in_timer
    for src in "$T/sync_calls.cpuprofile" "$T/sleep_in_timer.cpuprofile"; do
        for fmt in cpuprofile trace perfetto speedscope pprof collapsed; do
            out_file="$T/rt.$fmt"
            run $MRPROF convert --idle -f $fmt "$src" "$out_file"
            expect_rc 0
            for name in "(blocked: file system)" "(blocked: child process)" "(blocked: sleep)" "(idle)"; do
                want=$(self_n "$src" "$name")
                got=$(self_n "$out_file" "$name")
                [ "$want" = "$got" ] || fail "$fmt: $name has $got samples read back, $want written"
            done
            # Read back as pseudo frames: `report --by file` groups them by name.
            run $MRPROF report --by file --format tsv --top 0 "$out_file"
            expect_rc 0
            printf '%s\n' "$out" | grep -qE $'\t\\(blocked: (file system|sleep)\\)\t' ||
                fail "$fmt: the blocked frames are not pseudo frames when read back: $out"
        done
    done
}

t_devtools_sees_idle_at_the_root_and_blocked_under_the_call() {
    command -v python3 >/dev/null || { skip "python3 is not installed"; return 0; }
    wall sleep_in_timer
    # DevTools takes (idle), (program) and (garbage collector) as its own only as children of
    # (root) (CPUProfileDataModel's meta nodes): (idle) must stay there, under that exact name.
    python3 - "$T/sleep_in_timer.cpuprofile" <<'EOF' || fail "the cpuprofile's nodes are not as DevTools wants them"
import json, sys
p = json.load(open(sys.argv[1]))
nodes = {n["id"]: n for n in p["nodes"]}
parent = {c: n["id"] for n in p["nodes"] for c in n.get("children", [])}
name = lambda i: nodes[i]["callFrame"]["functionName"]
idle = [i for i in nodes if name(i) == "(idle)"]
assert idle and all(name(parent[i]) == "(root)" for i in idle), "(idle) not under (root)"
blocked = [i for i in nodes if name(i) == "(blocked: sleep)"]
assert blocked and all(name(parent[i]) == "Kernel#sleep" for i in blocked), "(blocked: sleep) not under Kernel#sleep"
assert all(not nodes[i].get("children") for i in blocked), "(blocked: sleep) is not a leaf"
EOF
}

[ "${1:-}" = --lib ] || run_tests
