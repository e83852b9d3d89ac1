/*
 * test_http_parser.c — the HTTP/1.x parser (net/http_parser.c) alone, linked without mruby.
 *
 * Each case runs through run_all(): the input fed whole, then one byte at a time, then in every
 * 2-way split (every 7th split point for inputs over 4 KiB, plus the ends); the event logs must
 * be identical. A log is text: "H{...}" for a head, "B<bytes>" for body bytes (consecutive
 * spans merged, since their number depends on the split), "E" for a message end, "U<rest>" when
 * parsing stopped for an upgrade, "X<code> <status>" for an error.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parser.h"

struct sbuf {
    char *s;
    size_t len, cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = realloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

struct opts {
    enum hp_kind kind;
    struct hp_limits limits;
    int skip_next;  /* on_head answers HP_SKIP_BODY for the next final response (HEAD) */
    int pause_head; /* on_head answers HP_PAUSE */
    int pause_body; /* on_body answers HP_PAUSE */
    int fail_end;   /* on_message_end answers -1 */
};

struct rec {
    struct sbuf log, body;
    const struct opts *o;
    int skip;
    int events_after_error;
    int pauses;
};

static void
flush_body(struct rec *r)
{
    if (r->body.len) {
        sb_str(&r->log, "B");
        sb_add(&r->log, r->body.s, r->body.len);
        sb_str(&r->log, "|");
        r->body.len = 0;
    }
}

static int
on_head(void *ud, const struct hp_head *h)
{
    struct rec *r = ud;
    char tmp[128];
    flush_body(r);
    sb_str(&r->log, "H{");
    if (r->o->kind == HP_REQUEST) {
        sb_add(&r->log, h->method, h->method_len);
        sb_str(&r->log, " ");
        sb_add(&r->log, h->target, h->target_len);
    } else {
        snprintf(tmp, sizeof tmp, "%d ", h->status);
        sb_str(&r->log, tmp);
        sb_add(&r->log, h->reason, h->reason_len);
    }
    snprintf(tmp, sizeof tmp, " 1.%d ka=%d cl=%lld ch=%d up=%d ec=%d", h->version_minor,
             h->keep_alive, (long long)h->content_length, h->chunked, h->upgrade,
             h->expect_continue);
    sb_str(&r->log, tmp);
    for (size_t i = 0; i < h->nheaders; i++) {
        sb_str(&r->log, " [");
        sb_add(&r->log, h->headers[i].name, h->headers[i].name_len);
        sb_str(&r->log, ":");
        sb_add(&r->log, h->headers[i].value, h->headers[i].value_len);
        sb_str(&r->log, "]");
    }
    sb_str(&r->log, "}");
    int ret = 0;
    if (r->o->kind == HP_RESPONSE && r->skip && h->status >= 200) {
        r->skip = 0;
        ret |= HP_SKIP_BODY;
    }
    if (r->o->pause_head) {
        r->pauses++;
        ret |= HP_PAUSE;
    }
    return ret;
}

static int
on_body(void *ud, const char *d, size_t n)
{
    struct rec *r = ud;
    cr_assert_gt(n, 0, "an empty body span");
    sb_add(&r->body, d, n);
    if (r->o->pause_body) {
        r->pauses++;
        return HP_PAUSE;
    }
    return 0;
}

static int
on_end(void *ud)
{
    struct rec *r = ud;
    flush_body(r);
    sb_str(&r->log, "E");
    return r->o->fail_end ? -1 : 0;
}

static const struct hp_callbacks cbs = {on_head, on_body, on_end};

/* Feeds one piece, resuming after pauses; returns 1 once parsing stopped (error or upgrade). */
static int
feed_piece(struct hp_parser *p, struct rec *r, const char *d, size_t n, const char *rest_end)
{
    size_t off = 0;
    while (off < n) {
        size_t used = hp_feed(p, d + off, n - off, &cbs, r);
        cr_assert_leq(used, n - off);
        off += used;
        if (p->error) {
            flush_body(r);
            char tmp[96];
            snprintf(tmp, sizeof tmp, "X%s %d", hp_error_code(p->error), hp_status(p));
            sb_str(&r->log, tmp);
            return 1;
        }
        if (hp_upgraded(p)) {
            flush_body(r);
            sb_str(&r->log, "U");
            sb_add(&r->log, d + off, (size_t)(rest_end - (d + off)));
            return 1;
        }
        if (used == 0 && off < n)
            cr_assert_fail("hp_feed consumed nothing without a pause, error or upgrade");
    }
    return 0;
}

/* The log of feeding `in` cut at the given points (sorted, ncuts of them), then hp_finish when
 * `finish` is set. */
static char *
run_cuts(const struct opts *o, const char *in, size_t len, const size_t *cuts, int ncuts,
         int finish)
{
    struct hp_parser p;
    struct rec r = {{0}, {0}, o, o->skip_next, 0, 0};
    hp_init(&p, o->kind, &o->limits);
    size_t prev = 0;
    int stopped = 0;
    for (int i = 0; i <= ncuts && !stopped; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        stopped = feed_piece(&p, &r, in + prev, end - prev, in + len);
        prev = end;
    }
    if (stopped && p.error) {
        /* nothing more happens after an error */
        size_t before = r.log.len;
        cr_assert_eq(hp_feed(&p, "GET / HTTP/1.1\r\n\r\n", 18, &cbs, &r), 0);
        cr_assert_eq(hp_finish(&p, &cbs, &r), -1);
        cr_assert_eq(r.log.len, before, "an event after an error");
    }
    if (finish && !stopped) {
        int rc = hp_finish(&p, &cbs, &r);
        flush_body(&r);
        if (rc < 0) {
            char tmp[96];
            snprintf(tmp, sizeof tmp, "F%s %d", hp_error_code(p.error), hp_status(&p));
            sb_str(&r.log, tmp);
        } else {
            sb_str(&r.log, "F");
        }
    }
    flush_body(&r);
    hp_free(&p);
    free(r.body.s);
    if (!r.log.s)
        return strdup("");
    return r.log.s;
}

/* Runs every split; returns the log of the whole feed (the caller frees it). */
static char *
run_all_f(const struct opts *o, const char *in, size_t len, int finish)
{
    char *whole = run_cuts(o, in, len, NULL, 0, finish);
    /* one byte at a time */
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    char *bytes = run_cuts(o, in, len, cuts, len > 1 ? (int)(len - 1) : 0, finish);
    cr_assert_str_eq(bytes, whole, "byte at a time differs from whole:\n%s\n%s", bytes, whole);
    free(bytes);
    free(cuts);
    size_t step = len > 4096 ? 7 : 1;
    for (size_t k = 1; k < len; k += (k < 8 || k + 8 > len) ? 1 : step) {
        char *two = run_cuts(o, in, len, &k, 1, finish);
        cr_assert_str_eq(two, whole, "split at %zu differs:\n%s\n%s", k, two, whole);
        free(two);
    }
    return whole;
}

static struct opts req = {HP_REQUEST, {0, 0, 0, 0}, 0, 0, 0, 0};
static struct opts res = {HP_RESPONSE, {0, 0, 0, 0}, 0, 0, 0, 0};

static void
expect_f(const struct opts *o, const char *in, const char *log, int finish)
{
    char *got = run_all_f(o, in, strlen(in), finish);
    cr_assert_str_eq(got, log, "input: %s", in);
    free(got);
}

static void
expect(const struct opts *o, const char *in, const char *log)
{
    expect_f(o, in, log, 0);
}

/* The log ends with the error code and status. */
static void
refused(const struct opts *o, const char *in, const char *code, int status)
{
    char *got = run_all_f(o, in, strlen(in), 0);
    char want[96];
    snprintf(want, sizeof want, "X%s %d", code, status);
    size_t wl = strlen(want), gl = strlen(got);
    cr_assert(gl >= wl && strcmp(got + gl - wl, want) == 0, "input %s: got %s, want ...%s", in, got,
              want);
    free(got);
}

/* ---- requests ---- */

Test(http_parser, simple_get)
{
    expect(&req, "GET /a/b?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */* \r\n\r\n",
           "H{GET /a/b?q=1 1.1 ka=1 cl=-1 ch=0 up=0 ec=0 [Host:example.com] [Accept:*/*]}E");
}

Test(http_parser, bare_lf_line_ends)
{
    expect(&req, "GET / HTTP/1.1\nHost: a\n\n", "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0 [Host:a]}E");
}

Test(http_parser, empty_lines_before_request_skipped)
{
    expect(&req, "\r\n\r\nGET / HTTP/1.1\r\n\r\n", "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}E");
    refused(&req, "\r\rGET / HTTP/1.1\r\n\r\n", "HPE_LF_EXPECTED", 400);
}

Test(http_parser, post_with_body)
{
    expect(&req, "POST /p HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world",
           "H{POST /p 1.1 ka=1 cl=11 ch=0 up=0 ec=0 [Content-Length:11]}Bhello world|E");
    expect(&req, "POST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
           "H{POST /p 1.1 ka=1 cl=0 ch=0 up=0 ec=0 [Content-Length:0]}E");
}

Test(http_parser, pipelined)
{
    expect(&req,
           "GET /1 HTTP/1.1\r\n\r\n"
           "POST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
           "PUT /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
           "GET /4 HTTP/1.0\r\n\r\n",
           "H{GET /1 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}E"
           "H{POST /2 1.1 ka=1 cl=3 ch=0 up=0 ec=0 [Content-Length:3]}Babc|E"
           "H{PUT /3 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:chunked]}Bxy|E"
           "H{GET /4 1.0 ka=0 cl=-1 ch=0 up=0 ec=0}E");
}

Test(http_parser, good_request_then_garbage)
{
    expect(&req, "GET / HTTP/1.1\r\n\r\nGARBAGE\r\n\r\n",
           "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}EXHPE_INVALID_METHOD 400");
}

Test(http_parser, keep_alive_rules)
{
    expect(&req, "GET / HTTP/1.1\r\n\r\n", "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}E");
    expect(&req, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
           "H{GET / 1.1 ka=0 cl=-1 ch=0 up=0 ec=0 [Connection:close]}E");
    expect(&req, "GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n",
           "H{GET / 1.1 ka=0 cl=-1 ch=0 up=0 ec=0 [Connection:CLOSE]}E");
    expect(&req, "GET / HTTP/1.0\r\n\r\n", "H{GET / 1.0 ka=0 cl=-1 ch=0 up=0 ec=0}E");
    expect(&req, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
           "H{GET / 1.0 ka=1 cl=-1 ch=0 up=0 ec=0 [Connection:Keep-Alive]}E");
    expect(&req, "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
           "H{GET / 1.0 ka=0 cl=-1 ch=0 up=0 ec=0 [Connection:keep-alive, close]}E");
    expect(&req, "GET / HTTP/1.1\r\nConnection: foo\r\nConnection: bar ,close\r\n\r\n",
           "H{GET / 1.1 ka=0 cl=-1 ch=0 up=0 ec=0 [Connection:foo] [Connection:bar ,close]}E");
    expect(&req, "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n",
           "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0 [Connection:closed]}E");
}

Test(http_parser, expect_continue)
{
    expect(&req, "PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
           "H{PUT / 1.1 ka=1 cl=1 ch=0 up=0 ec=1 [Expect:100-Continue] [Content-Length:1]}Bx|E");
}

Test(http_parser, upgrade_stops_after_head)
{
    expect(&req,
           "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n"
           "\x81\x05hello",
           "H{GET /ws 1.1 ka=1 cl=-1 ch=0 up=1 ec=0 [Upgrade:websocket] [Connection:keep-alive, "
           "Upgrade]}U\x81\x05hello");
    expect(&req, "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
           "H{CONNECT example.com:443 1.1 ka=1 cl=-1 ch=0 up=1 ec=0}U");
    /* Upgrade without Connection: upgrade is no upgrade */
    expect(&req, "GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
           "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0 [Upgrade:h2c]}E");
}

Test(http_parser, upgrade_and_reset)
{
    struct hp_parser p;
    struct rec r = {{0}, {0}, &req, 0, 0, 0};
    const char *in = "GET / HTTP/1.1\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nrest";
    hp_init(&p, HP_REQUEST, NULL);
    size_t used = hp_feed(&p, in, strlen(in), &cbs, &r);
    cr_assert_eq(used, strlen(in) - 4);
    cr_assert(hp_upgraded(&p));
    cr_assert_eq(hp_feed(&p, "GET", 3, &cbs, &r), 0);
    hp_reset(&p);
    cr_assert(hp_idle(&p));
    used = hp_feed(&p, "GET / HTTP/1.1\r\n\r\n", 18, &cbs, &r);
    cr_assert_eq(used, 18);
    cr_assert(hp_idle(&p));
    hp_free(&p);
    free(r.log.s);
    free(r.body.s);
}

Test(http_parser, chunked_extensions_and_trailers)
{
    expect(&req,
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
           "5;name=val;x\r\nhello\r\n"
           "6;a=\"b c\"\r\n world\r\n"
           "A\r\n0123456789\r\n"
           "0;last\r\nX-Trailer: 1\r\nY: two\r\n\r\n"
           "GET /next HTTP/1.1\r\n\r\n",
           "H{POST / 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:gzip, chunked]}"
           "Bhello world0123456789|EH{GET /next 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}E");
}

Test(http_parser, chunked_trailers_bounded)
{
    struct opts o = req;
    o.limits.max_head = 100;
    char in[512];
    snprintf(in, sizeof in,
             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: %0100d\r\n\r\n", 0);
    refused(&o, in, "HPE_HEADER_OVERFLOW", 431);
    refused(&req,
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: 1\r\n\r\n",
            "HPE_INVALID_HEADER_TOKEN", 400);
}

/* ---- refusals ---- */

Test(http_parser, refused_start_line)
{
    refused(&req, "G(T / HTTP/1.1\r\n\r\n", "HPE_INVALID_METHOD", 400);
    refused(&req, " GET / HTTP/1.1\r\n\r\n", "HPE_INVALID_METHOD", 400);
    refused(&req, "GET  / HTTP/1.1\r\n\r\n", "HPE_INVALID_URL", 400);
    refused(&req, "GET /a\x01 HTTP/1.1\r\n\r\n", "HPE_INVALID_URL", 400);
    refused(&req, "GET /\x7f HTTP/1.1\r\n\r\n", "HPE_INVALID_URL", 400);
    refused(&req, "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", "HPE_INVALID_URL", 400);
    refused(&req, "GET / HTTX/1.1\r\n\r\n", "HPE_INVALID_VERSION", 400);
    refused(&req, "GET / HTTP/1.1 \r\n\r\n", "HPE_INVALID_VERSION", 400);
    refused(&req, "GET / HTTP/11\r\n\r\n", "HPE_INVALID_VERSION", 400);
    refused(&req, "GET /\r\n\r\n", "HPE_INVALID_URL", 400);
    refused(&req, "GET / HTTP/2.0\r\n\r\n", "HPE_INVALID_VERSION", 505);
    refused(&req, "GET / HTTP/1.2\r\n\r\n", "HPE_INVALID_VERSION", 505);
    refused(&req, "GET / HTTP/0.9\r\n\r\n", "HPE_INVALID_VERSION", 505);
    refused(&req, "GET / HTTP/1.1\rX\r\n\r\n", "HPE_LF_EXPECTED", 400);
}

Test(http_parser, refused_headers)
{
    refused(&req, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "HPE_INVALID_HEADER_TOKEN", 400);
    refused(&req, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "HPE_INVALID_HEADER_TOKEN", 400);
    refused(&req, "GET / HTTP/1.1\r\n: x\r\n\r\n", "HPE_INVALID_HEADER_TOKEN", 400);
    refused(&req, "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "HPE_INVALID_HEADER_TOKEN", 400);
    refused(&req, "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "HPE_INVALID_HEADER_TOKEN", 400);
    refused(&req, "GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", "HPE_INVALID_HEADER_TOKEN", 400);
    refused(&req, "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", "HPE_INVALID_HEADER_TOKEN", 400);
    refused(&req, "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", "HPE_INVALID_HEADER_TOKEN", 400);
    refused(&req, "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "HPE_LF_EXPECTED", 400);
    refused(&req, "GET / HTTP/1.1\r\nA: b\r\r\n\r\n", "HPE_LF_EXPECTED", 400);
    /* obs-text and HTAB are fine in values */
    expect(&req, "GET / HTTP/1.1\r\nA: caf\xc3\xa9\tx\r\n\r\n",
           "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0 [A:caf\xc3\xa9\tx]}E");
}

Test(http_parser, refused_nul_in_value)
{
    static const char in[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
    char *got = run_all_f(&req, in, sizeof in - 1, 0);
    cr_assert_str_eq(got, "XHPE_INVALID_HEADER_TOKEN 400");
    free(got);
}

Test(http_parser, refused_content_length)
{
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\n", "HPE_INVALID_CONTENT_LENGTH",
            400);
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "HPE_INVALID_CONTENT_LENGTH",
            400);
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", "HPE_INVALID_CONTENT_LENGTH",
            400);
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", "HPE_INVALID_CONTENT_LENGTH", 400);
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", "HPE_INVALID_CONTENT_LENGTH",
            400);
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", "HPE_INVALID_CONTENT_LENGTH",
            400);
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HPE_INVALID_CONTENT_LENGTH", 400);
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
            "HPE_INVALID_CONTENT_LENGTH", 400);
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
            "HPE_INVALID_CONTENT_LENGTH", 400);
    /* the same value twice is one length */
    expect(&req, "POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 01\r\n\r\nx",
           "H{POST / 1.1 ka=1 cl=1 ch=0 up=0 ec=0 [Content-Length:1] [content-length:01]}Bx|E");
    /* the largest exact length: the head is accepted (the body never comes) */
    expect(&req, "POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n",
           "H{POST / 1.1 ka=1 cl=9223372036854775807 ch=0 up=0 ec=0 "
           "[Content-Length:9223372036854775807]}");
}

Test(http_parser, refused_transfer_encoding)
{
    refused(&req, "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HPE_UNEXPECTED_CONTENT_LENGTH", 400);
    refused(&req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "HPE_UNEXPECTED_CONTENT_LENGTH", 400);
    refused(&req, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HPE_INVALID_TRANSFER_ENCODING", 400);
    refused(&req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "HPE_INVALID_TRANSFER_ENCODING", 400);
    refused(&req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            "HPE_INVALID_TRANSFER_ENCODING", 400);
    refused(&req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
            "HPE_INVALID_TRANSFER_ENCODING", 400);
    refused(&req, "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", "HPE_INVALID_TRANSFER_ENCODING",
            400);
    refused(&req, "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
            "HPE_INVALID_TRANSFER_ENCODING", 400);
    refused(&req, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HPE_INVALID_TRANSFER_ENCODING", 400);
    /* two headers whose list ends in chunked */
    expect(&req,
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n"
           "\r\n",
           "H{POST / 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:gzip] "
           "[Transfer-Encoding:Chunked]}E");
}

#define TE "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

Test(http_parser, refused_chunks)
{
    refused(&req, TE "zz\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE "\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE ";x\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE "-1\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE "5 x\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE "5 \r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE "5 ;a\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE "5\t;a\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE "10000000000000000\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    refused(&req, TE "5\nhello\r\n0\r\n\r\n", "HPE_LF_EXPECTED", 400);
    refused(&req, TE "5\rhello\r\n0\r\n\r\n", "HPE_LF_EXPECTED", 400);
    refused(&req, TE "5\r\nhelloX\r\n0\r\n\r\n", "HPE_LF_EXPECTED", 400);
    refused(&req, TE "5\r\nhello\n0\r\n\r\n", "HPE_LF_EXPECTED", 400);
    refused(&req, TE "5\r\nhello\rX0\r\n\r\n", "HPE_LF_EXPECTED", 400);
    refused(&req, TE "5;a=\x01\r\n", "HPE_INVALID_CHUNK_SIZE", 400);
    /* the largest 64-bit size parses (and then waits for its data) */
    expect(&req, TE "fffffffffffffff\r\nab",
           "H{POST / 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:chunked]}Bab|");
    /* a size with leading zeros is fine; an endless line of them is not */
    expect(&req, TE "00000000000000000000003\r\nabc\r\n0\r\n\r\n",
           "H{POST / 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:chunked]}Babc|E");
    static char big[8192];
    memset(big, 0, sizeof big);
    strcpy(big, TE "1;");
    memset(big + strlen(big), 'a', 5000);
    strcat(big, "\r\n");
    refused(&req, big, "HPE_INVALID_CHUNK_SIZE", 400);
}

/* A request line of exactly n bytes (without its CRLF). */
static char *
request_line(size_t n, const char *rest)
{
    size_t tl = n - 13; /* "GET " + target + " HTTP/1.1" */
    char *s = malloc(n + strlen(rest) + 8);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', tl - 1);
    strcpy(s + 4 + tl, " HTTP/1.1\r\n");
    strcat(s, rest);
    cr_assert_eq(strchr(s, '\r') - s, (long)n);
    return s;
}

Test(http_parser, limit_request_line)
{
    char *ok = request_line(8192, "\r\n");
    char *got = run_all_f(&req, ok, strlen(ok), 0);
    cr_assert(got[0] == 'H' && got[strlen(got) - 1] == 'E', "%.40s", got);
    free(got);
    char *over = request_line(8193, "\r\n");
    got = run_all_f(&req, over, strlen(over), 0);
    cr_assert_str_eq(got, "XHPE_URI_TOO_LONG 414");
    free(got);
    /* with a bare LF the line is still 8192 */
    ok[8192] = '\n';
    memmove(ok + 8193, ok + 8194, strlen(ok + 8194) + 1);
    got = run_all_f(&req, ok, strlen(ok), 0);
    cr_assert(got[0] == 'H', "%.40s", got);
    free(got);
    free(ok);
    free(over);
    /* a line that never ends is refused once it is too long, not buffered forever */
    char *endless = request_line(9000, "");
    endless[9000] = 0;
    got = run_all_f(&req, endless, 9000, 0);
    cr_assert_str_eq(got, "XHPE_URI_TOO_LONG 414");
    free(got);
    free(endless);
}

/* A head (start line + header lines with their CRLFs) of exactly n bytes, then the blank line. */
static char *
head_of(size_t n)
{
    const char *start = "GET / HTTP/1.1\r\n";
    size_t vl = n - strlen(start) - 5; /* "X: " + v + "\r\n" */
    char *s = malloc(n + 3);
    strcpy(s, start);
    strcat(s, "X: ");
    memset(s + strlen(s), 'v', vl);
    strcpy(s + strlen(start) + 3 + vl, "\r\n\r\n");
    cr_assert_eq(strlen(s), n + 2);
    return s;
}

Test(http_parser, limit_head)
{
    char *ok = head_of(16384);
    char *got = run_all_f(&req, ok, strlen(ok), 0);
    cr_assert(got[0] == 'H' && got[strlen(got) - 1] == 'E', "%.40s", got);
    free(got);
    char *over = head_of(16385);
    got = run_all_f(&req, over, strlen(over), 0);
    cr_assert_str_eq(got, "XHPE_HEADER_OVERFLOW 431");
    free(got);
    free(ok);
    free(over);
}

Test(http_parser, limit_header_count)
{
    struct sbuf b = {0};
    sb_str(&b, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 256; i++)
        sb_str(&b, "A: 1\r\n");
    struct sbuf b2 = {0};
    sb_add(&b2, b.s, b.len);
    sb_str(&b, "\r\n");
    char *got = run_all_f(&req, b.s, b.len, 0);
    cr_assert(got[0] == 'H' && got[strlen(got) - 1] == 'E');
    free(got);
    sb_str(&b2, "A: 1\r\n\r\n");
    got = run_all_f(&req, b2.s, b2.len, 0);
    cr_assert_str_eq(got, "XHPE_HEADER_OVERFLOW 431");
    free(got);
    free(b.s);
    free(b2.s);
}

Test(http_parser, limit_custom_and_body)
{
    struct opts o = req;
    o.limits.max_body = 10;
    expect(&o, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
           "H{POST / 1.1 ka=1 cl=10 ch=0 up=0 ec=0 [Content-Length:10]}B0123456789|E");
    refused(&o, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", "HPE_BODY_TOO_LARGE", 413);
    expect(&o, TE "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
           "H{POST / 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:chunked]}B0123456789|E");
    expect(&o, TE "5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n",
           "H{POST / 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:chunked]}B01234|"
           "XHPE_BODY_TOO_LARGE 413");
    o.limits.max_line = 20;
    o.limits.max_head = 40;
    o.limits.max_headers = 1;
    refused(&o, "GET /0123456789abcd HTTP/1.1\r\n\r\n", "HPE_URI_TOO_LONG", 414);
    refused(&o, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", "HPE_HEADER_OVERFLOW", 431);
    refused(&o, "GET / HTTP/1.1\r\nA: 01234567890123456789\r\n\r\n", "HPE_HEADER_OVERFLOW", 431);
}

Test(http_parser, finish_states)
{
    expect_f(&req, "", "F", 1);
    expect_f(&req, "GET / HTTP/1.1\r\n\r\n", "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}EF", 1);
    expect_f(&req, "GET / HT", "FHPE_INVALID_EOF_STATE 400", 1);
    expect_f(&req, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
             "H{POST / 1.1 ka=1 cl=5 ch=0 up=0 ec=0 [Content-Length:5]}Bab|FHPE_INVALID_EOF_STATE "
             "400",
             1);
}

Test(http_parser, pause_and_resume)
{
    struct opts o = req;
    o.pause_head = 1;
    o.pause_body = 1;
    /* the logs are the same with pauses; the driver resumes from the returned offset */
    expect(&o, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
           "H{POST / 1.1 ka=1 cl=3 ch=0 up=0 ec=0 [Content-Length:3]}Babc|E"
           "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}E");
    struct hp_parser p;
    struct rec r = {{0}, {0}, &o, 0, 0, 0};
    const char *in = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n";
    hp_init(&p, HP_REQUEST, NULL);
    size_t used = hp_feed(&p, in, strlen(in), &cbs, &r);
    cr_assert_eq(used, strlen("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n"));
    size_t used2 = hp_feed(&p, in + used, strlen(in) - used, &cbs, &r);
    cr_assert_eq(used2, 3); /* the body span, then its end, then the pause */
    cr_assert(hp_idle(&p));
    hp_free(&p);
    free(r.log.s);
    free(r.body.s);
}

Test(http_parser, callback_failure)
{
    struct opts o = req;
    o.fail_end = 1;
    expect(&o, "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
           "H{GET / 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}EXHPE_CB_ERROR 500");
}

/* ---- responses ---- */

Test(http_parser, response_content_length)
{
    expect(&res,
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\n"
           "Content-Length: 0\r\n\r\n",
           "H{200 OK 1.1 ka=1 cl=2 ch=0 up=0 ec=0 [Content-Length:2]}Bok|E"
           "H{404 Not Found 1.1 ka=1 cl=0 ch=0 up=0 ec=0 [Content-Length:0]}E");
}

Test(http_parser, response_read_until_close)
{
    expect_f(&res, "HTTP/1.1 200 OK\r\n\r\nall of this\r\n\r\nHTTP/1.1 200",
             "H{200 OK 1.1 ka=0 cl=-1 ch=0 up=0 ec=0}Ball of this\r\n\r\nHTTP/1.1 200|EF", 1);
    expect_f(&res, "HTTP/1.0 200 OK\r\n\r\n", "H{200 OK 1.0 ka=0 cl=-1 ch=0 up=0 ec=0}EF", 1);
    /* not chunked last: read until close */
    expect_f(&res, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxyz",
             "H{200 OK 1.1 ka=0 cl=-1 ch=0 up=0 ec=0 [Transfer-Encoding:chunked, gzip]}Bxyz|EF", 1);
    struct opts o = res;
    o.limits.max_body = 4;
    expect_f(&o, "HTTP/1.1 200 OK\r\n\r\n0123456",
             "H{200 OK 1.1 ka=0 cl=-1 ch=0 up=0 ec=0}B0123|"
             "XHPE_BODY_TOO_LARGE 413",
             1);
}

Test(http_parser, response_no_body_statuses)
{
    expect(&res,
           "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
           "HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n"
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
           "H{204 No Content 1.1 ka=1 cl=5 ch=0 up=0 ec=0 [Content-Length:5]}E"
           "H{304 Not Modified 1.1 ka=1 cl=500 ch=0 up=0 ec=0 [Content-Length:500]}E"
           "H{200 OK 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:chunked]}Bx|E");
}

Test(http_parser, response_continue_then_ok)
{
    expect(&res,
           "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!",
           "H{100 Continue 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}E"
           "H{103 Early Hints 1.1 ka=1 cl=-1 ch=0 up=0 ec=0 [Link:</s.css>]}E"
           "H{200 OK 1.1 ka=1 cl=1 ch=0 up=0 ec=0 [Content-Length:1]}B!|E");
}

Test(http_parser, response_to_head)
{
    struct opts o = res;
    o.skip_next = 1;
    o.limits.max_body = 10;
    expect(&o,
           "HTTP/1.1 100 Continue\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
           "H{100 Continue 1.1 ka=1 cl=-1 ch=0 up=0 ec=0}E"
           "H{200 OK 1.1 ka=1 cl=1000 ch=0 up=0 ec=0 [Content-Length:1000]}E"
           "H{200 OK 1.1 ka=1 cl=1 ch=0 up=0 ec=0 [Content-Length:1]}Bx|E");
    expect(&o, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
           "H{200 OK 1.1 ka=1 cl=-1 ch=1 up=0 ec=0 [Transfer-Encoding:chunked]}E");
}

Test(http_parser, response_switching_protocols)
{
    expect(&res,
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "\r\n\x81\x00",
           "H{101 Switching Protocols 1.1 ka=1 cl=-1 ch=0 up=1 ec=0 [Upgrade:websocket] "
           "[Connection:Upgrade]}EU\x81");
}

Test(http_parser, response_refusals)
{
    refused(&res, "HTTP/1.1 2x0 OK\r\n\r\n", "HPE_INVALID_STATUS", 400);
    refused(&res, "HTTP/1.1 20 OK\r\n\r\n", "HPE_INVALID_STATUS", 400);
    refused(&res, "HTTP/1.1 2000 OK\r\n\r\n", "HPE_INVALID_STATUS", 400);
    refused(&res, "HTTP/1.1 200 O\x01K\r\n\r\n", "HPE_INVALID_STATUS", 400);
    refused(&res, "HTTP/1.1  200 OK\r\n\r\n", "HPE_INVALID_STATUS", 400);
    refused(&res, "HTTX/1.1 200 OK\r\n\r\n", "HPE_INVALID_VERSION", 400);
    refused(&res, "\r\nHTTP/1.1 200 OK\r\n\r\n", "HPE_INVALID_VERSION", 400);
    refused(&res, "HTTP/2 200 OK\r\n\r\n", "HPE_INVALID_VERSION", 400);
    refused(&res, "HTTP/3.0 200 OK\r\n\r\n", "HPE_INVALID_VERSION", 505);
    refused(&res, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HPE_UNEXPECTED_CONTENT_LENGTH", 400);
    /* a status line without a reason is fine */
    expect(&res, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
           "H{200  1.1 ka=1 cl=0 ch=0 up=0 ec=0 [Content-Length:0]}E");
}

Test(http_parser, error_codes_and_names)
{
    struct hp_parser p;
    hp_init(&p, HP_REQUEST, NULL);
    cr_assert_eq(hp_status(&p), 0);
    cr_assert_str_eq(hp_error_message(&p), "");
    cr_assert_eq(hp_feed(&p, "GET / HTTP/1.1\r\nA : b\r\n", 23, NULL, NULL), 23);
    cr_assert_eq(p.error, HP_E_INVALID_HEADER);
    cr_assert_str_eq(hp_error_code(p.error), "HPE_INVALID_HEADER_TOKEN");
    cr_assert_str_eq(hp_error_message(&p), "white space before a header's colon");
    hp_free(&p);
    struct hp_header h = {"Content-Type", 12, "x", 1};
    cr_assert(hp_name_is(&h, "content-type"));
    cr_assert(!hp_name_is(&h, "content-typ"));
    cr_assert(!hp_name_is(&h, "content-types"));
}

static int
skip_always(void *ud, const struct hp_head *h)
{
    (void)ud;
    (void)h;
    return HP_SKIP_BODY;
}

Test(http_parser, skip_body_ignored_for_requests)
{
    /* a request's body is framed by its own headers: HP_SKIP_BODY cannot turn it into a
     * smuggled second request */
    struct hp_callbacks cb = {skip_always, NULL, NULL};
    struct hp_parser p;
    hp_init(&p, HP_REQUEST, NULL);
    const char *in = "POST / HTTP/1.1\r\nContent-Length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    cr_assert_eq(hp_feed(&p, in, strlen(in), &cb, NULL), strlen(in));
    cr_assert(hp_idle(&p));
    cr_assert_eq(p.error, HP_OK);
    hp_free(&p);
}
