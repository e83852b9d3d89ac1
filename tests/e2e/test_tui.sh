#!/usr/bin/env bash
# End-to-end tests of the terminal viewer: the real `mrprof view` and `mrprof top` driven
# through tmux (send-keys, capture-pane) at 80x24 and larger, their --once text, and the live
# agent of `mrun --prof-live` with a well-behaved viewer and with one that sends garbage.
source "$(dirname "$0")/lib.sh"

# A private tmux server per test (its own socket), so a test never touches a user's sessions.
tm() { tmux -L "mrprof-$$" -f /dev/null "$@"; }

# tui W H CMD: starts CMD in a detached W x H pane; after CMD ends the pane shows EXIT=<code>.
tui() {
    local w=$1 h=$2; shift 2
    tm new-session -d -s t -x "$w" -y "$h" "cd '$ROOT' && $*; echo EXIT=\$?; sleep 60" ||
        fail "tmux could not start"
}
screen() { tm capture-pane -p -t t; }
# wait_for TEXT [SECONDS]: until the pane shows TEXT (default 30 s: only a failure waits that
# long, and a loaded machine can take seconds to start a sanitized viewer).
wait_for() {
    local i
    for i in $(seq $((${2:-30} * 10))); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    fail "the screen never showed [$1]; it shows:
$(screen)
$(pane_state)"
}
# What runs in the pane, for a failure's message: tmux's own view and the pane's processes.
pane_state() {
    local pp
    pp=$(tm list-panes -t t -F '#{pane_pid}' 2>&1 | head -n 1)
    echo "tmux: $(tm ls 2>&1 | head -n 3); pane dead=$(tm list-panes -t t -F '#{pane_dead}' 2>&1 | head -n 1)"
    case $pp in
        *[!0-9]* | '') echo "no pane: $pp" ;;
        *) ps -o pid=,stat=,etime=,wchan:20=,args= --ppid "$pp" -p "$pp" 2>&1 | head -n 8 ;;
    esac
}
keys() { tm send-keys -t t "$@"; sleep 0.3; }
# poll SECONDS CMD...: until CMD succeeds (every 0.1 s); the redraw after a key or a resize comes
# when the viewer gets the CPU, not after a fixed sleep.
poll() {
    local i n=$(($1 * 10)); shift
    for i in $(seq $n); do "$@" && return 0; sleep 0.1; done
    "$@"
}
cleanup_tmux() { tm kill-server 2>/dev/null; true; }

# A profile of a workload with a known shape: all self time in `spin`, called by parse (~55 %),
# render (~27 %) and store (~18 %), which the block of `300.times` in <main> calls.
# At 4000 Hz: the work is 0.3 s of CPU, and on a loaded machine a CPU-mode sampler takes only the
# signals that find the thread on the CPU (40-60 % of them at load 15): at 1000 Hz that left ~250
# samples, where a diff's expected -10 points for render came out as noise once (3 sigma).
# Exported: each test runs in a child bash (lib.sh), which sees only exported variables; until
# a round's failure showed "1000 Hz requested" in the kept profiles, this one was not, and
# the profiles were taken at the default 1000 Hz.
export PROF_HZ="--prof-hz 4000"
known_profile() {
    $MRUN --cpu-prof $PROF_HZ --prof-out "$T/w.cpuprofile" tests/scripts/check_work.rb 2>/dev/null ||
        fail "could not record the workload"
}

# The line after the first line matching $1 (a grep -E pattern) on the screen.
line_after() { screen | awk -v re="$1" 'f { print; exit } $0 ~ re { f = 1 }'; }
line_before() { screen | awk -v re="$1" '$0 ~ re { print prev; exit } { prev = $0 }'; }

t_view_top_tree_flame_search_resize_quit() {
    trap cleanup_tmux EXIT
    known_profile
    tui 80 24 "LANG=C.UTF-8 $MRPROF view $T/w.cpuprofile"
    wait_for "1 Top"
    # The top view opens first, with the hottest function on the first row.
    local first
    first=$(screen | awk '/SELF%/ { getline; print; exit }')
    case $first in *" spin "*) ;; *) fail "top view: first row is not spin: [$first]
$(screen)";; esac
    # Enter shows it in the call tree, under its heaviest caller.
    keys Enter
    wait_for "CALL TREE"
    local caller
    caller=$(line_before ' spin ')
    case $caller in *" parse "*) ;; *) fail "tree: spin's caller is not parse: [$caller]
$(screen)";; esac
    # The flame graph draws it with its callee below.
    keys 3
    wait_for "zoom out"
    screen | grep -q 'parse' || fail "flame view lacks parse:
$(screen)"
    screen | grep -q 'spin' || fail "flame view lacks spin:
$(screen)"
    # Search narrows the top view's rows to matching functions.
    keys 1
    keys / r e n d Enter
    wait_for "filtered by search"
    screen | grep -q ' render ' || fail "search: render is not listed:
$(screen)"
    screen | grep -q ' parse ' && fail "search: parse is still listed:
$(screen)"
    keys Escape
    # A resize redraws at the new size: the footer moves to the new last line.
    tm resize-window -t t -x 120 -y 40
    resized() { [ "$(screen | wc -l)" = 40 ] && screen | sed -n 40p | grep -q 'q quit' && screen | grep -q ' parse '; }
    poll 30 resized
    [ "$(screen | wc -l)" = 40 ] || fail "after resize the pane has $(screen | wc -l) lines"
    screen | sed -n 40p | grep -q 'q quit' || fail "after resize the footer is not on line 40:
$(screen)"
    screen | grep -q ' parse ' || fail "after resize the top view lost its rows"
    # q exits 0 and gives the terminal back (the alternate screen is gone).
    keys q
    wait_for "EXIT=0"
    screen | grep -q '1 Top' && fail "the viewer's screen is still there after q:
$(screen)"
    true
}

t_view_ascii_monochrome_at_80x24() {
    trap cleanup_tmux EXIT
    known_profile
    tui 80 24 "LANG=C NO_COLOR=1 $MRPROF view $T/w.cpuprofile"
    wait_for "1 Top"
    screen | grep -E '^ +[0-9.]+% .* #+ +spin' >/dev/null ||
        fail "ASCII bars missing at 80x24:
$(screen)"
    keys 2
    wait_for "CALL TREE"
    screen | grep -q '^ .*- <main>' || fail "ASCII tree marks missing:
$(screen)"
    keys '?'
    wait_for "Timeline  Left/Right"
    keys x
    keys q
    wait_for "EXIT=0"
}

t_view_timeline_range_narrows_every_view() {
    trap cleanup_tmux EXIT
    known_profile
    tui 100 30 "LANG=C.UTF-8 $MRPROF view $T/w.cpuprofile"
    wait_for "1 Top"
    local all
    all=$(screen | sed -n 1p | grep -o '[0-9]* samples' | cut -d' ' -f1)
    keys 4
    wait_for "mark a range"
    # Mark from the left edge to a third of the width.
    keys Home Space
    for i in $(seq 30); do tm send-keys -t t Right; done
    keys Space
    wait_for "every view shows only it"
    local part
    part=$(screen | sed -n 1p | grep -o '[0-9]* samples' | cut -d' ' -f1)
    [ -n "$all" ] && [ -n "$part" ] && [ "$part" -lt "$all" ] && [ "$part" -gt 0 ] ||
        fail "range: $part of $all samples:
$(screen)"
    screen | sed -n 1p | grep -q ' s$' || fail "the header does not show the range"
    keys c
    wait_for "range cleared"
    keys q
    wait_for "EXIT=0"
}

t_view_once_prints_views_without_a_terminal() {
    known_profile
    run $MRPROF view "$T/w.cpuprofile" --size 90x20
    expect_rc 0
    expect_out_has "1 Top"
    printf '%s\n' "$out" | awk '/SELF%/ { getline; print; exit }' | grep -q ' spin ' ||
        fail "--once top: spin is not first: $out"
    run $MRPROF view "$T/w.cpuprofile" --once --view tree --size 100x30
    expect_rc 0
    printf '%s\n' "$out" | grep -B1 ' parse ' | head -1 | grep -q 'block in <main>' ||
        fail "--once tree: parse's caller missing: $out"
    run $MRPROF view "$T/w.cpuprofile" --once --view all --size 80x24
    expect_rc 0
    [ "$(printf '%s\n' "$out" | wc -l)" = $((24 * 6)) ] || fail "--view all is not 6 screens of 24 lines (top, tree, flame, timeline, threads, memory)"
    run $MRPROF view "$T/w.cpuprofile" --once --view threads --thread 0 --search rend
    expect_rc 0
    expect_out_has "* main"
    run $MRPROF view "$T/w.cpuprofile" --view sideways
    expect_rc 2; expect_err_has "--view must be top, tree, flame, timeline, threads, memory or all, not 'sideways'"
    run $MRPROF view "$T/w.cpuprofile" --thread 7
    expect_rc 2; expect_err_has "does not exist"
    run $MRPROF view "$T/w.cpuprofile" --size 10x2
    expect_rc 2; expect_err_has "--size must be WIDTHxHEIGHT from 40x8 to 1000x1000, not '10x2'"
}

t_view_diff_colours_the_change_in_every_view() {
    trap cleanup_tmux EXIT
    known_profile
    $MRUN --cpu-prof $PROF_HZ --prof-out "$T/slow.cpuprofile" tests/scripts/check_work.rb 2.0 2>/dev/null ||
        fail "could not record the slow variant"
    # parse does twice the work: from ~50 % of the time to ~67 %, render and store shrink.
    # The points parse gains, render and store lose between them; how they split it is
    # sampling (a round's ~350-sample base read render 23.7 % for its 30 % of the work, and
    # its -1.2 points fell under the label's 5 % of its base), so one shrink label is promised.
    run $MRPROF view --diff "$T/w.cpuprofile" "$T/slow.cpuprofile" --once --view flame --size 120x20
    expect_rc 0
    expect_out_has "diff w.cpuprofile -> slow.cpuprofile"
    printf '%s\n' "$out" | grep -q '▏parse +[0-9]' || fail "flame: parse has no growth label: $out"
    printf '%s\n' "$out" | grep -qE '▏(render|store) -[0-9]' ||
        fail "flame: neither render nor store has a shrink label: $out"
    run $MRPROF view --diff "$T/w.cpuprofile" "$T/slow.cpuprofile" --once --view tree --size 120x20
    expect_out_has "CHANGE  CALL TREE"
    printf '%s\n' "$out" | grep ' parse ' | head -n 1 | grep -q ' +[1-9][0-9]*\.[0-9]  ' ||
        fail "tree: parse's change missing: $out"
    run $MRPROF view --diff "$T/w.cpuprofile" "$T/slow.cpuprofile" --once --view top --size 120x20
    expect_out_has "BASE% CHG"
    # Interactive: the same flame graph, and the selected box's line gives the base share.
    tui 100 24 "LANG=C.UTF-8 $MRPROF view --diff $T/w.cpuprofile $T/slow.cpuprofile"
    wait_for "1 Top"
    keys 3
    wait_for "parse +"
    wait_for "base 100.0%"
    keys q
    wait_for "EXIT=0"
    run $MRPROF view --diff "$T/w.cpuprofile"
    expect_rc 2; expect_err_has "one file"
    run $MRPROF view --diff "$T/missing.cpuprofile" "$T/w.cpuprofile"
    expect_rc 2; expect_err_has "missing.cpuprofile"
}

samples_shown() { screen | sed -n 1p | grep -o '[0-9]* samples' | cut -d' ' -f1; }

t_top_live_counts_grow_then_the_final_view_stays() {
    trap cleanup_tmux EXIT
    local secs=4
    [ "$SUITE" = asan ] && secs=6
    tui 100 24 "LANG=C.UTF-8 $MRPROF top -- tests/scripts/busy_live.rb $secs"
    wait_for "LIVE"
    wait_for " spin "
    local a b
    a=$(samples_shown)
    # The count grows at the viewer's next refresh; polled rather than read after a fixed sleep.
    grew() { b=$(samples_shown); [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ]; }
    poll 20 grew || fail "samples did not grow: $a then $b
$(screen)"
    # Frames are named while the script runs, though it never returns to the event loop.
    screen | sed -n '3,$p' | sed '$d' | grep -qE '(^| )\?( |$)' && fail "unnamed frames on the live screen:
$(screen)"
    wait_for "ENDED exit 0" 30
    keys 2
    wait_for "CALL TREE"
    keys q
    wait_for "EXIT=0"
    screen | grep -q 'busy_live done' || fail "the script's output was not shown after the viewer:
$(screen)"
}

t_top_memory_view_shows_counters_and_allocation_sites() {
    trap cleanup_tmux EXIT
    tui 100 30 "LANG=C.UTF-8 $MRPROF top -- tests/scripts/memory/grow.rb 4"
    wait_for "LIVE"
    keys 6
    wait_for "COUNTER"
    wait_for "RSS"
    wait_for "live objects"
    wait_for "ALLOCATION SITE"
    wait_for "hold (String#*)"
    screen | grep -q "churn (String#\*)" || fail "churn is not among the allocation sites:
$(screen)"
    # hold keeps its Strings, churn drops them: hold's NOT FREED column is the larger (both
    # allocated about the same). Figures read like 498MB; compare them in bytes.
    wait_for "ENDED exit 0" 30
    local hold churn
    hold=$(screen | awk '/hold \(String/ { print $3 }' | numfmt --from=iec --suffix=B 2>/dev/null | tr -d B)
    churn=$(screen | awk '/churn \(String/ { print $3 }' | numfmt --from=iec --suffix=B 2>/dev/null | tr -d B)
    [ -n "$hold" ] && [ -n "$churn" ] && [ "$hold" -gt "$churn" ] || fail "NOT FREED: hold $hold, churn $churn:
$(screen)"
    keys q
    wait_for "EXIT=0"
}

t_top_once_passes_the_exit_status_through() {
    printf 'def f; i = 0; i += 1 while i < 2_000_000; end\nf\nputs "out"\nexit 3\n' >"$T/x.rb"
    run $MRPROF top --once --size 90x12 -- "$T/x.rb"
    expect_rc 3
    expect_out_has "out"
    expect_out_has "ENDED exit 3"
    run $MRPROF top --once -- "$T/missing.rb"
    [ "$rc" != 0 ] || fail "a missing script gave exit 0"
    run $MRPROF top --attach unix:"$T/none.sock" --once
    expect_rc 2; expect_err_has "cannot connect"
    run $MRPROF top --attach tcp:127.0.0.1:9 --once
    expect_rc 2; expect_err_has "needs the token"
    run $MRPROF top
    expect_rc 2
}

# serve ADDR SECONDS [MRUN-OPTION...]: mrun serving busy_live.rb on ADDR in the background; its
# stdout in $T/mrun.out, stderr in $T/mrun.err.
serve() {
    $MRUN --prof-live "$1" "${@:3}" tests/scripts/busy_live.rb "$2" >"$T/mrun.out" 2>"$T/mrun.err" &
    MRUN_PID=$!
    local i
    for i in $(seq 300); do grep -q 'live profile at' "$T/mrun.err" && return 0; sleep 0.1; done
    fail "mrun did not announce its live address: $(cat "$T/mrun.err")"
}

# The attach tests start the script when the first viewer says hello (--prof-live-wait): with a
# fixed 3 s from mrun's start, a loaded machine's viewer came after the program had ended.
t_attach_two_viewers_to_a_running_mrun() {
    serve "unix:$T/live.sock" 3 --prof-live-wait
    [ "$(stat -c %a "$T/live.sock")" = 600 ] || fail "the socket is not 0600"
    $MRPROF top --attach "unix:$T/live.sock" --once --for 1 --size 90x12 >"$T/v1" 2>&1 &
    local v1=$!
    run $MRPROF top --attach "unix:$T/live.sock" --once --for 1 --size 90x12
    wait $v1 || fail "the first viewer failed: $(cat "$T/v1")"
    expect_rc 0
    expect_out_has " spin "
    grep -q ' spin ' "$T/v1" || fail "the first viewer saw no spin: $(cat "$T/v1")"
    wait $MRUN_PID || fail "mrun failed: $(cat "$T/mrun.err")"
    [ "$(cat "$T/mrun.out")" = "busy_live done" ] || fail "mrun's output: $(cat "$T/mrun.out")"
    [ -e "$T/live.sock" ] && fail "the socket was left behind"
    true
}

t_attach_over_tcp_takes_the_token() {
    serve tcp:127.0.0.1:0 3 --prof-live-wait
    local line port token
    line=$(grep 'live profile at' "$T/mrun.err")
    port=$(printf '%s' "$line" | sed -n 's/.*tcp:127.0.0.1:\([0-9]*\).*/\1/p')
    token=$(printf '%s' "$line" | sed -n 's/.*token \([0-9a-f]*\).*/\1/p')
    [ -n "$port" ] && [ ${#token} = 32 ] || fail "no port or token in: $line"
    run $MRPROF top --attach "tcp:127.0.0.1:$port" --token 0123 --once --for 1
    expect_rc 2; expect_err_has "wrong token"
    run $MRPROF top --attach "tcp:127.0.0.1:$port" --token "$token" --once --for 1 --size 90x12
    expect_rc 0; expect_out_has " spin "
    wait $MRUN_PID || fail "mrun failed: $(cat "$T/mrun.err")"
    grep -q 'closed a viewer connection: wrong token' "$T/mrun.err" ||
        fail "the agent did not say why it closed: $(cat "$T/mrun.err")"
    run $MRUN --prof-live tcp:0.0.0.0:0 -e 'puts 1'
    expect_rc 2; expect_err_has "loopback only"
}

t_garbage_and_stalled_viewers_never_hurt_the_program() {
    # 6 s of work: the silent client is closed 2 s (+ a 100 ms tick) after it connected, and the
    # clients' mrun may take a while to start on a loaded machine; the program must still run
    # then, or its end closes every client and the count means nothing.
    serve "unix:$T/live.sock" 6
    # Clients written in mrun itself: one sends garbage, one a huge length, one says hello and
    # then never reads (the agent must hold its data back, not wait), one says nothing.
    cat >"$T/clients.rb" <<'RUBY'
path = ARGV[0]
hello = [14].pack("V") + "HMRPROF-LIVE" + [1].pack("v")
junk = (0...4096).map { |i| ((i * 7919 + 13) % 256).chr }.join
conns = []
conns << Net.create_connection(path: path) { conns[0].write(junk) }
conns << Net.create_connection(path: path) { conns[1].write([0x7fffffff].pack("V") + "Xabc") }
conns << Net.create_connection(path: path) { conns[2].write(hello); conns[2].pause }
conns << Net.create_connection(path: path) { }
closed = 0
conns.each { |c| c.on(:error) { |e| }; c.on(:close) { closed += 1 } }
# Counted once three are closed and 0.3 s more passed (the paused one must stay open), or at 5 s.
t0 = Time.now
settled = nil
iv = set_interval(100) do
  settled ||= Time.now if closed >= 3
  if (settled && Time.now - settled >= 0.3) || Time.now - t0 > 5
    clear_interval(iv)
    puts "closed by the agent: #{closed}"
    conns.each { |c| c.destroy }
  end
end
RUBY
    run $MRUN "$T/clients.rb" "$T/live.sock"
    expect_rc 0
    expect_out_has "closed by the agent: 3"
    wait $MRUN_PID || fail "the profiled program failed: $(cat "$T/mrun.err")"
    [ "$(cat "$T/mrun.out")" = "busy_live done" ] || fail "the profiled program's output: $(cat "$T/mrun.out")"
    grep -q "not a hello" "$T/mrun.err" || fail "no word about the garbage: $(cat "$T/mrun.err")"
    grep -q "no hello within 2 s" "$T/mrun.err" || fail "the silent client was not closed: $(cat "$T/mrun.err")"
}

[ "${1:-}" = --lib ] || run_tests
