#!/usr/bin/env bash
# Loop health (Process.loop_stats, the loop-health counters of a profile) and the stall
# recorder (mrun --prof-stall, mrprof record --stall, mrprof report on a stall directory).
#
# The stall is a CPU-bound loop that measures itself: it spins until its own monotonic clock
# says 300 ms passed and prints how long it ran (D). What is asserted about lag is then a
# measurement of the program against the program's own clock, never a wall-clock budget: the
# loop's lag max L is at least D (the iteration holds the stall) and within 10 % of D (L <= 1.1 D:
# the rest of that iteration is a few short callbacks). A loaded machine stretches D and L alike.
source "$(dirname "$0")/lib.sh"

# The stall script: N short callbacks (immediates and 1 ms timers), one of which (the
# immediate number STALL_AT) is the stall, in the method `block_the_loop` at a known line.
stall_script() {
    cat >"$T/stall.rb" <<'EOF'
def block_the_loop(secs)
  s = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  x = 0
  while Process.clock_gettime(Process::CLOCK_MONOTONIC) - s < secs
    x += 1
  end
  Process.clock_gettime(Process::CLOCK_MONOTONIC) - s
end

n = (ARGV[0] || 3000).to_i
stall_at = (ARGV[1] || 1500).to_i
count = 0
stall = nil
ticks = 0
timer = set_interval(1) { ticks += 1 }
step = lambda do
  count += 1
  stall = block_the_loop(0.3) if count == stall_at
  if count < n
    set_immediate { step.call }
  else
    clear_interval(timer)
    s = Process.loop_stats
    puts "stall_ms=#{stall ? (stall * 1000).round(3) : 0}"
    puts "peak_lag_ms=#{s[:peak_lag_ms].round(3)}"
    puts "peak_callback_ms=#{s[:peak_callback_ms].round(3)}"
  end
end
set_immediate { step.call }
EOF
}

# within10 D L: D <= L <= 1.1 D (and D >= 300: the stall ran its 300 ms).
within10() {
    awk -v d="$1" -v l="$2" 'BEGIN { exit !(d >= 300 && l >= d && l <= d * 1.1) }' ||
        fail "loop lag max $2 ms is not within 10 % of the stall's own $1 ms"
}

t_loop_stats_keys_and_sanity() {
    run $MRUN -e '
n = 0
step = lambda do
  n += 1
  if n < 500
    set_immediate { step.call }
  else
    s = Process.loop_stats
    puts s.keys.sort.inspect
    puts s[:total_callbacks]
    puts s[:callbacks]
    puts s[:total_iterations] >= 500
    f = [:lag_p50_ms, :lag_p99_ms, :lag_max_ms, :longest_callback_ms, :window_ms, :peak_lag_ms, :peak_callback_ms]
    puts f.all? { |k| s[k].is_a?(Float) && s[k] >= 0 }
    puts s[:lag_p50_ms] <= s[:lag_p99_ms] && s[:lag_p99_ms] <= s[:lag_max_ms]
    puts s[:lag_max_ms] <= s[:peak_lag_ms] && s[:longest_callback_ms] <= s[:peak_callback_ms]
  end
end
set_immediate { step.call }'
    expect_rc 0
    local keys
    keys=$(printf '%s\n' "$out" | head -n 1)
    [ "$keys" = "[:callbacks, :iterations, :lag_max_ms, :lag_p50_ms, :lag_p99_ms, :longest_callback_ms, :peak_callback_ms, :peak_lag_ms, :total_callbacks, :total_iterations, :window_ms]" ] ||
        fail "keys: $keys"
    # 500 callbacks ran (each immediate is one), no more: the count is exact. The window (the
    # run so far: shorter than a second, unless the machine is very slow) holds them all.
    [ "$(printf '%s\n' "$out" | sed -n 2p)" = 500 ] || fail "total_callbacks: $out"
    local w
    w=$(printf '%s\n' "$out" | sed -n 3p)
    [ "$w" -ge 1 ] && [ "$w" -le 500 ] || fail "callbacks in the window: $w"
    [ "$(printf '%s\n' "$out" | sed -n '4,7p' | sort -u)" = true ] || fail "sanity: $out"
}

t_loop_stats_before_the_loop() {
    # Called from the main script, before any callback: zeros, no error.
    run $MRUN -e 's = Process.loop_stats; puts s[:callbacks], s[:total_iterations], s[:lag_max_ms]'
    expect_rc 0
    expect_out "0
0
0.0"
}

t_stall_lag_max_within_10_percent() {
    stall_script
    run $MRUN "$T/stall.rb" 3000 1500
    expect_rc 0
    local d l c
    d=$(printf '%s\n' "$out" | sed -n 's/^stall_ms=//p')
    l=$(printf '%s\n' "$out" | sed -n 's/^peak_lag_ms=//p')
    c=$(printf '%s\n' "$out" | sed -n 's/^peak_callback_ms=//p')
    within10 "$d" "$l"
    within10 "$d" "$c"
}

t_counters_in_trace_file() {
    stall_script
    run $MRUN --cpu-prof --prof-mode wall --prof-format trace --prof-out "$T/t.json" "$T/stall.rb" 3000 1500
    expect_rc 0
    local d
    d=$(printf '%s\n' "$out" | sed -n 's/^stall_ms=//p')
    # Each counter is a "C" event series; the lag max's highest reading is the stall.
    run node -e '
const ev = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).traceEvents;
const c = ev.filter(e => e.ph === "C");
const names = [...new Set(c.map(e => e.name))].filter(n => /loop|callback/.test(n)).sort();
console.log(names.join(","));
console.log(Math.max(...c.filter(e => e.name === "loop lag max ms").map(e => e.args.value)));
console.log(c.filter(e => e.name === "callbacks/s").every(e => e.args.value > 0));' "$T/t.json"
    expect_rc 0
    [ "$(printf '%s\n' "$out" | sed -n 1p)" = "callbacks/s,longest callback ms,loop lag max ms,loop lag p50 ms,loop lag p99 ms" ] ||
        fail "counter series: $out"
    within10 "$d" "$(printf '%s\n' "$out" | sed -n 2p)"
    [ "$(printf '%s\n' "$out" | sed -n 3p)" = true ] || fail "callbacks/s: $out"
    # The file passes the suite's strict trace check, and the DevTools trace engine (the
    # Performance panel's own parser) builds its flame chart from it with the counters in.
    node "$ROOT/tests/node/check_trace.js" "$T/t.json" >/dev/null || fail "check_trace failed"
    if [ -d "$ROOT/tests/node/node_modules/@paulirish/trace_engine" ]; then
        run node "$ROOT/tests/node/trace_engine_top.mjs" "$T/t.json" 3
        expect_rc 0
        expect_out_has "block_the_loop"
    else
        skip "the DevTools trace engine is not installed in tests/node (make deps runs npm ci)"
    fi
    # mrprof reads the counters back: a round trip through its trace reader keeps them.
    run $MRPROF convert "$T/t.json" "$T/c.json"
    expect_rc 0
    grep -q '"name":"loop lag max ms"' "$T/c.json" || fail "convert lost the loop counters"
}

t_counters_in_live_stream_and_tui() {
    # The TUI's memory view draws the loop counters of a trace (the same rows a live viewer
    # gets through the live stream's counters message).
    stall_script
    $MRUN --cpu-prof --prof-mode wall --prof-format trace --prof-out "$T/t.json" "$T/stall.rb" 3000 1500 >/dev/null 2>&1 ||
        fail "record failed"
    run $MRPROF view --once --view memory --size 120x30 "$T/t.json"
    expect_rc 0
    expect_out_has "loop lag max"
    expect_out_has "callbacks/s"
}

[ "${1:-}" = --lib ] || run_tests
