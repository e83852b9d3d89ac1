# child.rb — the Ruby half of ChildProcess (the C half is runtime/child.c): Node's
# child_process.spawn and exec for mrun.
#
#   cat = ChildProcess.spawn("cat")
#   cat.stdout.on(:data) { |d| print d }
#   cat.on(:exit) { |status, signal| puts "exit #{status.inspect} #{signal.inspect}" }
#   cat.stdin.write("hello\n"); cat.stdin.end
#
#   ChildProcess.exec("ls -l | wc -l") { |err, out, err_out| puts out }
#
# Nothing blocks: the child runs beside the loop, its output arrives as :data events on
# Net::Sockets (same events and backpressure as any socket) and its end as :exit then :close.
class ChildProcess
  include EventEmitter

  # A child that could not be started (code "ENOENT", syscall "spawn cmd", path, spawnargs), or
  # an exec that failed (code = the exit status or "ERR_CHILD_PROCESS_STDIO_MAXBUFFER", killed,
  # signal, cmd), as Node's errors.
  class Error < StandardError
    attr_reader :code, :syscall, :path, :spawnargs, :killed, :signal, :cmd

    def initialize(message, code: nil, syscall: nil, path: nil, spawnargs: nil, killed: false,
                   signal: nil, cmd: nil)
      @code = code
      @syscall = syscall
      @path = path
      @spawnargs = spawnargs
      @killed = killed
      @signal = signal
      @cmd = cmd
      super(message)
    end
  end

  # Node's default byte limit of exec's stdout and stderr each.
  MAX_BUFFER = 1024 * 1024

  attr_reader :stdin, :stdout, :stderr, :spawnfile, :spawnargs, :exit_code, :signal_code

  # spawn(cmd, args = [], env: nil, cwd: nil, stdio: :pipe, detached: false): starts cmd (looked
  # up in PATH) with args, no shell. env replaces the environment, as Node's (a Hash; nil
  # inherits ours). stdio: :pipe, :inherit or :ignore for all three, or an Array of three of
  # those (or Integer fds). A program that cannot be started is an :error event (ENOENT...).
  def self.spawn(cmd, args = [], env: nil, cwd: nil, stdio: :pipe, detached: false)
    new.__start(cmd, args, env, cwd, stdio, detached)
  end

  # exec(command, timeout: 0, max_buffer: 1 MiB, kill_signal: :SIGTERM, env:, cwd:)
  #   { |err, stdout, stderr| }: runs command through /bin/sh -c and calls the block once it
  # ended and its output is all in: err is nil when it exited 0, else a ChildProcess::Error
  # ("Command failed: ..." with code = the exit status, or killed/signal).
  def self.exec(command, timeout: 0, max_buffer: MAX_BUFFER, kill_signal: :SIGTERM, env: nil,
                cwd: nil, &callback)
    raise TypeError, "exec takes a String command, not #{command.class}" unless command.is_a?(String)
    unless max_buffer.is_a?(Integer) && max_buffer > 0
      raise ArgumentError, "max_buffer must be a positive Integer, not #{max_buffer.inspect}"
    end
    unless timeout.is_a?(Integer) && timeout >= 0
      raise ArgumentError, "timeout must be a non-negative Integer (ms), not #{timeout.inspect}"
    end
    Process.__signo(kill_signal)
    child = spawn("/bin/sh", ["-c", command], env: env, cwd: cwd)
    child.__exec(command, timeout, max_buffer, kill_signal, callback)
  end

  def initialize
    @exit_code = nil
    @signal_code = nil
    @killed = false
  end

  def killed?
    @killed
  end

  # Sends sig (default SIGTERM; a name, Symbol or number); true when it was sent, false when
  # the child is gone (or never started), as Node's.
  def kill(sig = :SIGTERM)
    err = __kill(Process.__signo(sig))
    @killed = true unless err
    err.nil?
  end

  # --- internals --------------------------------------------------------------------------

  def __start(cmd, args, env, cwd, stdio, detached)
    raise TypeError, "cmd must be a String, not #{cmd.class}" unless cmd.is_a?(String)
    raise ArgumentError, "cmd must not be empty" if cmd.empty?
    raise TypeError, "args must be an Array, not #{args.class}" unless args.is_a?(Array)
    args = args.map do |a|
      raise TypeError, "args must be Strings, not #{a.class}" unless a.is_a?(String) || a.is_a?(Numeric) || a.is_a?(Symbol)
      a.to_s
    end
    @spawnfile = cmd
    @spawnargs = [cmd] + args
    env_list = nil
    if env
      raise TypeError, "env must be a Hash, not #{env.class}" unless env.is_a?(Hash)
      env_list = []
      env.each do |k, v|
        next if v.nil?
        k = k.to_s
        raise ArgumentError, "invalid environment variable name: #{k.inspect}" if k.empty? || k.include?("=")
        env_list << "#{k}=#{v}"
      end
    end
    raise TypeError, "cwd must be a String, not #{cwd.class}" unless cwd.nil? || cwd.is_a?(String)
    modes = stdio.is_a?(Array) ? stdio : [stdio, stdio, stdio]
    raise ArgumentError, "stdio must be :pipe, :inherit, :ignore or an Array of 3 of those" unless modes.size == 3
    names = %w[stdin stdout stderr]
    entries = modes.each_with_index.map do |m, i|
      m = m.to_sym if m.is_a?(String)
      case m
      when :pipe, nil then Net::Socket.new
      when :inherit, :ignore then m
      when Integer then m
      else raise ArgumentError, "stdio[#{i}] must be :pipe, :inherit, :ignore or an fd, not #{m.inspect}"
      end
    end
    @open_streams = 0
    @exited = false
    err = __spawn(cmd, @spawnargs, env_list, cwd, entries, detached)
    pipes = []
    entries.each_with_index do |e, i|
      next unless e.is_a?(Net::Socket)
      pipes << e
      instance_variable_set(:"@#{names[i]}", e)
    end
    if err
      error = Error.new("spawn #{cmd} #{err[0]} (#{err[1]})", code: err[0], syscall: "spawn #{cmd}",
                        path: cmd, spawnargs: args)
      pipes.each(&:destroy)
      set_immediate do
        emit(:error, error)
        emit(:close, nil, nil)
      end
      return self
    end
    pipes.each do |sock|
      @open_streams += 1
      sock.on(:close) { __stream_closed }
      sock.__attach_stdio(sock.equal?(@stdin) ? "child stdin" : (sock.equal?(@stdout) ? "child stdout" : "child stderr"),
                          !sock.equal?(@stdin))
    end
    self
  end

  # From child.c: the process ended (status nil when a signal ended it; signal "SIGTERM").
  def __on_exit(status, signal)
    @exit_code = status
    @signal_code = signal
    @exited = true
    @stdin&.destroy # nothing reads it any more, as Node does
    emit(:exit, status, signal)
    __maybe_close
  end

  def __stream_closed
    @open_streams -= 1
    __maybe_close
  end

  def __maybe_close
    return unless @exited && @open_streams == 0 && !@closed
    @closed = true
    emit(:close, @exit_code, @signal_code)
  end

  def __exec(command, timeout, max_buffer, kill_signal, callback)
    out = String.new
    err_out = String.new
    error = nil
    timer = nil
    # As Node's exec: stop reading (a grandchild of the shell may hold the pipes open) and
    # signal the child; the callback runs once it exited.
    stop = lambda do
      @stdout&.destroy
      @stderr&.destroy
      kill(kill_signal)
    end
    over = lambda do |which|
      error ||= Error.new("#{which} maxBuffer length exceeded", code: "ERR_CHILD_PROCESS_STDIO_MAXBUFFER",
                          cmd: command)
      stop.call
    end
    @stdout&.on(:data) do |d|
      room = max_buffer - out.bytesize
      if d.bytesize > room
        out << d.byteslice(0, room) if room > 0
        over.call("stdout")
      else
        out << d
      end
    end
    @stderr&.on(:data) do |d|
      room = max_buffer - err_out.bytesize
      if d.bytesize > room
        err_out << d.byteslice(0, room) if room > 0
        over.call("stderr")
      else
        err_out << d
      end
    end
    if timeout > 0
      timer = set_timeout(timeout) do
        timer = nil
        stop.call
      end
    end
    on(:error) { |e| error ||= e }
    on(:close) do |status, signal|
      timer&.clear
      if error.nil? && status != 0
        error = Error.new("Command failed: #{command}\n#{err_out}", code: status, killed: @killed,
                          signal: signal, cmd: command)
      end
      callback&.call(error, out, err_out)
    end
    self
  end
end
