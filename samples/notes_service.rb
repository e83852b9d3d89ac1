# notes_service.rb — a small, realistic JSON service on Net: what a newcomer's first profile
# should look like (handlers, Deferred workers, idle, memory), and a tour of mrun's standard
# pieces. Routes are matched with Regexp, bodies are JSON, a child process answers /uptime,
# files are served from a cache filled by non-blocking reads, SIGINT/SIGTERM close it cleanly,
# and a report is computed on the Deferred pool.
#
#   build/mrun samples/notes_service.rb [PORT]        (default 8080; 0 lets the system choose)
#   curl -s localhost:8080/notes -d '{"title":"milk","tags":["shop"]}'
#   curl -s localhost:8080/notes/1 ; curl -s 'localhost:8080/notes?tag=shop'
#   curl -s localhost:8080/report ; curl -s localhost:8080/uptime ; curl -s localhost:8080/files/README.md
#
#   build/mrun samples/notes_service.rb --demo SECONDS
#     listens on a free port, starts samples/notes_load.rb as a child process to load it from
#     127.0.0.1 for SECONDS, prints the load's summary and exits (what `make demo` profiles).
#
# HTTP here is the least a service needs (request line, headers, Content-Length bodies,
# keep-alive); the HTTP module will replace it.

MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024
ROOT = File.dirname(File.dirname(File.expand_path(__FILE__)))
STATUS = {200 => "OK", 201 => "Created", 400 => "Bad Request", 404 => "Not Found",
          413 => "Payload Too Large", 431 => "Request Header Fields Too Large",
          500 => "Internal Server Error"}

Deferred.setup do
  # Runs on the workers: the summary of every note's words (the service's CPU-heavy route).
  def word_report(texts)
    counts = Hash.new(0)
    texts.each do |t|
      t.downcase.scan(/[a-z][a-z']+/) { |w| counts[w] += 1 }
    end
    top = counts.sort_by { |w, n| [-n, w] }.first(10)
    {words: counts.values.sum, distinct: counts.size, top: top.map { |w, n| {word: w, count: n} }}
  end
end

class Store
  def initialize
    @notes = {}
    @next_id = 1
  end

  def add(title, body, tags)
    note = {id: @next_id, title: title, body: body, tags: tags, created: Time.now.to_i}
    @notes[@next_id] = note
    @next_id += 1
    note
  end

  def get(id) = @notes[id]
  def all = @notes.values
  def tagged(tag) = @notes.values.select { |n| n[:tags].include?(tag) }
end

class FileCache
  # Files under ROOT read once with FS.read_file (the loop keeps serving meanwhile), then
  # served from memory; waiting callers of the same file share one read.
  def initialize(root)
    @root = root
    @data = {}
    @waiting = {}
  end

  def fetch(name, &done)
    return done.call(nil, @data[name]) if @data.key?(name)
    return @waiting[name] << done if @waiting.key?(name)
    @waiting[name] = [done]
    FS.read_file(File.join(@root, name)) do |err, data|
      @data[name] = data unless err
      @waiting.delete(name).each { |cb| cb.call(err, data) }
    end
  end
end

class Service
  ROUTES = [
    ["GET", %r{\A/notes/(?<id>\d+)\z}, :show],
    ["GET", %r{\A/notes\z}, :index],
    ["POST", %r{\A/notes\z}, :create],
    ["GET", %r{\A/report\z}, :report],
    ["GET", %r{\A/uptime\z}, :uptime],
    ["GET", %r{\A/files/(?<name>[A-Za-z0-9_.-]+\.(md|rb|txt))\z}, :file],
  ]

  def initialize
    @store = Store.new
    @files = FileCache.new(ROOT)
    @requests = 0
  end

  attr_reader :requests

  # req: {method:, path:, query:, headers:, body:}; answer(status, obj_or_string, type)
  def handle(req, &answer)
    @requests += 1
    ROUTES.each do |verb, re, action|
      next unless verb == req[:method]
      m = re.match(req[:path])
      return send(action, req, m, &answer) if m
    end
    answer.call(404, {error: "no route for #{req[:method]} #{req[:path]}"})
  end

  def index(req, m)
    tag = query(req[:query])["tag"]
    yield 200, (tag ? @store.tagged(tag) : @store.all)
  end

  def show(req, m)
    note = @store.get(m[:id].to_i)
    note ? yield(200, note) : yield(404, {error: "no note #{m[:id]}"})
  end

  def create(req, m)
    doc = JSON.parse(req[:body], symbolize_names: true)
    title = doc[:title]
    unless title.is_a?(String) && !title.strip.empty?
      return yield(400, {error: "title must be a non-empty string"})
    end
    tags = Array(doc[:tags]).map(&:to_s)
    yield 201, @store.add(title.strip, doc[:body].to_s, tags)
  rescue JSON::ParserError => e
    yield 400, {error: "bad JSON: #{e.message}"}
  end

  def report(req, m)
    texts = @store.all.map { |n| "#{n[:title]} #{n[:body]}" }
    Deferred.new(texts) { |t| word_report(t) }
            .then { |r| yield 200, r }
            .rescue { |e| yield 500, {error: e.message} }
  end

  def uptime(req, m)
    ChildProcess.exec("uptime") do |err, out, _err_out|
      err ? yield(500, {error: err.message}) : yield(200, {uptime: out.strip})
    end
  end

  def file(req, m)
    @files.fetch(m[:name]) do |err, data|
      if err
        yield 404, {error: "#{m[:name]}: #{err.code}"}
      else
        yield 200, data, "text/plain; charset=utf-8"
      end
    end
  end

  def query(q)
    out = {}
    (q || "").split("&").each do |pair|
      k, v = pair.split("=", 2)
      out[URI.decode_www_form_component(k)] = URI.decode_www_form_component(v || "") if k
    end
    out
  end
end

# One connection: parse requests as they arrive (pipelined ones in order), answer each once.
def serve(sock, service)
  buf = ""
  queue = [] # answers in request order; nil while a route still works on it
  flush = lambda do
    out = ""
    out << queue.shift while queue.first
    sock.pause unless out.empty? || sock.write(out)
  end
  sock.on(:drain) { sock.resume }
  sock.on(:error) { |e| }
  sock.on(:data) do |data|
    buf << data
    loop do
      head_end = buf.index("\r\n\r\n")
      if head_end.nil?
        if buf.bytesize > MAX_HEAD
          sock.end(response(431, {error: "request head over #{MAX_HEAD} bytes"}, nil, false))
          buf = ""
        end
        break
      end
      lines = buf[0, head_end].split("\r\n")
      method, target, version = lines.shift.to_s.split(" ", 3)
      unless version =~ %r{\AHTTP/1\.[01]\z}
        sock.end(response(400, {error: "bad request line"}, nil, false))
        buf = ""
        break
      end
      headers = {}
      lines.each do |l|
        k, v = l.split(":", 2)
        headers[k.strip.downcase] = v.to_s.strip if k
      end
      len = headers.fetch("content-length", "0").to_i
      if len > MAX_BODY
        sock.end(response(413, {error: "body over #{MAX_BODY} bytes"}, nil, false))
        buf = ""
        break
      end
      break if buf.bytesize < head_end + 4 + len
      body = buf[head_end + 4, len]
      buf = buf[(head_end + 4 + len)..-1]
      path, q = target.split("?", 2)
      slot = queue.size
      queue << nil
      keep = headers["connection"] != "close"
      service.handle({method: method, path: path, query: q, headers: headers, body: body}) do |st, obj, type|
        queue[slot] = response(st, obj, type, keep)
        flush.call
      end
    end
  end
end

def response(status, obj, type, keep)
  body = obj.is_a?(String) ? obj : JSON.generate(obj)
  "HTTP/1.1 #{status} #{STATUS[status]}\r\nContent-Type: #{type || "application/json"}\r\n" \
    "Content-Length: #{body.bytesize}\r\nConnection: #{keep ? "keep-alive" : "close"}\r\n\r\n#{body}"
end

demo = ARGV[0] == "--demo" ? (ARGV[1] || 3).to_f : nil
port = demo ? 0 : (ARGV[0] || 8080).to_i
service = Service.new
server = Net.create_server { |sock| serve(sock, service) }
server.on(:error) do |e|
  warn "notes_service: #{e.message}"
  exit 1
end
stop = lambda do |sig|
  warn "notes_service: #{sig}, closing after #{service.requests} requests"
  server.close
end
Process.on(:SIGINT, &stop)
Process.on(:SIGTERM, &stop)

server.listen(port) do
  port = server.address[:port]
  if demo
    load = ChildProcess.spawn(File.join(ROOT, "build", "mrun"),
                              [File.join(ROOT, "samples", "notes_load.rb"), port.to_s, demo.to_s])
    load.stdout.on(:data) { |d| print d }
    load.stderr.on(:data) { |d| $stderr.print d }
    load.on(:exit) do |status, signal|
      warn "notes_service: the load ended with #{signal || status}" unless status == 0
      Process.off(:SIGINT)
      Process.off(:SIGTERM)
      server.close
    end
  else
    puts "notes_service listening on http://127.0.0.1:#{port}/"
  end
end
