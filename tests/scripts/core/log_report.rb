# A log analyser as a Ruby user writes it: parse access-log lines, aggregate per route and
# status, print a report with percentiles. No Regexp (split and slicing only).
require "set"
require "time"
require "uri"
require "cgi"

LOG = <<~LOG
  2024-03-01T10:00:01Z GET /api/users 200 12.5 alice
  2024-03-01T10:00:02Z GET /api/users 200 10.1 bob
  2024-03-01T10:00:02Z POST /api/orders 201 45.0 alice
  2024-03-01T10:00:03Z GET /api/orders/17 404 3.2 carol
  2024-03-01T10:00:05Z GET /api/users 500 120.9 bob
  2024-03-01T10:00:07Z DELETE /api/orders/17 204 8.8 alice
  2024-03-01T10:00:08Z GET /health 200 0.4 -
  2024-03-01T10:00:09Z GET /api/users?page=2&q=a%20b 200 14.0 dave
LOG

Entry = Struct.new(:at, :verb, :path, :status, :ms, :user, keyword_init: true) do
  def error? = status >= 500
  def route = path.split("?").first.split("/").map { |seg| seg.to_i.to_s == seg ? ":id" : seg }.join("/")
  def query = URI.decode_www_form(path.split("?", 2)[1].to_s).to_h
end

entries = LOG.each_line.map(&:strip).reject(&:empty?).map do |line|
  at, verb, path, status, ms, user = line.split(" ")
  Entry.new(at: at, verb: verb, path: path, status: Integer(status), ms: Float(ms), user: user == "-" ? nil : user)
end

def percentile(sorted, pct)
  return nil if sorted.empty?
  sorted[((sorted.size - 1) * pct / 100.0).round]
end

by_route = entries.group_by { |e| [e.verb, e.route] }
puts format("%-8s %-18s %5s %8s %8s", "verb", "route", "hits", "p50 ms", "p99 ms")
by_route.sort_by { |(verb, route), es| [-es.size, route, verb] }.each do |(verb, route), es|
  ms = es.map(&:ms).sort
  puts format("%-8s %-18s %5d %8.1f %8.1f", verb, route, es.size, percentile(ms, 50), percentile(ms, 99))
end

users = entries.map(&:user).compact.to_set
puts "users: #{users.size} #{users.to_a.sort.join(', ')}"
puts "statuses: #{entries.map(&:status).tally.sort.map { |s, n| "#{s}x#{n}" }.join(' ')}"
puts "errors: #{entries.count(&:error?)} (#{(100.0 * entries.count(&:error?) / entries.size).round(1)}%)"
puts "slowest: #{entries.max_by(&:ms).to_h.slice(:verb, :path, :ms)}"
puts "bytes of routes: #{entries.sum { |e| e.route.size }}, odd statuses: #{entries.map(&:status).select(&:odd?).uniq}"
puts "query of last: #{entries.last.query}"
puts "each_slice: #{entries.map(&:status).each_slice(3).map(&:sum)}"
puts "minmax ms: #{entries.map(&:ms).minmax}, mean #{(entries.sum(&:ms) / entries.size).round(2)}"
first = entries.first
puts "first user: #{first.user.ljust(8, '.')}|#{first.verb.center(9, '*')}|#{first.status.to_s.rjust(5, '0')}"
puts "window: #{entries.map(&:at).minmax.join(' .. ')}"
puts "by user: #{entries.select(&:user).group_by(&:user).transform_values { |es| es.sum(&:ms).round(1) }.sort_by { |u, t| -t }.first(2).to_h}"
puts "html: #{CGI.escapeHTML('<b>' + first.path + '</b> & more')}"
t = Time.at(1709287201).utc
puts t.strftime("report at %Y-%m-%d %H:%M:%S %Z (day %j, %a %b %-d)"), t.iso8601, t.iso8601(3)
