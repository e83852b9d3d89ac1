#!/usr/bin/env bash
# The flame graph as SVG on the 1 000 000-sample profile (tests/bench/bigprofile.c: 40 000 nodes,
# 5 000 stacks), part of `make bench`. Side by side in the same run:
#   1. `mrprof convert BIG OUT.svg` (read + lay out + write; target under 1 s) against convert to
#      folded stacks (the format flamegraph.pl draws from: Debian packages no flamegraph.pl) and
#      against `mrprof report` (read + aggregate, no output file): the SVG's own cost is the
#      difference; its size and frame count, at the default --min-width 0.1 and coarser;
#   2. a browser opening it: headless chromium from navigation to two frames drawn with the
#      script initialised (tests/node/svg_chromium.mjs), against a 30-frame SVG (the browser's
#      own floor for any file), when chromium is installed.
# Wall seconds, best of RUNS.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
tmp=$(mktemp -d /tmp/mrprof-bench-svg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
[ -x build/bench/bigprofile ] || make --no-print-directory build/bench/bigprofile >/dev/null
best() { sort -n | head -n 1; }
wall_of() {  # best wall seconds of "$@" over RUNS runs
    for _ in $(seq "$RUNS"); do
        { TIMEFORMAT='%R'; time "$@" >/dev/null 2>&1; } 2>&1
    done | best
}
cpu_of() {  # best user+sys seconds of "$@" over RUNS runs (what a loaded machine stretches less)
    for _ in $(seq "$RUNS"); do
        { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'
    done | best
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

big=$tmp/big.cpuprofile
build/bench/bigprofile "$big" >/dev/null
echo "== convert -f svg on a 1 000 000-sample profile (wall seconds, best of $RUNS)"
rep=$(wall_of build/mrprof report "$big")
fol=$(wall_of build/mrprof convert "$big" "$tmp/big.folded")
svg=$(wall_of build/mrprof convert "$big" "$tmp/big.svg")
printf '%-44s %8s s\n' "mrprof report (read + aggregate)" "$rep"
printf '%-44s %8s s  %8s KB\n' "mrprof convert to .folded" "$fol" "$(( $(stat -c %s "$tmp/big.folded") / 1000 ))"
printf '%-44s %8s s  %8s KB  %6s frames\n' "mrprof convert to .svg" "$svg" \
    "$(( $(stat -c %s "$tmp/big.svg") / 1000 ))" "$(grep -c '^<g' "$tmp/big.svg")"
printf '%-44s %8s x\n' "svg / folded" "$(ratio "$svg" "$fol")"
rep_cpu=$(cpu_of build/mrprof report "$big")
fol_cpu=$(cpu_of build/mrprof convert "$big" "$tmp/big.folded")
svg_cpu=$(cpu_of build/mrprof convert "$big" "$tmp/big.svg")
printf '%-44s %8s / %s / %s s  (svg / folded: x%s)\n' "CPU seconds: report / .folded / .svg" "$rep_cpu" "$fol_cpu" "$svg_cpu" "$(ratio "$svg_cpu" "$fol_cpu")"
printf '%-44s %8s s\n' "the SVG's own CPU cost (svg - report)" "$(awk -v a="$svg_cpu" -v b="$rep_cpu" 'BEGIN { printf "%.3f", a - b }')"
for m in 0.25 0.5 1; do
    t=$(wall_of build/mrprof convert --min-width "$m" "$big" "$tmp/big$m.svg")
    printf '%-44s %8s s  %8s KB  %6s frames\n' "mrprof convert to .svg --min-width $m" "$t" \
        "$(( $(stat -c %s "$tmp/big$m.svg") / 1000 ))" "$(grep -c '^<g' "$tmp/big$m.svg")"
done

echo
CHROMIUM=${CHROMIUM-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    echo "== a browser opening it: SKIP (chromium is not installed)"
    exit 0
fi
echo "== headless chromium opening the SVG: navigation to drawn, ms, best of $RUNS"
build/mrun --cpu-prof --prof-out "$tmp/fib.cpuprofile" samples/fib.rb 22 >/dev/null 2>&1
build/mrprof convert "$tmp/fib.cpuprofile" "$tmp/small.svg"
load() {  # best load_ms of FILE
    for _ in $(seq "$RUNS"); do
        node tests/node/svg_chromium.mjs "$CHROMIUM" "$1" - - - 2>/dev/null | awk -F'\t' '$1 == "load_ms" { print $2 }'
    done | best
}
small=$(load "$tmp/small.svg")
printf '%-44s %8s ms\n' "a $(grep -c '^<g' "$tmp/small.svg")-frame SVG (the floor)" "$small"
for f in big.svg big0.25.svg big0.5.svg big1.svg; do
    l=$(load "$tmp/$f")
    printf '%-44s %8s ms  x%s the floor\n' "$f ($(grep -c '^<g' "$tmp/$f") frames)" "$l" "$(ratio "$l" "$small")"
done
