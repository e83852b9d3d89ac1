#!/usr/bin/env bash
# The core additions (runtime/core.c, runtime/prelude/vm/) vs CRuby 3.1 on the same script
# (tests/bench/core/ops.rb), side by side: wall seconds of each workload (best of RUNS runs, each
# timed inside the script, so start-up is not counted) and the ratio mrun / ruby (< 1: mrun is
# faster).
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
OPS="set_include set_build_ops uri_encode_1mb_x20 uri_decode_1mb_x20 cgi_escape_html_1mb_x20
     cgi_unescape_html_1mb_x20 form_encode_decode_x20k strftime_x200k array_sum_int_1m_x10
     array_sum_float_1m_x10 catch_throw_x100k struct_kw_new_x100k"
best_of() {  # best seconds printed by RUNS runs of "$@"
    for _ in $(seq "$RUNS"); do "$@" 2>/dev/null || echo 0; done | sort -n | head -n 1
}
echo "== core additions vs CRuby $(ruby -e 'print RUBY_VERSION' 2>/dev/null || echo '(missing)') (wall s, best of $RUNS)"
if ! command -v ruby >/dev/null; then
    echo "skipped: ruby (CRuby) is not installed"; exit 0
fi
printf '%-28s %10s %10s %8s\n' workload ruby mrun ratio
for op in $OPS; do
    r=$(best_of ruby tests/bench/core/ops.rb "$op")
    m=$(best_of build/mrun tests/bench/core/ops.rb "$op")
    printf '%-28s %10s %10s %8s\n' "$op" "$r" "$m" "$(awk -v a="$m" -v b="$r" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
done
