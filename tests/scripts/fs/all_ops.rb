# all_ops.rb DIR — every FS operation, async and sync, with errors, a big file and a recursive
# rm, for valgrind_fs.sh (leaks and bad reads in runtime/fs.c).
dir = ARGV[0] or abort "usage: all_ops.rb DIR"
big = "x" * (3 << 20) + "end"
pending = 0
finish = proc do
  pending -= 1
  if pending == 0
    FS.rm_sync("#{dir}/t", recursive: true)
    GC.start
    puts "all done"
  end
end

FS.mkdir_sync("#{dir}/t/a/b", recursive: true)
FS.write_file_sync("#{dir}/t/big", big)
FS.append_file_sync("#{dir}/t/big", "!")
raise "sync read" unless FS.read_file_sync("#{dir}/t/big").bytesize == big.bytesize + 1
begin
  FS.read_file_sync("#{dir}/nope")
rescue FS::Error => e
  raise "code" unless e.code == "ENOENT"
end
Dir.glob("#{dir}/t/**/*")
Dir.entries("#{dir}/t")
File.write("#{dir}/t/a/f", "abc")

50.times do |i|
  pending += 5
  FS.read_file("#{dir}/t/big") { |err, d| raise err if err; finish.call }
  FS.write_file("#{dir}/t/a/w#{i}", big[0, 1000 * i]) { |err| raise err if err; finish.call }
  FS.stat("#{dir}/t/a") { |err, st| raise "stat" unless st.directory?; finish.call }
  FS.read_file("#{dir}/nope") { |err, d| raise "no error" unless err; finish.call }
  FS.mkdir("#{dir}/t/m#{i}/n", recursive: true) do |err|
    raise err if err
    FS.rm("#{dir}/t/m#{i}", recursive: true) { |e2| raise e2 if e2; finish.call }
  end
end
pending += 1
FS.read_file("#{dir}/t/big") { |err, d| finish.call }
FS.read_file("/etc/hostname") { |e, d| }
