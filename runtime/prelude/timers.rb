# timers.rb — set_timeout, set_interval, set_immediate and their clear_* counterparts.
#
# Delays are milliseconds. Timers run on the runtime's libuv loop; the process exits when no
# timer (nor any other work) is pending, as in Node. Each set_* returns an object whose #clear
# cancels it; clear_timeout/clear_interval/clear_immediate accept those objects (and nil).
class Timer
  attr_reader :delay, :repeat

  def initialize(delay, repeat, args, callback)
    raise ArgumentError, "a timer needs a block" unless callback
    @delay = Timer.__ms(delay)
    @repeat = repeat ? [@delay, 1].max : 0
    @args = args
    @callback = callback
    __start(@delay, @repeat)
  end

  def clear
    __stop
    nil
  end

  # Restarts the countdown from now with the same delay.
  def refresh
    __start(@delay, @repeat)
    self
  end

  def __fire
    @callback.call(*@args)
  end

  def self.__ms(delay)
    unless delay.is_a?(Integer) || delay.is_a?(Float)
      raise TypeError, "timer delay must be a number of milliseconds, not #{delay.class}"
    end
    ms = delay.to_i
    ms < 0 ? 0 : ms
  end
end

class Immediate
  def initialize(args, callback)
    raise ArgumentError, "set_immediate needs a block" unless callback
    @args = args
    @callback = callback
    @cleared = false
    __immediate_enqueue(self)
  end

  def clear
    @cleared = true
    nil
  end

  def __fire
    @callback.call(*@args) unless @cleared
  end
end

module Kernel
  def set_timeout(delay = 0, *args, &block)
    Timer.new(delay, false, args, block)
  end

  def set_interval(delay = 0, *args, &block)
    Timer.new(delay, true, args, block)
  end

  def set_immediate(*args, &block)
    Immediate.new(args, block)
  end

  def clear_timeout(timer)
    timer&.clear
    nil
  end
  alias clear_interval clear_timeout
  alias clear_immediate clear_timeout
end
