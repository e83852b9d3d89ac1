# fs.rb — the Ruby half of FS (the C half is runtime/fs.c), and Dir and the File methods that
# Debian's mruby lacks.
#
#   FS.read_file("conf.json") { |err, data| ... }      # on libuv's thread pool; the loop goes on
#   data = FS.read_file_sync("conf.json")              # blocks, raises FS::Error
#   FS.write_file("out.txt", data) { |err| ... }       # atomic: temp file + fsync + rename
#
# Callbacks get the error first (nil on success), as Node's. Dir and File are synchronous, as
# in Ruby. See docs/script-api.md "FS and Dir".
module FS
  # A failed file system call: code ("ENOENT"), errno (2), syscall ("open"), path, dest
  # (rename's destination); message as Node's: "ENOENT: no such file or directory, open '/x'".
  class Error < SystemCallError
  end

  # What stat and lstat give: the fields of stat(2), with times as Time.
  class Stat
    S_IFMT = 0o170000

    attr_reader :dev, :ino, :mode, :nlink, :uid, :gid, :rdev, :size, :blksize, :blocks

    def file?
      (@mode & S_IFMT) == 0o100000
    end

    def directory?
      (@mode & S_IFMT) == 0o040000
    end

    def symlink?
      (@mode & S_IFMT) == 0o120000
    end

    def socket?
      (@mode & S_IFMT) == 0o140000
    end

    def fifo?
      (@mode & S_IFMT) == 0o010000
    end
    alias pipe? fifo?

    def chardev?
      (@mode & S_IFMT) == 0o020000
    end

    def blockdev?
      (@mode & S_IFMT) == 0o060000
    end

    # The permission bits (mode & 0o7777).
    def permissions
      @mode & 0o7777
    end

    def atime
      Time.at(@atime_sec, @atime_nsec / 1000)
    end

    def mtime
      Time.at(@mtime_sec, @mtime_nsec / 1000)
    end

    def ctime
      Time.at(@ctime_sec, @ctime_nsec / 1000)
    end

    def birthtime
      Time.at(@birthtime_sec, @birthtime_nsec / 1000)
    end

    # Node's mtimeMs and friends: milliseconds since the epoch, as a Float.
    def mtime_ms
      @mtime_sec * 1000.0 + @mtime_nsec / 1_000_000.0
    end

    def atime_ms
      @atime_sec * 1000.0 + @atime_nsec / 1_000_000.0
    end

    def ctime_ms
      @ctime_sec * 1000.0 + @ctime_nsec / 1_000_000.0
    end

    def inspect
      kind = file? ? "file" : directory? ? "directory" : symlink? ? "symlink" : "other"
      "#<FS::Stat #{kind} mode=0#{permissions.to_s(8)} size=#{@size} ino=#{@ino} uid=#{@uid} " \
        "gid=#{@gid} mtime=#{mtime}>"
    end
  end

  # An entry of readdir(path, with_file_types: true), as Node's fs.Dirent: the name and what
  # the directory says it is, with no stat.
  class Dirent
    attr_reader :name, :type

    def file?
      @type == :file
    end

    def directory?
      @type == :directory
    end

    def symlink?
      @type == :symlink
    end

    def inspect
      "#<FS::Dirent #{@name} #{@type}>"
    end
  end

  # rm as Node's fs.rm: a file or a symlink is unlinked; a directory needs recursive: true
  # (then its content goes first, depth first; symlinks are removed, never followed); a path that
  # does not exist is ENOENT unless force: true.
  def self.rm(path, recursive: false, force: false, &done)
    raise ArgumentError, "a block is required: { |err| }" unless done
    lstat(path) do |err, st|
      if err
        done.call(force && err.code == "ENOENT" ? nil : err)
      elsif st.directory?
        if recursive
          __rm_tree(path, done)
        else
          done.call(__error("EISDIR", "rm", path))
        end
      else
        unlink(path) { |e| done.call(force && e && e.code == "ENOENT" ? nil : e) }
      end
    end
    nil
  end

  def self.rm_sync(path, recursive: false, force: false)
    begin
      st = lstat_sync(path)
    rescue FS::Error => e
      return nil if force && e.code == "ENOENT"
      raise
    end
    if st.directory?
      raise __error("EISDIR", "rm", path) unless recursive
      readdir_sync(path).each { |name| rm_sync(File.join(path, name), recursive: true) }
      rmdir_sync(path)
    else
      unlink_sync(path)
    end
    nil
  end

  # Removes the directory path and everything under it; the entries of one directory are
  # removed concurrently (each on the pool), then the directory. The first error is reported.
  def self.__rm_tree(path, done)
    readdir(path, with_file_types: true) do |err, entries|
      next done.call(err) if err
      next rmdir(path, &done) if entries.empty?
      left = entries.size
      failed = false
      finish = proc do |e2|
        if failed
          nil
        elsif e2
          failed = true
          done.call(e2)
        elsif (left -= 1) == 0
          rmdir(path, &done)
        end
      end
      entries.each do |ent|
        child = File.join(path, ent.name)
        if ent.type == :unknown # the file system did not say: ask
          lstat(child) do |e, st|
            if e then finish.call(e)
            elsif st.directory? then __rm_tree(child, finish)
            else unlink(child, &finish)
            end
          end
        elsif ent.directory?
          __rm_tree(child, finish)
        else
          unlink(child, &finish)
        end
      end
    end
  end
end

# Dir, synchronous as in Ruby; errors are FS::Error.
class Dir
  def self.entries(path)
    [".", ".."] + FS.readdir_sync(path)
  end

  def self.children(path)
    FS.readdir_sync(path)
  end

  def self.each_child(path, &block)
    return children(path).each unless block
    children(path).each(&block)
    nil
  end

  def self.foreach(path, &block)
    return entries(path).each unless block
    entries(path).each(&block)
    nil
  end

  def self.exist?(path)
    File.directory?(path)
  end

  def self.empty?(path)
    File.directory?(path) && FS.readdir_sync(path).empty?
  end

  def self.mkdir(path, mode = 0o777)
    FS.mkdir_sync(path, mode: mode)
    0
  end

  def self.rmdir(path)
    FS.rmdir_sync(path)
    0
  end

  class << self
    alias delete rmdir
    alias unlink rmdir
  end

  def self.home
    ENV["HOME"]
  end

  # chdir(path) changes the directory for the rest of the program; with a block, only for the
  # block (and returns its value).
  def self.chdir(path = nil)
    path ||= home
    return __chdir(path) unless block_given?
    old = pwd
    __chdir(path)
    begin
      yield path
    ensure
      __chdir(old)
    end
  end

  def self.[](*patterns, base: nil, sort: true)
    glob(patterns, 0, base: base, sort: sort)
  end

  # glob(pattern or patterns, flags = 0, base: nil): *, ?, [set], {a,b}, ** (any depth,
  # symlinked directories not followed) and a trailing / (directories only), as CRuby 3.x: each
  # directory's entries in byte order, depth first, the alternatives of {a,b} in their order.
  # Hidden entries match only a pattern that starts with a dot, unless File::FNM_DOTMATCH.
  def self.glob(patterns, flags = 0, base: nil, sort: true, &block)
    patterns = [patterns] unless patterns.is_a?(Array)
    out = []
    patterns.each do |pattern|
      raise TypeError, "pattern must be a String, not #{pattern.class}" unless pattern.is_a?(String)
      __braces(pattern).each { |pat| __glob_one(pat, flags, base, out) }
    end
    return out unless block
    out.each(&block)
    nil
  end

  # "a{b,c{d,e}}f" => ["abf", "acdf", "acef"]
  def self.__braces(pat)
    depth = 0
    open = nil
    i = 0
    while i < pat.size
      c = pat[i]
      if c == "\\"
        i += 1
      elsif c == "{"
        open = i if depth == 0
        depth += 1
      elsif c == "}" && depth > 0
        depth -= 1
        if depth == 0
          alts = []
          d = 0
          start = open + 1
          j = start
          while j < i
            ch = pat[j]
            if ch == "\\"
              j += 1
            elsif ch == "{"
              d += 1
            elsif ch == "}"
              d -= 1
            elsif ch == "," && d == 0
              alts << pat[start...j]
              start = j + 1
            end
            j += 1
          end
          alts << pat[start...i]
          head = pat[0...open]
          tail = pat[(i + 1)..-1]
          return alts.flat_map { |a| __braces(head + a + tail) }
        end
      end
      i += 1
    end
    [pat]
  end

  def self.__magic?(seg)
    seg.include?("*") || seg.include?("?") || seg.include?("[") || seg.include?("\\")
  end

  def self.__glob_one(pat, flags, base, out)
    return if pat.empty?
    if pat.start_with?("/")
      dir = "/"
      prefix = "/"
      rest = pat[1..-1]
    else
      dir = base || "."
      prefix = ""
      rest = pat
    end
    parts = rest.split("/", -1)
    segs = []
    parts.each_with_index { |s, i| segs << s unless s.empty? && i < parts.size - 1 }
    return out << prefix if segs.empty?
    __glob_walk(dir, prefix, segs, [0], flags, out)
  end

  def self.__lstat_dir?(path)
    FS.lstat_sync(path).directory?
  rescue FS::Error
    false
  end

  def self.__glob_walk(dir, prefix, segs, positions, flags, out)
    last = segs.size - 1
    pos = []
    positions.each do |i|
      while segs[i] == "**" && i < last
        pos << -i - 1 # a "**/" still active here: -(index + 1)
        i += 1
      end
      if segs[i] == "" && i == last
        out << prefix unless prefix.empty?
      else
        pos << i
      end
    end
    pos.uniq!
    return if pos.empty?
    dotmatch = flags & File::FNM_DOTMATCH != 0
    fflags = (flags & (File::FNM_NOESCAPE | File::FNM_DOTMATCH)) | File::FNM_PATHNAME
    if pos.all? { |i| i >= 0 && !__magic?(segs[i]) }
      # Literal names only: no need to read the directory (and "." or ".." work).
      pos.each do |i|
        name = segs[i]
        path = dir == "." && prefix.empty? ? name : File.join(dir, name)
        next unless File.exist?(path) || File.symlink?(path)
        if i == last
          out << prefix + name
        elsif File.directory?(path)
          __glob_walk(path, prefix + name + "/", segs, [i + 1], flags, out)
        end
      end
      return
    end
    begin
      entries = FS.readdir_sync(dir, with_file_types: true)
    rescue FS::Error
      return
    end
    # "." (never "..") is an entry for a pattern that may match a leading dot, as CRuby 3.1.
    if pos.any? { |i| i >= 0 && (dotmatch || segs[i].start_with?(".")) }
      entries = (entries.map { |e| [e.name, e.type] } + [[".", :dot]]).sort
    else
      entries = entries.map { |e| [e.name, e.type] }
    end
    entries.each do |name, type|
      hidden = name.start_with?(".")
      nexts = nil
      emit = false
      pos.each do |i|
        if i < 0
          # "**/": descend into every directory (not hidden ones unless FNM_DOTMATCH; symlinks
          # to directories are not followed, as CRuby).
          next if hidden && !dotmatch
          next unless type == :directory || (type == :unknown && __lstat_dir?(__path(dir, prefix, name)))
          (nexts ||= []) << -i - 1
        elsif File.fnmatch(segs[i], name, fflags)
          if i == last
            emit = true
          elsif type == :directory || ((type == :symlink || type == :unknown) && File.directory?(__path(dir, prefix, name)))
            (nexts ||= []) << i + 1
          end
        end
      end
      out << prefix + name if emit
      next if nexts.nil? || type == :dot
      __glob_walk(__path(dir, prefix, name), prefix + name + "/", segs, nexts, flags, out)
    end
  end

  def self.__path(dir, prefix, name)
    dir == "." && prefix.empty? ? name : File.join(dir, name)
  end
end

class File
  # File.write(path, data, mode: "w"): writes in place (not atomic, as Ruby; FS.write_file_sync
  # is); mode "a" appends. Returns the number of bytes written.
  def self.write(path, data, mode: "w")
    data = data.to_s
    case mode
    when "w", "wb", "w+" then FS.write_file_sync(path, data, atomic: false)
    when "a", "ab", "a+" then FS.append_file_sync(path, data)
    else raise ArgumentError, "File.write: mode must be \"w\" or \"a\", not #{mode.inspect}"
    end
    data.bytesize
  end

  def self.binwrite(path, data)
    write(path, data)
  end

  def self.binread(path)
    FS.read_file_sync(path)
  end

  def self.readlines(path, chomp: false)
    lines = FS.read_file_sync(path).lines
    chomp ? lines.map(&:chomp) : lines
  end

  def self.stat(path)
    FS.stat_sync(path)
  end

  def self.lstat(path)
    FS.lstat_sync(path)
  end

  def self.mtime(path)
    FS.stat_sync(path).mtime
  end
end
