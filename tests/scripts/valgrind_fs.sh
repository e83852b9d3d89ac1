#!/bin/sh
# valgrind_fs.sh — FS under valgrind's leak checker (run by tests/run.sh's valgrind suite):
# every operation in both forms, errors, a 3 MiB file read 50 times at once, recursive rm; then
# exit() with requests still in flight (they finish without calling back, and free what they hold).
set -u
fail=0
dir=$(mktemp -d /tmp/mrprof-vg-fs.XXXXXX)
log=$dir/log
vg() {
    timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$MRUN" "$@"
}
if ! vg tests/scripts/fs/all_ops.rb "$dir" >"$log.out" 2>"$log" || ! grep -q "all done" "$log.out"; then
    echo "fs/all_ops.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
    fail=1
fi
head -c 5000000 /dev/zero >"$dir/big"
if ! vg -e '10.times { FS.read_file(ARGV[0]) { } }; FS.write_file(ARGV[0] + ".w", "x" * 100000) { }; exit 0' \
    "$dir/big" >"$log.out" 2>"$log"; then
    echo "exit with FS requests in flight under valgrind:"; head -n 30 "$log"
    fail=1
fi
rm -rf "$dir"
exit $fail
