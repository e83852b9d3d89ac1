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
    list = __events[event]
    return self unless list
    i = list.index { |entry| entry[0] == listener }
    list.delete_at(i) if i
    __events.delete(event) if list.empty?
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
  def emit(event, *args)
    list = __events[event]
    if list.nil? || list.empty?
      if event == :error
        err = args[0]
        raise err if err.is_a?(Exception)
        raise RuntimeError, "unhandled :error event (#{err.inspect})"
      end
      return false
    end
    list.dup.each do |listener, once|
      off(event, listener) if once
      listener.call(*args)
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
    (__events[event] ||= []) << [listener, once]
    self
  end
end
