# event_emitter.rb — Node's EventEmitter for mrun, as a module any class can include.
#
#   class Job; include EventEmitter; end
#   job = Job.new
#   job.on(:done) { |result| puts result }
#   job.emit(:done, 42)             # => true (a listener ran)
#
# Emitting :error with no :error listener raises: the error itself when it is an Exception,
# otherwise a RuntimeError naming the value, as Node throws ERR_UNHANDLED_ERROR.
module EventEmitter
  def on(event, callable = nil, &block)
    __add_listener(event, callable || block, false)
  end
  alias add_listener on

  def once(event, callable = nil, &block)
    __add_listener(event, callable || block, true)
  end

  def off(event, callable = nil, &block)
    listener = callable || block
    list = @__events && @__events[event]
    return self unless list
    i = list.index { |entry| entry[0] == listener }
    return self unless i
    if list.size == 1
      @__events.delete(event)
    else
      list = list.dup # never changed in place: an emit may be walking it (see emit)
      list.delete_at(i)
      @__events[event] = list
    end
    self
  end
  alias remove_listener off

  def remove_all_listeners(event = nil)
    if event.nil?
      __events.clear
    else
      __events.delete(event)
    end
    self
  end

  # Calls every listener of event in the order they were added; returns whether there was one.
  # The listeners are those there when the emit began: on/off during an emit take effect from
  # the next one, as in Node. A listener list is never changed in place (on and off store a new
  # Array), so emit walks the current one as it is, with no copy: the per-message cost of Net's
  # :data events.
  def emit(event, *args)
    list = @__events && @__events[event]
    return __no_listener(event, args[0]) unless list
    n = list.size
    i = 0
    while i < n
      entry = list[i]
      off(event, entry[0]) if entry[1]
      entry[0].call(*args)
      i += 1
    end
    true
  end

  # emit(event, arg) for one argument without the splats (Net::Socket's :data).
  def __emit1(event, arg)
    list = @__events && @__events[event]
    return __no_listener(event, arg) unless list
    n = list.size
    i = 0
    while i < n
      entry = list[i]
      off(event, entry[0]) if entry[1]
      entry[0].call(arg)
      i += 1
    end
    true
  end

  def listeners(event)
    (__events[event] || []).map { |entry| entry[0] }
  end

  def listener_count(event)
    (__events[event] || []).size
  end

  def event_names
    __events.keys
  end

  private

  def __events
    @__events ||= {}
  end

  def __add_listener(event, listener, once)
    unless listener.respond_to?(:call)
      raise ArgumentError, "listener for #{event.inspect} must be a block or respond to #call"
    end
    events = __events
    list = events[event]
    events[event] = list ? list + [[listener, once]] : [[listener, once]]
    self
  end

  def __no_listener(event, err)
    if event == :error
      raise err if err.is_a?(Exception)
      raise RuntimeError, "unhandled :error event (#{err.inspect})"
    end
    false
  end
end
