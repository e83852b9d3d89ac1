# deferred.rb — the promise side of Deferred (the worker pool is C: runtime/deferred/).
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

  # Deferred#cancel removed the task(s) before they ran.
  class Cancelled < StandardError; end

  # Deferred.map: the block raised on an item. #index is the item's position in the input,
  # #error the exception as the worker raised it (of its class when the main VM has it, else
  # a RemoteError); the backtrace is the worker's.
  class MapError < StandardError
    attr_reader :index, :error

    def initialize(index, error)
      super("Deferred.map: the block raised on item #{index}: #{error.message} (#{error.class})")
      @index = index
      @error = error
      set_backtrace(error.backtrace) if error.backtrace
    end
  end

  # One Deferred.map: measures the block on the first items (inline, on this VM), then either
  # finishes inline (shipping would cost more than the work) or queues the rest as chunks of
  # decreasing size (guided scheduling: remaining / (GUIDED_K * workers), never below the batch
  # that carries about TARGET_NS of work). Workers take chunks from the pool's one queue, so a
  # worker that drew a slow item leaves the rest to the others. Chunks settle this runner
  # (__settle_chunk, from pool.c), which fills the results in input order.
  class MapRun
    TARGET_NS = 1_000_000 # a chunk's work: ~1 ms (see docs/script-api.md, Deferred.map)
    GUIDED_K = 2
    # What shipping an item costs, all threads together, over what encoding it and its result
    # measures here: decoding on both sides (which allocates), the worker's encoding, slicing
    # and the collector. Measured: 200 000 tiny items shipped took 280 ns of CPU more per item
    # than inline, where the encoding alone read 26 ns.
    COPY_OVERHEAD = 10

    def initialize(list, block, site, group)
      @list = list
      @block = block
      @code = nil # the block's bytecode, dumped when a first chunk ships
      @site = site
      @group = group
      @results = Array.new(list.size)
      @chunks = {} # task id => [first index, length]
      @out = Deferred.__pending
      @out.__runner = self
    end

    def start
      n = @list.size
      return Deferred.resolve([]) if n == 0
      rtt = Deferred.__round_trip_ns
      i, ns, failed = run_inline(0, n, rtt, &@block)
      return Deferred.resolve(@results) if i == n
      cost = i > 0 ? ns / i : nil
      unless failed
        if inline_cheaper?(n - i, cost, rtt)
          j, _, failed = run_inline(i, n, nil, &@block)
          return Deferred.resolve(@results) if j == n
          i = j
        end
      end
      @left = n - i
      schedule(i, cost)
      @out
    end

    # Runs items from..n-1 here (the block given is the map's) until budget ns have passed (nil:
    # no budget, no clock read), or one raises: [items run, their ns, whether one raised]. The
    # block is the one shipped: checked, it sees nothing of this VM but the arguments, its
    # methods and constants. An item that raised here runs again on a worker, whose outcome
    # counts (a method may exist only there).
    def run_inline(from, n, budget)
      t0 = Deferred.__now_ns
      last = t0
      i = from
      list = @list
      results = @results
      failed = false
      begin
        if budget
          while i < n
            results[i] = yield(list[i])
            i += 1
            next if i - from > 8 && (i & 7) != 0 # the clock every item at first, then every 8th
            last = Deferred.__now_ns
            break if last - t0 >= budget
          end
          last = Deferred.__now_ns
        else
          while i < n
            results[i] = yield(list[i])
            i += 1
          end
          last = Deferred.__now_ns
        end
      rescue Exception # rubocop:disable Lint/RescueException
        failed = true
      end
      Deferred.__count_inline(i - from)
      [i, last - t0, failed]
    end

    # ns to copy an item and its result here (encoding; decoding costs about as much, and the
    # worker's half runs beside): measured on up to 64 items of the input and 64 of the i
    # results computed (few values make a noisy reading; many would cost more than the probe).
    def copy_cost(i)
      k = @list.size < 64 ? @list.size : 64
      r = i < 64 ? i : 64
      items = Deferred.__copy_ns(@list[0, k])
      results = Deferred.__copy_ns(@results[0, r])
      return nil unless items && results
      items / k + results / r
    end

    # Shipped, the work is spread over as many workers as there are chunks of TARGET_NS (at
    # most the pool), plus a round trip and every item copied (COPY_OVERHEAD times what
    # encoding it and its result measures here). Inline when that saves less than it costs; with work for one chunk only (about
    # 1 ms), inline too: one worker would do it no faster. A pool of one worker parallelises
    # nothing: inline when shipping costs more than the work itself.
    # The copy cost is measured (copy_cost, itself about a round trip) only when the answer
    # depends on it.
    def inline_cheaper?(m, cost, rtt)
      work = m * cost
      w = Deferred.pool_size
      if w > 1
        chunks = (work + TARGET_NS - 1) / TARGET_NS
        w = chunks if chunks < w
        return true if w <= 1
      end
      saved = w == 1 ? work : work - work / w
      return true if saved <= rtt
      copy = copy_cost(@list.size - m)
      return false unless copy # an item or a result cannot be copied: the worker says so
      saved <= rtt + m * copy * COPY_OVERHEAD
    end

    def schedule(from, cost)
      n = @list.size
      if cost.nil? # nothing measured here: one item on a worker first (__settle_chunk goes on)
        @probe = true
        return submit(from, 1)
      end
      batch = (TARGET_NS + cost - 1) / (cost < 1 ? 1 : cost)
      batch = 1 if batch < 1
      div = GUIDED_K * Deferred.pool_size
      pos = from
      while pos < n
        r = n - pos
        len = (r + div - 1) / div
        len = batch if len < batch
        len = r if len > r
        return unless submit(pos, len)
        pos += len
      end
    end

    def submit(pos, len)
      @code ||= Deferred.__map_code(@block)
      id = Deferred.__submit_chunk(self, @code, @list[pos, len], @group)
      @chunks[id] = [pos, len]
      true
    rescue StandardError => e
      Deferred.__cancel_group(@group)
      @out.__reject(e.class.new("Deferred.map: #{absolute_path(e.message, pos)}"))
      false
    end

    # The copier names a place in the chunk ("items[3][:k]"): name it in the whole input.
    def absolute_path(msg, pos)
      at = msg.index("items[")
      return msg unless at
      close = msg.index("]", at)
      k = msg[at + 6...close].to_i
      "#{msg[0, at]}item #{pos + k}#{msg[close + 1..-1]}"
    end

    def __cancel
      return 0 unless @out.pending?
      Deferred.__cancel_group(@group)
    end

    # From the pool (pool.c on_done): a chunk's Array of results, or its error and the index
    # (in the chunk) of the item that raised.
    def __settle_chunk(id, ok, v, fail_index, run_ns)
      pos, len = @chunks.delete(id)
      return unless pos && @out.pending?
      unless ok
        Deferred.__cancel_group(@group)
        index = pos + (fail_index >= 0 ? fail_index : 0)
        return @out.__reject(MapError.new(index, Deferred.__remote_error(v, @site)))
      end
      @results[pos, len] = v
      @left -= len
      return @out.__resolve(@results) if @left == 0
      return unless @probe
      @probe = false
      schedule(pos + len, run_ns / len)
    end
  end

  @jobs = []
  @draining = false
  @unhandled = {}
  @inline_items = 0
  @groups = 0

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

    # A Deferred of the Array of the block's results over enum's items (to_a: an Array, Range,
    # Hash...), in input order, spread over the workers (or run inline when that is cheaper):
    # see MapRun. Rejected with a MapError naming the first item to fail.
    def map(enum, &block)
      raise ArgumentError, "Deferred.map needs a block to run on the workers" unless block
      unless enum.respond_to?(:to_a)
        raise TypeError, "Deferred.map needs an Enumerable (Array, Range, Hash...), not #{enum.class}"
      end
      list = enum.to_a
      raise TypeError, "Deferred.map: #{enum.class}#to_a returned a #{list.class}" unless list.is_a?(Array)
      site = __map_check(block)
      @groups -= 1 # a map's chunks share a negative group id, never a task's id
      MapRun.new(list, block, site, @groups).start
    end

    # The pool's state: tasks queued, running, done (settled), submitted and cancelled, the
    # measured round trip, each worker's busy time and tasks, and the items Deferred.map ran
    # inline.
    def stats
      h = __stats
      h[:inline_items] = @inline_items
      h
    end

    def __count_inline(n)
      @inline_items += n
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
      Kernel.__remote_exception(h, RemoteError, "(Deferred block at #{site}, on a worker thread)")
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
    @site, @task = __submit(args, block)
  end

  # Removes this Deferred's task (a map's: its chunks) from the queue if a worker has not
  # taken it yet, and rejects it with Deferred::Cancelled. Running tasks are not interrupted.
  # Returns whether anything was removed.
  def cancel
    return false unless @state == :pending
    n = if @runner
          @runner.__cancel
        elsif @task
          Deferred.__cancel_group(@task)
        else
          0
        end
    return false if n == 0
    __reject(Cancelled.new("the Deferred was cancelled (#{n} queued task#{n == 1 ? "" : "s"} removed)"))
    true
  end

  def __runner=(r)
    @runner = r
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
