# cluster.rb — the Ruby half of Cluster (the C half is runtime/cluster.c): Node's cluster for
# mrun. The primary starts worker processes that run the same script; a Net or HTTP server
# that listens in a worker shares the primary's listening socket.
#
#   if Cluster.primary?
#     Cluster.fork(2)
#     Cluster.on(:exit) { |w, status, signal| Cluster.fork(1) if signal == "SIGKILL" }
#   else
#     HTTP.create_server { |req, res| res.end("hi from #{Process.pid}\n") }.listen(8080)
#   end
#
# Every frame on a channel is an Array encoded by the copier: [:m, obj] is a message of the
# script's, the rest is the protocol (:online, :listen, :listen_ok, :listen_err, :listening,
# :disconnect).
# A Worker thread's runtime has no Cluster (the module is main_only: runtime/cluster.c): this
# half is left out there.
if Object.const_defined?(:Cluster)
  module Cluster
    extend EventEmitter

    # A cluster operation that cannot be done: code "ERR_CLUSTER_FORK_IN_WORKER",
    # "ERR_IPC_CHANNEL_CLOSED", "ERR_CLUSTER_SCHED", or the libuv code of a failed spawn.
    class Error < StandardError
      attr_reader :code

      def initialize(code, message)
        @code = code
        super(message)
      end
    end

    SCHED_SHARED = :shared
    SCHED_REUSEPORT = :reuseport
    POLICIES = [SCHED_SHARED, SCHED_REUSEPORT].freeze

    class Channel
      attr_accessor :__owner

      def __on_frame(bytes, fd, message)
        msg = Cluster.__decode(bytes)
        return @__owner.__on_frame([:m, msg], fd) if message
        unless msg.is_a?(Array) && msg[0].is_a?(Symbol)
          Cluster.__close_fd(fd) if fd
          return
        end
        @__owner.__on_frame(msg, fd)
      end

      def __on_eof
        __close
      end

      def __on_close
        @__owner.__on_channel_closed
      end

      def __post(msg, listener = nil)
        err = __send(Cluster.__encode(msg), listener, false)
        raise Cluster::Error.new("ERR_IPC_CHANNEL_CLOSED", "the IPC channel is closed") if err
        true
      end

      # The script's message: encoded alone (errors name "message[...]").
      def __post_message(obj)
        err = __send(Cluster.__encode(obj), nil, true)
        raise Cluster::Error.new("ERR_IPC_CHANNEL_CLOSED", "the IPC channel is closed") if err
        true
      end
    end

    # A listening socket of the primary's, shared by the workers that listen on its address.
    class Listener
      attr_accessor :key, :users
    end

    # A worker process (in the primary), or this process (Cluster.worker, in a worker).
    class Worker
      include EventEmitter

      attr_reader :id, :state, :exit_code, :signal_code

      def initialize(id)
        @id = id
        @state = :none # :none, :online, :listening, :disconnected, :dead
        @exited_after_disconnect = false
        @channel_closed = false
        @exited = false
      end

      def pid
        @self_pid || __pid
      end

      # The worker was asked to go (disconnect or kill): its :exit is not a crash.
      def exited_after_disconnect?
        @exited_after_disconnect
      end

      def connected?
        !@channel_closed && !@channel.nil? && @channel.__open?
      end

      def dead?
        @exited
      end

      def inspect
        "#<Cluster::Worker id=#{@id} pid=#{pid.inspect} state=#{@state}>"
      end

      # Sends obj (anything the copier carries: nil, true, false, Integer, Float, String, Symbol,
      # Array and Hash, nested) to the worker, or from the worker to the primary. A value that
      # cannot be copied is a TypeError naming it; a closed channel is a Cluster::Error.
      def send(obj)
        if @self_pid
          Cluster.send(obj)
        else
          __channel!.__post_message(obj)
        end
      end

      # Sends signal to the worker (default SIGTERM); true when sent, false when it is gone.
      def kill(signal = :SIGTERM)
        return Process.kill(signal, Process.pid) && true if @self_pid
        signo = Process.__signo(signal)
        @exited_after_disconnect = true
        __kill(signo).nil?
      end

      # Graceful: the worker closes its servers (no new connections; open ones finish), then
      # closes its channel and exits once nothing else keeps it alive.
      def disconnect
        return Cluster.__disconnect_self if @self_pid
        @exited_after_disconnect = true
        if connected?
          @channel.__post([:disconnect])
        end
        self
      end

      # --- internals (primary) ----------------------------------------------------------------

      def __channel
        @channel
      end

      def __channel!
        raise Cluster::Error.new("ERR_IPC_CHANNEL_CLOSED", "worker #{@id}'s IPC channel is closed") unless connected?
        @channel
      end

      def __attach(channel, self_pid = nil)
        @channel = channel
        @self_pid = self_pid
        channel.__owner = self
      end

      def __on_frame(msg, fd)
        return Cluster.__worker_frame(msg, fd) if @self_pid
        case msg[0]
        when :m
          emit(:message, msg[1])
          Cluster.emit(:message, self, msg[1])
        when :online
          @state = :online
          emit(:online)
          Cluster.emit(:online, self)
        when :listen
          Cluster.__serve_listen(self, msg[1], msg[2], msg[3], msg[4])
        when :listening
          @state = :listening
          emit(:listening, msg[1])
          Cluster.emit(:listening, self, msg[1])
        end
        Cluster.__close_fd(fd) if fd
      end

      def __on_channel_closed
        return Cluster.__worker_channel_closed if @self_pid
        return if @channel_closed
        @channel_closed = true
        @state = :disconnected unless @exited
        emit(:disconnect)
        Cluster.emit(:disconnect, self)
        __maybe_exit
      end

      def __on_exit(status, signal)
        @exited = true
        @exit_code = status
        @signal_code = signal
        # A dead process's channel reaches EOF once its last frames are read (:exit waits for
        # it, as Node's: :disconnect first, then :exit). The channel is unref'd while the
        # process runs (its handle keeps the loop alive); from here it is the channel that must,
        # or a loop whose last process handle just closed ends before the EOF is read, and the
        # worker's :exit (and a primary's re-raised signal) is lost.
        @channel.__ref(true) if @channel && !@channel_closed
        __maybe_exit
      end

      def __maybe_exit
        return unless @exited && @channel_closed
        return if @state == :dead
        @state = :dead
        Cluster.__forget(self)
        emit(:exit, @exit_code, @signal_code)
        Cluster.emit(:exit, self, @exit_code, @signal_code)
        Cluster.__after_exit
      end
    end

    @workers = {}
    @next_id = 0
    @listeners = {}
    @stopping = nil
    me = __self
    if me
      @self_id = me[0]
      @policy = me[2] == "shared" ? SCHED_SHARED : SCHED_REUSEPORT
    else
      @self_id = nil
      env = __sched_env
      @policy = env == "shared" ? SCHED_SHARED : SCHED_REUSEPORT
      @policy_from_env = env
    end

    class << self
      def primary?
        @self_id.nil?
      end

      def worker?
        !@self_id.nil?
      end

      # Cluster.worker: this worker (id, pid, send, disconnect, on(:message)); nil in the primary.
      def worker
        @self_worker
      end

      # The live workers (forked, not yet exited), by id; [] in a worker.
      def workers
        @workers.keys.sort.map { |id| @workers[id] }
      end

      # How workers share a listening socket: :reuseport (default: each worker binds its own
      # SO_REUSEPORT socket on the port the primary holds; the kernel spreads the connections
      # evenly) or :shared (the primary binds and passes its socket over the channel; the
      # workers accept on it, whoever wakes first). docs/script-api.md has the measurements.
      # Set in the primary before fork, or with MRUN_CLUSTER_SCHED=shared|reuseport.
      def scheduling_policy
        @policy
      end

      def scheduling_policy=(policy)
        raise Error.new("ERR_CLUSTER_SCHED", "the scheduling policy is the primary's") if worker?
        policy = policy.to_sym if policy.is_a?(String)
        unless POLICIES.include?(policy)
          raise ArgumentError, "scheduling_policy must be :shared or :reuseport, not #{policy.inspect}"
        end
        @policy = policy
      end

      # Starts n workers (default: one per core), each running this script with this process's
      # mrun flags and arguments; returns them (an Array, also for n = 1). Only the primary forks.
      def fork(n = nil)
        if worker?
          raise Error.new("ERR_CLUSTER_FORK_IN_WORKER",
                          "Cluster.fork is only available in the primary (this is worker #{@self_id})")
        end
        if @policy_from_env && !%w[shared reuseport].include?(@policy_from_env)
          raise ArgumentError, "MRUN_CLUSTER_SCHED must be shared or reuseport, not #{@policy_from_env.inspect}"
        end
        n = __cores if n.nil?
        unless n.is_a?(Integer) && n >= 1 && n <= 1024
          raise ArgumentError, "the number of workers must be an Integer in 1..1024, not #{n.inspect}"
        end
        # A primary that stops on a forwarded signal starts nothing new (an :exit handler that
        # restarts crashed workers would otherwise outrun the shutdown).
        return [] if @stopping
        __forward_signals
        Array.new(n) { __fork_one }
      end

      # In a worker: sends obj to the primary (its Cluster.on(:message) gets |worker, obj|).
      def send(obj)
        raise Error.new("ERR_IPC_CHANNEL_CLOSED", "Cluster.send is a worker's (the primary sends with worker.send)") unless worker?
        raise Error.new("ERR_IPC_CHANNEL_CLOSED", "the IPC channel is closed") unless @channel && @channel.__open?
        @channel.__post_message(obj)
      end

      # In a worker: Cluster.disconnect is Cluster.worker.disconnect. In the primary: every
      # worker's disconnect.
      def disconnect
        return __disconnect_self if worker?
        workers.each(&:disconnect)
        self
      end

      # --- internals: the primary -------------------------------------------------------------

      def __fork_one
        id = (@next_id += 1)
        w = Worker.new(id)
        ch = Channel.new
        err = w.__spawn(ch, id, @policy.to_s)
        raise Error.new(err[0], "cannot start cluster worker #{id}: #{err[1]}") if err
        w.__attach(ch)
        ch.__read_start
        ch.__ref(false) # the process handle keeps the loop alive while the worker runs
        @workers[id] = w
        emit(:fork, w)
        w
      end

      def __forget(w)
        @workers.delete(w.id)
        @listeners.each_value { |l| l.users.delete(w.id) }
        @listeners.keys.each do |key|
          l = @listeners[key]
          next unless l.users.empty?
          l.close
          @listeners.delete(key)
        end
      end

      # A worker's server listens on ip:port: one socket per address (port 0 too, as Node: the
      # workers listening on port 0 share one port), bound on the first request.
      def __serve_listen(w, seq, ip, port, backlog)
        key = "#{ip}:#{port}"
        l = @listeners[key]
        unless l
          l = __listener(ip, port, backlog, @policy == SCHED_REUSEPORT)
          if l.is_a?(Array)
            w.__channel.__post([:listen_err, seq, l[0], l[1], l[2]]) if w.connected?
            return
          end
          l.key = key
          l.users = []
          @listeners[key] = l
        end
        l.users << w.id unless l.users.include?(w.id)
        return unless w.connected?
        if @policy == SCHED_REUSEPORT
          w.__channel.__post([:listen_ok, seq, l.port])
        else
          w.__channel.__post([:listen_ok, seq, l.port], l)
        end
      end

      # SIGINT and SIGTERM: sent on to every worker; once the last one exited, the primary ends
      # by the same signal (unless the script has listeners of its own for it).
      def __forward_signals
        return if @forwarding
        @forwarding = {}
        [:SIGINT, :SIGTERM].each do |sig|
          l = proc { |name| __stop_on(name.to_sym) }
          @forwarding[sig] = l
          Process.on(sig, l)
        end
      end

      def __stop_on(sig)
        @stopping ||= sig
        workers.each { |w| w.kill(sig) }
        __after_exit
      end

      def __after_exit
        return unless @stopping && @workers.empty?
        sig = @stopping
        @forwarding.each { |s, l| Process.off(s, l) }
        @forwarding = nil
        Process.kill(sig, Process.pid) if Process.listener_count(sig) == 0
      end

      # --- internals: a worker ----------------------------------------------------------------

      def __start_worker(me)
        @self_worker = Worker.new(me[0])
        @channel = Channel.new
        @channel.__open_fd(me[1])
        @self_worker.__attach(@channel, Process.pid)
        @pending = {}
        @seq = 0
        @servers = []
        @disconnecting = false
        @channel.__read_start
        __update_ref
        @channel.__post([:online])
        @self_worker.instance_variable_set(:@state, :online)
      end

      # The worker's channel keeps it alive while the script listens for messages or waits for
      # a listen answer, as Node's: a worker with nothing else to do exits.
      def __update_ref
        return unless @channel && @channel.__open?
        keep = !@pending.empty? || listener_count(:message) > 0 || @self_worker.listener_count(:message) > 0
        @channel.__ref(keep)
      end

      # Net::Server#listen in a worker (net.rb's __listen_now): the primary's socket.
      def __listen(server, ip, port, backlog)
        unless @channel && @channel.__open?
          err = ["ERR_IPC_CHANNEL_CLOSED", "the IPC channel is closed"]
          return server.__send__(:__after_listen, err, [ip, port])
        end
        seq = (@seq += 1)
        @pending[seq] = [server, ip, port, backlog]
        @channel.__post([:listen, seq, ip, port, backlog])
        __update_ref
        server
      end

      def __worker_frame(msg, fd)
        case msg[0]
        when :m
          @self_worker.emit(:message, msg[1])
          emit(:message, msg[1])
        when :listen_ok, :listen_err
          req = @pending.delete(msg[1])
          __update_ref
          unless req
            __close_fd(fd) if fd
            return
          end
          server, ip, _port, backlog = req
          if msg[0] == :listen_err
            __close_fd(fd) if fd
            return server.__send__(:__after_listen, [msg[2], msg[3]], [ip, req[2]])
          end
          port = msg[2]
          if fd.nil? && @policy == SCHED_REUSEPORT
            fd = __bind_fd(ip, port)
            if fd.is_a?(Array)
              return server.__send__(:__after_listen, [fd[0], fd[1]], [ip, port])
            end
          end
          if fd.nil?
            return server.__send__(:__after_listen, ["EBADF", "no socket came with the answer"], [ip, port])
          end
          if @disconnecting
            __close_fd(fd)
            return server.__send__(:__after_listen, ["ERR_SERVER_NOT_RUNNING", "the worker is disconnecting"], [ip, port])
          end
          err = server.__listen_fd(fd, backlog)
          @servers << server unless err
          server.__send__(:__after_listen, err, [ip, port])
          @channel.__post([:listening, server.address]) if !err && @channel.__open?
        when :disconnect
          __close_fd(fd) if fd
          __disconnect_self
        else
          __close_fd(fd) if fd
        end
      end

      def __disconnect_self
        return self if @disconnecting
        @disconnecting = true
        open = @servers.select(&:listening?)
        @servers = []
        if open.empty?
          __close_channel
        else
          left = open.size
          open.each do |s|
            owner = s.instance_variable_get(:@__owner) || s
            owner.close { left -= 1; __close_channel if left == 0 }
          end
        end
        self
      end

      def __close_channel
        @channel.__close if @channel && @channel.__open?
      end

      # The primary closed the channel, or died: a worker that was not disconnecting exits (as
      # Node's); one that was ends when nothing else keeps its loop alive.
      def __worker_channel_closed
        @self_worker.instance_variable_set(:@state, :disconnected)
        @self_worker.instance_variable_set(:@channel_closed, true)
        @self_worker.emit(:disconnect)
        emit(:disconnect, @self_worker)
        exit(0) unless @disconnecting
      end

      private

      def __add_listener(event, listener, once)
        super
        __update_ref if worker? && event == :message
      end
    end

    __start_worker(me) if me
  end

  class Cluster::Worker
    private

    def __add_listener(event, listener, once)
      super
      Cluster.__update_ref if @self_pid && event == :message
    end
  end
end
