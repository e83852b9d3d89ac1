# periodic.rb — a timer-driven periodic job: every 2 ms a timer fires and Job#spin burns about
# 0.5 ms of CPU (measured on the thread's CPU clock). The thread waits on the loop the rest of
# the time. At the end it prints the truth a CPU profile must show:
#   spin_cpu=<CPU s inside Job#spin> thread_cpu=<CPU s of the thread since the script began>
#   spin_wall=<wall s inside Job#spin> wall=<wall s since the script began>
# ARGV[0]: how many periods (default 600, about 1.2 s).
CPU0 = Profiler.thread_cpu_time
WALL0 = Time.now

class Job
  attr_reader :cpu, :wall

  def initialize
    @cpu = 0.0
    @wall = 0.0
  end

  def spin(ms)
    t0 = Profiler.thread_cpu_time
    w0 = Time.now
    x = 0
    x += 1 while (Profiler.thread_cpu_time - t0) * 1000 < ms
    @wall += Time.now - w0
    @cpu += Profiler.thread_cpu_time - t0
    x
  end
end

periods = (ARGV[0] || 600).to_i
job = Job.new
n = 0
timer = nil
timer = set_interval(2) do
  job.spin(0.5)
  n += 1
  if n >= periods
    clear_interval(timer)
    printf("spin_cpu=%.6f thread_cpu=%.6f spin_wall=%.6f wall=%.6f\n", job.cpu,
           Profiler.thread_cpu_time - CPU0, job.wall, Time.now - WALL0)
  end
end
