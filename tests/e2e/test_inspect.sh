#!/usr/bin/env bash
# mrun --inspect: the Chrome DevTools Protocol, driven by clients no one here wrote:
# chrome-remote-interface (tests/node/inspect_client.js, pinned in tests/node/package-lock.json),
# curl for the HTTP side, and Debian's chromium with its bundled DevTools front end (skipped,
# with the reason, when chromium cannot start). The profiles a client gets pass the checks the
# suite runs on .cpuprofile files (check_cpuprofile.js, DevTools' trace engine, speedscope).
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
source "$(dirname "$0")/lib.sh"

export TARGET=tests/scripts/inspect/target.rb

# start_mrun ARGS...: mrun in the background with --inspect on a free port; waits until it says
# where it listens (bounded), sets $pid, $port, $uuid. Its output is in $T/mrun.out, $T/mrun.err.
start_mrun() {
    "$MRUN" "$@" >"$T/mrun.out" 2>"$T/mrun.err" &
    pid=$!
    echo "$pid" >"$T/.pid"
    local i
    for i in $(seq 1 600); do
        grep -q 'Debugger listening on ws://' "$T/mrun.err" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || fail "mrun ended before listening: $(cat "$T/mrun.err")"
        sleep 0.05
    done
    port=$(sed -n 's|.*Debugger listening on ws://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T/mrun.err" | head -n 1)
    uuid=$(sed -n 's|.*Debugger listening on ws://127\.0\.0\.1:[0-9]*/\(.*\)$|\1|p' "$T/mrun.err" | head -n 1)
    [ -n "$port" ] && [ -n "$uuid" ] || fail "no address on stderr: $(cat "$T/mrun.err")"
}
# stop_mrun: ends it through the protocol (exit 0 in Runtime.evaluate) and checks its status.
stop_mrun() {
    run node "$ROOT/tests/node/inspect_client.js" exit "$port"
    expect_rc 0
    wait "$pid"; local st=$?
    [ "$st" = 0 ] || fail "mrun ended with status $st: $(tail -n 5 "$T/mrun.err")"
    grep -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$T/mrun.err" &&
        fail "a sanitizer report (above)"
    return 0
}
kill_mrun() { [ -f "$T/.pid" ] && kill "$(cat "$T/.pid")" 2>/dev/null; }
need_cri() {
    [ -d "$ROOT/tests/node/node_modules/chrome-remote-interface" ] ||
        fail "chrome-remote-interface is not installed in tests/node (make deps runs npm ci)"
}
fds() { ls "/proc/$1/fd" | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

t_json_list_fields_as_chrome_reads_them() {
    trap kill_mrun EXIT
    start_mrun --inspect=127.0.0.1:0 "$TARGET"
    run curl -sS "http://127.0.0.1:$port/json/list"
    expect_rc 0
    printf '%s' "$out" >"$T/list.json"
    # The fields chrome://inspect and Node's clients read, with Node's shapes.
    node -e '
        const [file, port, uuid, script] = process.argv.slice(1);
        const l = JSON.parse(require("fs").readFileSync(file, "utf8"));
        const die = m => { console.error(m); process.exit(1); };
        if (!Array.isArray(l) || l.length !== 1) die("not one target");
        const t = l[0], addr = `127.0.0.1:${port}/${uuid}`;
        for (const k of ["description", "devtoolsFrontendUrl", "devtoolsFrontendUrlCompat", "faviconUrl", "id", "title", "type", "url", "webSocketDebuggerUrl"])
            if (typeof t[k] !== "string" || !t[k]) die(`${k} missing`);
        if (t.type !== "node") die(`type ${t.type}`);
        if (t.id !== uuid || !/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid)) die(`id ${t.id}`);
        if (t.webSocketDebuggerUrl !== `ws://${addr}`) die(`webSocketDebuggerUrl ${t.webSocketDebuggerUrl}`);
        if (t.devtoolsFrontendUrl !== `devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=${addr}`) die(`devtoolsFrontendUrl ${t.devtoolsFrontendUrl}`);
        if (!t.devtoolsFrontendUrlCompat.startsWith("devtools://devtools/bundled/inspector.html?") || !t.devtoolsFrontendUrlCompat.endsWith(`ws=${addr}`)) die("devtoolsFrontendUrlCompat");
        if (t.title !== script || t.url !== `file://${process.cwd()}/${script}`) die(`title ${t.title} url ${t.url}`);
    ' "$T/list.json" "$port" "$uuid" "$TARGET" || fail "/json/list: $(cat "$T/list.json")"
    [ "$(curl -sS "http://127.0.0.1:$port/json")" = "$out" ] || fail "/json differs from /json/list"
    run curl -sS "http://127.0.0.1:$port/json/version"
    printf '%s' "$out" | node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); if (!/^mrun\//.test(v.Browser) || v["Protocol-Version"] !== "1.1") process.exit(1)' ||
        fail "/json/version: $out"
    run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing"
    expect_out 404
    stop_mrun
}

# DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends Host: evil.example.
t_wrong_host_header_refused() {
    trap kill_mrun EXIT
    start_mrun --inspect=127.0.0.1:0 "$TARGET"
    local h code
    for h in "evil.example:$port" "evil.example" "127.0.0.1.evil.example" "localhost.evil"; do
        code=$(curl -sS -o "$T/body" -w '%{http_code}' -H "Host: $h" "http://127.0.0.1:$port/json/list")
        [ "$code" = 400 ] || fail "Host: $h was answered $code"
        grep -q 'Host header' "$T/body" || fail "the refusal does not say why: $(cat "$T/body")"
        code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Host: $h" -H 'Connection: Upgrade' \
            -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
            -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "http://127.0.0.1:$port/$uuid")
        [ "$code" = 400 ] || fail "a WebSocket upgrade with Host: $h was answered $code"
    done
    for h in "localhost:$port" "LOCALHOST" "127.0.0.1:$port" "[::1]:$port"; do
        code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Host: $h" "http://127.0.0.1:$port/json/list")
        [ "$code" = 200 ] || fail "Host: $h was answered $code"
    done
    # The WebSocket only at the target's UUID.
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
        -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
        "http://127.0.0.1:$port/00000000-0000-4000-8000-000000000000")
    [ "$code" = 400 ] || fail "an upgrade at another path was answered $code"
    stop_mrun
}

t_profiles_over_cdp_pass_the_suite_checks() {
    need_cri
    trap kill_mrun EXIT
    start_mrun --inspect=127.0.0.1:0 "$TARGET"
    run node "$ROOT/tests/node/inspect_client.js" profile "$port" "$T"
    expect_rc 0
    printf '%s\n' "$out" | grep -q '^ok HeapProfiler.stopSampling' || fail "$out"
    node "$ROOT/tests/node/check_cpuprofile.js" "$T/live.cpuprofile" >/dev/null ||
        fail "check_cpuprofile.js refused the Profile"
    # The script's hot function, at its line: def hot is line 4 (0-based 3 in the callFrame),
    # its loop's lines 7-8 in positionTicks (1-based, as V8's).
    node -e '
        const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const h = p.nodes.filter(n => n.callFrame.functionName === "hot");
        if (!h.length) { console.error("no hot node"); process.exit(1); }
        for (const n of h) {
            if (n.callFrame.lineNumber !== 3 || !n.callFrame.url.endsWith("inspect/target.rb")) { console.error(JSON.stringify(n.callFrame)); process.exit(1); }
        }
        const lines = new Set(h.flatMap(n => (n.positionTicks || []).map(t => t.line)));
        if (![6, 7, 8].some(l => lines.has(l))) { console.error("positionTicks " + [...lines]); process.exit(1); }
    ' "$T/live.cpuprofile" || fail "the Profile does not name hot at target.rb:4"
    run node "$ROOT/tests/node/trace_engine_top.mjs" "$T/live.cpuprofile" 3
    expect_rc 0
    printf '%s\n' "$out" | grep -v '^#' | head -n 1 | grep -q $'\thot$' ||
        fail "DevTools' trace engine: top function is not hot: $out"
    run node "$ROOT/tests/node/speedscope_top.js" "$T/live.cpuprofile" 3
    expect_rc 0
    printf '%s\n' "$out" | grep -v '^#' | head -n 1 | grep -q $'\thot$' ||
        fail "speedscope: top function is not hot: $out"
    run $MRPROF report --format tsv --top 1 "$T/live.cpuprofile"
    expect_rc 0
    printf '%s\n' "$out" | grep -q $'\thot\ttests/scripts/inspect/target.rb:4$' ||
        fail "mrprof report: $out"
    # The heap sampling profile: the allocations of allocate(), as a .heapprofile reads.
    run $MRPROF report --top 10 "$T/live.heapprofile"
    expect_rc 0
    expect_out_has "allocate"
    stop_mrun
}

t_evaluate_raise_and_never_returning_code_do_not_kill_the_program() {
    need_cri
    trap kill_mrun EXIT
    start_mrun --inspect=127.0.0.1:0 "$TARGET"
    run node "$ROOT/tests/node/inspect_client.js" evaluate "$port"
    expect_rc 0
    expect_out_has "ok code that never returns: Runtime.evaluate timed out"
    expect_out_has "ok the program goes on after the timeout"
    expect_out_has "ok warn comes as Runtime.consoleAPICalled of type warning"
    expect_out_has "ok unknown method: -32601 'Nothing.here' wasn't found"
    stop_mrun
}

t_inspect_wait_profiles_from_the_start() {
    need_cri
    trap kill_mrun EXIT
    start_mrun --inspect-wait=127.0.0.1:0 tests/scripts/inspect/wait.rb
    grep -q 'waiting for the debugger' "$T/mrun.err" || fail "no waiting line: $(cat "$T/mrun.err")"
    [ -s "$T/mrun.out" ] && fail "the script ran before runIfWaitingForDebugger: $(cat "$T/mrun.out")"
    run node "$ROOT/tests/node/inspect_client.js" wait "$port" "$T"
    expect_rc 0
    [ "$(cat "$T/mrun.out")" = started ] || fail "stdout: $(cat "$T/mrun.out")"
    node "$ROOT/tests/node/check_cpuprofile.js" "$T/wait.cpuprofile" >/dev/null || fail "check_cpuprofile.js"
    grep -q '"functionName":"startup_work"' "$T/wait.cpuprofile" ||
        fail "the profile started before the run does not hold startup_work"
    stop_mrun
}

# A client that sends 1 GB: one frame that announces it is refused at its header (close 1009);
# a message streamed in fragments without reading is cut off at the limit (16 MiB), never
# buffered whole. The program goes on, its memory bounded.
t_client_sending_1gb_is_cut_off() {
    need_cri
    trap kill_mrun EXIT
    start_mrun --inspect=127.0.0.1:0 "$TARGET"
    local rss0; rss0=$(rss_kb "$pid")
    run node -e '
        const net = require("net"), crypto = require("crypto");
        const [port, uuid] = process.argv.slice(1);
        const upgrade = (cb) => {
            const s = net.connect(+port, "127.0.0.1", () => s.write(
                `GET /${uuid} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
            let head = Buffer.alloc(0), up = false;
            s.on("data", d => {
                if (up) return cb(s, d);
                head = Buffer.concat([head, d]);
                const i = head.indexOf("\r\n\r\n");
                if (i < 0) return;
                if (!head.slice(0, 12).toString().includes("101")) { console.error("no 101"); process.exit(1); }
                up = true;
                cb(s, null);
                if (head.length > i + 4) cb(s, head.slice(i + 4));
            });
            s.on("error", () => {});
            return s;
        };
        const mask = Buffer.from([1, 2, 3, 4]);
        // 1: one frame announcing 1 GiB; read the answer: a close frame with 1009.
        const one = () => new Promise(res => upgrade((s, d) => {
            if (!d) { s.write(Buffer.concat([Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0]), mask, Buffer.alloc(4096)])); return; }
            if ((d[0] & 0x0f) === 8 && d.readUInt16BE(2) === 1009) { console.log("ok close 1009: " + d.slice(4).toString()); res(); }
        }));
        // 2: fragments of 1 MiB, written as fast as the socket takes them, never read.
        const two = () => new Promise(res => {
            let sent = 0, cut = false;
            const chunk = Buffer.alloc(1 << 20, 0x61);
            const s = upgrade((sock, d) => {
                if (d) return;
                sock.pause(); // never read
                const pump = () => {
                    while (!cut && sent < 1 << 30) {
                        const hdr = Buffer.from([sent ? 0x00 : 0x01, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0]);
                        sent += chunk.length;
                        if (!sock.write(Buffer.concat([hdr, mask, chunk]))) return sock.once("drain", pump);
                    }
                    if (!cut) { console.error("1 GiB went through"); process.exit(1); }
                };
                pump();
            });
            const done = () => { if (cut) return; cut = true; console.log(`ok cut off after ${sent >> 20} MiB written`); res(); };
            s.on("close", done); s.on("error", done);
        });
        one().then(two).then(() => process.exit(0));
    ' "$port" "$uuid"
    expect_rc 0
    expect_out_has "ok close 1009"
    local mib; mib=$(printf '%s\n' "$out" | sed -n 's/^ok cut off after \([0-9]*\) MiB written$/\1/p')
    [ -n "$mib" ] && [ "$mib" -lt 512 ] || fail "not cut off in time: $out"
    run node "$ROOT/tests/node/inspect_client.js" cycles "$port" 1
    expect_rc 0
    local rss1; rss1=$(rss_kb "$pid")
    [ $((rss1 - rss0)) -lt $((128 * 1024)) ] || fail "RSS grew from $rss0 to $rss1 KiB"
    stop_mrun
}

long_test t_connect_disconnect_cycles_leave_no_fd_or_memory 400
t_connect_disconnect_cycles_leave_no_fd_or_memory() {
    need_cri
    trap kill_mrun EXIT
    # ASan keeps freed blocks in a quarantine (256 MiB by default): RSS would count it.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
    start_mrun --inspect=127.0.0.1:0 "$TARGET"
    run node "$ROOT/tests/node/inspect_client.js" cycles "$port" 10 # warm up (allocator pools)
    expect_rc 0
    local fd0 rss0 fd1 rss1 i
    fd0=$(fds "$pid") rss0=$(rss_kb "$pid")
    run node "$ROOT/tests/node/inspect_client.js" cycles "$port" 100
    expect_rc 0
    for i in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/json/list"; done
    # The server closes its side when it reads each client's end: wait for that (bounded).
    for i in $(seq 1 100); do
        fd1=$(fds "$pid")
        [ "$fd1" -le "$fd0" ] && break
        sleep 0.1
    done
    rss1=$(rss_kb "$pid")
    [ "$fd1" -le "$fd0" ] || fail "fds grew from $fd0 to $fd1: $(ls -l /proc/$pid/fd)"
    [ $((rss1 - rss0)) -lt $((32 * 1024)) ] || fail "RSS grew from $rss0 to $rss1 KiB over 100 cycles"
    stop_mrun
}

# One sampler session per process: with --cpu-prof running, Profiler.start is refused with the
# reason, HeapProfiler sampling joins the session, and the file is still written at exit.
t_cpu_prof_and_inspect_share_the_sampler() {
    need_cri
    trap kill_mrun EXIT
    export MRUN_QUIET=1
    start_mrun --cpu-prof --prof-out "$T/run.cpuprofile" --inspect=127.0.0.1:0 "$TARGET"
    run node -e '
        const CDP = require(process.argv[2] + "/tests/node/node_modules/chrome-remote-interface");
        (async () => {
            const c = await CDP({ host: "127.0.0.1", port: +process.argv[1], local: true });
            try { await c.Profiler.start(); console.log("started"); } catch (e) { console.log(`refused: ${e.message}`); }
            await c.HeapProfiler.startSampling({ samplingInterval: 8192 });
            const h = await c.HeapProfiler.stopSampling();
            console.log(`heap ${Array.isArray(h.profile.samples)}`);
            await c.close();
        })().catch(e => { console.log(`FAIL ${e.message}`); process.exit(1); });
    ' "$port" "$ROOT"
    expect_rc 0
    expect_out_has "refused: a profile is already being recorded in this process (--cpu-prof"
    expect_out_has "heap true"
    stop_mrun
    node "$ROOT/tests/node/check_cpuprofile.js" "$T/run.cpuprofile" >/dev/null ||
        fail "--cpu-prof's file is missing or broken"
}

# NodeWorker (Node's protocol for worker threads, what DevTools' NodeChildTargetManager speaks):
# the Deferred worker and the Worker of threads.rb are targets of their own, each with its own
# Profiler. Each profile holds its own thread's hot method at its own line, and no other's;
# threads that start after NodeWorker.enable come as events, a terminated Worker is detached.
t_nodeworker_threads_profile_their_own_hot_methods() {
    need_cri
    trap kill_mrun EXIT
    start_mrun --inspect-wait=127.0.0.1:0 tests/scripts/inspect/threads.rb
    run node "$ROOT/tests/node/inspect_client.js" threads "$port" "$T"
    expect_rc 0
    expect_out_has "ok NodeWorker.attachedToWorker: "
    expect_out_has "ok each thread is a VM instance of its own"
    expect_out_has "ok a wrong sessionId, a bad message, a method a thread does not serve"
    expect_out_has "ok the Worker ended: NodeWorker.detachedFromWorker"
    local f
    for f in main deferred worker; do
        node "$ROOT/tests/node/check_cpuprofile.js" "$T/$f.cpuprofile" >/dev/null ||
            fail "check_cpuprofile.js refused the $f Profile"
    done
    # name: the hot method that must be there, at file:line (1-based); the others must not.
    node -e '
        const fs = require("fs");
        const [dir] = process.argv.slice(1);
        const want = { main: ["hot", "inspect/threads.rb", 6], deferred: ["deferred_hot", "inspect/threads.rb", 18],
                       worker: ["worker_hot", "inspect/threads_worker.rb", 2] };
        const all = Object.values(want).map(w => w[0]);
        for (const [name, [fn, file, line]] of Object.entries(want)) {
            const p = JSON.parse(fs.readFileSync(`${dir}/${name}.cpuprofile`, "utf8"));
            const ids = new Set(p.samples);
            const sampled = p.nodes.filter(n => ids.has(n.id)).map(n => n.callFrame);
            const mine = sampled.filter(f => f.functionName === fn);
            if (!mine.length) { console.error(`${name}: ${fn} was not sampled`); process.exit(1); }
            for (const f of mine)
                if (f.lineNumber !== line - 1 || !f.url.endsWith(file)) { console.error(`${name}: ${JSON.stringify(f)}`); process.exit(1); }
            for (const other of all.filter(o => o !== fn))
                if (p.nodes.some(n => n.callFrame.functionName === other)) { console.error(`${name} holds ${other}`); process.exit(1); }
        }
    ' "$T" || fail "a thread's profile does not hold its own hot method alone"
    run $MRPROF report --format tsv --top 1 "$T/deferred.cpuprofile"
    expect_rc 0
    printf '%s\n' "$out" | grep -q $'\tdeferred_hot\ttests/scripts/inspect/threads.rb:18$' ||
        fail "mrprof report of the Deferred worker's profile: $out"
    stop_mrun
}

# The same sessions without asserting what was sampled (for TSan, which delivers the sampler's
# signals only at libc calls): the registry of threads, the sessions and the shared sampler
# against the threads coming and going.
t_nodeworker_sessions_attach_detach() {
    need_cri
    trap kill_mrun EXIT
    start_mrun --inspect-wait=127.0.0.1:0 tests/scripts/inspect/threads.rb
    run node "$ROOT/tests/node/inspect_client.js" threads "$port" "$T" any
    expect_rc 0
    expect_out_has "ok the Worker ended: NodeWorker.detachedFromWorker"
    stop_mrun
}

# Only one sampler session per process: a thread's Profiler.start under --cpu-prof is refused as
# the main one's is, and the program goes on.
t_nodeworker_profiler_refused_under_cpu_prof() {
    need_cri
    trap kill_mrun EXIT
    export MRUN_QUIET=1
    start_mrun --cpu-prof --prof-out "$T/run.cpuprofile" --inspect=127.0.0.1:0 tests/scripts/inspect/threads.rb
    run node -e '
        const CDP = require(process.argv[2] + "/tests/node/node_modules/chrome-remote-interface");
        (async () => {
            const c = await CDP({ host: "127.0.0.1", port: +process.argv[1], local: true });
            const got = new Promise(r => c.on("NodeWorker.attachedToWorker", m => { if (m.workerInfo.title === "Deferred worker 1") r(m); }));
            await c.send("NodeWorker.enable", { waitForDebuggerOnStart: false });
            const m = await got;
            const answer = new Promise(r => c.on("NodeWorker.receivedMessageFromWorker", x => { const a = JSON.parse(x.message); if (a.id === 5) r(a); }));
            await c.send("NodeWorker.sendMessageToWorker", { sessionId: m.sessionId, message: JSON.stringify({ id: 5, method: "Profiler.start" }) });
            const a = await answer;
            console.log(a.error ? `refused: ${a.error.message}` : "started");
            await c.close();
        })().catch(e => { console.log(`FAIL ${e.message}`); process.exit(1); });
    ' "$port" "$ROOT"
    expect_rc 0
    expect_out_has "refused: a profile is already being recorded in this process (--cpu-prof"
    stop_mrun
    node "$ROOT/tests/node/check_cpuprofile.js" "$T/run.cpuprofile" >/dev/null ||
        fail "--cpu-prof's file is missing or broken"
}

t_addresses_and_flags() {
    run $MRUN --inspect=0.0.0.0:0 -e 'puts 1'
    expect_rc 2
    expect_err_has "not a loopback address"
    expect_err_has "--inspect-public"
    run $MRUN --inspect=127.0.0.1:99999 -e 'puts 1'
    expect_rc 2
    expect_err_has "the port must be 0..65535"
    run $MRUN --inspect=evil.example:9229 -e 'puts 1'
    expect_rc 2
    expect_err_has "is not an IP address"
    run $MRUN --inspect-public -e 'puts 1'
    expect_rc 2
    run $MRUN --inspect-public --inspect=0.0.0.0:0 -e 'puts 1'
    expect_rc 0
    expect_out 1
    expect_err_has "warning: --inspect-public"
    # A script that ends by itself ends with the inspector open; a port taken is an error.
    run $MRUN --inspect=127.0.0.1:0 -e 'puts 2'
    expect_rc 0
    expect_out 2
    run $MRUN --help
    expect_out_has "--inspect"
}

# Debian's chromium opens its bundled DevTools front end for Node targets (js_app.html, served
# by the browser itself) against mrun's WebSocket; the protocol messages mrun saw are logged
# (MRUN_INSPECT_LOG) and asserted, the screenshot kept under build/inspect-shots/.
t_chromium_devtools_front_end_connects() {
    local chromium=${CHROMIUM-$(command -v chromium || command -v chromium-browser || true)}
    if [ -z "$chromium" ]; then
        skip "chromium is not installed"
        return 0
    fi
    [ -d "$ROOT/tests/node/node_modules/puppeteer-core" ] || fail "puppeteer-core is not installed"
    trap kill_mrun EXIT
    export MRUN_INSPECT_LOG=$T/methods.log
    start_mrun --inspect=127.0.0.1:0 "$TARGET"
    local shots=$ROOT/build/inspect-shots
    mkdir -p "$shots"
    run node "$ROOT/tests/node/inspect_chromium.mjs" "$chromium" "127.0.0.1:$port/$uuid" "$shots"
    if [ "$rc" = 3 ]; then
        skip "chromium could not start: $(printf '%s' "$err" | tail -n 1)"
        stop_mrun
        return 0
    fi
    expect_rc 0
    printf '%s\n' "$out" >"$shots/seen.txt"
    local m
    for m in Runtime.enable Debugger.enable Profiler.enable Runtime.runIfWaitingForDebugger \
        Profiler.start Profiler.stop; do
        grep -qx "$m" "$T/methods.log" || fail "mrun never saw $m: $(sort -u "$T/methods.log" | tr '\n' ' ')"
    done
    cp "$T/methods.log" "$shots/methods.log"
    expect_out_has "profile hot"
    [ "$(head -c 4 "$shots/devtools.png" | tail -c 3)" = PNG ] || fail "no screenshot"
    stop_mrun
}

[ "${1:-}" = --lib ] || run_tests
