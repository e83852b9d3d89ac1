# kv_server.rb — a small HTTP key-value service on Net, as a user would write one: request
# parsing, a router, an LRU cache in front of a "store", and one CPU-heavy endpoint.
#
#   mrun kv_server.rb [PORT] [http]   (0: the system chooses; the port is printed on stdout;
#                                      "http": the same service on the HTTP module, no hand parsing)
#
# Routes:  GET /get/KEY (cached)   GET /set/KEY/VALUE   GET /report/N (Report#checksum of N
# rounds: the hot method)   GET /quit (answers, then closes the server so the process ends).
class LRUCache
  def initialize(capacity)
    @capacity = capacity
    @entries = {}
    @hits = 0
    @misses = 0
  end

  def fetch(key)
    if @entries.key?(key)
      @hits += 1
      value = @entries.delete(key)
      @entries[key] = value # most recently used last
      return value
    end
    @misses += 1
    value = yield(key)
    @entries[key] = value
    @entries.delete(@entries.keys.first) if @entries.size > @capacity
    value
  end

  def stats
    "hits=#{@hits} misses=#{@misses}"
  end
end

class Store
  def initialize
    @data = {}
  end

  def get(key)
    @data[key] || "(none)"
  end

  def set(key, value)
    @data[key] = value
  end

  def size
    @data.size
  end
end

class Report
  # The CPU-heavy work of the service: plain integer arithmetic, no method calls.
  def checksum(rounds)
    h = 7
    i = 0
    while i < rounds
      h = (h * 31 + i) & 0xffffff
      i += 1
    end
    h
  end
end

class Request
  attr_reader :verb, :path

  def self.parse(head)
    line = head.split("\r\n", 2).first || ""
    verb, path, = line.split(" ")
    new(verb || "", path || "/")
  end

  def initialize(verb, path)
    @verb = verb
    @path = path
  end

  def parts
    @path.split("/").reject(&:empty?)
  end
end

class Router
  def initialize
    @routes = {}
  end

  def on(name, &handler)
    @routes[name] = handler
  end

  def call(req)
    parts = req.parts
    handler = @routes[parts.first]
    return [404, "no route for #{req.path}\n"] unless handler
    handler.call(*parts[1..-1])
  end
end

def respond(sock, status, body)
  reason = status == 200 ? "OK" : "Not Found"
  sock.write("HTTP/1.1 #{status} #{reason}\r\nContent-Type: text/plain\r\n" \
             "Content-Length: #{body.bytesize}\r\nConnection: keep-alive\r\n\r\n#{body}")
end

store = Store.new
cache = LRUCache.new(64)
report = Report.new
server = nil
router = Router.new
router.on("get") { |key| [200, cache.fetch(key) { |k| store.get(k) } + "\n"] }
router.on("set") { |key, value| store.set(key, value); [200, "stored #{store.size}\n"] }
router.on("report") { |n| [200, "checksum #{report.checksum((n || "20000").to_i)}\n"] }
router.on("quit") do
  set_timeout(50) { server.close }
  [200, "bye #{cache.stats}\n"]
end

server = if ARGV[1] == "http"
  HTTP.create_server do |req, res|
    status, body = router.call(Request.new(req.method, req.path))
    res.write_head(status, "Content-Type" => "text/plain")
    res.end(body)
  end
else
  Net.create_server do |sock|
    pending = ""
    sock.on(:data) do |data|
      pending += data
      while (i = pending.index("\r\n\r\n"))
        head = pending[0, i]
        pending = pending[(i + 4)..-1]
        status, body = router.call(Request.parse(head))
        respond(sock, status, body)
      end
    end
    sock.on(:error) { |e| } # a client that resets is not the server's problem
  end
end
server.on(:error) do |e|
  warn "kv_server: #{e.message}"
  exit 1
end
server.listen((ARGV[0] || 0).to_i, "127.0.0.1") do
  puts "listening #{server.address[:port]}"
  $stdout.flush
end
