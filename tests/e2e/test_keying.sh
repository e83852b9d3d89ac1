#!/usr/bin/env bash
# End-to-end tests of how functions are keyed (issue 18, items 2 and 4): a function is (name,
# file, first line), so blocks of one scope and same-named methods of workers and the main
# thread are rows of their own, each at its own line, in report (text and tsv), view --once
# (top, tree, flame), top, diff and check; and two profiles of one script from two directories
# meet function for function (files relative to the script's root; a moved method still pairs).
source "$(dirname "$0")/lib.sh"

export K=tests/scripts/keying

# line_of FILE TEXT: the first line of FILE holding TEXT.
line_of() { grep -n -F -- "$2" "$1" | head -n 1 | cut -d: -f1; }

# rows NAME: the tsv report rows ($out) of function NAME, as "self_samples location".
rows() { printf '%s\n' "$out" | awk -F'\t' -v n="$1" '$6 == n { print $5, $7 }'; }

# record OUT SCRIPT [ARGS]: a CPU profile of SCRIPT (at 2 kHz: a few hundred samples).
record() {
    local o=$1; shift
    "$MRUN" --cpu-prof --prof-hz 2000 --prof-out "$o" "$@" >/dev/null 2>"$T/.rec" ||
        fail "mrun $*: $(cat "$T/.rec")"
}

t_blocks_in_main_are_rows_of_their_own() {
    record "$T/b.cpuprofile" $K/blocks.rb
    local heavy=$(line_of $K/blocks.rb "heavy = proc") light=$(line_of $K/blocks.rb "light = proc")
    local loop=$(line_of $K/blocks.rb ".times {")
    run $MRPROF report "$T/b.cpuprofile" --format tsv --top 0
    expect_rc 0
    local r=$(rows "block in <main>")
    [ "$(printf '%s\n' "$r" | wc -l)" = 3 ] || fail "not three block rows: [$r]"
    for l in $heavy $light $loop; do
        [ "$(printf '%s\n' "$r" | grep -c "blocks.rb:$l\$")" = 1 ] || fail "no single row at line $l: [$r]"
    done
    # The heavy block spins 3x the light one: its own samples say so (at 2 kHz ~500 against
    # ~170; the assertion needs only heavy > 1.5x light).
    local h=$(printf '%s\n' "$r" | awk -v l="blocks.rb:$heavy" '$2 ~ l"$" { print $1 }')
    local li=$(printf '%s\n' "$r" | awk -v l="blocks.rb:$light" '$2 ~ l"$" { print $1 }')
    [ "$h" -gt $((li * 3 / 2)) ] || fail "heavy block $h samples, light $li: [$r]"
    run $MRPROF report "$T/b.cpuprofile" --tree
    expect_rc 0
    for l in $heavy $light $loop; do expect_out_has "blocks.rb:$l"; done
    [ "$(printf '%s\n' "$out" | grep -c "block in <main> .*blocks.rb:$heavy\$")" = 2 ] ||
        fail "the heavy block is not in both the table and the tree at its line: $out"
}

t_route_blocks_of_one_method_keep_their_lines() {
    record "$T/r.cpuprofile" $K/router.rb
    run $MRPROF report "$T/r.cpuprofile" --format tsv --top 0
    expect_rc 0
    local r=$(rows "block in Router#build_router")
    [ "$(printf '%s\n' "$r" | wc -l)" = 3 ] || fail "not three route blocks: [$r]"
    # Each block's line lies within its own `on ... end` (mruby gives a do-block the line of its
    # first instruction); /search spins 4x /home.
    local home=$(line_of $K/router.rb 'on "/home"') search=$(line_of $K/router.rb 'on "/search"')
    local about=$(line_of $K/router.rb 'on("/about")')
    local hs=0 ss=0 n=0 seen=""
    while read -r samples loc; do
        local l=${loc##*:}
        if [ "$l" -ge "$home" ] && [ "$l" -lt "$search" ]; then hs=$samples; seen="$seen home"
        elif [ "$l" -ge "$search" ] && [ "$l" -lt "$about" ]; then ss=$samples; seen="$seen search"
        elif [ "$l" = "$about" ]; then seen="$seen about"
        else fail "a route block at line $l, outside every route: [$r]"; fi
    done <<EOF
$r
EOF
    [ "$seen" = " home search about" ] || [ "$(printf '%s\n' $seen | sort | tr '\n' ' ')" = "about home search " ] ||
        fail "routes seen:$seen [$r]"
    [ "$ss" -gt $((hs * 2)) ] || fail "/search $ss samples against /home $hs: [$r]"
}

t_same_named_methods_of_workers_and_main_stay_apart() {
    "$MRUN" --cpu-prof --prof-format trace --prof-out "$T/s.json" $K/same_names.rb 2000000 >/dev/null 2>"$T/.rec" ||
        fail "mrun: $(cat "$T/.rec")"
    local wl=$(line_of $K/same_names.rb "  def crunch") ml=$(line_of $K/same_names.rb "def crunch(n)" )
    ml=$(grep -n '^def crunch' $K/same_names.rb | cut -d: -f1)
    run $MRPROF report "$T/s.json" --format tsv --top 0
    expect_rc 0
    local r=$(rows crunch)
    [ "$(printf '%s\n' "$r" | wc -l)" = 2 ] || fail "not two crunch rows: [$r]"
    # Each at a line inside its own definition (def .. end spans 5 lines).
    printf '%s\n' "$r" | awk -v w="$wl" -v m="$ml" '{ split($2, a, ":"); l = a[length(a)]
        if (l >= w && l < w + 5) wk++; else if (l >= m && l < m + 5) mn++ } END { exit !(wk == 1 && mn == 1) }' ||
        fail "crunch rows not at the worker's ($wl) and the main thread's ($ml) definitions: [$r]"
    # A worker's thread shows the worker's method, the main thread the main one.
    local t main_seen=0 worker_seen=0
    for t in 0 1 2; do
        run $MRPROF report "$T/s.json" --format tsv --top 0 --thread $t
        [ "$rc" = 0 ] || continue
        local l=$(rows crunch | awk '{ n = split($2, a, ":"); print a[n] }' | tr '\n' ' ')
        case " $l" in
            "") ;;
            *" $ml "*) [ "$(rows crunch | wc -l)" = 1 ] || fail "thread $t mixes both crunch: $l"; main_seen=1 ;;
            *) [ "$(rows crunch | wc -l)" = 1 ] || fail "thread $t mixes both crunch: $l"; worker_seen=1 ;;
        esac
    done
    [ $main_seen = 1 ] && [ $worker_seen = 1 ] || fail "main $main_seen worker $worker_seen"
}

t_deferred_parallel_workers_block_at_its_line() {
    "$MRUN" --cpu-prof --prof-format trace --prof-out "$T/d.json" samples/deferred_parallel.rb 22 >/dev/null 2>"$T/.rec" ||
        fail "mrun: $(cat "$T/.rec")"
    local task=$(line_of samples/deferred_parallel.rb "Deferred.new(n, i)")
    local setup=$(( $(line_of samples/deferred_parallel.rb "Deferred.setup do") + 1 ))
    local mainfib=$(grep -n '^def fib' samples/deferred_parallel.rb | cut -d: -f1)
    run $MRPROF report "$T/d.json" --format tsv --top 0 --thread 1
    expect_rc 0
    rows "block in <main>" | grep -q "deferred_parallel.rb:$task\$" || fail "worker's block not at $task: $out"
    rows fib | grep -q "deferred_parallel.rb:$setup\$" || fail "worker's fib not at $setup: $out"
    rows fib | grep -q "deferred_parallel.rb:$mainfib\$" && fail "worker shows the main thread's fib ($mainfib): $out"
    run $MRPROF report "$T/d.json" --format tsv --top 0 --thread 0
    rows fib | grep -q "deferred_parallel.rb:$mainfib\$" || fail "main fib not at $mainfib: $out"
    rows fib | grep -q "deferred_parallel.rb:$setup\$" && fail "main thread shows the workers' fib: $out"
    true
}

t_view_once_shows_each_block_at_its_line() {
    record "$T/b.cpuprofile" $K/blocks.rb
    local heavy=$(line_of $K/blocks.rb "heavy = proc") light=$(line_of $K/blocks.rb "light = proc")
    for v in top tree; do
        run $MRPROF view "$T/b.cpuprofile" --once --view $v --size 160x30
        expect_rc 0
        expect_out_has "block in <main>  $K/blocks.rb:$heavy"
        expect_out_has "block in <main>  $K/blocks.rb:$light"
    done
    # The top view's rows are functions: the heavy block's row holds its own time only.
    local hp=$(printf '%s\n' "$out" | grep -c "blocks.rb:$heavy\$")
    [ "$hp" -ge 1 ] || fail "tree lacks the heavy block"
    run $MRPROF view "$T/b.cpuprofile" --once --view flame --size 160x30
    expect_rc 0
}

t_top_shows_each_block_at_its_line() {
    local heavy=$(line_of $K/blocks.rb "heavy = proc") light=$(line_of $K/blocks.rb "light = proc")
    run $MRPROF top --once --size 160x30 -- $K/blocks.rb
    expect_rc 0
    expect_out_has "blocks.rb:$heavy"
    expect_out_has "blocks.rb:$light"
    [ "$(printf '%s\n' "$out" | grep -c 'block in <main>')" -ge 2 ] || fail "blocks merged in top: $out"
}

# two_checkouts: blocks.rb in $T/a (run as a relative path from there) and in $T/b/app with a
# comment line added at the top (every line moves down by one; run by its absolute path).
two_checkouts() {
    mkdir -p "$T/a" "$T/b/app"
    cp $K/blocks.rb "$T/a/blocks.rb"
    { echo "# a new first line"; cat $K/blocks.rb; } >"$T/b/app/blocks.rb"
    (cd "$T/a" && "$MRUN" --cpu-prof --prof-hz 2000 --prof-out "$T/base.cpuprofile" blocks.rb) >/dev/null 2>&1 ||
        fail "base run failed"
    record "$T/new.cpuprofile" "$T/b/app/blocks.rb"
}

t_diff_matches_functions_across_two_directories() {
    two_checkouts
    local heavy=$(line_of "$T/b/app/blocks.rb" "heavy = proc")
    run $MRPROF diff "$T/base.cpuprofile" "$T/new.cpuprofile" --format tsv --top 0
    expect_rc 0
    local blocks=$(printf '%s\n' "$out" | awk -F'\t' '$9 == "block in <main>"')
    [ "$(printf '%s\n' "$blocks" | wc -l)" = 3 ] || fail "not three block rows: [$blocks]"
    printf '%s\n' "$blocks" | awk -F'\t' '$1 != "both" { exit 1 }' || fail "a block is new or gone: [$blocks]"
    printf '%s\n' "$out" | awk -F'\t' '$9 == "<main>" && $10 ~ /blocks.rb/ && $1 != "both" { exit 1 }' || fail "<main> unmatched: $out"
    # Rows carry the new profile's lines; the heavy block has about the same share on both
    # sides (it is the same code): within 15 points (each share is over ~300 samples).
    local hrow=$(printf '%s\n' "$blocks" | grep "blocks.rb:$heavy	")
    [ -n "$hrow" ] || fail "no row at the new heavy line $heavy: [$blocks]"
    printf '%s\n' "$hrow" | awk -F'\t' '{ d = $2 - $3; if (d < 0) d = -d; exit !(d < 15) }' ||
        fail "heavy block shares differ: $hrow"
    run $MRPROF diff "$T/base.cpuprofile" "$T/new.cpuprofile" --tree-min 0
    expect_rc 0
    # The table names where each block was: one line up, in the base.
    printf '%s\n' "$out" | grep -q "block in <main>  $T/b/app/blocks.rb:$heavy (line $((heavy - 1)) in the base)" ||
        fail "the moved heavy block does not say its base line: $out"
    # The call tree of the change: the blocks matched, so each appears once (not twice, once
    # gone at 100 % and once new).
    [ "$(printf '%s\n' "$out" | sed -n '/Call tree of the change/,$p' | grep -c "block in <main>  .*blocks.rb:$heavy\$")" = 1 ] ||
        fail "the heavy block is not one path in the tree: $out"
    run $MRPROF view --diff "$T/base.cpuprofile" "$T/new.cpuprofile" --once --view top --size 160x30
    expect_rc 0
    printf '%s\n' "$out" | grep "blocks.rb:$heavy\$" | grep -q " new " && fail "view --diff calls the heavy block new: $out"
    true
}

t_check_baseline_matches_across_two_directories() {
    two_checkouts
    run $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile"
    printf '%s\n' "$out" | grep -q "^FAIL .*new:" && fail "functions called new across directories: $out"
    printf '%s\n' "$out" | grep -q "^FAIL block in" && fail "a block failed: $out"
    # Functions sharing a name are told apart by their location in the table.
    expect_out_has "block in <main> ($T/b/app/blocks.rb:$(line_of "$T/b/app/blocks.rb" "heavy = proc"))"
    true
}

t_check_runs_against_matches_across_two_directories() {
    mkdir -p "$T/a" "$T/b/app"
    cp $K/blocks.rb "$T/a/blocks.rb"
    { echo "# a new first line"; cat $K/blocks.rb; } >"$T/b/app/blocks.rb"
    run $MRPROF check --runs 3 --against "$T/a/blocks.rb 6" -- "$T/b/app/blocks.rb" 6
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "exit $rc: $err $out"
    # Every block judged has time on both sides (an unmatched one would show 0.0 new ms).
    local blk=$(printf '%s\n' "$out" | grep "block in <main> (")
    [ "$(printf '%s\n' "$blk" | wc -l)" -ge 2 ] || fail "blocks not told apart: $out"
    printf '%s\n' "$blk" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /\)$/) { print $(i + 1), $(i + 2); next } }' |
        awk '$1 <= 0 || $2 <= 0 { exit 1 }' || fail "a block has no time on one side: $out"
}

t_check_runs_reads_a_baseline_stored_before_lines_were_kept() {
    # Keys "name<TAB>file" (no line) pair by the rule's line-order step: the heavy block, the
    # first of the blocks in line order, meets the stored heavy block's figures.
    cp $K/blocks.rb "$T/blocks.rb"
    local k='block in <main>\tblocks.rb' r=""
    for i in 1 2 3; do
        r="$r${r:+,}{\"total_ms\": 100, \"functions\": {\"$k\": 70, \"<main>\\tblocks.rb\": 100}}"
    done
    printf '{"mrprof_baseline": 1, "script": "blocks.rb", "runs": [%s]}\n' "$r" >"$T/old.json"
    run $MRPROF check --runs 3 --baseline-json "$T/old.json" -- "$T/blocks.rb" 4
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "exit $rc: $err $out"
    # the base's 70 ms beside the new runs' median of the heavy block (0.0 if it had not paired)
    printf '%s\n' "$out" | awk '/^[a-zA-Z]+ +block in <main> +70\.0 / { found = 1; ok = $6 > 0 } END { exit !(found && ok) }' ||
        fail "the stored block did not pair: $out"
}

t_budget_names_one_function_by_location() {
    record "$T/b.cpuprofile" $K/blocks.rb
    local heavy=$(line_of $K/blocks.rb "heavy = proc") light=$(line_of $K/blocks.rb "light = proc")
    run $MRPROF check "$T/b.cpuprofile" --no-budget-file --budget "block in <main>@blocks.rb:$heavy<=50%" \
        --budget "block in <main>@blocks.rb:$light<=50%"
    expect_rc 1
    expect_out_has "FAIL budget block in <main>@blocks.rb:$heavy<=50%"
    printf '%s\n' "$out" | grep -q "^FAIL budget block in <main>@blocks.rb:$light" && fail "light block failed: $out"
    # The name alone stands for every block of that name, each sample counted once: 100 %.
    # (the loop's block holds the other two: all but the prelude's and GC's few samples)
    # (GC's share moves with the machine's load, so the whole is compared with its parts: more
    # than the heavy block alone, and the failing verdict)
    run $MRPROF check "$T/b.cpuprofile" --no-budget-file --budget "block in <main>@blocks.rb:$heavy<=1%"
    local part=$(printf '%s\n' "$out" | sed -n 's/.* takes \([0-9.]*\)%.*/\1/p' | head -n 1)
    run $MRPROF check "$T/b.cpuprofile" --no-budget-file --budget "block in <main><=50%"
    expect_rc 1
    expect_out_has "FAIL budget block in <main><=50%"
    local whole=$(printf '%s\n' "$out" | sed -n 's/.*block in <main> takes \([0-9.]*\)%.*/\1/p' | head -n 1)
    [ -n "$part" ] && [ -n "$whole" ] && awk -v a="$whole" -v b="$part" 'BEGIN { exit !(a > b && a > 50) }' ||
        fail "every block of the name ($whole %) is not more than the heavy one ($part %)"
    run $MRPROF check "$T/b.cpuprofile" --no-budget-file --budget "x@<=5%"
    expect_rc 2
    expect_err_has "NAME@FILE:LINE"
}

run_tests
