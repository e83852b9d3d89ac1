# worker.rb — Worker threads (the C half is runtime/worker.c), as Node's worker_threads.
#
#   w = Worker.new("job.rb", data: { "n" => 10 })
#   w.on(:message) { |msg| p msg }
#   w.on(:error) { |e| warn e.message }   # an uncaught exception in the Worker
#   w.on(:exit) { |code| puts code }       # 0, or 1 after an error or terminate, or exit(n)'s n
#   w.post_message([1, 2, 3])
#
# and in job.rb, which runs on its own thread with its own VM and event loop:
#
#   Worker.data                            # a copy of data:
#   Worker.on(:message) { |msg| Worker.post_message(msg) }
#
# Values cross as copies (the copier of Deferred: nil, true, false, Integer, Float, String,
# Symbol, Array and Hash of them). A Worker ends when its loop is empty; a :message listener
# keeps it alive (Worker.off removes it), as Node's parentPort with a 'message' listener.
class Worker
  include EventEmitter

  # An uncaught exception in a Worker whose class the parent's VM lacks.
  class RemoteError < Error
    attr_reader :class_name

    def initialize(message, class_name)
      super(message)
      @class_name = class_name
    end
  end

  attr_reader :thread_id, :path

  # path: a Ruby file, relative to the current directory (as Node resolves a Worker's file, and
  # as load does); resolved now, so that a later Dir.chdir does not change it.
  def initialize(path, data: nil)
    raise TypeError, "Worker.new takes the path of a Ruby file (a String), not #{path.class}" unless path.is_a?(String)
    full = path.start_with?("/") ? path : File.join(Dir.pwd, path)
    raise ArgumentError, "Worker.new: no such file -- #{path}" unless File.file?(full)
    @path = full
    @exit_code = nil
    @thread_id = __start(full, data)
  end

  # Stops the Worker: a busy one at its next method call or allocation (raising Worker::Terminated
  # there, which no rescue keeps), a waiting one at once. :exit follows with code 1. Returns self.
  def terminate
    __terminate
  end

  # Whether the Worker keeps the parent's loop alive (by default, until it exits).
  def ref
    __ref(true)
  end

  def unref
    __ref(false)
  end

  # The exit code once :exit was emitted, else nil.
  attr_reader :exit_code

  def running?
    @exit_code.nil?
  end

  def __on_message(msg)
    emit(:message, msg)
  end

  def __on_error(h)
    e = Worker.__remote_error(h, @path)
    # An :error with no listener is the parent's uncaught exception, as in Node.
    emit(:error, e)
  end

  def __on_exit(code)
    @exit_code = code
    emit(:exit, code)
  end

  class << self
    include EventEmitter

    # Inside a Worker: the copy of Worker.new's data: (nil on the main thread).
    attr_reader :data

    # Inside a Worker: sends a copy of obj to the parent's :message listeners.
    def post_message(obj)
      __post(obj)
    end

    alias_method :__emitter_on, :on
    alias_method :__emitter_once, :once
    alias_method :__emitter_off, :off
    alias_method :__emitter_remove_all, :remove_all_listeners

    def on(event, callable = nil, &block)
      __check_inside(event)
      __emitter_on(event, callable, &block)
      __listening
      self
    end

    def once(event, callable = nil, &block)
      __check_inside(event)
      __emitter_once(event, callable, &block)
      __listening
      self
    end

    def off(event, callable = nil, &block)
      __emitter_off(event, callable, &block)
      __listening unless Worker.main?
      self
    end

    def remove_all_listeners(event = nil)
      __emitter_remove_all(event)
      __listening unless Worker.main?
      self
    end

    def __check_inside(event)
      return unless Worker.main?
      raise RuntimeError, "Worker.on(#{event.inspect}) is for the code of a Worker (this is the " \
                          "main thread: call on(#{event.inspect}) on a Worker object)"
    end

    def __listening
      list = @__events && @__events[:message]
      __listen(!list.nil? && !list.empty?)
    end

    def __on_message(msg)
      emit(:message, msg)
    end

    # The Worker's thread: runs its file (the loop then runs in C).
    def __main(path, data)
      @data = data
      load(path)
    end

    # The Worker's error ({class, message, backtrace}) as an exception of the same class when
    # the parent's VM has one, else a Worker::RemoteError naming it; the backtrace is the
    # Worker's, ending with a line naming the Worker's file.
    def __remote_error(h, path)
      Kernel.__remote_exception(h, RemoteError, "(Worker #{path}, on its own thread)")
    end
  end
end
