# gen_log.rb BYTES OUT: writes an access log of about BYTES bytes (Apache combined format) to
# OUT. Deterministic (its own LCG), so every engine reads the same file.
size = ARGV[0].to_i
out = ARGV[1]
seed = 12345
rnd = lambda do |n|
  seed = (seed * 1103515245 + 12345) % 2147483648
  seed % n
end
paths = %w[/ /index.html /api/v1/users /api/v1/orders /static/app.js /static/style.css
           /login /logout /search /api/v1/items /health /favicon.ico]
agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0",
          "curl/7.88.1", "Mozilla/5.0 (Macintosh; Intel Mac OS X 13_5) Safari/605.1.15",
          "python-requests/2.31.0"]
months = %w[Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec]
methods = %w[GET GET GET POST PUT DELETE]
codes = [200, 200, 200, 301, 404, 500]
lines = []
total = 0
while total < size
  ip = "#{rnd.call(223) + 1}.#{rnd.call(256)}.#{rnd.call(256)}.#{rnd.call(256)}"
  date = format("%02d/%s/%d:%02d:%02d:%02d +0000", rnd.call(28) + 1, months[rnd.call(12)],
                2020 + rnd.call(6), rnd.call(24), rnd.call(60), rnd.call(60))
  path = paths[rnd.call(paths.size)]
  path += "/#{rnd.call(100000)}" if path.start_with?("/api")
  path += "?q=#{rnd.call(1000)}&page=#{rnd.call(10)}" if rnd.call(4) == 0
  line = "#{ip} - - [#{date}] \"#{methods[rnd.call(methods.size)]} #{path} HTTP/1.1\" " \
         "#{codes[rnd.call(codes.size)]} #{rnd.call(50000)} \"-\" \"#{agents[rnd.call(agents.size)]}\"\n"
  lines << line
  total += line.size
end
File.open(out, "w") { |f| f.write(lines.join) }
