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
# wait_for TEXT [SECONDS]: until the pane shows TEXT.
wait_for() {
    local i
    for i in $(seq $((${2:-10} * 10))); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    fail "the screen never showed [$1]; it shows:
$(screen)"
}
keys() { tm send-keys -t t "$@"; sleep 0.3; }
cleanup_tmux() { tm kill-server 2>/dev/null; true; }

# A profile of a workload with a known shape: all self time in `spin`, called by parse (~55 %),
# render (~27 %) and store (~18 %), which the block of `300.times` in <main> calls.
known_profile() {
    $MRUN --cpu-prof --prof-out "$T/w.cpuprofile" tests/scripts/check_work.rb 2>/dev/null ||
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
    sleep 0.5
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
    [ "$(printf '%s\n' "$out" | wc -l)" = $((24 * 5)) ] || fail "--view all is not 5 screens of 24 lines"
    run $MRPROF view "$T/w.cpuprofile" --once --view threads --thread 0 --search rend
    expect_rc 0
    expect_out_has "* main"
    run $MRPROF view "$T/w.cpuprofile" --view sideways
    expect_rc 2; expect_err_has "--view takes"
    run $MRPROF view "$T/w.cpuprofile" --thread 7
    expect_rc 2; expect_err_has "does not exist"
    run $MRPROF view "$T/w.cpuprofile" --size 10x2
    expect_rc 2; expect_err_has "--size takes"
}

[ "${1:-}" = --lib ] || run_tests
