/*
 * fuzz_ws.c — libFuzzer target for the WebSocket framing (net/ws.c) that mrun --inspect reads
 * its clients with.
 *
 * The first byte chooses: bit 0 a small message limit (64 bytes, else the default 16 MiB);
 * bits 1-5 a split step of 1..32 bytes. The rest is fed whole, then in pieces of that step: both
 * runs must give the same events (a text log). Invariants: no message over the limit is
 * delivered; a text message and a close reason are UTF-8; a delivered message has a NUL after its
 * last byte; a control payload is at most 125 bytes; after a refusal (close_code 1002, 1007,
 * 1009 or 1011, with a reason) or the peer's close, nothing more is consumed or delivered.
 * Each text message then goes through the CDP layer's parse (formats/json.c, strict, exact
 * integers, depth 64, as runtime/inspector.c): a refusal has a message, an id and a method read.
 * Seed corpus: tests/fuzz/corpus/ws/: a first byte, then client frames masked with RFC 6455
 * 5.7's key (made by hand: struct.pack of the headers in a few lines of Python).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json.h"
#include "net/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    char *log;
    size_t len, cap;
    size_t max;
    bool ended;
};

static void
add(struct run *r, char tag, const char *p, size_t n)
{
    if (r->ended)
        abort(); /* an event after the close or a refusal */
    if (r->len + n + 2 > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + n + 2)
            cap *= 2;
        if (!(r->log = realloc(r->log, cap)))
            abort();
        r->cap = cap;
    }
    r->log[r->len++] = tag;
    memcpy(r->log + r->len, p, n);
    r->len += n;
    r->log[r->len++] = '|';
}

static int
on_message(void *ud, enum ws_opcode op, const char *d, size_t n)
{
    struct run *r = ud;
    if (n > r->max || d[n] != '\0')
        abort();
    if (op == WS_OP_TEXT && !ws_utf8_valid(d, n))
        abort();
    if (op != WS_OP_TEXT && op != WS_OP_BINARY)
        abort();
    add(r, op == WS_OP_TEXT ? 'T' : 'B', d, n);
    if (op == WS_OP_TEXT) { /* the CDP layer: the inspector's parse of a command */
        char *copy = malloc(n + 1);
        if (!copy)
            abort();
        memcpy(copy, d, n + 1);
        struct json_doc doc = {0};
        struct json_error err;
        struct json_opts o = {.flags = JSON_STRICT | JSON_EXACT_INTS, .max_depth = 64};
        if (json_parse_opts(copy, n, &o, &doc, &err) != 0) {
            if (!err.what.msg[0])
                abort(); /* a refusal names what was expected */
        } else {
            const struct json_val *root = json_root(&doc), *id = json_get(root, "id");
            const struct json_val *m = json_get(root, "method");
            if (!root || (id && id->type == JSON_NUMBER && (id->flags & JSON_V_INT) &&
                          json_is_str(m) && strlen(m->str) > m->len))
                abort();
        }
        json_free(&doc);
        free(copy);
    }
    return 0;
}

static int
on_ping(void *ud, const char *d, size_t n)
{
    if (n > 125)
        abort();
    add(ud, 'P', d, n);
    return 0;
}

static int
on_pong(void *ud, const char *d, size_t n)
{
    if (n > 125)
        abort();
    add(ud, 'O', d, n);
    return 0;
}

static int
on_close(void *ud, int code, const char *reason, size_t n)
{
    if (n > 123 || !ws_utf8_valid(reason, n) || (code != 1005 && (code < 1000 || code >= 5000)))
        abort();
    char c[8];
    snprintf(c, sizeof c, "%d", code);
    add(ud, 'C', c, strlen(c));
    ((struct run *)ud)->ended = true;
    return 0;
}

static const struct ws_callbacks cb = {on_message, on_ping, on_pong, on_close};

static void
feed(const uint8_t *d, size_t n, size_t step, size_t max, struct run *r)
{
    struct ws_parser p;
    ws_init(&p, max);
    r->max = max;
    size_t off = 0;
    while (off < n) {
        size_t k = step && step < n - off ? step : n - off;
        size_t used = ws_feed(&p, (const char *)d + off, k, &cb, r);
        if (used > k)
            abort();
        off += k;
        if (p.close_code || p.closed) {
            if (p.close_code && (!p.error || p.closed))
                abort();
            if (p.close_code && p.close_code != 1002 && p.close_code != 1007 &&
                p.close_code != 1009 && p.close_code != 1011)
                abort();
            /* nothing more is consumed */
            if (off < n && ws_feed(&p, (const char *)d + off, n - off, &cb, r) != 0)
                abort();
            char c[8];
            snprintf(c, sizeof c, "%d", p.close_code);
            r->ended = false;
            add(r, 'X', c, strlen(c));
            break;
        }
        if (used < k)
            abort(); /* callbacks never stop it here: all input is consumed */
    }
    ws_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max = data[0] & 1 ? 64 : 0;
    size_t step = (size_t)((data[0] >> 1) & 31) + 1;
    struct run a = {0}, b = {0};
    feed(data + 1, size - 1, 0, max ? max : WS_DEFAULT_MAX_MESSAGE, &a);
    feed(data + 1, size - 1, step, max ? max : WS_DEFAULT_MAX_MESSAGE, &b);
    if (a.len != b.len || (a.len && memcmp(a.log, b.log, a.len) != 0))
        abort();
    free(a.log);
    free(b.log);
    return 0;
}
