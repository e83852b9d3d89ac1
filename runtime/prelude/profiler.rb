# profiler.rb — the Ruby face of the sampling profiler.
#
#   Profiler.start_profiling(hz: 1000, mode: :cpu)   # :cpu or :wall
#   work
#   secs = Profiler.stop_profiling
#   prof = Profiler.get_profile
#   prof.top(5).each { |r| puts "#{r[:name]} #{r[:self_pct]}%" }
#   prof.save("work.cpuprofile")                      # or format: :trace / :collapsed
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
