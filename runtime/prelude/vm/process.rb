# process.rb (every VM) — the Ruby half of runtime/process.c's vm_init: Errno, Process::Status,
# system and backticks. Signals and at_exit are the main VM's (runtime/prelude/process.rb).

# A failed system call: code is the errno name ("ESRCH"), syscall what failed ("kill"), errno
# the number, path and dest the file names involved (nil when the call had none). Errno::NAME
# classes below are its subclasses, as in CRuby; FS::Error (built in C by rt_uv_error_new,
# runtime/rt.c) is one too.
class SystemCallError < StandardError
  attr_reader :code, :syscall, :errno, :path, :dest
end

module Errno
  %w[EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT
     EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY EFBIG ENOSPC ESPIPE
     EROFS EMLINK EPIPE EDOM ERANGE ENAMETOOLONG ENOTEMPTY ELOOP ETIMEDOUT ECONNREFUSED
     ECONNRESET EADDRINUSE].each do |name|
    const_set(name, Class.new(SystemCallError)) unless const_defined?(name)
  end
end

module Process
  # How a child ended, as CRuby's $?: built from waitpid's status word.
  class Status
    attr_reader :pid

    def initialize(pid, status)
      @pid = pid
      @status = status
    end

    def to_i
      @status
    end

    def exited?
      (@status & 0x7f) == 0
    end

    def signaled?
      (@status & 0x7f) != 0 && (@status & 0x7f) != 0x7f
    end

    def stopped?
      (@status & 0xff) == 0x7f
    end

    def exitstatus
      exited? ? (@status >> 8) & 0xff : nil
    end

    def termsig
      signaled? ? @status & 0x7f : nil
    end

    def success?
      exited? ? exitstatus == 0 : nil
    end

    def ==(other)
      other.is_a?(Status) ? to_i == other.to_i : to_i == other
    end

    def to_s
      if signaled?
        name = Signal.signame(termsig)
        "pid #{@pid} #{name ? "SIG#{name}" : "signal"} (signal #{termsig})"
      else
        "pid #{@pid} exit #{exitstatus}"
      end
    end

    def inspect
      "#<Process::Status: #{to_s}>"
    end
  end

  # The last status of system or backticks, also $?.
  def self.last_status
    $?
  end
end
