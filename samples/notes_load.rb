# notes_load.rb PORT [SECONDS] [CONNECTIONS] — a bounded load for notes_service.rb from
# 127.0.0.1: CONNECTIONS keep-alive connections (default 4), one request in flight on each, a
# mix of the service's routes, for SECONDS (default 3) and at least one whole cycle of the mix
# (CYCLE requests, every route at least once, however slow the service is: under valgrind on a
# loaded machine 2 s once made 8 requests, none of them GET /report). Prints one summary line
# per route.
port = Integer(ARGV[0] || raise(ArgumentError, "usage: notes_load.rb PORT [SECONDS] [CONNECTIONS]"))
seconds = (ARGV[1] || 3).to_f
conns = (ARGV[2] || 4).to_i
WORDS = %w[milk eggs bread call mum fix the bike read a book plan trip write tests profile server]
TAGS = %w[home shop work]

CYCLE = 50

def request_for(i)
  case i % CYCLE
  when 0 then ["GET", "/uptime", nil]
  when 10, 30 then ["GET", "/report", nil]
  when 5, 25, 45 then ["GET", "/files/README.md", nil]
  when 1...20 then ["POST", "/notes", JSON.generate({title: "note #{i}", tags: [TAGS[i % 3]],
                                                     body: Array.new(12) { |k| WORDS[(i * 7 + k * 3) % WORDS.size] }.join(" ")})]
  when 20...35 then ["GET", "/notes?tag=#{TAGS[i % 3]}", nil]
  else ["GET", "/notes/#{1 + i % 40}", nil]
  end
end

# A request that gets no answer in STALL seconds ends the load with status 1 and names the
# route, so a stuck service never hangs a demo or a test.
STALL = 10
waiting = {} # connection number => [route, sent at]
watchdog = set_interval(1000) do
  now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  waiting.each do |c, (r, at)|
    next if now - at < STALL
    warn "notes_load: no answer to #{r} on connection #{c} in #{STALL} s"
    exit 1
  end
end
watchdog.unref
counts = Hash.new(0)
statuses = Hash.new(0)
sent = 0
open = conns
deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)

conns.times do |c|
  sock = Net.create_connection(port: port, host: "127.0.0.1")
  buf = ""
  route = nil
  fire = lambda do
    now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    if now >= deadline && sent >= CYCLE
      waiting.delete(c)
      sock.end
      next
    end
    method, path, body = request_for(sent)
    sent += 1
    route = "#{method} #{path.sub(/\d+\z/, ":id").sub(/\?.*/, "")}"
    waiting[c] = [route, now]
    head = "#{method} #{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head << "Content-Type: application/json\r\nContent-Length: #{body.bytesize}\r\n" if body
    sock.write("#{head}\r\n#{body}")
  end
  sock.on(:connect) { fire.call }
  sock.on(:data) do |d|
    buf << d
    while (i = buf.index("\r\n\r\n"))
      len = buf[0, i][/^content-length:\s*(\d+)/i, 1].to_i
      break if buf.bytesize < i + 4 + len
      statuses[buf[9, 3]] += 1
      counts[route] += 1
      buf = buf[(i + 4 + len)..-1]
      fire.call
    end
  end
  sock.on(:error) { |e| warn "notes_load: #{e.message}" }
  sock.on(:close) do
    open -= 1
    if open == 0
      secs = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
      total = counts.values.sum
      puts format("notes_load: %d requests in %.1f s (%.0f/s) over %d connections; status %s",
                  total, secs, total / secs, conns, statuses.sort.map { |s, n| "#{s}: #{n}" }.join(", "))
      counts.sort.each { |r, n| puts format("  %-22s %6d", r, n) }
    end
  end
end
