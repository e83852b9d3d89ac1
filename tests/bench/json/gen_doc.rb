# gen_doc.rb MB — prints a JSON document of about MB megabytes (10 by default), the same bytes
# under CRuby and mrun: an API-style array of records with strings (some non-ASCII and escaped),
# integers, floats, booleans, nulls and nested arrays and objects.
mb = (ARGV[0] || 10).to_i
names = %w[alpha beta gamma delta epsilon zeta eta theta iota kappa]
out = []
size = 2
i = 0
while size < mb * 1_000_000
  rec = "{\"id\":#{i},\"name\":\"#{names[i % 10]} #{i}\",\"city\":\"Z\\u00fcrich \\\"#{i % 97}\\\"\"," \
        "\"price\":#{(i % 10_000) / 8.0},\"ratio\":#{i % 7}.#{i % 1000}25,\"active\":#{i % 2 == 0 ? 'true' : 'false'}," \
        "\"note\":null,\"tags\":[\"t#{i % 13}\",\"t#{i % 17}\",\"é€\"],\"dims\":{\"w\":#{i % 300},\"h\":#{i % 200},\"d\":[#{i % 5},#{i % 11},#{-i}]}}"
  out << rec
  size += rec.bytesize + 1
  i += 1
end
print "[", out.join(","), "]"
