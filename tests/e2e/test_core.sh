#!/usr/bin/env bash
# End-to-end tests of the core methods mrun adds to Debian's mruby (runtime/core.c and
# runtime/prelude/vm/): each checked against what CRuby 3.1 prints for the same script, in the main
# VM and in a Deferred worker's VM. tests/scripts/core/cases/*.rb are one script per addition,
# tests/scripts/core/*.rb realistic programs (a log report, a config loader, a state machine, an
# invoice, a gradebook) whose output must match CRuby's byte for byte.
source "$(dirname "$0")/lib.sh"

export CASES=tests/scripts/core/cases

# like_ruby FILE [TZ]: FILE's stdout and stderr under mrun are CRuby's.
like_ruby() {
    local tz=${2:-UTC}
    TZ=$tz ruby "$1" >"$T/ruby.out" 2>&1 || fail "ruby failed on $1: $(head -c 600 "$T/ruby.out")"
    TZ=$tz $MRUN "$1" >"$T/mrun.out" 2>&1 || fail "mrun failed on $1: $(head -c 600 "$T/mrun.out")"
    cmp -s "$T/ruby.out" "$T/mrun.out" ||
        fail "$1 (TZ=$tz): mrun differs from CRuby: $(diff "$T/ruby.out" "$T/mrun.out" | head -c 1200)"
}

t_like_ruby_sum() { like_ruby $CASES/sum.rb; }
t_like_ruby_catch_throw() { like_ruby $CASES/catch_throw.rb; }
t_like_ruby_struct() { like_ruby $CASES/struct.rb; }
t_like_ruby_defined() { like_ruby $CASES/defined.rb; }
t_like_ruby_defined_forms() { like_ruby $CASES/defined_forms.rb; }
t_like_ruby_format_floats() { like_ruby $CASES/format.rb; }
t_like_ruby_set() { like_ruby $CASES/set.rb; }
t_like_ruby_uri_cgi_escaping() { like_ruby $CASES/escape.rb; }
t_like_ruby_integer_comparable_kernel_symbol() { like_ruby $CASES/misc.rb Europe/Paris; }
t_like_ruby_strftime_in_four_zones() {
    for tz in UTC Europe/Paris America/St_Johns Asia/Kolkata; do like_ruby $CASES/strftime.rb $tz; done
}
t_like_ruby_log_report() { like_ruby tests/scripts/core/log_report.rb; }
t_like_ruby_config_loader() { like_ruby tests/scripts/core/config_loader.rb; }
t_like_ruby_state_machine() { like_ruby tests/scripts/core/state_machine.rb; }
t_like_ruby_invoice() { like_ruby tests/scripts/core/invoice.rb; }
t_like_ruby_grades() { like_ruby tests/scripts/core/grades.rb; }

# The same body run by CRuby and by a Deferred worker's VM (which has only what vm_init and
# runtime/prelude/vm/ give it) returns the same value.
t_like_ruby_in_a_deferred_worker() {
    body='
      kw = Struct.new(:a, :b, keyword_init: true).new(a: 1, b: [0.1] * 10)
      s = Set[3, 1] | [2]
      [kw.to_h.keys, kw.b.sum, s.inspect, s.include?(2), {s => 1}[Set[1, 2, 3]],
       catch(:t) { 10.times { |i| throw :t, i if i * i > 20 }; nil },
       URI.encode_www_form(q: "a b&c", n: [1, 2]), URI.decode_www_form("x=%41+b&y"),
       CGI.escapeHTML("<a href=\"x\">"), CGI.unescape("a+%2B"),
       Time.at(1_700_000_000).utc.strftime("%F %T %z %a %^b %-d %j %L"), Time.at(0).utc.iso8601,
       3.pow(200, 1000), 10.even?, Integer("12", exception: false), 5.clamp(..3), [4, 1, 3].max(2),
       (begin; throw :nope; rescue UncaughtThrowError => e; e.message; end),
       defined?(String), defined?(NoSuchThing), defined?(zzz), defined?(kw.a), defined?(s.nope)]'
    printf 'require "set"; require "uri"; require "cgi"; require "time"\np(begin\n%s\nend)\n' "$body" >"$T/plain.rb"
    printf 'Deferred.new { %s }.then { |v| p v }\n' "$body" >"$T/worker.rb"
    ruby "$T/plain.rb" >"$T/ruby.out" 2>&1 || fail "ruby: $(cat "$T/ruby.out")"
    run $MRUN "$T/worker.rb"
    expect_rc 0
    expect_out "$(cat "$T/ruby.out")"
}

# Eight tasks at once on the pool use the C additions side by side (strftime's shared C locale,
# the escapers): the same answers from each (and, under the TSan build, no race).
t_core_additions_in_parallel_workers() {
    run $MRUN -e 'ds = 8.times.map { |i| Deferred.new(i) { |i| s = "a b<&>" * 1000; r = nil; 50.times { r = [Time.at(i).utc.strftime("%F %T %:z %a"), CGI.unescapeHTML(CGI.escapeHTML(URI.decode_www_form_component(URI.encode_www_form_component(s)))) == s] }; r + [Set[1, i].size, catch(:x) { throw :x, defined?(String) }, ([0.1] * 10).sum] } }; Deferred.all(ds).then { |v| puts v.map(&:inspect) }'
    expect_rc 0
    expect_lines "$(for i in 0 1 2 3 4 5 6 7; do printf '["1970-01-01 00:00:0%d +00:00 Thu", true, %d, "constant", 1.0]\n' $i $([ $i = 1 ] && echo 1 || echo 2); done)"
}

t_sum_of_strings_without_init_is_type_error() {
    run $MRUN -e 'begin; ["a"].sum; rescue TypeError => e; puts "TypeError"; end'
    expect_rc 0; expect_out "TypeError"
}

t_digits_like_cruby() {
    run $MRUN -e 'p 1234.digits, 255.digits(16), 0.digits; [[-1, 10], [5, 1], [5, -2]].each { |n, b| begin; n.digits(b); rescue => e; p e.class; end }'
    expect_rc 0; expect_out "$(printf '[4, 3, 2, 1]\n[15, 15]\n[0]\nMath::DomainError\nArgumentError\nArgumentError')"
}

# Bad input: a clear error naming the problem, never a crash.
t_bad_strftime_format_is_an_argument_error() {
    run $MRUN -e 'begin; Time.now.strftime("%Y-%"); rescue ArgumentError => e; puts e.message; end; begin; Time.now.strftime("%9999999Y"); rescue ArgumentError => e; puts e.message; end; p Time.now.strftime(""), Time.at(0).utc.strftime("%Q|%E|%:")'
    expect_rc 0
    expect_out "$(printf 'invalid format: %%Y-%%\nstrftime: width over 1048576\n""\n"%%Q|%%E|%%:"')"
}

t_escaping_rejects_non_strings_and_bad_percent() {
    run $MRUN -e '[-> { CGI.escape(nil) }, -> { CGI.escapeHTML(1) }, -> { URI.decode_www_form_component("%zz") }, -> { URI.decode_www_form(5) }].each { |f| begin; f.call; rescue => e; puts "#{e.class}: #{e.message}"; end }'
    expect_rc 0
    expect_out "$(printf 'TypeError: nil cannot be converted to String\nTypeError: Integer cannot be converted to String\nArgumentError: invalid %%-encoding (%%zz)\nTypeError: no implicit conversion of Integer into String')"
}

t_large_strings_escape_and_unescape_round_trip() {
    run $MRUN -e 's = (0..255).map(&:chr).join * 4096; e = URI.encode_www_form_component(s); p e.size, URI.decode_www_form_component(e) == s, CGI.unescape(CGI.escape(s)) == s, CGI.unescapeHTML(CGI.escapeHTML(s)) == s'
    expect_rc 0; expect_out "$(printf '2596864\ntrue\ntrue\ntrue')"
}

t_uncaught_throw_reaches_the_top_as_an_error() {
    run $MRUN -e 'catch(:a) { throw :b, 1 }'
    expect_rc 1; expect_err_has "uncaught throw :b (UncaughtThrowError)"
}

# The defined? rewrite (runtime/defined.c) on real code: the standard library's files that use
# it compile (the leading exit stops them before they run), under whatever build $MRUN is.
t_like_ruby_defined_rewrite_compiles_the_stdlib_files_that_use_it() {
    local n=0 f
    for f in $(grep -rl 'defined?' /usr/lib/ruby/3.1.0 2>/dev/null | grep '\.rb$' | head -60); do
        { echo "exit 0"; cat "$f"; } >"$T/x.rb"
        run $MRUN "$T/x.rb"
        case $err in *SyntaxError*) continue ;; esac
        [ "$rc" = 0 ] || fail "$f: exit $rc: $(printf '%s' "$err" | head -c 600)"
        n=$((n + 1))
    done
    [ $n -ge 20 ] || fail "only $n standard library files compiled (is ruby's stdlib in /usr/lib/ruby/3.1.0?)"
}

t_require_of_a_builtin_library_succeeds_once() {
    run $MRUN -e 'p require("set"), require("set"), require("uri.rb"), $LOADED_FEATURES; begin; require "no_such_lib"; rescue LoadError => e; puts e.message; end'
    expect_rc 0
    expect_out "$(printf 'true\nfalse\ntrue\n["set.rb", "uri.rb"]\ncannot load such file -- no_such_lib (no_such_lib.rb)')"
}

t_core_c_methods_are_named_in_profiles() {
    run $MRUN --cpu-prof --prof-out "$T/x.cpuprofile" -e 's = "a b&c<>" * 20000; t = Time.now; 200.times { URI.encode_www_form_component(s); CGI.escapeHTML(s); t.strftime("%F %T") }'
    expect_rc 0
    run $MRPROF report "$T/x.cpuprofile"
    expect_rc 0
    expect_out_has "URI.encode_www_form_component"
    expect_out_has "CGI.escapeHTML"
}

if ! command -v ruby >/dev/null && [ "${1:-}" != --lib ]; then
    for t in $(declare -F | awk '{print $3}' | grep '^t_like_ruby_'); do
        echo "ok - test_core: ${t#t_} # SKIP ruby (CRuby) is not installed: nothing to compare with"
        unset -f "$t"
    done
fi
[ "${1:-}" = --lib ] || run_tests
