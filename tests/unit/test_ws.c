/*
 * test_ws.c — the WebSocket framing (net/ws.c) alone, linked without mruby or libuv.
 *
 * Frames are built here as a client sends them (masked with a fixed key) and fed through run():
 * whole, then one byte at a time, then in every 2-way split; the event logs must be identical.
 * A log is text: "T<text>" / "B<n>" for a text / binary message, "P<data>" a ping, "O<data>" a
 * pong, "C<code>:<reason>" the peer's close, "X<code>" a refusal with its close code.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws.h"

struct log {
    char s[8192];
    size_t len;
};

/* Appends tag, data[0..n) and a '|' (tag NULL: data alone, no '|'). */
static void
add(struct log *l, const char *tag, const char *data, size_t n)
{
    int k = snprintf(l->s + l->len, sizeof l->s - l->len, "%s%.*s%s", tag ? tag : "", (int)n, data,
                     tag ? "|" : "");
    if (k > 0 && l->len + (size_t)k < sizeof l->s)
        l->len += (size_t)k;
}

static int
on_message(void *ud, enum ws_opcode op, const char *data, size_t len)
{
    char n[32];
    snprintf(n, sizeof n, "%zu", len);
    if (op == WS_OP_TEXT)
        add(ud, "T", data, len);
    else
        add(ud, "B", n, strlen(n));
    return 0;
}

static int
on_ping(void *ud, const char *data, size_t len)
{
    add(ud, "P", data, len);
    return 0;
}

static int
on_pong(void *ud, const char *data, size_t len)
{
    add(ud, "O", data, len);
    return 0;
}

static int
on_close(void *ud, int code, const char *reason, size_t len)
{
    char c[16];
    snprintf(c, sizeof c, "C%d:", code);
    add(ud, c, reason, len);
    return 0;
}

static const struct ws_callbacks cb = {on_message, on_ping, on_pong, on_close};

/* One client frame: fin, opcode, payload masked with 0x37 0xfa 0x21 0x3d (RFC 6455 5.7's key). */
static size_t
frame(uint8_t *out, bool fin, int op, const char *payload, size_t len, bool masked)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | op);
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        out[n++] = m | (uint8_t)len;
    } else if (len <= 0xffff) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (masked) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[n + i] = (uint8_t)payload[i] ^ (masked ? key[i & 3] : 0);
    return n + len;
}

static void
feed_log(const uint8_t *in, size_t len, size_t step, size_t max, struct log *l)
{
    struct ws_parser p;
    ws_init(&p, max);
    memset(l, 0, sizeof *l);
    size_t off = 0;
    while (off < len && !p.close_code && !p.closed) {
        size_t n = step && step < len - off ? step : len - off;
        size_t used = ws_feed(&p, (const char *)in + off, n, &cb, l);
        off += n;
        if (used < n)
            break;
    }
    if (p.close_code) {
        char c[16];
        snprintf(c, sizeof c, "X%d", p.close_code);
        add(l, NULL, c, strlen(c));
    }
    ws_free(&p);
}

/* The log of in, the same whatever the split. */
static void
run(const uint8_t *in, size_t len, size_t max, const char *expect)
{
    struct log whole, bytes, split;
    feed_log(in, len, 0, max, &whole);
    cr_assert_str_eq(whole.s, expect);
    feed_log(in, len, 1, max, &bytes);
    cr_assert_str_eq(bytes.s, expect, "byte by byte");
    for (size_t k = 1; k < len && len < 4096; k++) {
        struct ws_parser p;
        ws_init(&p, max);
        memset(&split, 0, sizeof split);
        size_t u = ws_feed(&p, (const char *)in, k, &cb, &split);
        if (u == k && !p.close_code && !p.closed)
            ws_feed(&p, (const char *)in + k, len - k, &cb, &split);
        if (p.close_code) {
            char c[16];
            snprintf(c, sizeof c, "X%d", p.close_code);
            add(&split, NULL, c, strlen(c));
        }
        ws_free(&p);
        cr_assert_str_eq(split.s, expect, "split at %zu", k);
    }
}

Test(ws, text_message)
{
    uint8_t b[64];
    size_t n = frame(b, true, WS_OP_TEXT, "Hello", 5, true);
    run(b, n, 0, "THello|");
}

Test(ws, rfc_example_unmasked_is_refused)
{
    /* RFC 6455 5.7: a single-frame unmasked text message; a server must refuse it. */
    static const uint8_t b[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    run(b, sizeof b, 0, "X1002");
}

Test(ws, rfc_example_masked)
{
    static const uint8_t b[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    run(b, sizeof b, 0, "THello|");
}

Test(ws, fragments_with_a_ping_between)
{
    uint8_t b[256];
    size_t n = frame(b, false, WS_OP_TEXT, "Hel", 3, true);
    n += frame(b + n, true, WS_OP_PING, "x", 1, true);
    n += frame(b + n, false, WS_OP_CONT, "l", 1, true);
    n += frame(b + n, true, WS_OP_CONT, "o", 1, true);
    n += frame(b + n, true, WS_OP_PONG, "", 0, true);
    run(b, n, 0, "Px|THello|O|");
}

Test(ws, lengths_16_and_64_bit)
{
    static uint8_t b[80000];
    static char big[70000];
    memset(big, 'a', sizeof big);
    size_t n = frame(b, true, WS_OP_BINARY, big, 300, true);
    n += frame(b + n, true, WS_OP_BINARY, big, 70000, true);
    struct log l;
    feed_log(b, n, 0, 0, &l);
    cr_assert_str_eq(l.s, "B300|B70000|");
    feed_log(b, n, 1, 0, &l);
    cr_assert_str_eq(l.s, "B300|B70000|");
}

Test(ws, too_big_is_refused_at_its_header)
{
    /* A frame announcing 1 GiB: refused with 1009 after its 14 header bytes, nothing buffered. */
    uint8_t b[16] = {0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4};
    struct ws_parser p;
    ws_init(&p, 1024);
    size_t used = ws_feed(&p, (const char *)b, sizeof b, &cb, &(struct log){0});
    cr_assert_eq(p.close_code, WS_CLOSE_TOO_BIG);
    cr_assert_eq(used, 14);
    cr_assert_eq(p.cap, 0, "nothing was allocated for the payload");
    ws_free(&p);
    /* Fragments that add up over the limit. */
    uint8_t f[3000];
    char data[600];
    memset(data, 'x', sizeof data);
    size_t n = frame(f, false, WS_OP_TEXT, data, 600, true);
    n += frame(f + n, true, WS_OP_CONT, data, 600, true);
    run(f, n, 1000, "X1009");
}

Test(ws, protocol_errors)
{
    uint8_t b[300];
    size_t n;
    b[0] = 0xc1, b[1] = 0x80, memset(b + 2, 0, 4); /* RSV1 */
    run(b, 6, 0, "X1002");
    n = frame(b, true, 0x3, "", 0, true); /* reserved opcode */
    run(b, n, 0, "X1002");
    n = frame(b, true, WS_OP_CONT, "a", 1, true); /* nothing to continue */
    run(b, n, 0, "X1002");
    n = frame(b, false, WS_OP_PING, "a", 1, true); /* fragmented control */
    run(b, n, 0, "X1002");
    char big[200];
    memset(big, 'p', sizeof big);
    n = frame(b, true, WS_OP_PING, big, 126, true); /* control over 125 bytes */
    run(b, n, 0, "X1002");
    n = frame(b, false, WS_OP_TEXT, "a", 1, true);
    n += frame(b + n, true, WS_OP_TEXT, "b", 1, true); /* new message inside a fragmented one */
    run(b, n, 0, "X1002");
    uint8_t top[14] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}; /* top bit of 64 */
    run(top, sizeof top, 0, "X1002");
}

Test(ws, utf8)
{
    uint8_t b[64];
    size_t n = frame(b, true, WS_OP_TEXT, "\xc3\xa9t\xc3\xa9", 5, true);
    run(b, n, 0, "T\xc3\xa9t\xc3\xa9|");
    n = frame(b, true, WS_OP_TEXT, "\xc3", 1, true); /* cut short */
    run(b, n, 0, "X1007");
    n = frame(b, true, WS_OP_TEXT, "\xed\xa0\x80", 3, true); /* a surrogate */
    run(b, n, 0, "X1007");
    n = frame(b, true, WS_OP_TEXT, "\xc0\xaf", 2, true); /* overlong */
    run(b, n, 0, "X1007");
    cr_assert(ws_utf8_valid("\xf0\x9f\x98\x80", 4));
    cr_assert(!ws_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
}

Test(ws, close_frames)
{
    uint8_t b[64];
    size_t n = frame(b, true, WS_OP_CLOSE,
                     "\x03\xe8"
                     "bye",
                     5, true);
    n += frame(b + n, true, WS_OP_TEXT, "after", 5, true); /* nothing after a close */
    run(b, n, 0, "C1000:bye|");
    n = frame(b, true, WS_OP_CLOSE, "", 0, true);
    run(b, n, 0, "C1005:|");
    n = frame(b, true, WS_OP_CLOSE, "\x03", 1, true);
    run(b, n, 0, "X1002");
    n = frame(b, true, WS_OP_CLOSE, "\x03\xed", 2, true); /* 1005 may not be sent */
    run(b, n, 0, "X1002");
    n = frame(b, true, WS_OP_CLOSE, "\x0b\xb8", 2, true); /* 3000: allowed */
    run(b, n, 0, "C3000:|");
    n = frame(b, true, WS_OP_CLOSE, "\x03\xe8\xff", 3, true); /* reason not UTF-8 */
    run(b, n, 0, "X1007");
}

Test(ws, server_frames)
{
    uint8_t h[10];
    cr_assert_eq(ws_frame_header(h, WS_OP_TEXT, 5), 2);
    cr_assert_eq(h[0], 0x81);
    cr_assert_eq(h[1], 5);
    cr_assert_eq(ws_frame_header(h, WS_OP_TEXT, 300), 4);
    cr_assert_eq(h[1], 126);
    cr_assert_eq(h[2] << 8 | h[3], 300);
    cr_assert_eq(ws_frame_header(h, WS_OP_BINARY, 1u << 20), 10);
    cr_assert_eq(h[1], 127);
    cr_assert_eq(h[7], 0x10);
    char p[125];
    size_t n = ws_close_payload(p, 1009, "too big");
    cr_assert_eq(n, 9);
    cr_assert_eq((uint8_t)p[0] << 8 | (uint8_t)p[1], 1009);
    char longr[300];
    memset(longr, 'r', sizeof longr);
    longr[299] = 0;
    cr_assert_eq(ws_close_payload(p, 1000, longr), 125);
}

Test(ws, handshake_key)
{
    /* RFC 6455 1.3's example. */
    char out[29];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    uint8_t d[20];
    ws_sha1("abc", 3, d);
    cr_assert_eq(d[0], 0xa9);
    cr_assert_eq(d[19], 0x9d);
    /* 56 bytes: the padding needs a second block */
    ws_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
    cr_assert_eq(d[0], 0x84);
    cr_assert_eq(d[1], 0x98);
    cr_assert_eq(d[19], 0xf1);
}
