#!/usr/bin/env bash
# End-to-end tests of Regexp (runtime/regexp.c, regexp_string.c, prelude/vm/regexp.rb): each
# script of tests/scripts/regexp/ prints the same under CRuby (`ruby`, same engine family) and
# mrun; String without a Regexp prints the same as under Debian's `mruby`; then what only mrun
# has (error positions, retry limits, byte offsets), workers, the GC, and the profiler's names.
source "$(dirname "$0")/lib.sh"
export R=tests/scripts/regexp

# same_as_ruby SCRIPT: stdout of mrun is ruby's, byte for byte.
same_as_ruby() {
    ruby "$1" >"$T/ruby.out" 2>"$T/ruby.err" || fail "ruby failed on $1: $(head -c 600 "$T/ruby.err")"
    run $MRUN "$1"
    expect_rc 0
    printf '%s\n' "$out" >"$T/mrun.out"
    diff "$T/ruby.out" "$T/mrun.out" >"$T/diff" ||
        fail "$1: mrun differs from ruby (< ruby, > mrun): $(head -c 1500 "$T/diff")"
}

t_regexp_objects_like_cruby() { same_as_ruby $R/literals.rb; }
t_matching_and_match_globals_like_cruby() { same_as_ruby $R/match.rb; }
t_sub_gsub_like_cruby() { same_as_ruby $R/subst.rb; }
t_scan_split_like_cruby() { same_as_ruby $R/scan_split.rb; }
t_index_rindex_slice_start_with_like_cruby() { same_as_ruby $R/index_slice.rb; }
t_errors_like_cruby() { same_as_ruby $R/errors.rb; }

t_string_methods_without_regexp_as_in_debian_mruby() {
    command -v mruby >/dev/null || fail "Debian's mruby is not installed (make deps)"
    mruby $R/compat.rb >"$T/mruby.out" 2>&1 || fail "mruby failed: $(head -c 600 "$T/mruby.out")"
    run $MRUN $R/compat.rb
    expect_rc 0
    printf '%s\n' "$out" >"$T/mrun.out"
    diff "$T/mruby.out" "$T/mrun.out" >"$T/diff" || fail "compat.rb: mrun differs from mruby: $(head -c 1500 "$T/diff")"
}

t_bad_pattern_names_message_and_offset() {
    run $MRUN -e '
      ["a|*b", "(ab", "ab)", "x[ab", "(?<n>a)\\k<m>", "ab\\"].each do |src|
        begin
          Regexp.new(src)
          puts "no error for #{src}"
        rescue RegexpError => e
          puts "#{e.message} | #{e.offset.inspect} #{e.source == src}"
        end
      end
      begin; eval("/(/"); rescue SyntaxError, RegexpError => e; puts e.class; end'
    expect_rc 0
    expect_out_has "target of repeat operator is not specified: /a|*b/ (at offset 2) | 2 true"
    expect_out_has "end pattern with unmatched parenthesis: /(ab/ (at offset 0) | 0 true"
    expect_out_has "unmatched close parenthesis: /ab)/ (at offset 2) | 2 true"
    expect_out_has "premature end of char-class: /x[ab/ (at offset 1) | 1 true"
    expect_out_has "undefined name <m> reference: /(?<n>a)\\k<m>/ (at offset"
    expect_out_has "end pattern at escape: /ab\\/ (at offset 3) | 3 true"
    case $out in *"no error"*) fail "a bad pattern compiled: $out";; esac
}

t_bad_literal_in_a_script_is_a_regexp_error_at_run_time() {
    printf 'puts "before"\nx = /a**+(/\nputs "after"\n' >"$T/bad.rb"
    run $MRUN "$T/bad.rb"
    expect_rc 1
    expect_out "before"
    expect_err_has "bad.rb:2"
    expect_err_has "(RegexpError)"
}

t_invalid_utf8_is_an_argument_error_and_n_matches_bytes() {
    run $MRUN -e '
      ["\xff", "a\xe9b"].each { |s| begin; s =~ /a/; rescue ArgumentError => e; puts "#{e.class}: #{e.message}"; end }
      p(/a/n =~ "\xffa", "\xffa\xfe".gsub(/a/n, "b").bytes, /\xff/n =~ "a\xff", "\xe9t\xe9".scan(/./n).size)'
    expect_rc 0
    expect_out "$(printf 'ArgumentError: invalid byte sequence in UTF-8\nArgumentError: invalid byte sequence in UTF-8\n1\n[255, 98, 254]\n1\n3')"
}

t_catastrophic_backtracking_is_an_error_not_a_hang() {
    # Oniguruma's retry limits (10 M backtracks from one position, 100 M in one search): an
    # exponential pattern fails with Regexp::TimeoutError (a RegexpError) within a second or so.
    run $MRUN -e '
      [[/(a+)+$/, "a" * 40 + "b"], [/^(\w+\s?)*$/, "an input string that will not match!" + "x" * 30],
       [/^(a|aa)+$/, "a" * 60 + "b"], [/^(([a-z])+.)+[A-Z]([a-z])+$/, "a" * 41 + "!"]].each do |re, s|
        begin
          re =~ s
          puts "matched?"
        rescue RegexpError => e
          puts "#{e.class} #{e.is_a?(RegexpError)} #{e.message[0, 48]}"
        end
      end
      p "aab" =~ /(a+)+b/, $~[0]'
    expect_rc 0
    local l='Regexp::TimeoutError true regexp match gave up (retry-limit-in-match over)'
    expect_out "$(printf '%s\n%s\n%s\n%s\n0\n"aab"' "$l" "$l" "$l" "$l")"
}

t_offsets_are_bytes_like_mruby_strings() {
    # mruby's String counts bytes (Debian's build has no UTF-8 strings): MatchData and index
    # give byte offsets that String#[] understands; matching itself is UTF-8 aware.
    run $MRUN -e 's = "héllo wörld"; i = s =~ /w/; puts i, s[i, 3], $~.begin(0), s.index(/ö/), s[/./, 0].bytesize, s.scan(/./).size, s.size'
    expect_rc 0
    expect_out "$(printf '7\nwö\n7\n8\n1\n11\n13')"
}

t_literals_compile_once_and_are_frozen() {
    run $MRUN -e '
      ids = (1..5).map { /a(b)c/.object_id }.uniq.size
      x = "q"
      dyn = (1..3).map { /#{x}/i.object_id }.uniq.size
      p ids, dyn, /a/.frozen?, Regexp.new("a").frozen?, Regexp.compile("a", "i") == /a/i
      flags = (1..3).map { [/a/.object_id, /a/i.object_id, /a/m.object_id] }.uniq
      s = "ab"; r = Regexp.compile(s); s << "c"
      p flags.size, flags[0].uniq.size, Regexp.compile("ab").equal?(r), Regexp.compile("abc").source
      r = Regexp.new("a"); begin; r.send(:initialize, "b"); rescue TypeError => e; puts e.message; end
      # More patterns than the cache holds, more option variants than it keeps, GC between.
      v = (0..20).map { |i| Regexp.compile("a", ["", "i", "m", "x", "im", "ix", "mx", "imx"][i % 8]) }
      r = (0..2000).map { |i| /v#{i}/ }; GC.start
      p v.map(&:options).uniq.size, (/v5/ =~ "v5"), (0..2000).map { |i| /v#{i}/.source }.uniq.size
      y = (0..3).map { [/k/, /k/i, /k/m, /k/x, /k/mi, /k/xi, /k/mx, /k/mix, /k/n] }; GC.start
      p y.flatten.map(&:inspect).uniq.size, r.map(&:source).uniq.size'
    expect_rc 0
    expect_out "$(printf '1\n1\ntrue\nfalse\ntrue\n1\n3\ntrue\n"abc"\nalready initialized regexp\n8\n0\n2001\n9\n2001')"
}

t_match_data_keeps_its_string_after_the_subject_changes() {
    run $MRUN -e '
      s = "abc" * 20
      s =~ /b(c)/
      m = $~
      s.replace("zzz"); s << "y" * 100
      GC.start
      p m.pre_match, m[0], m[1], m.post_match.size, m.string.frozen?, $~.equal?(m)'
    expect_rc 0
    expect_out "$(printf '"a"\n"bc"\n"c"\n57\ntrue\ntrue')"
}

t_blocks_nest_raise_and_break() {
    run $MRUN -e '
      r = "a1b2".gsub(/\d/) { |d| "x#{d}y".gsub(/[xy]/) { |c| c.upcase } + $~[0] }
      p r
      p "abc".gsub(/b/) { break 42 }
      begin; "abc".gsub(/./) { |c| raise "stop at #{c}" if c == "b"; c }; rescue => e; p e.message; end
      p "q-r".sub(/-/) { GC.start; "+" }, (1..3).map { |i| "a#{i}".sub(/\d/) { |d| (d.to_i * 2).to_s } }
      p "aaa".scan(/a/) { |x| "b".scan(/b/) }'
    expect_rc 0
    expect_out "$(printf '"aX1YybX2Yy"\n42\n"stop at b"\n"q+r"\n["a2", "a4", "a6"]\n"aaa"')"
}

t_many_matches_with_gc_keep_memory_flat() {
    # A million matches through every path (MatchData, globals, gsub, scan, split) with the GC
    # running: the live object count after GC stays where it was.
    run $MRUN -e '
      line = "10.0.0.1 - - [01/Jan/2024] \"GET /a/b HTTP/1.1\" 200 5"
      round = proc do
        2000.times do
          line =~ /(\d+)\.(\d+)/
          line.gsub(/\d/) { |d| d }
          line.scan(/\w+/)
          line.split(/\s+/)
          line.sub(/GET/, "POST")
          /(?<m>[A-Z]+) (?<p>\S+)/.match(line)[:p]
        end
      end
      round.call; GC.start
      before = ObjectSpace.count_objects[:TOTAL] - ObjectSpace.count_objects[:FREE]
      10.times { round.call }; GC.start
      after = ObjectSpace.count_objects[:TOTAL] - ObjectSpace.count_objects[:FREE]
      puts(after - before < 2000 ? "flat" : "grew by #{after - before} objects")'
    expect_rc 0
    expect_out "flat"
}

t_error_and_cleanup_paths() {
    # Bad patterns, exceptions and break out of blocks mid-gsub, the retry limit, invalid UTF-8,
    # more dynamic patterns than the cache holds, a worker's VM: under ASan, leaks fail this.
    run $MRUN $R/stress.rb
    expect_rc 0
    expect_out "$(printf 'ok 1303\nworker [["a", "b", "c"], "x2", "err"]')"
}

t_matching_in_deferred_workers() {
    run $MRUN --workers 2 $R/workers.rb 40
    expect_rc 0
    expect_out "40 tasks in workers agree with the main VM"
}

t_sample_log_report() {
    run $MRUN --workers 2 samples/log_report.rb
    expect_rc 0
    expect_out "$(printf '%s\n' '20000 lines (0 not in combined format), 49990000 bytes sent' \
        'status: 200=8000 304=4000 404=4000 500=4000' 'top routes:' '    2668  GET /login' \
        '    2667  GET /' '    2667  GET /api/v1/users/:id' '    2666  GET /api/v1/orders/:id' \
        '    2666  GET /search' 'busiest hour: 00:00 (834 requests)' '1757 clients, e.g. 10.0.x.x, 10.0.x.x, 10.0.x.x')"
}

t_profile_names_the_regexp_c_methods() {
    cat >"$T/w.rb" <<'EOF'
s = ("GET /api/v1/users/123 HTTP/1.1 200\n" * 20000)
8.times do
  s.gsub(/\d+/) { |d| d }
  s.scan(/\/(\w+)/)
  s.split("\n").each { |l| /(\d{3})$/.match(l) }
end
EOF
    $MRUN --cpu-prof --prof-out "$T/w.cpuprofile" "$T/w.rb" || fail "mrun failed"
    run $MRPROF report "$T/w.cpuprofile"
    expect_rc 0
    expect_out_has "String#gsub"
    expect_out_has "String#scan"
    expect_out_has "Regexp#match"
}

if ! command -v ruby >/dev/null 2>&1 && [ "${1:-}" != --lib ]; then
    for t in regexp_objects_like_cruby matching_and_match_globals_like_cruby sub_gsub_like_cruby \
        scan_split_like_cruby index_rindex_slice_start_with_like_cruby errors_like_cruby; do
        echo "ok - test_regexp: $t # SKIP ruby (CRuby, the reference) is not installed: apt-get install ruby"
        unset -f "t_$t"
    done
fi
[ "${1:-}" = --lib ] || run_tests
