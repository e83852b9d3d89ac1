#!/usr/bin/env bash
# check_rates.sh — how often `mrprof check --runs` is right (called by tests/bench/run.sh), in
# both of its forms (--against: base and new in turn; --baseline-json: one stored baseline):
#   false alarms: REPS checks of tests/scripts/check_work.rb against itself (goal: at least 19
#                 of 20 pass);
#   caught:       REPS checks of the same script with `parse` made 25 % slower (should fail
#                 and name parse first).
# Each check is RUNS_PER runs a side (default 10) at check's default rate (4 kHz).
# MRPROF=path runs another build (mrun is taken from beside it).
set -u
cd "$(dirname "$0")/../.."
REPS=${CHECK_REPS:-20}
RUNS_PER=${CHECK_RUNS:-10}
W=tests/scripts/check_work.rb
MRPROF=${MRPROF:-build/mrprof}
tmp=$(mktemp -d /tmp/mrprof-checkrates.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
echo "== mrprof check --runs $RUNS_PER: false-alarm and catch rates over $REPS repetitions each"
"$MRPROF" check --runs "$RUNS_PER" --save-baseline "$tmp/bl.json" -- "$W"
for form in against baseline-json; do
    if [ $form = against ]; then base=(--against "$W"); else base=(--baseline-json "$tmp/bl.json"); fi
    false_alarms=0 caught=0
    for i in $(seq "$REPS"); do
        "$MRPROF" check --runs "$RUNS_PER" "${base[@]}" -- "$W" >"$tmp/same.out"
        if [ $? = 1 ]; then
            false_alarms=$((false_alarms + 1))
            grep '^FAIL ' "$tmp/same.out" | sed "s/^/  false alarm in repetition $i: /"
        fi
        "$MRPROF" check --runs "$RUNS_PER" "${base[@]}" -- "$W" 1.25 >"$tmp/slow.out"
        [ $? = 1 ] && grep -m1 '^FAIL [^ ]' "$tmp/slow.out" | grep -q '^FAIL parse:' && caught=$((caught + 1))
        [ -t 2 ] && printf '\r  --%s %d/%d' "$form" "$i" "$REPS" >&2
    done
    [ -t 2 ] && echo >&2
    printf '%-56s %s/%s\n' "--$form: same code passed (no false alarm)" "$((REPS - false_alarms))" "$REPS"
    printf '%-56s %s/%s\n' "--$form: 25%-slower method caught, named first" "$caught" "$REPS"
done
echo "  ($(( $(date +%s) - start )) s)"
