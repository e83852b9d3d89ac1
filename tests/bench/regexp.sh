#!/usr/bin/env bash
# Regexp-heavy work, mrun (Oniguruma) vs CRuby (Onigmo), same log file, same script, same run:
# tests/bench/regexp/workload.rb over an access log of REGEXP_MB megabytes (default 20) that
# tests/bench/regexp/gen_log.rb writes (deterministic). Each figure is the best of RUNS runs of
# the seconds the script measures around its work (reading the file and start-up excluded);
# ratio = mrun / ruby (target: at most 1.20). The checksums must agree, or the line says so.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
MB=${REGEXP_MB:-20}
B=tests/bench/regexp
if ! command -v ruby >/dev/null 2>&1; then
    echo "== Regexp vs CRuby: SKIPPED (ruby is not installed: apt-get install ruby)"
    exit 0
fi
tmp=$(mktemp -d /tmp/mrprof-bench-rx.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ruby $B/gen_log.rb $((MB * 1000000)) "$tmp/access.log"

best_of() {  # "best-seconds checksum" of RUNS runs of "$@" (each prints "seconds checksum")
    for _ in $(seq "$RUNS"); do "$@"; done | sort -g | head -n 1
}
echo "== Regexp vs CRuby $(ruby -e 'print RUBY_VERSION'): ${MB} MB access log (seconds, best of $RUNS)"
printf '%-14s %10s %10s %8s  %s\n' workload ruby mrun ratio "what"
for w in extract gsub_block gsub_string scan match_named; do
    case $w in
        extract) what="per line: =~ with 3 groups, \$1..\$3" ;;
        gsub_block) what="gsub with a block over the whole log (addresses)" ;;
        gsub_string) what="gsub with '\\3-\\2-\\1' over the whole log (dates)" ;;
        scan) what="scan with 2 groups over the whole log" ;;
        match_named) what="per line: Regexp#match, named captures" ;;
    esac
    read -r rs rsum <<<"$(best_of ruby $B/workload.rb "$tmp/access.log" $w)"
    read -r ms msum <<<"$(best_of build/mrun $B/workload.rb "$tmp/access.log" $w)"
    [ "$rsum" = "$msum" ] || what="CHECKSUMS DIFFER: ruby $rsum, mrun $msum"
    printf '%-14s %10.3f %10.3f %8s  %s\n' "$w" "$rs" "$ms" \
        "$(awk -v a="$ms" -v b="$rs" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')" "$what"
done
