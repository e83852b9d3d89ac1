#!/usr/bin/env bash
# TLS benchmark (called by tests/bench/run.sh): mrun's TLS server against the same server
# written with Node's tls module, same clients, same run, side by side. The server runs on
# CPU 0 and the client on CPU 1 (taskset). Certificates: make_certs.sh's P-256 server cert.
#   bulk MB/s: tests/bench/node/tls_bulk_client.js moves TLS_MB MiB per connection, upload
#              (client -> server, "sink") and download ("source"), best of TLS_RUNS connections
#   handshakes/s: `openssl s_time -new -tls1_3` (full handshakes, one after another) for
#              TLS_SECS seconds, best of TLS_RUNS
set -u
cd "$(dirname "$0")/../.."
RUNS=${TLS_RUNS:-3}
SECS=${TLS_SECS:-4}
MB=${TLS_MB:-64}
pin_server="taskset -c 0"; pin_load="taskset -c 1"
command -v taskset >/dev/null || { pin_server=""; pin_load=""; }
for tool in node openssl; do
    command -v $tool >/dev/null || { echo "== TLS: $tool is not installed (make deps installs it): skipped"; exit 1; }
done

tmp=$(mktemp -d /tmp/mrprof-tlsbench.XXXXXX)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT
sh tests/scripts/tls/make_certs.sh "$tmp/pki" >/dev/null || exit 1
cert=$tmp/pki/server.pem key=$tmp/pki/server.key ca=$tmp/pki/ca.pem

start_server() { # start_server LOG CMD...: starts it, waits for its port; echoes the pid
    local log=$1; shift
    $pin_server "$@" >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do grep -q listening "$log" && break; sleep 0.05; done
    echo $pid
}
port_of() { sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

bulk() { # bulk MODE: "mrun_MB/s node_MB/s"
    local m n a b
    a=$(start_server "$tmp/m_$1" build/mrun tests/bench/tls/server.rb "$cert" "$key" "$1" $((MB * 1048576)))
    b=$(start_server "$tmp/n_$1" node tests/bench/node/tls_server.js "$cert" "$key" "$1" $((MB * 1048576)))
    pids="$pids $a $b"
    m=$($pin_load node tests/bench/node/tls_bulk_client.js "$(port_of "$tmp/m_$1")" "$1" $((MB * 1048576)) "$ca" "$RUNS")
    n=$($pin_load node tests/bench/node/tls_bulk_client.js "$(port_of "$tmp/n_$1")" "$1" $((MB * 1048576)) "$ca" "$RUNS")
    kill $a $b 2>/dev/null
    echo "${m:-0} ${n:-0}"
}

handshakes() { # handshakes PORT: best connections/s of s_time -new over RUNS runs
    local best=0 out c r
    for _ in $(seq "$RUNS"); do
        out=$($pin_load openssl s_time -connect "127.0.0.1:$1" -new -tls1_3 -time "$SECS" 2>&1)
        # "N connections in S real seconds": whole seconds, S is about SECS
        c=$(printf '%s\n' "$out" | awk '/real seconds/ { print $1; exit }')
        r=$(printf '%s\n' "$out" | awk '/real seconds/ { print $4; exit }')
        c=$(awk -v c="${c:-0}" -v r="${r:-1}" 'BEGIN { printf "%.0f", (r > 0 ? c / r : 0) }')
        [ "$c" -gt "$best" ] && best=$c
    done
    echo $best
}

echo "== TLS: mrun vs Node's tls, same clients, server on CPU 0 and client on CPU 1 ($MB MiB per connection; best of $RUNS)"
printf '%-34s %12s %12s %8s\n' "" "mrun" "node" "ratio"
read -r mu nu <<<"$(bulk sink)"
printf '%-34s %12s %12s %8s\n' "bulk upload MB/s (client->server)" "$mu" "$nu" "$(ratio "$mu" "$nu")"
read -r md nd <<<"$(bulk source)"
printf '%-34s %12s %12s %8s\n' "bulk download MB/s (server->client)" "$md" "$nd" "$(ratio "$md" "$nd")"
a=$(start_server "$tmp/m_h" build/mrun tests/bench/tls/server.rb "$cert" "$key" handshake 0)
b=$(start_server "$tmp/n_h" node tests/bench/node/tls_server.js "$cert" "$key" handshake 0)
pids="$pids $a $b"
mh=$(handshakes "$(port_of "$tmp/m_h")")
nh=$(handshakes "$(port_of "$tmp/n_h")")
kill $a $b 2>/dev/null
printf '%-34s %12s %12s %8s\n' "handshakes/s (TLS 1.3, P-256)" "$mh" "$nh" "$(ratio "$mh" "$nh")"
