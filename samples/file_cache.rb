# file_cache.rb — files without blocking the loop: a cache that reloads a file when its mtime
# changes, an atomic save, a directory listing and a recursive clean-up.
#   build/mrun samples/file_cache.rb [DIR]
dir = ARGV[0] || "/tmp/mrun-file-cache"
FS.rm_sync(dir, recursive: true, force: true)
FS.mkdir_sync("#{dir}/pages", recursive: true)
3.times { |i| FS.write_file_sync("#{dir}/pages/page#{i}.txt", "page #{i}\n" * (i + 1)) }

# path => [mtime_ms, data]; a hit costs one stat, a miss one read, both on the thread pool.
CACHE = {}
def cached_read(path, &done)
  FS.stat(path) do |err, st|
    next done.call(err, nil) if err
    hit = CACHE[path]
    next done.call(nil, hit[1]) if hit && hit[0] == st.mtime_ms
    FS.read_file(path) do |err2, data|
      CACHE[path] = [st.mtime_ms, data] unless err2
      done.call(err2, data)
    end
  end
end

FS.readdir("#{dir}/pages") do |err, names|
  raise err if err
  left = names.size
  names.each do |name|
    cached_read("#{dir}/pages/#{name}") do |err2, data|
      raise err2 if err2
      puts "#{name}: #{data.lines.size} line(s)"
      next unless (left -= 1) == 0
      # Every page loaded: save an index atomically (a reader never sees half of it), then
      # show that a missing page is an error value, not an exception, and clean up.
      index = names.map { |n| "#{n} #{CACHE["#{dir}/pages/#{n}"][1].bytesize}" }.join("\n") + "\n"
      FS.write_file("#{dir}/index.txt", index) do |err3|
        raise err3 if err3
        puts "index: #{FS.read_file_sync("#{dir}/index.txt").lines.size} entries"
        cached_read("#{dir}/pages/missing.txt") do |err4, _|
          puts "missing: #{err4.message}"
          FS.rm(dir, recursive: true) { |err5| puts "cleaned up: #{!FS.exist?(dir)}" }
        end
      end
    end
  end
end
puts "the loop is free while the files load"
