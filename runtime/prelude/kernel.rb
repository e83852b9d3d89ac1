# kernel.rb — process-level Ruby of the mrun runtime: exit, abort, ENV.

# Raised by Kernel#exit; the runtime turns it into the process exit status without a report.
class SystemExit < Exception
  attr_reader :status

  def initialize(status = 0, message = "exit")
    @status = status
    super(message)
  end

  def success?
    @status == 0
  end
end

# Raised in the script when mrun is stopped by Ctrl-C (Interrupt) or SIGTERM while it profiles,
# so that `ensure` runs and the profile is written; the process then exits with 128 + signo.
class SignalException < Exception
  attr_reader :signo

  def initialize(message = "SIGTERM", signo = 15)
    @signo = signo
    super(message)
  end
end

class Interrupt < SignalException
  def initialize(message = "Interrupt")
    super(message, 2)
  end
end

class LoadError < ScriptError; end unless Object.const_defined?(:LoadError)

module Kernel
  # Ends the program with the given status (true = 0, false = 1) after unwinding the stack, so
  # `ensure` clauses run. Pending timers and sockets are abandoned, as with Node's process.exit.
  def exit(status = true)
    code = case status
           when true then 0
           when false then 1
           when Integer then status
           else raise TypeError, "exit status must be true, false or an Integer, not #{status.class}"
           end
    raise SystemExit.new(code)
  end

  def abort(message = nil)
    $stderr.puts(message) if message
    exit(false)
  end

  # Prints each message on stderr (as Ruby's Kernel#warn); stdout is flushed first so the two
  # streams keep their order.
  def warn(*messages)
    $stdout.flush
    messages.each do |m|
      $stderr.puts(m)
      __console_warn(m.to_s) # an inspector client sees it too (runtime/inspector.c)
    end
    nil
  end
end

# The process environment, as a Hash-like object over getenv/setenv.
ENV = Object.new
class << ENV
  include Enumerable

  def [](name)
    __env_get(name.to_s)
  end

  def []=(name, value)
    __env_set(name.to_s, value)
  end

  def fetch(name, *default)
    v = self[name]
    return v unless v.nil?
    return yield(name) if block_given?
    return default[0] unless default.empty?
    raise KeyError, "key not found: #{name.inspect}"
  end

  def key?(name)
    !self[name].nil?
  end
  alias include? key?
  alias has_key? key?

  def delete(name)
    v = self[name]
    __env_set(name.to_s, nil)
    v
  end

  def keys
    __env_keys
  end

  def each
    keys.each { |k| v = self[k]; yield k, v unless v.nil? }
    self
  end
  alias each_pair each

  def to_h
    h = {}
    each { |k, v| h[k] = v }
    h
  end

  def inspect
    to_h.inspect
  end
end

module Kernel
  # An error from another VM ({class, message, backtrace}, as the copier carried it) as an
  # exception of the same class when this VM has one that takes a message, else REMOTE (a
  # RemoteError class taking (message, class name)) naming it; the backtrace is the other VM's,
  # ending with LAST, the line that says where it ran. Deferred and Worker share it.
  def self.__remote_exception(h, remote, last)
    name = h["class"].to_s
    cls = name.split("::").inject(Object) do |scope, part|
      scope.is_a?(Module) && scope.const_defined?(part) ? scope.const_get(part) : nil
    end
    msg = h["message"].to_s
    e = if cls.is_a?(Class) && cls <= Exception
          begin
            cls.new(msg)
          rescue StandardError
            remote.new("#{msg} (#{name})", name)
          end
        else
          remote.new("#{msg} (#{name})", name)
        end
    e.set_backtrace(h["backtrace"].to_a + [last])
    e
  end
end
