# workload.rb LOG NAME: one Regexp workload over the log, the same under ruby and mrun; prints
# "seconds checksum" (the checksum shows that both engines computed the same thing).
log = File.open(ARGV[0]) { |f| f.read }
name = ARGV[1]
t0 = Time.now
sum = case name
when "extract"
  # Per line: the client address, the date and the path, with =~ and the match globals.
  n = 0
  log.split("\n").each do |line|
    if line =~ /\A(\d+\.\d+\.\d+\.\d+) \S+ \S+ \[([^:\]]+):[^\]]*\] "[A-Z]+ ([^ ?"]+)/
      n += $1.size + $2.size + $3.size
    end
  end
  n
when "gsub_block"
  # Anonymise every address: a gsub with a block that reads the groups.
  log.gsub(/\b(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}\b/) { "#{$1}.#{$2}.0.0" }.size
when "gsub_string"
  # Rewrite every date, a string replacement with back-references.
  log.gsub(%r{(\d\d)/(\w{3})/(\d{4})}, '\3-\2-\1').size
when "scan"
  # Every request path and its status.
  log.scan(/"(?:GET|POST|PUT|DELETE) ([^ ?"]+)[^"]*" (\d{3})/).size
when "match_named"
  # Named captures through MatchData, per line.
  n = 0
  re = /(?<ip>\S+) \S+ \S+ \[(?<date>[^\]]+)\] "(?<method>\w+) (?<path>\S+)/
  log.split("\n").each do |line|
    m = re.match(line)
    n += m[:path].size if m && m[:method] == "GET"
  end
  n
else
  raise "unknown workload #{name}"
end
puts "#{Time.now - t0} #{sum}"
