/*
 * fuzz_http.c — libFuzzer target for the HTTP/1.x parser (net/http_parser.c).
 *
 * The first byte chooses: bit 0 request (0) or response (1); bit 1 the next final response has
 * no body (a HEAD); bit 2 small limits (line 64, head 256, 8 headers, body 100); bits 3-7 a split
 * step of 1..32 bytes. The rest is fed whole, then in pieces of that step, then finished
 * (hp_finish): both runs must give the same events (a text log, body spans merged). Invariants:
 * a body span lies inside the piece just fed; the body of a message with Content-Length never
 * exceeds it; nothing happens after an error (hp_feed returns 0, no callback); a request error's
 * status is 400, 413, 414, 431 or 505; header names are tokens and values hold no CR, LF or NUL;
 * the head's strings lie inside one buffer of at most max_head + 2 bytes.
 * Seed corpus: tests/fuzz/corpus/http/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct log {
    char *s;
    size_t len, cap;
};

static void
add(struct log *l, const void *p, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap < l->len + n)
            cap *= 2;
        l->s = realloc(l->s, cap);
        if (!l->s)
            abort();
        l->cap = cap;
    }
    memcpy(l->s + l->len, p, n);
    l->len += n;
}

struct run {
    struct log log;
    int kind, skip;
    const struct hp_parser *p;
    const char *piece, *piece_end;
    int64_t cl;    /* the current message's Content-Length, -1 when none */
    uint64_t seen; /* its body bytes so far */
    int in_body;   /* a body span is being merged into the log */
    int dead;      /* an error was seen: no more callbacks */
};

static void
end_span(struct run *r)
{
    if (r->in_body) {
        add(&r->log, "|", 1);
        r->in_body = 0;
    }
}

static int
on_head(void *ud, const struct hp_head *h)
{
    struct run *r = ud;
    if (r->dead)
        abort();
    end_span(r);
    char tmp[96];
    int n = snprintf(tmp, sizeof tmp, "H%d.%d/%d/%lld/%d%d%d%d", h->version_major, h->version_minor,
                     h->status, (long long)h->content_length, h->keep_alive, h->chunked, h->upgrade,
                     h->expect_continue);
    add(&r->log, tmp, (size_t)n);
    if (h->version_major != 1 || (h->version_minor != 0 && h->version_minor != 1))
        abort();
    if (h->content_length < -1)
        abort();
    if (r->kind == HP_REQUEST) {
        add(&r->log, h->method, h->method_len);
        add(&r->log, " ", 1);
        add(&r->log, h->target, h->target_len);
        if (!h->method_len || !h->target_len)
            abort();
    } else {
        if (h->status < 0 || h->status > 999)
            abort();
        add(&r->log, h->reason, h->reason_len);
    }
    const char *lo = r->kind == HP_REQUEST ? h->method : h->headers ? h->headers[0].name : NULL;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct hp_header *x = &h->headers[i];
        if (!x->name_len)
            abort();
        for (size_t k = 0; k < x->name_len; k++) {
            unsigned char c = (unsigned char)x->name[k];
            if (c <= ' ' || c == ':' || c >= 0x7f)
                abort();
        }
        for (size_t k = 0; k < x->value_len; k++) {
            unsigned char c = (unsigned char)x->value[k];
            if (c == '\r' || c == '\n' || c == 0)
                abort();
        }
        if (lo && (x->value + x->value_len > lo + r->p->limits.max_head + 2 || x->name < lo))
            abort();
        add(&r->log, "[", 1);
        add(&r->log, x->name, x->name_len);
        add(&r->log, ":", 1);
        add(&r->log, x->value, x->value_len);
    }
    r->cl = h->content_length;
    r->seen = 0;
    if (r->kind == HP_RESPONSE && r->skip && h->status >= 200) {
        r->skip = 0;
        return HP_SKIP_BODY;
    }
    return 0;
}

static int
on_body(void *ud, const char *d, size_t n)
{
    struct run *r = ud;
    if (r->dead || n == 0 || d < r->piece || d + n > r->piece_end)
        abort();
    r->seen += n;
    if (r->cl >= 0 && r->seen > (uint64_t)r->cl)
        abort();
    if (r->p->limits.max_body && r->seen > r->p->limits.max_body)
        abort();
    if (!r->in_body) {
        add(&r->log, "B", 1);
        r->in_body = 1;
    }
    add(&r->log, d, n);
    return 0;
}

static int
on_end(void *ud)
{
    struct run *r = ud;
    if (r->dead)
        abort();
    end_span(r);
    add(&r->log, "E", 1);
    return 0;
}

static const struct hp_callbacks cbs = {on_head, on_body, on_end};

static void
note_error(struct run *r, const struct hp_parser *p)
{
    end_span(r);
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "X%d/%d", (int)p->error, hp_status(p));
    add(&r->log, tmp, (size_t)n);
    int st = hp_status(p);
    if (r->kind == HP_REQUEST && st != 400 && st != 413 && st != 414 && st != 431 && st != 505)
        abort();
    if (!hp_error_message(p)[0])
        abort();
    r->dead = 1;
}

static void
run(struct run *r, const struct hp_limits *lim, const char *in, size_t len, size_t step)
{
    struct hp_parser p;
    hp_init(&p, (enum hp_kind)r->kind, lim);
    r->p = &p;
    r->cl = -1;
    size_t off = 0;
    int stopped = 0;
    while (off < len && !stopped) {
        size_t n = len - off < step ? len - off : step;
        r->piece = in + off;
        r->piece_end = in + off + n;
        size_t used = hp_feed(&p, in + off, n, &cbs, r);
        if (used > n)
            abort();
        if (p.error) {
            note_error(r, &p);
            stopped = 1;
        } else if (hp_upgraded(&p)) {
            end_span(r);
            add(&r->log, "U", 1);
            add(&r->log, in + off + used, len - off - used);
            stopped = 1;
        } else if (used != n) {
            abort(); /* no pause asked: everything is consumed */
        }
        off += n;
    }
    if (!stopped) {
        if (hp_finish(&p, &cbs, r) < 0)
            note_error(r, &p);
        else
            add(&r->log, "F", 1);
    }
    if (p.error) {
        /* nothing after an error */
        if (hp_feed(&p, "GET / HTTP/1.1\r\n\r\n", 18, &cbs, r) != 0 || hp_finish(&p, &cbs, r) != -1)
            abort();
    }
    hp_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned b = data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct hp_limits small = {64, 256, 8, 100};
    const struct hp_limits *lim = (b & 4) ? &small : NULL;
    size_t step = 1 + (b >> 3);

    /* the input in a buffer of its own, so ASan sees any read past it */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, in, len);

    struct run whole = {0};
    whole.kind = (b & 1) ? HP_RESPONSE : HP_REQUEST;
    whole.skip = (b >> 1) & 1;
    struct run split = whole;
    run(&whole, lim, copy, len, len ? len : 1);
    run(&split, lim, copy, len, step);
    if (whole.log.len != split.log.len || memcmp(whole.log.s, split.log.s, whole.log.len) != 0) {
        fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)whole.log.len, whole.log.s,
                (int)split.log.len, split.log.s);
        abort();
    }
    free(whole.log.s);
    free(split.log.s);
    free(copy);
    return 0;
}
