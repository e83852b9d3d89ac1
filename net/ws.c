/*
 * ws.c — RFC 6455 framing for the server side (the refusals and their close codes are listed in
 * ws.h).
 *
 * Why our own: Debian has libwebsockets, but it brings its own event loop integration, TLS and
 * HTTP server; the inspector needs only the framing over a libuv stream it already reads, and
 * the project's HTTP parser reads the upgrade request. The framing is a small state machine:
 * a frame header is gathered into p->head (2 to 14 bytes, the length known after the second
 * byte), checked whole, then its payload is unmasked straight into the message buffer (data
 * frames) or into p->ctl (control frames, at most 125 bytes). The message limit is checked
 * against the header's announced length before any payload is read, so memory stays bounded by
 * the limit whatever a client announces.
 */
#include "net/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_HEAD = 0, S_PAYLOAD, S_DONE };

void
ws_init(struct ws_parser *p, size_t max_message)
{
    memset(p, 0, sizeof *p);
    p->max_message = max_message ? max_message : WS_DEFAULT_MAX_MESSAGE;
    p->head_need = 2;
}

void
ws_free(struct ws_parser *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = p->cap = 0;
}

static size_t
fail(struct ws_parser *p, int code, const char *why)
{
    p->close_code = code;
    p->error = why;
    p->state = S_DONE;
    return 0;
}

static bool
is_control(uint8_t op)
{
    return op & 0x8;
}

/* The whole header is in p->head: check it and set up the payload. Returns 0 or -1 (refused). */
static int
begin_frame(struct ws_parser *p)
{
    uint8_t b0 = p->head[0], b1 = p->head[1];
    p->fin = b0 & 0x80;
    p->opcode = b0 & 0x0f;
    if (b0 & 0x70)
        return fail(p, WS_CLOSE_PROTOCOL, "a frame with RSV bits set (no extension was agreed)"),
               -1;
    if (!(b1 & 0x80))
        return fail(p, WS_CLOSE_PROTOCOL, "a client frame that is not masked"), -1;
    uint64_t n = b1 & 0x7f;
    size_t at = 2;
    if (n == 126) {
        n = (uint64_t)p->head[2] << 8 | p->head[3];
        at = 4;
    } else if (n == 127) {
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | p->head[2 + i];
        at = 10;
        if (n >> 63)
            return fail(p, WS_CLOSE_PROTOCOL, "a 64-bit frame length with its top bit set"), -1;
    }
    memcpy(p->mask, p->head + at, 4);
    switch (p->opcode) {
    case WS_OP_CONT:
        if (!p->msg_op)
            return fail(p, WS_CLOSE_PROTOCOL, "a continuation frame with no message begun"), -1;
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (p->msg_op)
            return fail(p, WS_CLOSE_PROTOCOL,
                        "a new message begun before the fragmented one ended"),
                   -1;
        break;
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!p->fin)
            return fail(p, WS_CLOSE_PROTOCOL, "a fragmented control frame"), -1;
        if (n > 125)
            return fail(p, WS_CLOSE_PROTOCOL, "a control frame over 125 bytes"), -1;
        break;
    default:
        return fail(p, WS_CLOSE_PROTOCOL, "an unknown opcode"), -1;
    }
    if (!is_control(p->opcode)) {
        /* The limit before any payload: a huge announced length is refused at its header. */
        if (n > p->max_message || p->len + n > p->max_message)
            return fail(p, WS_CLOSE_TOO_BIG, "a message over the size limit"), -1;
        if (p->opcode != WS_OP_CONT) {
            p->msg_op = p->opcode;
            p->len = 0;
        }
        if (p->len + n + 1 > p->cap) {
            size_t cap = p->cap ? p->cap : 256;
            while (cap < p->len + n + 1)
                cap *= 2;
            if (cap > p->max_message + 1)
                cap = p->max_message + 1;
            char *b = realloc(p->buf, cap);
            if (!b)
                return fail(p, WS_CLOSE_INTERNAL, "out of memory"), -1;
            p->buf = b;
            p->cap = cap;
        }
    }
    p->nctl = 0;
    p->left = n;
    p->frame_at = 0;
    return 0;
}

static bool
close_code_ok(int code)
{
    if (code < 1000 || code >= 5000)
        return false;
    if (code >= 1016 && code < 3000)
        return false;
    return code != 1004 && code != 1005 && code != 1006 && code != 1015;
}

/* The current frame's payload is complete. Returns the callback's value, or -1 on a refusal. */
static int
end_frame(struct ws_parser *p, const struct ws_callbacks *cb, void *ud)
{
    switch (p->opcode) {
    case WS_OP_PING:
        return cb->on_ping ? cb->on_ping(ud, p->ctl, p->nctl) : 0;
    case WS_OP_PONG:
        return cb->on_pong ? cb->on_pong(ud, p->ctl, p->nctl) : 0;
    case WS_OP_CLOSE: {
        int code = 1005;
        const char *reason = "";
        size_t rlen = 0;
        if (p->nctl == 1)
            return fail(p, WS_CLOSE_PROTOCOL, "a close frame with a one-byte payload"), -1;
        if (p->nctl >= 2) {
            code = (uint8_t)p->ctl[0] << 8 | (uint8_t)p->ctl[1];
            if (!close_code_ok(code))
                return fail(p, WS_CLOSE_PROTOCOL, "a close frame with a code that may not be sent"),
                       -1;
            reason = p->ctl + 2;
            rlen = p->nctl - 2;
            if (!ws_utf8_valid(reason, rlen))
                return fail(p, WS_CLOSE_INVALID_DATA, "a close reason that is not UTF-8"), -1;
        }
        p->closed = true;
        p->state = S_DONE;
        p->ctl[p->nctl < sizeof p->ctl ? p->nctl : sizeof p->ctl - 1] = '\0';
        return cb->on_close ? cb->on_close(ud, code, reason, rlen) : 0;
    }
    default:
        if (!p->fin)
            return 0;
        enum ws_opcode op = p->msg_op;
        p->msg_op = 0;
        if (op == WS_OP_TEXT && !ws_utf8_valid(p->buf ? p->buf : "", p->len))
            return fail(p, WS_CLOSE_INVALID_DATA, "a text message that is not UTF-8"), -1;
        if (p->buf)
            p->buf[p->len] = '\0';
        size_t len = p->len;
        p->len = 0;
        return cb->on_message ? cb->on_message(ud, op, p->buf ? p->buf : "", len) : 0;
    }
}

size_t
ws_feed(struct ws_parser *p, const char *data, size_t len, const struct ws_callbacks *cb, void *ud)
{
    size_t i = 0;
    while (i < len && p->state != S_DONE) {
        if (p->state == S_HEAD) {
            while (i < len && p->nhead < p->head_need) {
                p->head[p->nhead++] = (uint8_t)data[i++];
                if (p->nhead == 2) { /* now the header's whole length is known */
                    uint8_t n = p->head[1] & 0x7f;
                    p->head_need = 2 + (n == 126 ? 2 : n == 127 ? 8 : 0) + 4;
                }
            }
            if (p->nhead < p->head_need)
                break;
            p->nhead = 0;
            p->head_need = 2;
            if (begin_frame(p) != 0)
                return i;
            p->state = S_PAYLOAD;
        }
        if (p->state == S_PAYLOAD) {
            size_t take = len - i;
            if ((uint64_t)take > p->left)
                take = (size_t)p->left;
            char *dst = is_control(p->opcode) ? p->ctl + p->nctl : p->buf + p->len;
            for (size_t k = 0; k < take; k++)
                dst[k] = (char)((uint8_t)data[i + k] ^ p->mask[(p->frame_at + k) & 3]);
            if (is_control(p->opcode))
                p->nctl += take;
            else
                p->len += take;
            p->frame_at += take;
            p->left -= take;
            i += take;
            if (p->left)
                break;
            p->state = S_HEAD;
            if (end_frame(p, cb, ud) < 0)
                return i;
        }
    }
    return i;
}

size_t
ws_frame_header(uint8_t out[10], enum ws_opcode op, uint64_t len)
{
    out[0] = 0x80 | (uint8_t)op;
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t
ws_close_payload(char out[125], int code, const char *reason)
{
    out[0] = (char)(code >> 8);
    out[1] = (char)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > 123)
        n = 123;
    while (n > 0 && !ws_utf8_valid(reason, n)) /* never cut a character in two */
        n--;
    memcpy(out + 2, reason ? reason : "", n);
    return 2 + n;
}

bool
ws_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        } else
            return false;
        if (len - i <= n)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return false;
        i += n + 1;
    }
    return true;
}

/* --- SHA-1 and base64, for the handshake ----------------------------------------------------- */

static uint32_t
rol(uint32_t x, int n)
{
    return x << n | x >> (32 - n);
}

static void
sha1_block(uint32_t h[5], const uint8_t *b)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
               (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)
            f = (bb & c) | (~bb & d), k = 0x5a827999;
        else if (i < 40)
            f = bb ^ c ^ d, k = 0x6ed9eba1;
        else if (i < 60)
            f = (bb & c) | (bb & d) | (c & d), k = 0x8f1bbcdc;
        else
            f = bb ^ c ^ d, k = 0xca62c1d6;
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol(bb, 30), bb = a, a = t;
    }
    h[0] += a, h[1] += bb, h[2] += c, h[3] += d, h[4] += e;
}

void
ws_sha1(const void *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    const uint8_t *d = data;
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        sha1_block(h, d + i);
    uint8_t last[128] = {0};
    size_t rest = len - i;
    memcpy(last, d + i, rest);
    last[rest] = 0x80;
    size_t blocks = rest + 9 <= 64 ? 1 : 2;
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++)
        last[blocks * 64 - 1 - k] = (uint8_t)(bits >> (8 * k));
    for (size_t k = 0; k < blocks; k++)
        sha1_block(h, last + 64 * k);
    for (int k = 0; k < 5; k++) {
        out[4 * k] = (uint8_t)(h[k] >> 24);
        out[4 * k + 1] = (uint8_t)(h[k] >> 16);
        out[4 * k + 2] = (uint8_t)(h[k] >> 8);
        out[4 * k + 3] = (uint8_t)h[k];
    }
}

void
ws_accept_key(const char *key, size_t len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char cat[128 + sizeof guid];
    if (len > 128)
        len = 128; /* a real key is 24 characters; a longer one is refused before this */
    memcpy(cat, key, len);
    memcpy(cat + len, guid, sizeof guid - 1);
    uint8_t d[21] = {0};
    ws_sha1(cat, len + sizeof guid - 1, d);
    size_t o = 0;
    for (size_t i = 0; i < 20; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | (i + 2 < 20 ? d[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = b64[v >> 6 & 63];
        out[o++] = i + 2 < 20 ? b64[v & 63] : '=';
    }
    out[o] = '\0';
}
