# ops.rb OP — runs one workload of the core additions and prints its wall seconds (the same file
# under CRuby and mrun: tests/bench/core.sh).
require "set"
require "uri"
require "cgi"
require "time"

op = ARGV[0]
big = ("name=J\u00f6rg & co <b>\"quoted\"</b> 100% / ok;" * 20_000) # ~1 MB, a bit of everything
work = {
  "set_include" => -> {
    s = Set.new(0...10_000)
    hits = 0
    i = 0
    while i < 1_000_000
      hits += 1 if s.include?(i % 20_000)
      i += 1
    end
    hits
  },
  "set_build_ops" => -> { 20.times { a = Set.new(0...20_000); b = Set.new(10_000...30_000); (a | b).size + (a & b).size + (a - b).size } },
  "uri_encode_1mb_x20" => -> { 20.times { URI.encode_www_form_component(big) } },
  "uri_decode_1mb_x20" => -> { e = URI.encode_www_form_component(big); 20.times { URI.decode_www_form_component(e) } },
  "cgi_escape_html_1mb_x20" => -> { 20.times { CGI.escapeHTML(big) } },
  "cgi_unescape_html_1mb_x20" => -> { e = CGI.escapeHTML(big); 20.times { CGI.unescapeHTML(e) } },
  "form_encode_decode_x20k" => -> { h = {"q" => "a b&c", "page" => 2, "tags" => %w[x y]}; 20_000.times { URI.decode_www_form(URI.encode_www_form(h)) } },
  "strftime_x200k" => -> { t = Time.at(1_700_000_000); 200_000.times { t.strftime("%Y-%m-%dT%H:%M:%S.%L%z %a %b") } },
  "array_sum_int_1m_x10" => -> { a = (1..1_000_000).to_a; 10.times { a.sum } },
  "array_sum_float_1m_x10" => -> { a = Array.new(1_000_000) { |i| i * 0.5 }; 10.times { a.sum } },
  "catch_throw_x100k" => -> { 100_000.times { |i| catch(:t) { throw :t, i } } },
  "struct_kw_new_x100k" => -> { s = Struct.new(:a, :b, keyword_init: true); 100_000.times { |i| s.new(a: i, b: i) } },
}
f = work[op] or abort("unknown op #{op}; one of: #{work.keys.join(' ')}")
t0 = Time.now
f.call
puts format("%.4f", Time.now - t0)
