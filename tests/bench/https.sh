#!/usr/bin/env bash
# HTTPS benchmark (called by tests/bench/run.sh, never by make test): mrun's HTTPS server
# (HTTP on TLS) against Node's https, the same clients, side by side in one run. Servers:
# tests/bench/https/server.rb and tests/bench/node/https_server.js (hello world, ALPN
# http/1.1, make_certs.sh's P-256 certificate). Server on CPU 0, load on CPU 1 (taskset); each
# figure is the best of HTTPS_RUNS runs of HTTPS_SECS seconds.
#   a. keep-alive req/s and p99: wrk -t1 -c50 https://... (Debian's wrk links OpenSSL)
#   b. new connections/s, one after another: `openssl s_time -new -www /` (a full TLS 1.3
#      handshake, one HTTP/1.0 GET, the server closes)
#   c. new connections/s, 50 at a time: wrk -c50 -H "Connection: close" (a handshake per request)
# Each row prints mrun, node and mrun/node (higher is better for mrun; for p99 lower).
set -u
cd "$(dirname "$0")/../.."
RUNS=${HTTPS_RUNS:-3}
SECS=${HTTPS_SECS:-4}
pin_server="taskset -c 0"; pin_load="taskset -c 1"
command -v taskset >/dev/null || { pin_server=""; pin_load=""; }
# start_server, port_of, best_wrk, ratio, to_ms, row
source tests/bench/lib.sh
for tool in wrk node openssl; do
    command -v $tool >/dev/null || { echo "== HTTPS: $tool is not installed (make deps installs it): skipped"; exit 1; }
done

tmp=$(mktemp -d /tmp/mrprof-httpsbench.XXXXXX)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT
sh tests/scripts/tls/make_certs.sh "$tmp/pki" >/dev/null || exit 1
cert=$tmp/pki/server.pem key=$tmp/pki/server.key

best_s_time() {  # best_s_time PORT → connections/s of the best run
    local best=0 out c r
    for _ in $(seq "$RUNS"); do
        out=$($pin_load openssl s_time -connect "127.0.0.1:$1" -new -www / -time "$SECS" 2>&1)
        c=$(printf '%s\n' "$out" | awk '/real seconds/ { print $1; exit }')
        r=$(printf '%s\n' "$out" | awk '/real seconds/ { print $4; exit }')
        c=$(awk -v c="${c:-0}" -v r="${r:-1}" 'BEGIN { printf "%.0f", (r > 0 ? c / r : 0) }')
        [ "$c" -gt "$best" ] && best=$c
    done
    echo $best
}

echo "== HTTPS: mrun's HTTPS vs Node's https, same clients, server on CPU 0 and load on CPU 1 (best of $RUNS x ${SECS}s)"
a=$(start_server "$tmp/mrun" build/mrun tests/bench/https/server.rb "$cert" "$key" 0); pids="$pids $a"
b=$(start_server "$tmp/node" node tests/bench/node/https_server.js "$cert" "$key" 0); pids="$pids $b"
mp=$(port_of "$tmp/mrun"); np=$(port_of "$tmp/node")
if [ -z "$mp" ] || [ -z "$np" ]; then
    echo "a server did not start:"; cat "$tmp/mrun" "$tmp/node"; exit 1
fi
row "" mrun node ratio
read -r m_rps m_p99 <<<"$(best_wrk -c50 "https://127.0.0.1:$mp/")"
read -r n_rps n_p99 <<<"$(best_wrk -c50 "https://127.0.0.1:$np/")"
row "a. keep-alive req/s (50 conns)" "$m_rps" "$n_rps" "$(ratio "$m_rps" "$n_rps")"
row "   p99 latency ms" "$(to_ms "$m_p99")" "$(to_ms "$n_p99")" "$(ratio "$(to_ms "$m_p99")" "$(to_ms "$n_p99")")"
m_hs=$(best_s_time "$mp"); n_hs=$(best_s_time "$np")
row "b. new conns/s, serial (s_time -new)" "$m_hs" "$n_hs" "$(ratio "$m_hs" "$n_hs")"
read -r m_cl _ <<<"$(best_wrk -c50 -H "Connection: close" "https://127.0.0.1:$mp/")"
read -r n_cl _ <<<"$(best_wrk -c50 -H "Connection: close" "https://127.0.0.1:$np/")"
row "c. new conns/s, 50 at once (wrk close)" "$m_cl" "$n_cl" "$(ratio "$m_cl" "$n_cl")"
