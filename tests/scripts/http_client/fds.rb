# fds.rb PORT N: N requests at once on a fresh pool, then N with agent: false; once every
# socket has closed (the pool destroyed), the process holds as many file descriptors as before.
require_relative "helper"
deadline(60_000)
PORT = ARGV[0].to_i
N = (ARGV[1] || "100").to_i

def fd_count
  (0...4096).count { |i| File.exist?("/proc/self/fd/#{i}") }
end

# runs N requests at once; calls back when all answered and every socket they used has closed
def batch(opts, agent_of)
  sockets = []
  closed = 0
  answered = 0
  all_closed = nil
  N.times do |i|
    req = HTTP.get(opts.merge(path: "/hello?#{i}", agent: agent_of.call)) do |res|
      res.read_body do |body|
        answered += 1
        check(body == "hello world", "answer #{i}") if body != "hello world"
        yield(:answered, sockets, proc { |cb| all_closed = cb }) if answered == N
      end
    end
    req.on(:socket) do |s|
      next if sockets.include?(s)
      sockets << s
      s.on(:close) do
        closed += 1
        all_closed&.call if closed == sockets.size && answered == N
      end
    end
    req.on(:error) { |e| check(false, "request #{i}: #{e.message}") }
  end
end

# a first request opens what the loop keeps for good (libuv's spare fd, the resolver...)
HTTP.get(port: PORT, path: "/hello", agent: false) do |res|
  res.on(:end) do
    set_immediate do
      before = fd_count
      agent = HTTP::Agent.new
      batch({ port: PORT }, proc { agent }) do |_, sockets, on_closed|
        check(sockets.size <= N && !agent.free_sockets.empty?, "#{N} requests on a pool of #{sockets.size} sockets")
        on_closed.call(proc do
          set_immediate do
            check(fd_count == before, "pool destroyed: fds back to #{before} (#{fd_count})")
            batch({ port: PORT }, proc { false }) do |_, sockets2, on_closed2|
              on_closed2.call(proc do
                set_immediate do
                  check(sockets2.size == N, "agent: false used #{sockets2.size} connections")
                  check(fd_count == before, "agent: false: fds back to #{before} (#{fd_count})")
                  finish
                end
              end)
            end
          end
        end)
        agent.destroy
      end
    end
  end
end
