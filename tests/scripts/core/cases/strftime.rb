ts = [Time.at(1700000000, 123456).utc, Time.at(1700000000, 987654), Time.at(86400*45+3600*13+7), Time.at(-1).utc]
dirs = %w[%Y %m %d %H %M %S %L %z %Z %a %b %j %s %e %F %T %% %A %B %c %C %D %g %G %h %I %k %l %n %p %P %r %R %t %u %U %V %w %W %x %X %y %N %3N %6N %12N %1L %:z %::z %+ %v %Q %E %O %-d %-m %_m %05d %^a %^B %#b %#p %-H %10A %-10A %010A %^10a %_5Y %-y %3j %-j %10z %-z %_10z %:::z %10s %-s %_10s %-e %0e %^p %#Z %^Z %10Z %10%]
dirs += ["%Y-%m-%dT%H:%M:%S.%L%z", "%^v"]
ts.each { |t| dirs.each { |d| puts "#{d} => [#{t.strftime(d)}]" } }
p ts[0].utc_offset, ts[1].utc_offset, ts[0].zone, ts[1].zone
t = Time.at(0).utc
%w[%z %-z %_z %0z %10z %-10z %_10z %010z %:z %-:z %_:z %10:z %_10:z %::z %10::z %:::z %-:::z %3z %_3z %^z %: %:Y %E %Ey %Od %EY %Ea %Oq %10s %-10s %_10s %10L %-3N %^10b %#10B %-_5d %_-5d %0-5d].each { |d| puts "#{d} [#{t.strftime(d)}] [#{ts[1].strftime(d)}]" }
["%", "%-", "a%", "%5", "%10", "x%_"].each { |d| begin; t.strftime(d); rescue ArgumentError => e; puts e.message; end }
