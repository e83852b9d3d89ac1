#!/bin/sh
# valgrind_crypto.sh — Crypto under valgrind's leak checker (run by tests/run.sh's valgrind
# suite): every digest one-shot, streamed, copied and abandoned, HMAC, the KDFs, the codecs,
# errors at every stage, a Deferred worker and a block form (tests/scripts/crypto/valgrind.rb).
set -u
log=$(mktemp /tmp/mrprof-vg-crypto.XXXXXX)
if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$MRUN" tests/scripts/crypto/valgrind.rb >"$log.out" 2>"$log" || ! grep -q '^worker ok' "$log.out"; then
    echo "crypto/valgrind.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
    rm -f "$log" "$log.out"
    exit 1
fi
rm -f "$log" "$log.out"
