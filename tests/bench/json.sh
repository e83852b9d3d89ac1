#!/usr/bin/env bash
# JSON benchmark (called by tests/bench/run.sh): JSON.parse and JSON.generate MB/s on the same
# ~10 MB document (tests/bench/json/gen_doc.rb) in the same run, mrun against CRuby's json
# (Debian's ruby, json 2.6) and Node's JSON; each figure is the best of JSON_ROUNDS rounds in one
# process (tests/bench/json/bench.rb, bench.js). Target (issue 21): parse at least CRuby's speed.
# Then memory: 100 parses of the document with a GC after each, RSS before and after.
set -u
cd "$(dirname "$0")/../.."
ROUNDS=${JSON_ROUNDS:-5}
MB=${JSON_MB:-10}
tmp=$(mktemp -d /tmp/mrprof-bench-json.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
doc=$tmp/doc.json
build/mrun tests/bench/json/gen_doc.rb "$MB" >"$doc"
bytes=$(wc -c <"$doc")

echo "== JSON: parse and generate MB/s on a $((bytes / 1000)) kB document, best of $ROUNDS rounds"
read -r mp mg mbytes < <(build/mrun tests/bench/json/bench.rb "$doc" "$ROUNDS")
rp=""; rg=""; np=""; ng=""
if command -v ruby >/dev/null; then
    read -r rp rg rbytes < <(ruby -rjson tests/bench/json/bench.rb "$doc" "$ROUNDS")
    [ "$rbytes" = "$mbytes" ] || echo "   (note: generated sizes differ: mrun $mbytes B, CRuby $rbytes B)"
fi
command -v node >/dev/null && read -r np ng _ < <(node tests/bench/json/bench.js "$doc" "$ROUNDS")
r() { [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"; }
printf '%-10s %10s %10s %10s %12s %12s\n' "" mrun CRuby Node mrun/CRuby mrun/Node
printf '%-10s %10s %10s %10s %12s %12s\n' parse "$mp" "${rp:--}" "${np:--}" "$(r "$mp" "$rp")" "$(r "$mp" "$np")"
printf '%-10s %10s %10s %10s %12s %12s\n' generate "$mg" "${rg:--}" "${ng:--}" "$(r "$mg" "$rg")" "$(r "$mg" "$ng")"
[ -n "$rp" ] || echo "   CRuby is missing (tools/deps.sh bench installs ruby): no CRuby column"
[ -n "$np" ] || echo "   Node is missing: no Node column"

echo
echo "== JSON memory: 100 parses of the same document, a GC after each (RSS, kB)"
build/mrun -e '
  text = File.read(ARGV[0])
  def rss = File.read("/proc/self/status").split("\n").find { |l| l.start_with?("VmRSS:") }.split[1].to_i
  3.times { JSON.parse(text); GC.start }
  a = rss
  100.times { JSON.parse(text); GC.start }
  b = rss
  puts format("   after 3: %d   after 103: %d   growth: %d kB (%s)", a, b, b - a, b - a < 2048 ? "flat" : "GROWS")' "$doc"
