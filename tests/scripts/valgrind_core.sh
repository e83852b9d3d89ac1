#!/bin/sh
# valgrind_core.sh — the core additions under valgrind's leak checker (run by tests/run.sh's
# valgrind suite): the realistic scripts and the case scripts of tests/scripts/core/ (escaping
# of large strings, strftime, Set, Struct, catch/throw, defined?), then a Deferred worker using
# them.
set -u
fail=0
for s in tests/scripts/core/*.rb tests/scripts/core/cases/*.rb; do
    log=$(mktemp /tmp/mrprof-vg-core.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "$s" >"$log.out" 2>"$log"; then
        echo "$s under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -f "$log" "$log.out"
done
log=$(mktemp /tmp/mrprof-vg-core.XXXXXX)
if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$MRUN" -e '
        s = (0..255).map(&:chr).join * 256
        Deferred.new { x = (0..255).map(&:chr).join * 256; [URI.decode_www_form_component(URI.encode_www_form_component(x)) == x, CGI.unescapeHTML(CGI.escapeHTML(x)) == x, Time.at(0).utc.strftime("%F %T %:z %L"), (Set[1, 2] ^ Set[2, 3]).to_a, catch(:t) { throw :t, defined?(String) }] }.then { |v| p v }
        p CGI.unescape(CGI.escape(s)) == s' >"$log.out" 2>"$log"; then
    echo "Deferred worker under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
    fail=1
fi
rm -f "$log" "$log.out"
exit $fail
