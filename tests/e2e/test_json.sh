#!/usr/bin/env bash
# End-to-end tests of the JSON module (runtime/json.c on formats/json.c's strict mode): round
# trips, CRuby's json as the reference for output and error classes, every error the docs name
# (position, nesting, UTF-8, surrogates, NaN, generation), big integers, and JSON in a Deferred
# worker's VM. docs/script-api.md "## JSON" is the contract.
source "$(dirname "$0")/lib.sh"

RUBY=$(command -v ruby || true)
export RUBY

# The same script under CRuby (ruby -rjson) and mrun prints the same lines. Floats have at most
# 15 significant digits: Debian's mruby keeps 50 bits of a Float's mantissa (docs: ## JSON).
cat >/tmp/mrprof-json-same.rb.$$ <<'RUBY'
DOCS = [
  '{"a":[1,2.5,"x"],"b":{"c":null,"d":true,"e":false}}',
  '[1e20,1.0,-0.0,0.0001,1e-5,123456789012345.0,1.5e-7,100,3.14159,-2.5e-300,1E+2,0.5e1]',
  '"\u00e9\ud83d\ude00\n\t\"\\\/\u0000\u001f\u007f"',
  '[9223372036854775807,-9223372036854775808,0,-1,-0]',
  '{"nested":[[[[{"k":[]}]]]],"empty":{},"s":"\u0001","dup":1,"dup":2}',
  '{"unicode key \u00e9":"v","":0, "sp ace" : [ 1 , 2 ] }',
  ' 42 ', 'null', 'true', '"just a string"', '[]', '{}',
]
DOCS.each do |d|
  puts JSON.generate(JSON.parse(d))
  puts JSON.generate(JSON.parse(d, symbolize_names: true))
end
puts JSON.pretty_generate(JSON.parse(DOCS[0]))
puts JSON.pretty_generate([1, [2, {"x" => [3]}], {"y" => {"z" => "w"}}])
puts [1, -7, "a\"b", nil, true, false, 2.5, 1e100, :sym, {1 => 2, nil => 3, :k => [4]}, [1, [2]]].map { |v| v.to_json }.join(" ")
puts JSON.generate({"t" => Object.new.to_json.start_with?('"#<Object')})
puts JSON.parse('{"a":{"b":1}}', symbolize_names: true)[:a][:b]
p JSON.parse('[1,2]').class, JSON.parse('{"a":1}').keys.first.frozen?
['[1,', '[01]', '[1.]', '{"a" 1}', '[1] x', '', '[-]', '[tru]', '{1:2}', '["\ud800"]', '[NaN]',
 '["a' + "\t" + 'b"]', '[' * 101 + ']' * 101, '[.5]', '[+1]', '[1e]', "[1,\n  x]"].each do |t|
  begin
    JSON.parse(t)
    puts "parsed #{t}"
  rescue JSON::ParserError => e
    puts e.class
  end
end
[[0.0 / 0], [1.0 / 0], [-1.0 / 0]].each do |v|
  begin
    JSON.generate(v)
  rescue JSON::GeneratorError => e
    puts e.class
  end
  puts JSON.generate(v, allow_nan: true)
end
p JSON.parse('[NaN, Infinity, -Infinity]', allow_nan: true).map { |f| f.to_s }
p JSON.parse('[[[1]]]', max_nesting: 3), JSON.parse('[[[1]]]', max_nesting: false)
begin; JSON.parse('[[[1]]]', max_nesting: 2); rescue JSON::NestingError => e; puts e.class; end
begin; JSON.generate([[[1]]], max_nesting: 2); rescue JSON::NestingError => e; puts e.class; end
p JSON::NestingError.ancestors.include?(JSON::ParserError), JSON::ParserError.ancestors.include?(StandardError)
puts JSON.dump([1, "x"]), JSON.load('{"a":[NaN]}').keys
RUBY
export SAME=/tmp/mrprof-json-same.rb.$$
trap 'rm -f "$SAME"' EXIT

t_output_and_errors_match_cruby() {
    want=$("$RUBY" -rjson "$SAME" 2>&1) || fail "ruby failed: $want"
    run $MRUN "$SAME"
    expect_rc 0
    [ "$out" = "$want" ] || fail "mrun and CRuby differ: $(diff <(printf '%s\n' "$want") <(printf '%s\n' "$out") | head -20 | tr '\n' '|')"
}

t_parser_error_names_line_and_column() {
    run $MRUN -e 'begin; JSON.parse(%([1,\n 2,\n   x])); rescue JSON::ParserError => e; puts e.message; end'
    expect_rc 0
    expect_out "unexpected character 'x' at line 3 column 4: expected a value (an object, array, string, number, true, false or null)"
    run $MRUN -e 'begin; JSON.parse(%({"a": [1, 2)); rescue JSON::ParserError => e; puts e.message; end'
    expect_out "unexpected end of input at line 1 column 12: expected ',' or ']' after an array element"
    run $MRUN -e 'begin; JSON.parse(%([0123])); rescue JSON::ParserError => e; puts e.message; end'
    expect_out "a number with a leading zero at line 1 column 2"
    run $MRUN -e 'JSON.parse("{\"a\":}")'
    expect_rc 1; expect_err_has "unexpected character '}' at line 1 column 6"; expect_err_has "(JSON::ParserError)"
}

t_deep_nesting_is_an_error_not_a_crash() {
    # A million '[': NestingError at the default limit (100), and with the limit off the
    # parser's heap stack takes it (no recursion) and the generator stops at its own bound.
    run $MRUN -e 's = "[" * 1_000_000 + "]" * 1_000_000
      begin; JSON.parse(s); rescue JSON::NestingError => e; puts e.message; end
      v = JSON.parse(s, max_nesting: false); d = 0; while v.is_a?(Array) && !v.empty?; v = v[0]; d += 1; end; p d
      begin; JSON.parse("[" * 1_000_000); rescue JSON::ParserError => e; puts e.class; end
      deep = JSON.parse("[" * 5000 + "]" * 5000, max_nesting: 0)
      p JSON.generate(deep, max_nesting: false).size
      a = [1]; a << a; begin; JSON.generate(a); rescue JSON::NestingError => e; puts e.message; end
      begin; JSON.generate(a, max_nesting: false); rescue JSON::NestingError => e; puts e.message; end'
    expect_rc 0
    expect_out "$(printf 'nesting of 101 is too deep at line 1 column 101\n999999\nJSON::NestingError\n10000\nnesting of 101 is too deep\nnesting of 10001 is too deep')"
}

t_utf8_is_validated_and_surrogates_decoded() {
    run $MRUN -e '
      p JSON.parse(%(["\\ud83d\\ude00", "\\u00e9", "\\u20ac", "é€😀"])) == ["😀", "é", "€", "é€😀"]
      p JSON.parse(%(["\\u0000x"]))[0].bytes
      ["[\"\xff\"]", "[\"\xc3\"]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "{\"\xfe\": 1}",
       "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]", "[\"\\ud800\"]", "[\"\\u12\"]"].each do |t|
        begin; JSON.parse(t); puts "parsed"; rescue JSON::ParserError => e; puts e.message; end
      end
      begin; JSON.generate(["ok", "b\xffc"]); rescue JSON::GeneratorError => e; puts e.message; end
      begin; "\xe2\x82".to_json; rescue JSON::GeneratorError => e; puts e.class; end
      puts JSON.generate(["é€😀", "\u2028"])'
    expect_rc 0
    expect_out "$(printf '%s\n' true '[0, 120]' \
      'invalid UTF-8 in a string (byte 0xff) at line 1 column 3' \
      'invalid UTF-8 in a string (byte 0xc3) at line 1 column 3' \
      'invalid UTF-8 in a string (byte 0xc0) at line 1 column 3' \
      'invalid UTF-8 in a string (byte 0xed) at line 1 column 3' \
      'invalid UTF-8 in a string (byte 0xf4) at line 1 column 3' \
      'invalid UTF-8 in a string (byte 0xfe) at line 1 column 3' \
      'a lone surrogate \udc00 in a string (a low surrogate must follow a high one) at line 1 column 3' \
      'a lone surrogate \ud800 in a string (a high surrogate must be followed by a \u escape of a low one, DC00-DFFF) at line 1 column 3' \
      'a lone surrogate \ud800 in a string (a high surrogate must be followed by a \u escape of a low one, DC00-DFFF) at line 1 column 3' \
      'a bad \u escape in a string (four hex digits must follow) at line 1 column 3' \
      'source sequence is illegal/malformed utf-8 (byte 0xff at offset 1 of a String)' \
      'JSON::GeneratorError' \
      '["é€😀","'$'\u2028''"]')"
}

t_big_integers_exact_to_64_bits_then_float() {
    run $MRUN -e '
      a = JSON.parse("[9223372036854775807, -9223372036854775808, 9007199254740993, 9223372036854775808, 123456789012345678901234567890, 1e400]")
      p a[0], a[1], a[2], a[0].class, a[2].class, a[3].class, a[4].class, a[5]
      puts JSON.generate(a[0, 3])'
    expect_rc 0
    expect_out "$(printf '9223372036854775807\n-9223372036854775808\n9007199254740993\nInteger\nInteger\nFloat\nFloat\nInfinity\n[9223372036854775807,-9223372036854775808,9007199254740993]')"
}

t_to_json_of_other_objects() {
    run $MRUN -e '
      class Pt; def initialize(x); @x = x; end; def to_json(*a) = JSON.generate({"x" => @x}); end
      class One; def to_json(state) = "1"; end
      class Named; def to_s = "named!"; end
      class Bad; def to_json(*) = 5; end
      class MyArr < Array; end
      class K; def to_s = "k"; end
      puts JSON.generate([Pt.new(1), One.new, Named.new, {K.new => 3}, MyArr.new([1]), 1..2])
      puts Pt.new(3).to_json, Named.new.to_json
      begin; JSON.generate([Bad.new]); rescue TypeError => e; puts e.message; end'
    expect_rc 0
    expect_out "$(printf '%s\n' '[{"x":1},1,"named!",{"k":3},[1],"1..2"]' '{"x":3}' '"named!"' 'Bad#to_json returned Integer, not a String')"
}

t_to_json_that_changes_what_is_being_written_is_safe() {
    # A to_json or to_s that adds to, clears or drops (then collects) the Array or Hash being
    # written: no crash, no freed memory read (the asan suite checks), the output follows the
    # container as it is when the generator comes back to it.
    run $MRUN -e '
      class Adder; def initialize(h) = @h = h; def to_json(*) = (200.times { |i| @h["k#{i}"] = i }; GC.start; "1"); end
      class Clearer; def initialize(c) = @c = c; def to_json(*) = (@c.clear; 5.times { GC.start }; "2"); end
      class KeyS; def initialize(h) = @h = h; def to_s = (@h.clear; GC.start; "s"); end
      h = {}; h["a"] = Adder.new(h); h["z"] = 0; p JSON.parse(JSON.generate(h)).size
      a = []; a << Clearer.new(a) << [1] << "x"; puts JSON.generate(a)
      h2 = {}; h2["a"] = Clearer.new(h2); h2["b"] = "x" * 100; puts JSON.generate(h2)
      o = {"in" => [1, {"deep" => nil}]}; o["in"][1]["deep"] = Clearer.new(o); puts JSON.generate([o, 5])
      h3 = {}; h3[KeyS.new(h3)] = 1; h3["b"] = 2; puts JSON.generate(h3)'
    expect_rc 0
    expect_out "$(printf '%s\n' 202 '[2]' '{"a":2}' '[{"in":[1,{"deep":2}]},5]' '{"s":1}')"
}

t_bad_arguments_are_clear_errors() {
    run $MRUN -e '
      [-> { JSON.parse(nil) }, -> { JSON.parse(5) }, -> { JSON.parse("[]", max_nesting: "x") },
       -> { JSON.parse("[]", max_nesting: -1) }, -> { JSON.parse("[]", 5) }].each do |f|
        begin; f.call; rescue => e; puts "#{e.class}: #{e.message}"; end
      end'
    expect_rc 0
    expect_out_has "TypeError: JSON.parse needs a String, not NilClass"
    expect_out_has "TypeError: JSON.parse needs a String, not Integer"
    expect_out_has "TypeError: max_nesting must be an Integer, false or nil, not String"
    expect_out_has "ArgumentError: max_nesting must not be negative (-1)"
}

t_json_in_a_deferred_worker() {
    run $MRUN -e '
      doc = JSON.generate({"items" => (1..200).map { |i| {"id" => i, "name" => "n#{i}", "w" => i * 0.5} }})
      Deferred.new(doc) { |d| h = JSON.parse(d); [h["items"].size, JSON.generate(h["items"][-1]), (begin; JSON.parse("[1,"); rescue JSON::ParserError => e; e.message; end)] }
        .then { |v| p v }'
    expect_rc 0
    expect_out '[200, "{\"id\":200,\"name\":\"n200\",\"w\":100.0}", "unexpected end of input at line 1 column 4: expected a value"]'
}

t_profile_names_the_json_methods() {
    run $MRUN --cpu-prof --prof-out "$T/j.cpuprofile" -e '
      doc = JSON.generate((1..2000).map { |i| {"id" => i, "tags" => ["a", "b"], "v" => i * 1.5} })
      300.times { JSON.generate(JSON.parse(doc)) }'
    expect_rc 0
    run $MRPROF report "$T/j.cpuprofile"
    expect_rc 0
    expect_out_has "JSON.parse"
    expect_out_has "JSON.generate"
}

t_parsing_the_same_document_100_times_does_not_grow() {
    # No growth after GC: the process RSS and the live objects after parse + GC.start, 100
    # times over a 1 MB document, are those after the first 10 (a leak of the copy, the value
    # array or the parser's stack would be >= 1 MB a parse). Without a GC per parse the RSS
    # follows the incremental GC's timing instead (up to ~40 MB here, then flat). Under ASan
    # freed memory waits in a quarantine: none here, so the RSS means the same.
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" run $MRUN -e '
      doc = JSON.generate((1..10000).map { |i| {"id" => i, "name" => "item #{i}", "tags" => ["x", "y"], "score" => i * 0.25, "ok" => i % 2 == 1} })
      def rss = File.read("/proc/self/status").split("\n").find { |l| l.start_with?("VmRSS:") }.split[1].to_i
      def live = ObjectSpace.count_objects[:TOTAL] - ObjectSpace.count_objects[:FREE]
      10.times { JSON.parse(doc); GC.start }
      base_rss = rss; base_live = live
      100.times { JSON.parse(doc); GC.start }
      rss2 = rss; live2 = live
      puts "rss #{base_rss} -> #{rss2} kB, live #{base_live} -> #{live2}"
      puts(rss2 - base_rss < 1024 ? "rss flat" : "rss grew")
      puts(live2 - base_live < 100 ? "live flat" : "live grew")'
    expect_rc 0
    expect_out_has "rss flat"; expect_out_has "live flat"
}

t_gc_runs_during_parse_and_generate() {
    # The collector runs many times inside each call (interval 10 %): values the builder keeps
    # only in its own stack or key cache, and the generator's String, must survive it.
    run $MRUN -e '
      GC.interval_ratio = 10
      GC.step_ratio = 100
      doc = JSON.generate((1..3000).map { |i| {"id" => i, "name" => "n#{i}" * 3, "k#{i % 50}" => [i, {"x" => "y" * 30}], "f" => i / 4.0} })
      20.times do |r|
        v = JSON.parse(doc)
        w = JSON.parse(doc, symbolize_names: true)
        raise "mismatch #{r}" unless JSON.generate(v) == doc && JSON.generate(w) == doc
        raise "pretty" unless JSON.parse(JSON.pretty_generate(v)) == v
      end
      puts "same"'
    expect_rc 0; expect_out "same"
}

if [ -z "$RUBY" ] && [ "${1:-}" != --lib ]; then
    echo "ok - test_json: output_and_errors_match_cruby # SKIP ruby (CRuby, the reference) is not installed (tools/deps.sh test installs it)"
    unset -f t_output_and_errors_match_cruby
fi
[ "${1:-}" = --lib ] || run_tests
