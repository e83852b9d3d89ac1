# profiler.rb — the Ruby face of the sampling profiler.
#
#   Profiler.start_profiling(hz: 1000, mode: :cpu)   # :cpu or :wall
#   work
#   secs = Profiler.stop_profiling
#   prof = Profiler.get_profile
#   prof.top(5).each { |r| puts "#{r[:name]} #{r[:self_pct]}%" }
#   prof.save("work.cpuprofile")                      # or format: :trace / :collapsed
#
#   Profiler.start_memory_profiling(interval: 512 * 1024)  # mean bytes between samples
#   work
#   mem = Profiler.stop_memory_profiling             # also Profiler.get_memory_profile
#   mem.top(5, by: :live).each { |r| puts "#{r[:name]} #{r[:bytes]} B" }
#   mem.save("work.heapprofile")                      # live blocks; live: false for all
module Profiler
  def self.start_profiling(hz: 1000, mode: :cpu)
    __start(hz, mode.to_s)
  end

  # Stops the profiler; returns the seconds it ran. The profile is then get_profile's.
  def self.stop_profiling
    secs, @last_profile = __stop
    secs
  end

  def self.get_profile
    @last_profile or raise RuntimeError, "no profile yet: call start_profiling and stop_profiling first"
  end

  DEFAULT_MEMORY_INTERVAL = 512 * 1024

  # Samples allocations, one every `interval` bytes on average. Runs beside a CPU profile
  # (start_profiling) or alone.
  def self.start_memory_profiling(interval: DEFAULT_MEMORY_INTERVAL)
    raise ArgumentError, "interval: must be an Integer number of bytes, not #{interval.inspect}" unless interval.is_a?(Integer)
    __start_memory(interval)
  end

  # Stops memory profiling; returns the MemoryProfile (get_memory_profile's from now on).
  def self.stop_memory_profiling
    @last_memory_profile = __stop_memory
  end

  def self.get_memory_profile
    @last_memory_profile or raise RuntimeError, "no memory profile yet: call start_memory_profiling and stop_memory_profiling first"
  end
end

# What memory profiling saw. "allocated": every allocation made while it ran; "live": the
# blocks not freed when it stopped. Bytes are estimates from the samples, scaled so that the
# allocated bytes add up to total_allocated, which the allocator hook counted exactly.
class MemoryProfile
  def total_allocated
    __stats[0]
  end

  def allocations
    __stats[1]
  end

  def estimated_allocated
    __stats[2]
  end

  def live
    __stats[3]
  end

  def samples
    __stats[4]
  end

  def interval
    __stats[5]
  end


  # The n allocation sites (group: :site, the default: the Ruby method and what allocated in
  # it, "Store#render (String#*)", as the viewer's memory view lists them), or functions, lines
  # or files by self bytes, that allocated the most bytes (by: :allocated) or hold the most live
  # bytes (by: :live). A site's bytes are its total_bytes.
  def top(n = 10, by: :allocated, group: :site)
    live = case by
           when :allocated then false
           when :live then true
           else raise ArgumentError, "by: must be :allocated or :live, not #{by.inspect}"
           end
    code = group == :site ? -1 : Profile::BY[group]
    code or raise ArgumentError, "group: must be :site, :function, :line or :file, not #{group.inspect}"
    rows, all = __top(n, code, live)
    all = 1 if all == 0
    rows.map do |name, file, line, self_b, total_b, self_n, total_n|
      { name: name, file: file, line: line, bytes: self_b, total_bytes: total_b,
        samples: self_n, total_samples: total_n,
        pct: (self_b * 1000 / all) / 10.0, total_pct: (total_b * 1000 / all) / 10.0 }
    end
  end

  # Writes a .heapprofile (or another format, from format: or the path's extension) of the
  # live blocks, or of every allocation with live: false.
  def save(path, format: nil, live: true)
    __save(path.to_s, format && format.to_s, live ? true : false)
  end

  def inspect
    "#<MemoryProfile #{total_allocated} bytes allocated in #{allocations} allocations, #{live} live, #{samples} samples>"
  end
end

class Profile
  BY = { function: 0, line: 1, file: 2 }.freeze

  def save(path, format: nil)
    __save(path.to_s, format && format.to_s)
  end

  # The n functions (or lines, or files) with the most self time. Times are milliseconds.
  def top(n = 10, by: :function)
    code = BY[by] or raise ArgumentError, "by: must be :function, :line or :file, not #{by.inspect}"
    rows, all = __top(n, code)
    all = 1 if all == 0
    rows.map do |name, file, line, self_ns, total_ns, self_n, total_n|
      { name: name, file: file, line: line,
        self: self_ns / 1_000_000.0, total: total_ns / 1_000_000.0,
        self_samples: self_n, total_samples: total_n,
        self_pct: (self_ns * 1000 / all) / 10.0, total_pct: (total_ns * 1000 / all) / 10.0 }
    end
  end

  def inspect
    "#<Profile #{samples} samples, #{format('%.3f', duration)} s>"
  end
end
