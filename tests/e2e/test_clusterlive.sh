#!/usr/bin/env bash
# End-to-end tests of `mrprof top` following a cluster live (issue 24: "the live view merges
# every process of the cluster as it runs and shows a processes panel"; docs/live.md, "A
# cluster"): the real viewer driven through tmux (as test_tui.sh does) on a clustered HTTP server
# (tests/scripts/cluster/live_http.rb) under load, whose workers spend their time in hot_worker.
# The processes panel (P) lists the primary and the workers with the pids the script wrote, the
# merged views name the workers' method, picking a worker shows only its pid, a worker killed
# with SIGKILL is marked ended and its replacement appears; sockets beside the primary's that are
# not workers' streams are skipped with a message.
source "$(dirname "$0")/lib.sh"

export LIVE_HTTP=tests/scripts/cluster/live_http.rb

# A private tmux server per test (its own socket), so a test never touches a user's sessions.
tm() { tmux -L "mrprof-cl-$$" -f /dev/null "$@"; }
tui() {
    local w=$1 h=$2; shift 2
    tm new-session -d -s t -x "$w" -y "$h" "cd '$ROOT' && $*; echo EXIT=\$?; sleep 60" ||
        fail "tmux could not start"
}
screen() { tm capture-pane -p -t t; }
wait_for() {
    local i
    for i in $(seq $((${2:-30} * 10))); do
        screen | grep -qE -- "$1" && return 0
        sleep 0.1
    done
    fail "the screen never showed [$1]; it shows:
$(screen)"
}
keys() { tm send-keys -t t "$@"; sleep 0.3; }
poll() {
    local i n=$(($1 * 10)); shift
    for i in $(seq $n); do "$@" && return 0; sleep 0.1; done
    "$@"
}

# The pids live_http.rb wrote to $T/info: sets $ppid $port $wpid1 $wpid2.
read_info() {
    poll 60 grep -q '^port ' "$T/info" || fail "the cluster never listened: $(cat "$T/info" 2>&1)"
    ppid=$(awk '$1 == "primary" { print $2 }' "$T/info")
    port=$(awk '$1 == "port" { print $2 }' "$T/info")
    wpid1=$(awk '$1 == "worker" && $2 == 1 { print $3 }' "$T/info")
    wpid2=$(awk '$1 == "worker" && $2 == 2 { print $3 }' "$T/info")
    [ -n "$ppid" ] && [ -n "$port" ] && [ -n "$wpid1" ] && [ -n "$wpid2" ] ||
        fail "info: $(cat "$T/info")"
}
cleanup() {
    [ -n "${LOAD:-}" ] && kill "$LOAD" 2>/dev/null
    [ -n "${ppid:-}" ] && kill "$ppid" 2>/dev/null
    tm kill-server 2>/dev/null
    true
}
# A load that lasts until the test stops it: requests of /work (hot_worker), 2 at a time.
load() {
    python3 tests/scripts/cluster/load.py "$port" 100000000 2 "/work?n=20000" >/dev/null 2>&1 &
    LOAD=$!
}
# The processes panel's row of $1 ("cluster worker 1"): "NAME PID SAMPLES MS SHARE STATE".
proc_row() { screen | grep -E "^ [ *] $1 " | head -1; }
# proc_has NAME PID STATE: the panel's row of NAME shows PID and STATE.
proc_has() { proc_row "$1" | grep -qE " $2 .* $3( |\$)"; }

# Several waits of up to 30 s on a loaded machine, and up to 120 s for the program to stop.
long_test t_top_follows_a_cluster_live 400
t_top_follows_a_cluster_live() {
    trap cleanup EXIT
    tui 120 30 "LANG=C.UTF-8 $MRPROF top -- $LIVE_HTTP $T/info"
    read_info
    load
    wait_for "LIVE"
    keys P
    wait_for "PROCESS +PID +SAMPLES"
    poll 30 proc_has "cluster primary" "$ppid" live || fail "no primary row: $(screen)"
    local vdir
    vdir=$(tr '\0' '\n' </proc/$ppid/cmdline | grep -o '^unix:/tmp/mrprof-top-[^/]*' | head -n 1)
    vdir=${vdir#unix:}
    [ -n "$vdir" ] || fail "the primary runs without the viewer's socket: $(tr '\0' ' ' </proc/$ppid/cmdline)"
    poll 30 proc_has "cluster worker 1" "$wpid1" live || fail "no worker 1 row: $(screen)"
    poll 30 proc_has "cluster worker 2" "$wpid2" live || fail "no worker 2 row: $(screen)"
    # Every worker's samples are counted: each one's CPU time grows past 0 under the load.
    busy() {
        proc_row "cluster worker $1" |
            sed -E 's/.* cluster worker [0-9]+ +[0-9]+ +[0-9]+ +([0-9.]+) .*/\1/' | awk '{ exit !($1 > 0) }'
    }
    poll 30 busy 1 || fail "worker 1 has no samples: $(screen)"
    poll 30 busy 2 || fail "worker 2 has no samples: $(screen)"

    # The merged tree names the workers' hot method (the primary never calls it).
    keys Escape
    keys 2
    wait_for "CALL TREE"
    keys / h o t _ w o r k e r Enter
    wait_for " hot_worker "

    # Pick worker 1 in the panel: the header names it, the threads view shows only its pid.
    keys P
    wait_for "PROCESS +PID +SAMPLES"
    local row downs
    row=$(screen | grep -nE '^ [ *] cluster worker 1 ' | cut -d: -f1)
    downs=$((row - $(screen | grep -nE '^ [ *] all processes' | cut -d: -f1)))
    [ "$downs" -gt 0 ] || fail "no row for worker 1: $(screen)"
    keys Home
    for _ in $(seq "$downs"); do keys Down; done
    keys Enter
    wait_for "worker 1 \(pid $wpid1\)"
    keys 5
    wait_for "worker 1 \($wpid1\): main"
    screen | grep -qE "\(($wpid2|$ppid)\)" && fail "another process is listed while worker 1 is picked:
$(screen)"
    keys 1
    wait_for "hot_worker"

    # A worker killed with SIGKILL: its stream ends (the row says ended), and the worker the
    # primary forks in its place appears with its own pid.
    keys P
    keys a
    kill -KILL "$wpid1"
    poll 30 proc_has "cluster worker 1" "$wpid1" ended || fail "worker 1 not marked ended: $(screen)"
    poll 60 grep -q '^worker 3 ' "$T/info" || fail "no replacement: $(cat "$T/info")"
    local wpid3
    wpid3=$(awk '$1 == "worker" && $2 == 3 { print $3 }' "$T/info")
    poll 30 proc_has "cluster worker 3" "$wpid3" live || fail "no worker 3 row: $(screen)"
    poll 30 proc_has "cluster worker 2" "$wpid2" live || fail "worker 2 changed: $(screen)"
    kill "$LOAD" 2>/dev/null

    # q stops the program as Ctrl-C does (SIGINT to the primary, which stops its workers and
    # then ends by the same signal): mrprof exits with its status, 130; nothing is left.
    keys q
    # The viewer waits for the program: the primary stops its workers first (a round with two
    # suites side by side took over 30 s; the screen was the empty one left after the viewer's).
    local i
    for i in $(seq 1200); do screen | grep -q "EXIT=" && break; sleep 0.1; done
    screen | grep -q "EXIT=130" || # (a sanitizer's report would end it otherwise)
        fail "no EXIT=130 after q: $(screen | grep EXIT=); still running: $(ps -o pid,stat,etime,args -p "$ppid,$wpid2,$wpid3" 2>&1)"
    gone() { ! kill -0 "$1" 2>/dev/null; }
    local p
    for p in "$ppid" "$wpid2" "$wpid3"; do poll 30 gone "$p" || fail "process $p outlived the viewer"; done
    # This viewer's private directory (the primary was started with --prof-live in it) is gone;
    # other viewers' directories (a test beside this one, a killed run) are not this test's.
    [ -z "$vdir" ] || [ ! -e "$vdir" ] || fail "the viewer's directory was left: $(ls -la "$vdir")"
    true
}

# --process and --once: the final profile of one worker; a name that is not a process is an
# error naming those there are.
t_top_process_option_picks_one_worker() {
    run $MRPROF top --once --size 110x12 --view threads --process "worker 2" -- \
        tests/scripts/cluster/spin.rb 1500000
    expect_rc 0
    local w2
    w2=$(printf '%s\n' "$out" | awk '$1 == "worker" && $2 == 2 && $3 ~ /^[0-9]+$/ { print $3 }')
    [ -n "$w2" ] || fail "no worker 2 pid in [$out]"
    expect_out_has "worker 2 (pid $w2)"
    expect_out_has "worker 2 ($w2): main"
    case $out in *"worker 1 ("*) fail "worker 1 is listed: $out" ;; esac
    run $MRPROF top --once --size 110x12 --process "worker 9" -- tests/scripts/cluster/spin.rb 1500000
    expect_rc 2
    expect_err_has "no process 'worker 9'"
    expect_err_has "cluster worker 2 (pid"
}

# The live merge is the program's profile: at the end top shows as many samples, per process, as
# `mrprof report` counts in the files the processes wrote (-o: one per process, Node's way).
t_top_merge_counts_what_report_reads_from_the_files() {
    run $MRPROF top --once --size 110x12 --view threads -o "$T/o.cpuprofile" -- \
        tests/scripts/cluster/spin.rb 1500000
    expect_rc 0
    local live files
    live=$(printf '%s\n' "$out" | grep -o '| [0-9]* samples' | grep -o '[0-9]*')
    ls "$T"/o.worker-*.cpuprofile >/dev/null 2>&1 || fail "no worker files: $(ls "$T")"
    run $MRPROF report "$T/o.cpuprofile" "$T"/o.worker-*.cpuprofile --top 3
    expect_rc 0
    files=$(printf '%s\n' "$out" | grep -o '[0-9]* samples,' | head -1 | grep -o '[0-9]*')
    [ -n "$live" ] && [ "$live" = "$files" ] || fail "top showed $live samples, the files hold $files"
    expect_out_has "processes 3: cluster primary"
}

# Names beside the primary's socket that match the workers' pattern but are not workers' live
# streams: skipped with a message, the workers still followed, no hang.
t_top_skips_what_is_not_a_worker_stream() {
    trap cleanup EXIT
    local s="$T/live.sock"
    : >"$s.worker-7.1" # a plain file
    python3 - "$s" "$T/strays.ready" <<'EOF' &
import os, socket, sys, threading, time
base, ready = sys.argv[1], sys.argv[2]
stale = socket.socket(socket.AF_UNIX); stale.bind(base + ".worker-6.4")  # bound, never listens
def serve(name, what):
    srv = socket.socket(socket.AF_UNIX); srv.bind(base + name); srv.listen(4)
    def loop():
        while True:
            c, _ = srv.accept()
            if what:
                c.sendall(what)
            threading.Thread(target=lambda: (time.sleep(30), c.close()), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
serve(".worker-8.2", b"GARBAGE, not a live profile\n")  # not the protocol
serve(".worker-9.3", b"")                               # says nothing
open(ready, "w").close()
time.sleep(40)
EOF
    local strays=$!
    poll 30 test -e "$T/strays.ready" || fail "the stray sockets are not there"
    $MRUN --prof-live "unix:$s" --prof-live-wait $LIVE_HTTP "$T/info" >"$T/mrun.out" 2>"$T/mrun.err" &
    local mrun=$!
    poll 30 test -S "$s" || fail "mrun does not serve: $(cat "$T/mrun.err")"
    run $MRPROF top --attach "unix:$s" --once --for 9 --view threads --size 120x16
    read_info
    kill "$ppid"
    wait "$mrun"
    kill "$strays" 2>/dev/null
    expect_rc 0
    expect_err_has "skipped live.sock.worker-7.1: not a socket"
    expect_err_has "skipped live.sock.worker-6.4: cannot connect"
    expect_err_has "skipped live.sock.worker-8.2: not a live profile"
    expect_err_has "skipped live.sock.worker-9.3: no welcome within 5 s"
    expect_out_has "worker 1 ($wpid1): main"
    expect_out_has "worker 2 ($wpid2): main"
    expect_out_has "primary ($ppid): main"
}

[ "${1:-}" = --lib ] || run_tests
