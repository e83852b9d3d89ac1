#!/bin/bash
# test_realistic.sh — profiles of realistic programs must say what is true (issue 18): an HTTP
# service under a bounded load, a timer-driven periodic job, a Deferred batch, and a program with
# same-named methods and many blocks, each in CPU and wall mode. Truths come from the programs
# themselves (their own CPU clock) or from what the program defines.
. "$(dirname "$0")/lib.sh"

export R=tests/scripts/realistic
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# Runs kv_server.rb profiled (extra mrun options in "$@"), drives it with wrk for 2 s on 4
# loopback connections, then asks it to quit; leaves the profile in $T/s.cpuprofile.
serve_under_load() {
    command -v wrk >/dev/null || fail "wrk is not installed"
    $MRUN --cpu-prof --prof-out "$T/s.cpuprofile" "$@" $R/kv_server.rb 0 ${KV_MODE:-} >"$T/srv.out" 2>"$T/srv.err" &
    local pid=$! port="" i
    for i in $(seq 100); do
        port=$(awk '/^listening/ { print $2 }' "$T/srv.out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { kill $pid; fail "the server did not start: $(cat "$T/srv.err")"; }
    wrk -t1 -c4 -d2s -s $R/wrk_mix.lua "http://127.0.0.1:$port/" >"$T/wrk.out" 2>&1 ||
        { kill $pid; fail "wrk failed: $(cat "$T/wrk.out")"; }
    grep -q "requests in" "$T/wrk.out" || { kill $pid; fail "wrk ran no requests: $(cat "$T/wrk.out")"; }
    curl -s -m 5 "http://127.0.0.1:$port/quit" >/dev/null
    for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    kill -0 $pid 2>/dev/null && { kill $pid; fail "the server did not stop after /quit"; }
    wait $pid || fail "the server failed: $(cat "$T/srv.err")"
    expect_file "$T/s.cpuprofile"
}

# The self % of function $2 in profile $1 (0 when absent).
self_pct() { $MRPROF report --format tsv --top 0 "$1" | awk -F'\t' -v f="$2" '$6 == f { p = $1 } END { print p + 0 }'; }
total_pct() { $MRPROF report --format tsv --top 0 "$1" | awk -F'\t' -v f="$2" '$6 == f { p = $2 } END { print p + 0 }'; }

t_server_cpu_mode_the_handler_leads_and_idle_is_small() {
    server_cpu_mode_checks
}

# The same service on the HTTP module: the handler still leads, and the HTTP work is named.
t_http_server_cpu_mode_the_handler_leads_and_http_work_is_named() {
    KV_MODE=http server_cpu_mode_checks
    # The HTTP module's own work is named by its methods. Which of them a run samples is up to
    # chance: the handler takes ~85 % of the CPU, and under load a CPU-mode run keeps ~60 % of
    # its signals, so one named method (HTTP::Parser#feed, asked for alone before) can be missed.
    local n
    n=$($MRPROF report --format tsv --top 0 "$T/s.cpuprofile" | awk -F'\t' '$6 ~ /^HTTP::/ { f[$6] = 1 } END { print length(f) }')
    [ "$n" -ge 3 ] ||
        fail "only $n methods of HTTP:: are in the profile: $($MRPROF report "$T/s.cpuprofile" --top 20)"
}

t_http_server_wall_mode_the_handler_leads_and_idle_is_never_under_a_handler() {
    KV_MODE=http server_wall_mode_checks
}

server_cpu_mode_checks() {
    serve_under_load
    local top idle
    top=$($MRPROF report --format tsv --top 1 "$T/s.cpuprofile" | awk -F'\t' 'NR == 2 { print $6 }')
    [ "$top" = "Report#checksum" ] ||
        fail "the top function by self time is [$top], not Report#checksum: $($MRPROF report "$T/s.cpuprofile" --top 6)"
    # In CPU mode (idle) is the CPU the thread spent inside the loop's waits (the poll call and
    # its wake-ups), which grows with the machine's load (17.85 % was seen in a loaded flaky
    # round, beyond the fixed 10 % this test once asked for): the promise is that it stays below the
    # handler's work (the bug this guards against showed the server's CPU as 99 % (idle)).
    local handler
    idle=$(self_pct "$T/s.cpuprofile" "(idle)")
    handler=$(self_pct "$T/s.cpuprofile" "Report#checksum")
    awk -v i="$idle" -v h="$handler" 'BEGIN { exit !(i < h) }' ||
        fail "(idle) has $idle % of the CPU time, the handler Report#checksum $handler %"
}

t_server_wall_mode_the_handler_leads_and_idle_is_never_under_a_handler() {
    server_wall_mode_checks
}

server_wall_mode_checks() {
    serve_under_load --prof-mode wall
    local top
    top=$($MRPROF report --format tsv --top 0 "$T/s.cpuprofile" | awk -F'\t' 'NR > 1 && $6 !~ /^\(/ { print $6; exit }')
    [ "$top" = "Report#checksum" ] ||
        fail "the top function by self time (not counting idle) is [$top]: $($MRPROF report "$T/s.cpuprofile" --top 6)"
    # Waiting happens in the loop only: (idle) is a root of the call tree, never under Ruby.
    run $MRPROF report "$T/s.cpuprofile" --tree --min-pct 0
    expect_rc 0
    printf '%s\n' "$out" | awk '/^Call tree/ { tree = 1 } tree && /\(idle\)/ && !/[0-9]%  \(idle\)$/ { bad = 1 } END { exit bad }' ||
        fail "(idle) stands under Ruby frames: $(printf '%s\n' "$out" | sed -n '/^Call tree/,$p' | grep -B3 '(idle)' | head -20)"
}

# periodic.rb prints its own truth: the CPU seconds in Job#spin and of the whole thread. At
# 5 kHz (about 2 kHz delivered on a loaded machine) over 1 000 periods, Job#spin stands in
# about 1 000 samples: a share near 75 % has a standard error of about 1.4 points, so the
# 5-point margin is over 3 of them.
t_periodic_job_cpu_share_is_its_true_cpu_share() {
    run $MRUN --cpu-prof --prof-hz 5000 --prof-out "$T/p.cpuprofile" $R/periodic.rb 1000
    expect_rc 0
    local truth share
    truth=$(printf '%s\n' "$out" | sed -n 's/.*spin_cpu=\([0-9.]*\) thread_cpu=\([0-9.]*\).*/\1 \2/p' |
            awk '{ printf "%.2f", 100 * $1 / $2 }')
    [ -n "$truth" ] || fail "periodic.rb printed no truth: $out"
    share=$(total_pct "$T/p.cpuprofile" "Job#spin")
    near "$share" "$truth" 5 ||
        fail "Job#spin has $share % of the CPU time in the profile; its CPU clock says $truth %: $($MRPROF report "$T/p.cpuprofile" --top 6)"
}

t_periodic_job_wall_share_is_its_true_wall_share() {
    run $MRUN --cpu-prof --prof-mode wall --prof-hz 5000 --prof-out "$T/p.cpuprofile" $R/periodic.rb 1000
    expect_rc 0
    local truth share
    truth=$(printf '%s\n' "$out" | sed -n 's/.*spin_wall=\([0-9.]*\) wall=\([0-9.]*\).*/\1 \2/p' |
            awk '{ printf "%.2f", 100 * $1 / $2 }')
    [ -n "$truth" ] || fail "periodic.rb printed no truth: $out"
    share=$(total_pct "$T/p.cpuprofile" "Job#spin")
    near "$share" "$truth" 5 ||
        fail "Job#spin has $share % of the wall time in the profile; measured $truth %: $($MRPROF report "$T/p.cpuprofile" --top 6)"
}

# Workers wait for work between waves: that waiting costs no CPU and must not lead.
t_deferred_batch_workers_time_is_in_their_work_method() {
    run $MRUN --workers 2 --cpu-prof --prof-out "$T/b.cpuprofile" $R/batch.rb 120
    expect_rc 0
    expect_out_has "240 digests"
    local f n=0 total idle
    for f in "$T"/b.thread-*.cpuprofile; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        total=$(total_pct "$f" "Digest#rounds")
        idle=$(self_pct "$f" "(idle)")
        awk -v t="$total" -v i="$idle" 'BEGIN { exit !(t >= 75 && i < 5) }' ||
            fail "$(basename "$f"): Digest#rounds has $total % of the CPU time and (idle) $idle %: $($MRPROF report "$f" --top 5)"
    done
    [ "$n" -ge 1 ] || fail "no worker profile written: $(ls "$T")"
}

# names.rb lists every method it has after "methods:" (Class#m, Class.m, bare m for Object):
# every function the profile names must be one of them (blocks by their method).
check_names() {
    local prof=$1 list=$2
    $MRPROF report --format tsv --top 0 "$prof" | awk -F'\t' 'NR > 1 { print $5 "\t" $6 }' |
        while IFS=$'\t' read -r n name; do
            case $name in "("*|"<main>"|"block in <main>") continue;; esac
            grep -qxF -- "${name#block in }" "$list" || echo "$name ($n samples)"
        done
}

t_names_are_methods_the_program_has_cpu_mode() {
    run $MRUN --cpu-prof --prof-hz 5000 --prof-out "$T/n.cpuprofile" $R/names.rb 2
    expect_rc 0
    printf '%s\n' "$out" | sed -n '/^methods:$/,$p' | tail -n +2 >"$T/valid"
    [ "$(wc -l <"$T/valid")" -gt 100 ] || fail "names.rb listed too few methods: $(head -c 300 "$T/valid")"
    local bad
    bad=$(check_names "$T/n.cpuprofile" "$T/valid")
    [ -z "$bad" ] || fail "names the program does not have: $bad"
    # The calls the 9-line reproduction of issue 18.3 made wrong are there, rightly named.
    for f in "String#each_char" "String#size" "Proc#call" "Sized#size" "Box#size" "Box.call"; do
        $MRPROF report --format tsv --top 0 "$T/n.cpuprofile" | cut -f6 | grep -qxF "$f" ||
            fail "$f is missing from the profile"
    done
}

t_names_are_methods_the_program_has_wall_mode() {
    run $MRUN --cpu-prof --prof-mode wall --prof-hz 5000 --prof-out "$T/n.cpuprofile" $R/names.rb 2
    expect_rc 0
    printf '%s\n' "$out" | sed -n '/^methods:$/,$p' | tail -n +2 >"$T/valid"
    local bad
    bad=$(check_names "$T/n.cpuprofile" "$T/valid")
    [ -z "$bad" ] || fail "names the program does not have: $bad"
}

# A loop that never allocates and never returns to the event loop: a viewer attached while it
# runs sees its frames named within a second (before issue 18.5, 100 % "?" until the end).
t_live_view_names_a_never_yielding_hot_loop_within_a_second() {
    $MRUN --prof-live "unix:$T/live.sock" $R/hot_loop.rb 4 >"$T/mrun.out" 2>"$T/mrun.err" &
    local pid=$! i
    for i in $(seq 100); do grep -q 'live profile at' "$T/mrun.err" && break; sleep 0.1; done
    grep -q 'live profile at' "$T/mrun.err" || { kill $pid; fail "no live address: $(cat "$T/mrun.err")"; }
    run $MRPROF top --attach "unix:$T/live.sock" --once --for 1 --size 100x14
    expect_rc 0
    wait $pid || fail "mrun failed: $(cat "$T/mrun.err")"
    # The viewer printed while the loop ran (the program ends by its CPU clock, 4 s).
    case $out in *"LIVE"*) ;; *) fail "the view was not taken while the program ran: $out";; esac
    expect_out_has " mix "
    expect_out_has " crunch "
    printf '%s\n' "$out" | awk '$NF == "?" { gsub("%", "", $1); if ($1 + 0 > 5) bad = 1 } END { exit bad }' ||
        fail "unnamed frames hold more than 5 %: $out"
}

# samples/notes_service.rb (what `make demo` profiles): a JSON service with Regexp routes, a
# child process, a file cache and a Deferred report, under its own bounded load from 127.0.0.1
# (samples/notes_load.rb, its child). Every route answers, none with 500, and the wall-mode
# trace holds the workers' threads, (idle), and the functions each route runs.
t_notes_service_demo_answers_every_route_and_its_profile_names_them() {
    run $MRUN --cpu-prof --prof-mode wall --prof-hz 5000 --prof-format trace --prof-out "$T/d.json" \
        samples/notes_service.rb --demo 1
    expect_rc 0
    expect_out_has "notes_load: "
    local r
    for r in "GET /report" "GET /uptime" "POST /notes" "GET /files/README.md" "GET /notes/:id"; do
        expect_out_has "  $r "
    done
    case $out in *" 500: "*) fail "a route answered 500: $out" ;; esac
    run $MRPROF report --format tsv --top 0 "$T/d.json"
    expect_rc 0
    # Functions with milliseconds of the run. JSON.parse is not asked for: about 75 small POST
    # bodies make 1 ms of it in the whole second (0.03 %), which a sampler misses at random on a
    # loaded machine (issue 28: one run in a flaky round had no sample of it).
    for r in "(idle)" "JSON.generate" "String#scan" "Regexp#match" "block in word_report"; do
        printf '%s\n' "$out" | awk -F'\t' -v f="$r" '$6 == f { found = 1 } END { exit !found }' ||
            fail "the report has no row for $r"
    done
    run $MRPROF report "$T/d.json"
    expect_out_has "Deferred worker"
}

run_tests
