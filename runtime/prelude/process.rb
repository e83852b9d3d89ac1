# process.rb (main VM) — Process as an EventEmitter of signals, and at_exit.
#
#   Process.on(:SIGINT) { |sig| puts "got #{sig}"; server.close }
#   Process.kill(:SIGUSR1, Process.pid)
#
# A signal with a listener runs the listeners (each gets the name, "SIGINT") instead of its
# default action; once the last listener is removed the default (or what was there before:
# the profiler's Ctrl-C handling under --cpu-prof) applies again. As in Node, a listener does
# not keep the process alive: a script that only waits for a signal needs a timer or a socket.
module Process
  extend EventEmitter

  class << self
    alias __ee_off off
    alias __ee_remove_all_listeners remove_all_listeners
    alias __ee_listener_count listener_count
    alias __ee_listeners listeners
  end

  def self.off(event, callable = nil, &block)
    event = __norm(event)
    __ee_off(event, callable, &block)
    __signal_changed(event)
    self
  end

  def self.remove_listener(event, callable = nil, &block)
    off(event, callable, &block)
  end

  def self.remove_all_listeners(event = nil)
    events = event.nil? ? event_names : [__norm(event)]
    events.each { |e| __ee_remove_all_listeners(e) }
    events.each { |e| __signal_changed(e) }
    self
  end

  def self.listener_count(event)
    __ee_listener_count(__norm(event))
  end

  def self.listeners(event)
    __ee_listeners(__norm(event))
  end

  # at_exit blocks, run last first by runtime/process.c when the program ends.
  def self.__at_exit(block)
    (@__at_exit ||= []) << block
    block
  end

  # From process.c: signo arrived.
  def self.__on_signal(signo)
    name = "SIG#{Signal.signame(signo)}"
    emit(name.to_sym, name)
  end

  # A signal's event name (:SIGINT for :SIGINT, "SIGINT", :INT, "INT" or 2) and number, or nil
  # for an event that is not a signal (Process.on(:custom) works as any EventEmitter's).
  def self.__signal_event(event)
    return nil unless event.is_a?(Integer) || ((event.is_a?(Symbol) || event.is_a?(String)) &&
                                               event.to_s.start_with?("SIG"))
    signo = __signo(event)
    [:"SIG#{Signal.signame(signo)}", signo]
  end

  def self.__norm(event)
    sig = __signal_event(event)
    sig ? sig[0] : event
  end

  def self.__signal_changed(event)
    sig = __signal_event(event)
    __signal_stop(sig[1]) if sig && __ee_listener_count(sig[0]) == 0
  end

  class << self
    private

    def __add_listener(event, listener, once)
      sig = __signal_event(event)
      if sig
        unless listener.respond_to?(:call)
          raise ArgumentError, "listener for #{event.inspect} must be a block or respond to #call"
        end
        __signal_start(sig[1]) # raises for SIGPROF, SIGKILL... before anything is added
        event = sig[0]
      end
      super(event, listener, once)
    end
  end
end

module Kernel
  # Runs the block when the program ends (the loop ran dry, exit was called, or an exception
  # went uncaught), last registered first, as CRuby.
  def at_exit(&block)
    raise ArgumentError, "called without a block" unless block
    Process.__at_exit(block)
  end
end
