#!/bin/sh
# valgrind_http.sh — the HTTP server under valgrind's leak checker (run by tests/run.sh's valgrind
# suite): tests/scripts/http/server.rb driven by curl and python (keep-alive, pipelining, chunked
# upload and answer, 100-continue, HEAD, 400/413/414/431, a handler's exception, a 408 from the
# head timer), then /close: the server closes and the process ends on its own, so the leak
# check sees a whole run.
set -u
log=$(mktemp /tmp/mrprof-vg-http.XXXXXX)
out=$log.out
timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$MRUN" tests/scripts/http/server.rb max_body_size=100000 headers_timeout=3000 >"$out" 2>"$log" &
vg=$!
port=""
for _ in $(seq 600); do
    port=$(sed -n 's/^port \([0-9]*\).*/\1/p' "$out" 2>/dev/null); [ -n "$port" ] && break; sleep 0.1
done
fail=0
if [ -z "$port" ]; then
    echo "server.rb did not start under valgrind"; head -n 30 "$log"; kill $vg; exit 1
fi
u=http://127.0.0.1:$port
head -c 200000 /dev/urandom >"$log.bin"
check() { # check WHAT EXPECTED GOT
    [ "$2" = "$3" ] || { echo "valgrind_http: $1: expected [$2], got [$3]"; fail=1; }
}
check keep-alive "Hello WorldHello World" "$(curl -sS "$u/hello" "$u/hello" | tr -d '\n')"
check chunked-up 200 "$(head -c 50000 "$log.bin" | curl -sS -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @- "$u/echo")"
check continue 200 "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' --data-binary 'abc' "$u/echo")"
check head 200 "$(curl -sS -o /dev/null -w '%{http_code}' -I "$u/hello")"
check stream "chunk 0 chunk 1 chunk 2" "$(curl -sS "$u/stream?n=3" | tr '\n' ' ' | sed 's/ $//')"
check 413 413 "$(curl -sS -o /dev/null -w '%{http_code}' --data-binary @"$log.bin" "$u/echo")"
check 500 500 "$(curl -sS -o /dev/null -w '%{http_code}' "$u/boom")"
check 404 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$u/nope")"
got=$(timeout 60 python3 - "$port" <<'PY'
import re, socket, sys, time
port = int(sys.argv[1])
def exchange(data, wait=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(data)
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    return " ".join(m.decode() for m in re.findall(rb"HTTP/1\.1 (\d+)", got))
print(exchange(b"GET /hello HTTP/1.1\r\n\r\nGET /slow?ms=50 HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"))
print(exchange(b"GET /hello HTTP/1.1\r\n\r\ngarbage\r\n\r\n"))
print(exchange(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n"))
print(exchange(b"GET / HTTP/1.1\r\nX: " + b"b" * 20000 + b"\r\n\r\n"))
print(exchange(b"GET / HTTP/1.1\r\nX-Slow: "))
PY
)
check python "200 200 200 200 400 414 431 408" "$(printf '%s' "$got" | tr '\n' ' ' | sed 's/ $//')"
check close "closing" "$(curl -sS "$u/close")"
wait $vg
rc=$?
if [ $rc != 0 ]; then
    echo "server.rb under valgrind: exit $rc"; head -n 40 "$log"; tail -n 5 "$out"; fail=1
fi
rm -f "$log" "$out" "$log.bin"
exit $fail
