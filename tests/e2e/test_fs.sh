#!/usr/bin/env bash
# End-to-end tests of FS (runtime/fs.c, runtime/prelude/fs.rb): every method in both forms, the
# errors Node gives (compared with Node's own fs where it is installed), atomic writes, big and
# binary files, many requests at once, and what the profiler shows; then Dir and File (Dir.glob
# compared with CRuby's).
source "$(dirname "$0")/lib.sh"

t_read_write_sync_round_trip_binary() {
    run $MRUN -e 'd = (0..255).map(&:chr).join * 1000; p FS.write_file_sync(ARGV[0], d); r = FS.read_file_sync(ARGV[0]); p r.bytesize, r == d; FS.append_file_sync(ARGV[0], "\x00end"); p FS.read_file_sync(ARGV[0]).bytesize' "$T/bin"
    expect_rc 0; expect_out "$(printf 'nil\n256000\ntrue\n256004')"
    [ "$(od -An -tx1 -j255 -N2 "$T/bin" | tr -d ' ')" = ff00 ] || fail "the file's bytes are not the ones written"
}

t_async_forms_call_back_after_the_script() {
    mkdir "$T/d"
    run $MRUN -e '
      dir = ARGV[0]
      FS.write_file("#{dir}/a", "hello") do |err|
        p [:write, err]
        FS.append_file("#{dir}/a", " world") do |err|
          p [:append, err]
          FS.read_file("#{dir}/a") { |err, data| p [:read, err, data] }
          FS.stat("#{dir}/a") { |err, st| p [:stat, err, st.size, st.file?, st.directory?] }
          FS.readdir(dir) { |err, names| p [:readdir, err, names.first] } # mkdir below runs beside it
          FS.mkdir("#{dir}/x/y/z", recursive: true) do |err, first|
            p [:mkdir, err, first.sub(dir, "")]
            FS.rename("#{dir}/x", "#{dir}/w") do |err|
              p [:rename, err]
              FS.rm("#{dir}/w", recursive: true) do |err|
                p [:rm, err, File.exist?("#{dir}/w")]
                FS.unlink("#{dir}/a") { |err| p [:unlink, err, FS.exist?("#{dir}/a")] }
              end
            end
          end
        end
      end
      puts "script done"' "$T/d"
    expect_rc 0
    expect_order "script done" "[:write, nil]" "[:append, nil]" "[:mkdir, nil, \"/x\"]" "[:rename, nil]" "[:rm, nil, false]" "[:unlink, nil, false]"
    expect_out_has '[:read, nil, "hello world"]'
    expect_out_has '[:stat, nil, 11, true, false]'
    expect_out_has '[:readdir, nil, "a"]'
}

t_sync_twins() {
    run $MRUN -e 'd = ARGV[0]
      p FS.mkdir_sync("#{d}/a/b", recursive: true) == "#{d}/a", FS.mkdir_sync("#{d}/a/b", recursive: true)
      FS.write_file_sync("#{d}/a/f", "x"); FS.rename_sync("#{d}/a/f", "#{d}/a/g")
      p FS.readdir_sync("#{d}/a"), FS.stat_sync("#{d}/a/g").size, FS.lstat_sync("#{d}/a").directory?
      FS.mkdir_sync("#{d}/e"); FS.rmdir_sync("#{d}/e"); FS.unlink_sync("#{d}/a/g")
      p FS.rm_sync("#{d}/a", recursive: true), FS.exist?("#{d}/a"), FS.rm_sync("#{d}/none", force: true)' "$T"
    expect_rc 0; expect_out "$(printf 'true\nnil\n["b", "g"]\n1\ntrue\nnil\nfalse\nnil')"
}

t_stat_fields_match_stat1() {
    printf 'abc' >"$T/f"; chmod 640 "$T/f"; ln -s f "$T/l"
    run $MRUN -e 's = FS.stat_sync(ARGV[0]); puts [s.size, s.ino, s.uid, s.gid, s.nlink, s.permissions.to_s(8), s.mtime.to_i, s.file?, s.symlink?].join(" ")
      l = FS.lstat_sync(ARGV[1]); puts [l.symlink?, l.file?, FS.stat_sync(ARGV[1]).file?, s.mtime.is_a?(Time), (s.mtime_ms / 1000).to_i == s.mtime.to_i].join(" ")' "$T/f" "$T/l"
    expect_rc 0
    expect_out "$(stat -c '%s %i %u %g %h %a %Y' "$T/f") true false
true false true true true"
}

t_readdir_sorted_like_node() {
    mkdir "$T/d"; for n in b a C _ Z0 a.b; do : >"$T/d/$n"; done
    run $MRUN -e 'puts FS.readdir_sync(ARGV[0]).join(",")' "$T/d"
    expect_rc 0; expect_out "$(cd "$T/d" && printf '%s\n' * | LC_ALL=C sort | paste -sd,)"
    if command -v node >/dev/null; then
        [ "$out" = "$(node -e 'console.log(require("fs").readdirSync(process.argv[1]).join(","))' "$T/d")" ] ||
            fail "Node's readdir gives another order"
    else
        echo "SKIP node comparison: node is missing"
    fi
}

t_readdir_with_file_types_like_node() {
    mkdir -p "$T/d/sub"; : >"$T/d/f"; ln -s f "$T/d/l"; mkfifo "$T/d/p"
    run $MRUN -e 'FS.readdir(ARGV[0], with_file_types: true) { |err, es| es.each { |e| puts [e.name, e.file?, e.directory?, e.symlink?, e.type].join(" ") } }' "$T/d"
    expect_rc 0; expect_out "f true false false file
l false false true symlink
p false false false fifo
sub false true false directory"
    command -v node >/dev/null || { echo "SKIP node comparison: node is missing"; return; }
    node_out=$(node -e 'for (const e of require("fs").readdirSync(process.argv[1], {withFileTypes: true})) console.log([e.name, e.isFile(), e.isDirectory(), e.isSymbolicLink()].join(" "))' "$T/d")
    [ "$(printf '%s\n' "$out" | cut -d' ' -f1-4)" = "$node_out" ] || fail "Node says [$node_out]"
}

# The same failures through FS and through Node's fs: code, syscall and message.
export FS_ERR_CASES='
[["read_file_sync", "/nope/x"], ["readdir_sync", "/etc/hostname"], ["mkdir_sync", "/tmp"],
 ["rmdir_sync", "/etc"], ["rename_sync", "/nope/a", "/tmp/b"], ["write_file_sync", "/etc/hostname/x", "a"],
 ["write_file_sync", "/tmp", "a"], ["stat_sync", "/nope"], ["unlink_sync", "/nope"],
 ["mkdir_sync", "/etc/hostname/x/y", {recursive: true}]]'

t_errors_carry_code_syscall_path_like_node() {
    run $MRUN -e "$FS_ERR_CASES"'.each do |m, *a|
        begin
          kw = a.last.is_a?(Hash) ? a.pop : {}
          FS.send(m, *a, **kw); puts "no error"
        rescue FS::Error => e
          raise "not a SystemCallError" unless e.is_a?(SystemCallError)
          puts [e.code, e.syscall, e.errno, e.message].join(" | ")
        end
      end'
    expect_rc 0
    expect_out_has "ENOENT | open | 2 | ENOENT: no such file or directory, open '/nope/x'"
    expect_out_has "EEXIST | mkdir | 17 | EEXIST: file already exists, mkdir '/tmp'"
    expect_out_has "ENOENT | rename | 2 | ENOENT: no such file or directory, rename '/nope/a' -> '/tmp/b'"
    expect_out_has "EISDIR | open | 21 | EISDIR: illegal operation on a directory, open '/tmp'"
    command -v node >/dev/null || { echo "SKIP node comparison: node is missing"; return; }
    node_out=$(node -e '
      const fs = require("fs");
      const cases = [["readFileSync", "/nope/x"], ["readdirSync", "/etc/hostname"], ["mkdirSync", "/tmp"],
        ["rmdirSync", "/etc"], ["renameSync", "/nope/a", "/tmp/b"], ["writeFileSync", "/etc/hostname/x", "a"],
        ["writeFileSync", "/tmp", "a"], ["statSync", "/nope"], ["unlinkSync", "/nope"],
        ["mkdirSync", "/etc/hostname/x/y", {recursive: true}]];
      for (const [m, ...a] of cases) {
        try { fs[m](...a); console.log("no error") }
        catch (e) { console.log([e.code, e.syscall, -e.errno, e.message].join(" | ")) }
      }')
    [ "$out" = "$node_out" ] || fail "FS and Node differ: [$out] vs Node [$node_out]"
}

t_async_errors_arrive_as_first_argument() {
    run $MRUN -e 'FS.read_file("/nope") { |err, data| p [err.class, err.code, err.path, data] }
      FS.write_file("/nope/dir/f", "x") { |err| p [err.code, err.syscall] }
      FS.rm("/nope") { |err| p [:rm, err.code, err.syscall] }
      FS.rm("/nope", force: true) { |err| p [:rm_force, err] }
      FS.rm("/tmp") { |err| p [:rm_dir, err.code, err.syscall, err.message] }
      FS.read_file("/tmp") { |err, data| p [:read_dir, err.code, err.syscall] }'
    expect_rc 0
    expect_lines '[FS::Error, "ENOENT", "/nope", nil]
["ENOENT", "open"]
[:rm, "ENOENT", "lstat"]
[:rm_force, nil]
[:rm_dir, "EISDIR", "rm", "EISDIR: illegal operation on a directory, rm '"'"'/tmp'"'"'"]
[:read_dir, "EISDIR", "read"]'
}

t_eacces_for_an_unprivileged_user() {
    mkdir "$T/locked"; echo secret >"$T/locked/f"; chmod 700 "$T/locked"; chmod 755 "$T"
    if [ "$(id -u)" = 0 ]; then
        command -v setpriv >/dev/null || { echo "SKIP: root without setpriv"; return; }
        as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
    else
        as_user=""
    fi
    run $as_user $MRUN -e 'begin; FS.read_file_sync(ARGV[0]); rescue FS::Error => e; puts e.code, e.syscall, e.message; end
      FS.mkdir(ARGV[1]) { |err| puts err.code }' "$T/locked/f" "$T/locked/new"
    expect_rc 0; expect_out "EACCES
open
EACCES: permission denied, open '$T/locked/f'
EACCES"
}

t_nul_in_a_path_is_argument_error() {
    run $MRUN -e '[-> { FS.read_file_sync("a\0b") }, -> { FS.read_file("a\0b") { } }, -> { FS.write_file_sync("/tmp/a\0", "x") },
      -> { FS.rename_sync("a", "b\0") }, -> { Dir.glob("a\0*") }, -> { FS.read_file("x") }].each do |f|
        begin; f.call; puts "no error"; rescue ArgumentError => e; puts "ArgumentError"; end
      end'
    expect_rc 0; expect_out "$(printf 'ArgumentError\nArgumentError\nArgumentError\nArgumentError\nArgumentError\nArgumentError')"
}

t_a_raising_callback_is_uncaught() {
    run $MRUN -e 'FS.stat("/") { |err, st| raise "boom in callback" }; set_timeout(5000) { puts "not reached" }'
    expect_rc 1; expect_err_has "boom in callback (RuntimeError)"
    [ -z "$out" ] || fail "the loop went on after the uncaught error: $out"
}

t_atomic_write_is_never_seen_half_written() {
    mkdir "$T/w"; head -c 8388608 /dev/zero | tr '\0' a >"$T/w/f"
    # Writes 8 MiB of "b" over 8 MiB of "a" while reading the file over and over: every read
    # sees one whole version. Then no temporary file is left beside it.
    run $MRUN -e 'path = ARGV[0]; size = 8 << 20; done = false; reads = 0; bad = 0
      check = proc do
        FS.read_file(path) do |err, data|
          raise err if err
          reads += 1
          bad += 1 unless data.bytesize == size && (data.count("a") == size || data.count("b") == size)
          if done then p [bad, reads > 0, FS.read_file_sync(path)[0, 1], FS.readdir_sync(File.dirname(path))]
          else check.call end
        end
      end
      check.call
      FS.write_file(path, "b" * size) { |err| raise err if err; done = true }' "$T/w/f"
    expect_rc 0; expect_out '[0, true, "b", ["f"]]'
}

t_atomic_write_keeps_mode_and_writes_through_symlinks() {
    mkdir "$T/w"; echo old >"$T/w/f"; chmod 604 "$T/w/f"; ln -s f "$T/w/link"
    run $MRUN -e 'FS.write_file_sync(ARGV[0], "new"); FS.write_file_sync(ARGV[1], "new2", mode: 0o600)' "$T/w/link" "$T/w/g"
    expect_rc 0
    [ -L "$T/w/link" ] || fail "the symlink was replaced"
    [ "$(cat "$T/w/f")" = new ] || fail "the target was not written"
    [ "$(stat -c %a "$T/w/f")" = 604 ] || fail "mode changed to $(stat -c %a "$T/w/f")"
    [ "$(stat -c %a "$T/w/g")" = 600 ] || fail "mode: was not applied"
    [ "$(ls -A "$T/w" | wc -l)" = 3 ] || fail "files left: $(ls -A "$T/w")"
}

t_write_file_to_a_device_or_pipe_writes_into_it() {
    # An atomic write would rename a temporary file over a device; it writes in place instead.
    # Only nodes of our own, never /dev/null or /dev/stdout: a regression must not break the
    # machine's (one did: /dev/stdout became a regular file, under a stale binary). A write to
    # /proc/self/fd/1 cannot replace anything (procfs refuses new files), so it is safe to try.
    run bash -c "'$(realpath "$MRUN")' -e 'FS.write_file_sync(\"/proc/self/fd/1\", \"through the pipe\n\")' | cat"
    expect_rc 0; expect_out "through the pipe"
    if mknod "$T/null" c 1 3 2>/dev/null; then
        run $MRUN -e 'FS.write_file_sync(ARGV[0], "x"); FS.write_file(ARGV[0], "y") { |e| p e }' "$T/null"
        expect_rc 0; expect_out nil
        [ -c "$T/null" ] || fail "the device node was replaced"
    else
        echo "SKIP the device part: mknod is not allowed"
    fi
    mkfifo "$T/fifo"
    run $MRUN -e 'FS.read_file(ARGV[0]) { |e, d| p d }; FS.write_file(ARGV[0], "into the fifo") { |e| p e }' "$T/fifo"
    expect_rc 0; expect_lines '"into the fifo"
nil'
    [ -p "$T/fifo" ] || fail "the FIFO was replaced"
}

t_failed_write_leaves_no_temp_file() {
    mkdir "$T/m"
    if ! mount -t tmpfs -o size=64k tmpfs "$T/m" 2>/dev/null; then
        echo "SKIP: cannot mount a small tmpfs for ENOSPC"; return
    fi
    echo old >"$T/m/f"
    run $MRUN -e 'FS.write_file(ARGV[0], "x" * 200_000) { |err| p [err.code, err.syscall] }
      begin; FS.write_file_sync(ARGV[0], "x" * 200_000); rescue FS::Error => e; p e.code; end
      FS.write_file(ARGV[0], "y" * 200_000, atomic: false) { |err| p [:in_place, err.code] }' "$T/m/f"
    left=$(ls -A "$T/m"); umount "$T/m"
    expect_rc 0; expect_lines '["ENOSPC", "write"]
"ENOSPC"
[:in_place, "ENOSPC"]'
    [ "$left" = f ] || fail "files left after ENOSPC: $left"
}

t_recursive_mkdir_and_rm_like_node() {
    mkdir -p "$T/out/keep"; echo k >"$T/out/keep/k"
    mkdir -p "$T/t/a/b/c"; echo 1 >"$T/t/a/f"; echo 2 >"$T/t/a/b/c/g"; ln -s "$T/out" "$T/t/a/link"; : >"$T/file"
    run $MRUN -e 'd = ARGV[0]
      FS.rm("#{d}/t", recursive: true) { |err| p [:rm, err, File.exist?("#{d}/t"), File.exist?("#{d}/out/keep/k")] }
      FS.mkdir("#{d}/file/x", recursive: true) { |err| p [:under_file, err.code] }
      FS.mkdir("#{d}/file", recursive: true) { |err| p [:over_file, err.code] }
      FS.mkdir("#{d}/n1//n2/n3/", recursive: true) { |err, first| p [:new, err, first.sub(d, ""), File.directory?("#{d}/n1/n2/n3")] }
      FS.mkdir(d, recursive: true) { |err, first| p [:exists, err, first] }
      FS.mkdir("#{d}/out") { |err| p [:plain, err.code] }' "$T"
    expect_rc 0
    expect_lines '[:rm, nil, false, true]
[:under_file, "ENOTDIR"]
[:over_file, "EEXIST"]
[:new, nil, "/n1", true]
[:exists, nil, nil]
[:plain, "EEXIST"]'
}

t_thousand_concurrent_reads() {
    for i in $(seq 0 9); do echo "file $i" >"$T/f$i"; done
    run $MRUN -e 'n = 0; ok = 0
      1000.times { |i| FS.read_file("#{ARGV[0]}/f#{i % 10}") { |err, d| n += 1; ok += 1 if d == "file #{i % 10}\n"; p [n, ok] if n == 1000 } }' "$T"
    expect_rc 0; expect_out "[1000, 1000]"
}

t_big_file_read_whole_in_both_forms() {
    head -c 50000000 /dev/urandom >"$T/big"
    run $MRUN -e 'p FS.read_file_sync(ARGV[0]).bytesize; FS.read_file(ARGV[0]) { |err, d| p d.bytesize }' "$T/big"
    expect_rc 0; expect_out "$(printf '50000000\n50000000')"
    sum=$($MRUN -e 'STDOUT.write FS.read_file_sync(ARGV[0])' "$T/big" | md5sum)
    [ "$sum" = "$(md5sum <"$T/big")" ] || fail "the bytes read differ"
}

t_loop_runs_while_a_read_waits_between_chunks() {
    mkfifo "$T/fifo"
    # The read of a FIFO (no size) goes on, request after request, until end of file; its writer
    # is this script's own loop, one piece per turn: if the read held the loop, no piece and no
    # end of file would come. (Less than the pipe's 64 KiB in all, so no write waits.)
    run $MRUN -e 'FS.read_file(ARGV[0]) { |err, d| p [err, d.bytesize, d[0, 3], d[-3, 3]] }
      w = File.open(ARGV[0], "w"); pieces = ["abc"] + ["x" * 1000] * 50 + ["xyz"]
      step = proc { if (piece = pieces.shift) then w.write(piece); w.flush; set_immediate(&step) else w.close end }
      set_immediate(&step)' "$T/fifo"
    expect_rc 0; expect_out '[nil, 50006, "abc", "xyz"]'
}

t_file_over_2_gib_is_efbig_not_a_crash() {
    truncate -s 3G "$T/sparse" || { echo "SKIP: truncate failed"; return; }
    run $MRUN -e 'begin; FS.read_file_sync(ARGV[0]); rescue FS::Error => e; puts e.message; end
      FS.read_file(ARGV[0]) { |err, d| p [err.code, d] }' "$T/sparse"
    expect_rc 0; expect_out "EFBIG: file too large, read '$T/sparse'
[\"EFBIG\", nil]"
}

t_proc_file_with_no_size_is_read_to_the_end() {
    run $MRUN -e 'FS.read_file("/proc/self/status") { |err, d| puts d.lines.first.split(":").first, d.include?("VmRSS") }'
    expect_rc 0; expect_out "$(printf 'Name\ntrue')"
}

t_requests_keep_the_loop_alive_and_exit_abandons_them() {
    mkfifo "$T/fifo"
    # The read waits on a pool thread until the writer comes; the loop must wait for it.
    ( echo late >"$T/fifo" ) &
    run $MRUN -e 'FS.read_file(ARGV[0]) { |err, d| p d }' "$T/fifo"
    wait
    expect_rc 0; expect_out '"late\n"'
    run $MRUN -e 'FS.read_file("/etc/hostname") { |e, d| puts "not called" }; exit 3'
    expect_rc 3; [ -z "$out" ] || fail "a callback ran after exit: $out"
}

t_profiler_sync_call_is_its_c_method_and_async_wait_is_idle() {
    head -c 20000000 /dev/urandom >"$T/big"
    run $MRUN --cpu-prof --prof-out "$T/c.cpuprofile" -e '20.times { FS.read_file_sync(ARGV[0]) }' "$T/big"
    expect_rc 0
    top=$($MRPROF report --format tsv --top 0 "$T/c.cpuprofile" | tail -n +2 | awk -F'\t' '$6 != "(idle)" { print $6; exit }')
    [ "$top" = FS.read_file_sync ] || fail "the top function is [$top], not FS.read_file_sync"
    mkfifo "$T/fifo"
    # The read waits on a pool thread for a writer, which the script itself becomes 0.3 s later:
    # that while, the loop polls (idle).
    run $MRUN --prof-mode wall --cpu-prof --prof-out "$T/w.cpuprofile" -e 'FS.read_file(ARGV[0]) { |e, d| p d }
      set_timeout(300) { File.open(ARGV[0], "w") { |f| f.write("hi\n") } }' "$T/fifo"
    expect_rc 0; expect_out '"hi\n"'
    idle=$($MRPROF report --format tsv --top 0 "$T/w.cpuprofile" | awk -F'\t' '$6 == "(idle)" { print int($1) }')
    [ "${idle:-0}" -ge 50 ] || fail "waiting for the read was ${idle:-0} % idle, expected most of it"
}

t_dir_glob_like_cruby() {
    command -v ruby >/dev/null || { echo "SKIP: ruby is missing"; return; }
    mkdir -p "$T/g/a/x" "$T/g/a-b" "$T/g/.h" "$T/g/c"
    for f in a/x/f.rb a/y.rb a0 .h/q.rb .d.rb B.rb c/w.txt z.rb; do : >"$T/g/$f"; done
    ln -s "$T/g/a" "$T/g/c/loop"
    script='p Dir.glob("**/*"); p Dir.glob("**/*.rb"); p Dir.glob("{c,a}/*"); p Dir.glob("**/"); p Dir.glob("a/**/*.rb")
      p Dir.glob("[a-c]*"); p Dir.glob("{z,a}*"); p Dir.glob("?.rb"); p Dir.glob("nonexist/*"); p Dir.glob("a"); p Dir.glob("*/")
      p Dir["*.rb", "a/*"]; p Dir.glob("*.rb", base: "a/x"); p Dir.glob(".*"); p Dir.glob("*", File::FNM_DOTMATCH).reject { |x| x == "." }
      p Dir.glob("**/*.rb", File::FNM_DOTMATCH); p Dir.glob("./*"); p Dir.glob("c/*/*")
      p Dir.children("a").sort, Dir.entries("a").sort, Dir.exist?("a"), Dir.exist?("a0"), Dir.empty?("a/x")'
    run bash -c "cd '$T/g' && '$(realpath "$MRUN")' -e '$script'"
    expect_rc 0
    want=$(cd "$T/g" && ruby -e "$script")
    [ "$out" = "$want" ] || fail "mrun and CRuby differ:
$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$out"))"
}

t_dir_and_file_sync_methods() {
    run $MRUN -e 'd = ARGV[0]
      p Dir.mkdir("#{d}/m"), Dir.exist?("#{d}/m"), File.write("#{d}/m/f", "abc"), File.write("#{d}/m/f", "de", mode: "a"), File.read("#{d}/m/f")
      p File.binread("#{d}/m/f"), File.readlines("#{d}/m/f"), File.stat("#{d}/m/f").size, File.mtime("#{d}/m/f").is_a?(Time)
      Dir.chdir("#{d}/m") { p Dir.pwd == File.realpath("#{d}/m"), Dir.children(".") }
      p Dir.pwd == File.realpath(Dir.pwd), File.fnmatch("*.rb", "a.rb"), File.fnmatch("*", ".x"), File.fnmatch("*", ".x", File::FNM_DOTMATCH)
      begin; Dir.mkdir("#{d}/m"); rescue SystemCallError => e; p e.code; end
      File.unlink("#{d}/m/f"); p Dir.rmdir("#{d}/m"), Dir.exist?("#{d}/m")' "$T"
    expect_rc 0; expect_out '0
true
3
2
"abcde"
"abcde"
["abcde"]
5
true
true
["f"]
true
true
false
true
"EEXIST"
0
false'
}

t_sample_file_cache_runs() {
    run $MRUN samples/file_cache.rb "$T/cache"
    expect_rc 0
    expect_order "the loop is free while the files load" "index: 3 entries" \
        "missing: ENOENT: no such file or directory, stat '$T/cache/pages/missing.txt'" "cleaned up: true"
    expect_out_has "page2.txt: 3 line(s)"
    [ ! -e "$T/cache" ] || fail "the sample left its directory"
}

[ "${1:-}" = --lib ] || run_tests
