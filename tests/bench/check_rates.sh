#!/usr/bin/env bash
# check_rates.sh — how often `mrprof check --runs` is right (called by tests/bench/run.sh):
#   false alarms: REPS checks of tests/scripts/check_work.rb against its own baseline (goal:
#                 at least 19 of 20 pass);
#   caught:       REPS checks of the same script with `parse` made 25 % slower (should fail).
# Each check is RUNS_PER runs (default 10) at 1 kHz; one baseline serves all.
set -u
cd "$(dirname "$0")/../.."
REPS=${CHECK_REPS:-20}
RUNS_PER=${CHECK_RUNS:-10}
tmp=$(mktemp -d /tmp/mrprof-checkrates.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "== mrprof check --runs $RUNS_PER: false-alarm and catch rates over $REPS repetitions each"
build/mrprof check --runs "$RUNS_PER" --save-baseline "$tmp/bl.json" -- tests/scripts/check_work.rb
false_alarms=0 caught=0
for i in $(seq "$REPS"); do
    build/mrprof check --runs "$RUNS_PER" --baseline-json "$tmp/bl.json" -- tests/scripts/check_work.rb >/dev/null
    [ $? = 1 ] && false_alarms=$((false_alarms + 1))
    build/mrprof check --runs "$RUNS_PER" --baseline-json "$tmp/bl.json" -- tests/scripts/check_work.rb 1.25 >"$tmp/slow.out"
    [ $? = 1 ] && grep -m1 '^FAIL [^ ]' "$tmp/slow.out" | grep -q '^FAIL parse:' && caught=$((caught + 1))
    [ -t 2 ] && printf '\r  %d/%d' "$i" "$REPS" >&2
done
[ -t 2 ] && echo >&2
printf '%-40s %s/%s\n' "same code passed (no false alarm)" "$((REPS - false_alarms))" "$REPS"
printf '%-40s %s/%s\n' "25%-slower method caught, named first" "$caught" "$REPS"
