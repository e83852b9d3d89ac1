# A gradebook: CSV-like text parsed by hand, statistics per student and per subject, a
# histogram, ranking with ties, and a text table; the kind of script a teacher or a data person
# writes.
CSV_TEXT = <<~CSV
  name,math,physics,history,art
  Ada,95,88,72,60
  Brian,67,74,88,91
  Chen,88,92,79,85
  Dana,72,65,94,70
  Eve,95,81,66,77
CSV

Student = Struct.new(:name, :scores) do
  include Comparable
  def mean = scores.values.sum.fdiv(scores.size)
  def <=>(other) = [-mean, name] <=> [-other.mean, other.name]
  def best = scores.max_by { |_, v| v }.first
end

header, *rows = CSV_TEXT.lines.map(&:chomp).reject(&:empty?).map { |l| l.split(",") }
subjects = header.drop(1).map(&:to_sym)
students = rows.map { |name, *marks| Student.new(name, subjects.zip(marks.map(&:to_i)).to_h) }

puts "%-8s %s %7s %-8s" % ["name", subjects.map { |s| s.to_s[0, 4].rjust(5) }.join, "mean", "best"]
students.sort.each do |s|
  puts "%-8s %s %7.2f %-8s" % [s.name, s.scores.values.map { |v| v.to_s.rjust(5) }.join, s.mean, s.best]
end

by_subject = subjects.to_h { |sub| [sub, students.map { |s| s.scores[sub] }] }
by_subject.each do |sub, marks|
  sorted = marks.sort
  median = sorted.size.odd? ? sorted[sorted.size / 2] : sorted[sorted.size / 2 - 1, 2].sum / 2.0
  var = marks.sum { |m| (m - marks.sum.fdiv(marks.size))**2 } / marks.size
  puts format("%-8s min %3d max %3d median %5.1f sd %6.2f", sub, marks.min, marks.max, median, Math.sqrt(var))
end

hist = students.flat_map { |s| s.scores.values }.group_by { |m| m / 10 * 10 }.sort.to_h
hist.each { |bucket, ms| puts "#{bucket.to_s.rjust(3)}-#{bucket + 9}: #{'#' * ms.size}" }

ranked = students.sort_by { |s| -s.scores[:math] }.chunk_while { |a, b| a.scores[:math] == b.scores[:math] }
rank = 1
ranked.each do |group|
  puts "#{rank}. #{group.map(&:name).join(' = ')} (#{group.first.scores[:math]})"
  rank += group.size
end

matrix = students.map { |s| s.scores.values }
p matrix.transpose.map(&:sum), matrix.map(&:minmax), matrix.flatten.each_slice(5).map(&:max)
p students.map(&:name).each_with_index.to_h, students.each_with_object({}) { |s, h| h[s.best] = (h[s.best] || 0) + 1 }
p students.min.name, students.max.name, students.minmax.map(&:name), students.sort.first(2).map(&:name)
p students.map(&:mean).map { |m| m.round(1) }, students.sum(&:mean).round(3), students.count { |s| s.mean > 80 }
top = students.max_by(2, &:mean).map(&:name)
p top, students.partition { |s| top.include?(s.name) }.map(&:size), students.find { |s| s.name.start_with?("D") }&.name
p subjects.each_cons(2).map { |a, b| "#{a}/#{b}" }, subjects.rotate.first, subjects.each_with_index.map { |s, i| "#{i}:#{s}" }.join(",")
p [10, 20, 30, 40].bsearch { |x| x >= 25 }, [3, 1, 2].sort.reverse, (1..10).step(3).to_a, 1.step(10, 4).to_a, 10.downto(7).to_a
p "Ada".ljust(6, ".") + "|", "x".center(5).inspect, "%05.1f|%+.2e|%x|%o|%b|%08.3f" % [3.14159, 12345.678, 255, 8, 5, 3.5]
p students.map(&:name).sum(""), students.map(&:name).inject { |a, b| "#{a},#{b}" }, students.map(&:name).join.squeeze, method(:format).arity
