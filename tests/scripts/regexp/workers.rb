# Regexp in Deferred workers: every worker VM compiles its own patterns and matches at the same
# time as the others and the main VM. The same work on the main VM gives the expected answers.
# Usage: workers.rb [TASKS]
tasks = (ARGV[0] || 40).to_i
work = proc do |i|
  text = (0...2000).map { |k| "id=#{i * 1000 + k} ip=10.#{k % 256}.#{i % 256}.1 path=/a/#{k}" }.join("\n")
  ids = text.scan(/id=(\d+)/).size
  anon = text.gsub(/(\d+)\.(\d+)\.(\d+)\.(\d+)/) { "#{$1}.x" }
  paths = text.split(/\n/).map { |l| l[/path=(\S+)/, 1] }.uniq.size
  named = /(?<who>id)=(?<n>\d+)/.match(text, text.size / 2)
  bad = begin; Regexp.new("(" * (i % 3 + 1)); "no error"; rescue RegexpError => e; e.class.to_s; end
  [i, ids, anon.size, paths, named[:n], text =~ /ip=10\.0\./, bad, (text.sub(/\Aid/, "ID")[0, 2])]
end
expected = (0...tasks).map { |i| work.call(i) }
ds = (0...tasks).map do |i|
  Deferred.new(i) do |i|
    text = (0...2000).map { |k| "id=#{i * 1000 + k} ip=10.#{k % 256}.#{i % 256}.1 path=/a/#{k}" }.join("\n")
    ids = text.scan(/id=(\d+)/).size
    anon = text.gsub(/(\d+)\.(\d+)\.(\d+)\.(\d+)/) { "#{$1}.x" }
    paths = text.split(/\n/).map { |l| l[/path=(\S+)/, 1] }.uniq.size
    named = /(?<who>id)=(?<n>\d+)/.match(text, text.size / 2)
    bad = begin; Regexp.new("(" * (i % 3 + 1)); "no error"; rescue RegexpError => e; e.class.to_s; end
    [i, ids, anon.size, paths, named[:n], text =~ /ip=10\.0\./, bad, (text.sub(/\Aid/, "ID")[0, 2])]
  end
end
# Meanwhile the main VM matches too.
main = (0...200).map { |k| "k#{k}".sub(/k(\d+)/) { $1.to_i * 2 } }.last
Deferred.all(ds).then do |got|
  if got == expected && main == "398"
    puts "#{tasks} tasks in workers agree with the main VM"
  else
    bad = got.each_index.find { |i| got[i] != expected[i] }
    puts "MISMATCH at #{bad.inspect}: #{got[bad || 0].inspect} vs #{expected[bad || 0].inspect}; main #{main}"
  end
end.rescue { |e| puts "FAILED: #{e.class}: #{e.message}" }
