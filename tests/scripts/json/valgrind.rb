# valgrind.rb — JSON's paths that allocate outside the VM (the parser's copy, its value array
# and stack, the builder's stack) and those that raise half-way, for tests/scripts/valgrind_json.sh.
doc = JSON.generate((1..300).map { |i| {"id" => i, "s" => "é€ \"#{i}\"\n", "f" => i / 8.0, "a" => [i, nil, true, {"k" => [i]}]} })
20.times do
  v = JSON.parse(doc)
  raise "round trip" unless JSON.parse(JSON.generate(v)) == v
  JSON.pretty_generate(v)
  JSON.parse(doc, symbolize_names: true)
end
# Errors at every stage: early, late in a long document, nesting, UTF-8, surrogates.
bad = ["[1,", doc[0..-2], doc + "x", "[" * 200 + "]" * 200, "[\"\xff\"]", "[\"\\ud800\"]", "{\"a\" 1}",
       "[" * 100_000, "[01]", "[NaN]"]
bad.each do |t|
  begin
    JSON.parse(t)
    raise "parsed #{t[0, 20]}"
  rescue JSON::ParserError
  end
end
JSON.parse("[" * 20_000 + "]" * 20_000, max_nesting: false)
# The generator raising deep inside a structure (its String is the VM's: collected).
[[1, [2, {"x" => 0.0 / 0}]], ["ok", "b\xff"], (a = [1]; a << a; a)].each do |v|
  begin
    JSON.generate(v)
    raise "generated"
  rescue JSON::GeneratorError, JSON::NestingError
  end
end
class Raiser; def to_json(*) = raise(ArgumentError, "no"); end
begin; JSON.generate([1, {"r" => Raiser.new}]); rescue ArgumentError; end
# A Deferred worker's VM parses and generates too.
Deferred.new(doc) { |d| JSON.generate(JSON.parse(d)).size }.then { |n| puts "worker #{n}" }
