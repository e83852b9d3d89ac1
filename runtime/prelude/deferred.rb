# deferred.rb — the promise side of Deferred (the worker pool is C: runtime/deferred.c).
#
#   d = Deferred.new(30) { |n| fib(n) }    # runs at once on a worker thread
#   d.then { |v| v * 2 }.rescue { |e| warn e.message }
#   d.value                                # waits, running the event loop meanwhile
#
# A Deferred is pending, then fulfilled with a value or rejected with an exception, once.
# Callbacks given to then/rescue/ensure run on the main thread, after the code that attached
# them, in the order they were attached (like promise reactions); each returns a new Deferred,
# settled by what its block returns (a Deferred returned is waited for) or raises.
class Deferred
  # A worker raised an exception whose class does not exist in the main VM.
  class RemoteError < StandardError
    attr_reader :class_name

    def initialize(message, class_name)
      super(message)
      @class_name = class_name
    end
  end

  # Deferred.any: every one was rejected; #errors lists their exceptions in order.
  class AggregateError < StandardError
    attr_reader :errors

    def initialize(errors, message = "all #{errors.size} Deferreds were rejected")
      super(message)
      @errors = errors
    end
  end

  # #value would wait forever: nothing is left that could settle the Deferred.
  class StalledError < StandardError; end

  @jobs = []
  @draining = false
  @unhandled = {}

  class << self
    # A Deferred settled by hand (for chaining and the combinators): not run on a worker.
    def __pending
      d = allocate
      d.__init
      d
    end

    def resolve(value = nil)
      return value if value.is_a?(Deferred)
      d = __pending
      d.__resolve(value)
      d
    end

    def reject(error)
      d = __pending
      d.__reject(__exception(error))
      d
    end

    # Fulfilled with every value, in order, when all are; rejected by the first rejection.
    def all(list)
      list = list.to_a
      out = __pending
      return resolve([]) if list.empty?
      values = Array.new(list.size)
      left = list.size
      list.each_with_index do |d, i|
        resolve(d).__subscribe do |ok, v|
          if ok
            values[i] = v
            left -= 1
            out.__resolve(values) if left == 0
          else
            out.__reject(v)
          end
        end
      end
      out
    end

    # Fulfilled by the first one fulfilled; rejected with AggregateError when all are rejected.
    def any(list)
      list = list.to_a
      out = __pending
      return reject(AggregateError.new([])) if list.empty?
      errors = Array.new(list.size)
      left = list.size
      list.each_with_index do |d, i|
        resolve(d).__subscribe do |ok, v|
          if ok
            out.__resolve(v)
          else
            errors[i] = v
            left -= 1
            out.__reject(AggregateError.new(errors)) if left == 0
          end
        end
      end
      out
    end

    # Settled like the first one to settle.
    def race(list)
      out = __pending
      list.to_a.each do |d|
        resolve(d).__subscribe { |ok, v| ok ? out.__resolve(v) : out.__reject(v) }
      end
      out
    end

    def __exception(error)
      case error
      when Exception then error
      when String then RuntimeError.new(error)
      else TypeError.new("Deferred.reject needs an Exception or a message, not #{error.class}")
      end
    end

    # Reactions run in order, each after the code that queued it, from an immediate.
    def __enqueue(job)
      @jobs << job
      return if @draining
      @draining = true
      set_immediate { __drain }
    end

    def __drain
      until @jobs.empty?
        job = @jobs.shift
        job.call
      end
    ensure
      @draining = false
      set_immediate { __drain } unless @jobs.empty?
    end

    def __track(d)
      @unhandled[d.object_id] = d
    end

    def __untrack(d)
      @unhandled.delete(d.object_id)
    end

    # The worker's error ({class, message, backtrace}) as an exception of the same class when
    # the main VM has it, else a RemoteError naming it.
    def __remote_error(h, site)
      unless h.is_a?(Hash)
        return RuntimeError.new("the Deferred worker failed without saying why (block at #{site})")
      end
      name = h["class"].to_s
      cls = name.split("::").inject(Object) do |scope, part|
        scope.is_a?(Module) && scope.const_defined?(part) ? scope.const_get(part) : nil
      end
      msg = h["message"].to_s
      e = if cls.is_a?(Class) && cls <= Exception
            begin
              cls.new(msg)
            rescue StandardError
              RemoteError.new("#{msg} (#{name})", name)
            end
          else
            RemoteError.new("#{msg} (#{name})", name)
          end
      e.set_backtrace(h["backtrace"].to_a + ["(Deferred block at #{site}, on a worker thread)"])
      e
    end

    def __report_unhandled
      return if @unhandled.empty?
      list = @unhandled.values
      @unhandled = {}
      list.each do |d|
        e = d.__value
        bt = e.backtrace.to_a
        msg = "#{bt[0] ? "#{bt[0]}: " : ""}#{e.message} (#{e.class})"
        $stderr.puts("mrun: a Deferred was rejected and nothing handled it: #{msg}")
        bt[1..-1].to_a.each { |line| $stderr.puts("\tfrom #{line}") }
      end
      $stderr.puts("mrun: add #rescue or call #value to handle a Deferred's failure")
      exit(1)
    end
  end

  def initialize(*args, &block)
    raise ArgumentError, "Deferred.new needs a block to run on a worker" unless block
    __init
    @site = __submit(args, block)
  end

  def __init
    @state = :pending
    @value = nil
    @reactions = []
    @handled = false
  end

  # :pending, :fulfilled or :rejected.
  attr_reader :state

  def pending?
    @state == :pending
  end

  def fulfilled?
    @state == :fulfilled
  end

  def rejected?
    @state == :rejected
  end

  # Runs the block with the value once fulfilled; the result settles the returned Deferred.
  # A rejection passes through to it untouched.
  def then(&block)
    raise ArgumentError, "Deferred#then needs a block" unless block
    __chain { |ok, v, out| ok ? out.__settle_with { block.call(v) } : out.__reject(v) }
  end

  # Runs the block with the exception once rejected; its result fulfils the returned Deferred
  # (raise again to keep it rejected). A value passes through untouched.
  def rescue(&block)
    raise ArgumentError, "Deferred#rescue needs a block" unless block
    __chain { |ok, v, out| ok ? out.__resolve(v) : out.__settle_with { block.call(v) } }
  end

  # Runs the block either way; the returned Deferred settles as this one did (unless the
  # block raises).
  def ensure(&block)
    raise ArgumentError, "Deferred#ensure needs a block" unless block
    __chain do |ok, v, out|
      begin
        block.call
        ok ? out.__resolve(v) : out.__reject(v)
      rescue Exception => e # rubocop:disable Lint/RescueException
        out.__reject(e)
      end
    end
  end

  # Waits until settled, running the event loop meanwhile (timers, sockets and other
  # Deferreds go on), then returns the value or raises the exception.
  def value
    __mark_handled
    while @state == :pending
      next if Deferred.__run_once
      break unless @state == :pending
      raise StalledError, "Deferred#value would wait forever: nothing left to run (no worker " \
                          "task, timer or socket) can settle this Deferred"
    end
    raise @value if @state == :rejected
    @value
  end

  def inspect
    case @state
    when :pending then "#<Deferred pending>"
    when :fulfilled then "#<Deferred fulfilled: #{@value.inspect}>"
    else "#<Deferred rejected: #{@value.class}: #{@value.message}>"
    end
  end
  alias to_s inspect

  # --- internals --------------------------------------------------------------------------

  def __value
    @value
  end

  # Calls block.call(ok, value) once settled (at once, in a reaction, if it is already).
  def __subscribe(&block)
    __mark_handled
    if @state == :pending
      @reactions << block
    else
      ok = @state == :fulfilled
      v = @value
      Deferred.__enqueue(-> { block.call(ok, v) })
    end
    self
  end

  def __chain(&step)
    out = Deferred.__pending
    __subscribe { |ok, v| step.call(ok, v, out) }
    out
  end

  def __settle_with
    __resolve(yield)
  rescue Exception => e # rubocop:disable Lint/RescueException
    raise if e.is_a?(SystemExit) || e.is_a?(SignalException)
    __reject(e)
  end

  def __mark_handled
    return if @handled
    @handled = true
    Deferred.__untrack(self)
  end

  def __resolve(v)
    return self unless @state == :pending
    if v.is_a?(Deferred)
      return __reject(TypeError.new("a Deferred cannot be settled with itself")) if v.equal?(self)
      v.__subscribe { |ok, x| ok ? __resolve(x) : __reject(x) }
      return self
    end
    @state = :fulfilled
    @value = v
    __fire
  end

  def __reject(e)
    return self unless @state == :pending
    @state = :rejected
    @value = e
    Deferred.__track(self) unless @handled
    __fire
  end

  # From the worker pool (runtime/deferred.c): the task's result or error.
  def __settle_remote(ok, v)
    ok ? __resolve(v) : __reject(Deferred.__remote_error(v, @site))
  end

  def __fire
    ok = @state == :fulfilled
    v = @value
    @reactions.each { |r| Deferred.__enqueue(-> { r.call(ok, v) }) }
    @reactions = nil
    self
  end
end
