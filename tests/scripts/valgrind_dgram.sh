#!/bin/sh
# valgrind_dgram.sh — Dgram under valgrind's leak checker (run by tests/run.sh's valgrind suite):
# errors (EADDRINUSE, EMSGSIZE, ECONNREFUSED, getaddrinfo, bad arguments), connected sockets,
# options, truncated datagrams, 50 sockets with GC between events (the fd count checked), and a
# socket closed by its listener in the middle of a recvmmsg batch.
set -u
fail=0
# The scripts' deadlines (20 s, 30 s) are for the plain build; timeout(1) below bounds a hang.
export MRPROF_DEADLINE_SCALE=10
for args in "errors" "connected" "options" "truncation" "lifetime 50" "close_in_batch"; do
    set -- $args
    name=$1; shift
    log=$(mktemp /tmp/mrprof-vg-dgram.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/dgram/$name.rb" "$@" >"$log.out" 2>"$log" ||
        ! grep -q "all passed" "$log.out"; then
        echo "dgram/$name.rb under valgrind:"; head -n 30 "$log"; grep -v '^ok' "$log.out" | tail -n 5
        fail=1
    fi
    rm -f "$log" "$log.out"
done
exit $fail
