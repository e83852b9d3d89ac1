# log_report.rb — Regexp at work: a report on an access log (Apache/nginx combined format), the
# lines parsed on the Deferred workers (each worker VM has Regexp too), the summary on the main
# thread.
#
#   build/mrun samples/log_report.rb [access.log]       # without a file: 20 000 made-up lines
#   build/mrun --cpu-prof samples/log_report.rb x.log   # String#scan, Regexp#match... by name

def sample_log(n)
  paths = %w[/ /login /api/v1/users/42 /api/v1/orders/7 /static/app.js /search]
  (0...n).map do |i|
    "10.0.#{i % 7}.#{i % 251} - - [26/Nov/2026:#{format('%02d', i % 24)}:00:00 +0000] " \
      "\"#{i % 5 == 0 ? 'POST' : 'GET'} #{paths[i % paths.size]}?page=#{i % 3} HTTP/1.1\" " \
      "#{[200, 200, 304, 404, 500][i % 5]} #{i * 37 % 5000} \"-\" \"curl/8.0\""
  end.join("\n")
end

text = ARGV[0] ? File.open(ARGV[0]) { |f| f.read } : sample_log(20_000)
lines = text.split(/\r?\n/)
chunks = lines.each_slice((lines.size / Deferred.pool_size) + 1).to_a

# Each worker counts its chunk: statuses, routes (numbers folded into :id), hours, bytes. (A
# Deferred block sees only its arguments: the pattern is written inside it.)
parts = chunks.map do |chunk|
  Deferred.new(chunk) do |chunk|
    re = /\A(?<ip>\d{1,3}(?:\.\d{1,3}){3}) \S+ \S+ \[(?<day>[^:]+):(?<hour>\d\d)[^\]]*\] "(?<method>[A-Z]+) (?<path>[^ ?"]*)[^"]*" (?<status>\d{3}) (?<bytes>\d+|-)/
    counts = { "status" => {}, "route" => {}, "hour" => {}, "bytes" => 0, "bad" => 0 }
    chunk.each do |line|
      m = re.match(line)
      unless m
        counts["bad"] += 1
        next
      end
      route = "#{m[:method]} #{m[:path].gsub(%r{/\d+(?=/|\z)}, '/:id')}"
      counts["status"][m[:status]] = (counts["status"][m[:status]] || 0) + 1
      counts["route"][route] = (counts["route"][route] || 0) + 1
      counts["hour"][m[:hour]] = (counts["hour"][m[:hour]] || 0) + 1
      counts["bytes"] += m[:bytes].to_i
    end
    counts
  end
end

Deferred.all(parts).then do |results|
  total = { "status" => {}, "route" => {}, "hour" => {}, "bytes" => 0, "bad" => 0 }
  results.each do |r|
    %w[status route hour].each { |k| r[k].each { |key, n| total[k][key] = (total[k][key] || 0) + n } }
    total["bytes"] += r["bytes"]
    total["bad"] += r["bad"]
  end
  puts "#{lines.size} lines (#{total['bad']} not in combined format), #{total['bytes']} bytes sent"
  puts "status: " + total["status"].sort.map { |s, n| "#{s}=#{n}" }.join(" ")
  puts "top routes:"
  total["route"].sort_by { |r, n| [-n, r] }.first(5).each { |r, n| puts format("  %6d  %s", n, r) }
  busiest = total["hour"].max_by { |h, n| n }
  puts "busiest hour: #{busiest[0]}:00 (#{busiest[1]} requests)"
  # The main VM matches too: mask the last two parts of each address.
  ips = text.scan(/^\d+\.\d+\.\d+\.\d+/).uniq
  puts "#{ips.size} clients, e.g. #{ips.first(3).map { |ip| ip.sub(/\.\d+\.\d+\z/, '.x.x') }.join(', ')}"
end
