# keepalive.rb PORT RAWPORT: an Agent reuses its connection for sequential requests (the server
# sees the same client port), agent: false opens one per request and sends Connection: close,
# max_sockets queues requests on the sockets it has, and a free socket the server closed is
# dropped, not reused (server.py --raw's /keepclose closes after each answer).
require_relative "helper"
deadline(20_000)
PORT = ARGV[0].to_i
RAW = ARGV[1].to_i

def port_of(res)
  res.headers["x-client-port"].to_i
end

steps([
  ["two sequential requests share one connection", proc do |done|
    agent = HTTP::Agent.new
    fetch(port: PORT, path: "/hello", agent: agent) do |r1, _|
      first = port_of(r1)
      set_immediate do
        check(agent.free_sockets["127.0.0.1:#{PORT}"]&.size == 1 && agent.sockets.empty?, "the connection waits in the pool: #{agent.free_sockets.keys}")
        fetch(port: PORT, path: "/hello", agent: agent) do |r2, b2|
          check(b2 == "hello world" && first > 0 && port_of(r2) == first, "same client port twice: #{first} #{port_of(r2)}")
          fetch(port: PORT, path: "/echo", method: "POST", agent: agent, body: "x") do |r3, _|
            check(port_of(r3) == first, "a POST reuses it too: #{port_of(r3)}")
            agent.destroy
            done.call
          end
        end
      end
    end
  end],
  ["the global agent keeps alive too", proc do |done|
    fetch("http://127.0.0.1:#{PORT}/hello") do |r1, _|
      fetch("http://127.0.0.1:#{PORT}/hello") do |r2, _|
        check(port_of(r1) == port_of(r2), "HTTP.global_agent reuses: #{port_of(r1)} #{port_of(r2)}")
        done.call
      end
    end
  end],
  ["agent: false", proc do |done|
    fetch(port: PORT, path: "/headers", agent: false) do |r1, b1|
      check(b1.include?("connection: close\n"), "agent: false sends Connection: close")
      fetch(port: PORT, path: "/hello", agent: false) do |r2, _|
        check(port_of(r1) != port_of(r2), "agent: false uses a new connection each time: #{port_of(r1)} #{port_of(r2)}")
        done.call
      end
    end
  end],
  ["keep_alive: false", proc do |done|
    agent = HTTP::Agent.new(keep_alive: false)
    fetch(port: PORT, path: "/hello", agent: agent) do |r1, _|
      fetch(port: PORT, path: "/hello", agent: agent) do |r2, _|
        check(port_of(r1) != port_of(r2) && agent.free_sockets.empty?, "keep_alive: false pools nothing")
        done.call
      end
    end
  end],
  ["a response with Connection: close is not pooled", proc do |done|
    agent = HTTP::Agent.new
    fetch(port: PORT, path: "/close", agent: agent) do |r1, b1|
      check(b1 == "bye" && r1.headers["connection"] == "close", "Connection: close response")
      set_immediate do
        check(agent.free_sockets.empty?, "nothing pooled after Connection: close")
        fetch(port: PORT, path: "/hello", agent: agent) do |r2, _|
          check(port_of(r2) != port_of(r1), "the next request has a new connection")
          agent.destroy
          done.call
        end
      end
    end
  end],
  ["an HTTP/1.0 response read until close", proc do |done|
    agent = HTTP::Agent.new
    fetch(port: RAW, path: "/http10", agent: agent) do |res, body|
      check(res.http_version == "1.0" && res.status == 200 && body == "old style", "HTTP/1.0 response: #{res.http_version} #{body.inspect}")
      set_immediate do
        check(agent.free_sockets.empty?, "an HTTP/1.0 connection is not pooled")
        done.call
      end
    end
  end],
  ["max_sockets: 1 queues", proc do |done|
    agent = HTTP::Agent.new(max_sockets: 1)
    ports = []
    3.times do |i|
      fetch(port: PORT, path: "/hello?#{i}", agent: agent) do |res, body|
        ports << port_of(res)
        if ports.size == 3
          check(ports.uniq.size == 1, "3 requests over 1 socket: #{ports}")
          agent.destroy
          done.call
        end
      end
    end
    set_immediate do
      check(agent.pending_requests["127.0.0.1:#{PORT}"] == 2, "2 wait for the socket: #{agent.pending_requests}")
    end
  end],
  ["max_sockets: 2 with 6 requests", proc do |done|
    agent = HTTP::Agent.new(max_sockets: 2)
    ports = []
    6.times do |i|
      fetch(port: PORT, path: "/hello?#{i}", agent: agent) do |res, body|
        ports << port_of(res)
        if ports.size == 6
          check(ports.uniq.size <= 2 && body == "hello world", "6 requests over at most 2 sockets: #{ports.uniq}")
          agent.destroy
          done.call
        end
      end
    end
  end],
  ["a free socket the server closed is not reused", proc do |done|
    agent = HTTP::Agent.new
    got = []
    step = nil
    step = proc do |n|
      fetch({ port: RAW, path: "/keepclose", agent: agent }) do |res, body|
        if res.is_a?(Exception)
          check(false, "request #{n} failed: #{res.message}")
          done.call
          next
        end
        got << [port_of(res), body]
        if n < 5
          # the next one right away: the server's FIN may not be read yet (a retry covers it)
          step.call(n + 1)
        else
          check(got.map { |g| g[1] } == ["ok"] * 5, "5 requests answered on connections the server closes: #{got.map { |g| g[1] }}")
          agent.destroy
          done.call
        end
      end
    end
    step.call(1)
  end],
  ["a free socket closed by the server while idle", proc do |done|
    agent = HTTP::Agent.new
    fetch({ port: RAW, path: "/keepclose", agent: agent }) do |res, body|
      set_immediate do
        pooled = agent.free_sockets["127.0.0.1:#{RAW}"]
        check(pooled&.size == 1, "the socket went to the pool")
        # when the server's FIN arrives, the pool drops the socket on its own (the pooled
        # socket is unref'd: an interval keeps mrun running until then)
        keeper = set_interval(1000) { }
        pooled[0].on(:close) do
          keeper.clear
          set_immediate do
            check(agent.free_sockets.empty?, "the closed free socket left the pool: #{agent.free_sockets}")
            fetch({ port: RAW, path: "/keepclose", agent: agent }) do |r2, b2|
              check(b2 == "ok" && !r2.socket.equal?(pooled[0]), "the next request opens a new connection")
              agent.destroy
              done.call
            end
          end
        end
      end
    end
  end],
])
