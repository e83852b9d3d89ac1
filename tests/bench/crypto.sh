#!/usr/bin/env bash
# Crypto benchmark (called by tests/bench/run.sh): sha256 in the same run, side by side,
#   bulk:  MB/s of Crypto::Hash#update over 1 MiB chunks (256 MiB a round)
#   small: 64-byte messages hashed per second with Crypto.digest (the script's loop included)
# against Node's crypto (createHash), CRuby's OpenSSL::Digest, and `openssl speed -evp sha256`
# (-bytes 1048576 and -bytes 64: the library alone, the ceiling). Each figure is the best of
# CRYPTO_ROUNDS rounds in one process (tests/bench/crypto/bench.rb, bench.js, bench_cruby.rb),
# over the process's CPU time (user + system), which is what `openssl speed` counts by default:
# on a shared, loaded machine wall time would measure the neighbours.
set -u
cd "$(dirname "$0")/../.."
ROUNDS=${CRYPTO_ROUNDS:-5}

echo "== Crypto: sha256, best of $ROUNDS rounds of CPU time (bulk: MB/s over 1 MiB chunks; small: 64-byte messages/s)"
read -r mb ms < <(build/mrun tests/bench/crypto/bench.rb "$ROUNDS")
nb=""; ns=""; rb=""; rs=""; ob=""; os=""
command -v node >/dev/null && read -r nb ns < <(node tests/bench/crypto/bench.js "$ROUNDS")
command -v ruby >/dev/null && read -r rb rs < <(ruby tests/bench/crypto/bench_cruby.rb "$ROUNDS" 2>/dev/null)
if command -v openssl >/dev/null; then
    # -mr prints "+F:n:sha256:BYTES_PER_SECOND" for the one size asked.
    speed() { openssl speed -mr -seconds 1 -evp sha256 -bytes "$1" 2>/dev/null | awk -F: '/^\+F:/ { print $4 }'; }
    ob=$(speed 1048576 | awk '{ printf "%.1f", $1 / 1e6 }')
    os=$(speed 64 | awk '{ printf "%.0f", $1 / 64 }')
fi
r() { [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"; }
printf '%-8s %12s %12s %12s %12s %10s %10s %12s\n' "" mrun Node CRuby "openssl" mrun/Node mrun/CRuby mrun/openssl
printf '%-8s %12s %12s %12s %12s %10s %10s %12s\n' "bulk" "$mb" "${nb:--}" "${rb:--}" "${ob:--}" "$(r "$mb" "$nb")" "$(r "$mb" "$rb")" "$(r "$mb" "$ob")"
printf '%-8s %12s %12s %12s %12s %10s %10s %12s\n' "small" "$ms" "${ns:--}" "${rs:--}" "${os:--}" "$(r "$ms" "$ns")" "$(r "$ms" "$rs")" "$(r "$ms" "$os")"
[ -n "$nb" ] || echo "   Node is missing: no Node column"
[ -n "$rb" ] || echo "   CRuby (with its openssl extension) is missing: no CRuby column"
[ -n "$ob" ] || echo "   the openssl tool is missing: no openssl speed column"
