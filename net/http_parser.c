/*
 * http_parser.c — the incremental HTTP/1.x parser of http_parser.h (the refusals and their
 * statuses are listed there).
 *
 * Why our own: Debian packages only libhttp-parser-dev 2.9.4 (nodejs/http-parser, archived
 * upstream since 2022 and superseded by llhttp), and llhttp itself only as JavaScript sources
 * (node-llhttp), not as a C library. The behaviour follows llhttp's strict mode (no lenient
 * flags): when a message could be read two ways, it is refused.
 *
 * How it works: a state machine over the bytes. The head is gathered line by line (memchr for the
 * LF) into p->buf, copied once; each line is checked when its LF arrives (start line, then each
 * header line), and the limits are checked as if the bytes came one at a time, so any split of
 * the input gives the same events and the same error. Header entries hold offsets into the
 * buffer while it may still grow and become pointers just before on_head. Body bytes are handed
 * out as spans of the caller's input. Chunked framing (size lines, the CRLF after data) is
 * parsed byte by byte in small states; trailers go through the head's line machinery and are
 * dropped. Choices where the RFC leaves room:
 *   - a head accepts a bare LF as a line end (RFC 9112 2.2; llhttp refuses it); chunked framing
 *     wants CRLF, and no white space after a chunk size (llhttp's rule, though RFC 9112 has BWS);
 *   - a request target is ASCII (VCHAR) only, as llhttp;
 *   - empty lines before a request line are skipped (RFC 9112 2.2), not before a status line;
 *   - any token is a method (HTTP::METHODS is not enforced here);
 *   - Transfer-Encoding in an HTTP/1.0 request is refused (400);
 *   - Content-Length with Transfer-Encoding is refused in responses too (llhttp's strict rule);
 *   - repeated Content-Length headers with the same value are accepted;
 *   - a 101 response with Upgrade is the last message the parser reads (like an upgraded request).
 */
#include "net/http_parser.h"

#include <stdlib.h>
#include <string.h>

enum {
    S_START = 0,  /* between messages */
    S_START_CR,   /* requests: a CR of an empty line before the request line */
    S_HEAD,       /* gathering the head's lines */
    S_BODY_CL,    /* body_left bytes of a Content-Length body */
    S_BODY_EOF,   /* a response body read until the peer closes */
    S_CHUNK_SIZE, /* hex digits of a chunk size line */
    S_CHUNK_EXT,  /* after the digits: white space, extensions, up to the CR */
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_TRAILERS, /* lines after the last chunk, gathered like a head and dropped */
    S_UPGRADED, /* parsing stopped after an upgrade; hp_reset starts again */
    S_DEAD,     /* after an error */
};

/* p->flags */
#define F_DIGITS 0x01u   /* S_CHUNK_SIZE: at least one hex digit seen */
#define F_SKIP 0x02u     /* the message being gathered has no body (on_head said so) */
#define F_CHUNKED 0x04u  /* the message's body is chunked */
#define F_EOF_BODY 0x08u /* a response read until close */
#define F_UPGRADE 0x10u  /* stop after this message's head (or end, for a 101) */

#define MAX_CHUNK_LINE 4096 /* bytes of a chunk size line: digits and extensions */
#define INIT_CAP 1024

/* Character classes: token characters (RFC 9110 5.6.2). */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* A field value's byte: HTAB, SP, VCHAR, obs-text (a table: the header value loop is the hot
 * one). */
static const unsigned char vchar[256] = {['\t'] = 1, [0x20 ... 0x7e] = 1, [0x80 ... 0xff] = 1};

/* A request target's byte: VCHAR (no space, no control, no raw non-ASCII: llhttp refuses
 * them too; a URI percent-encodes them). */
static inline int
target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static inline unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

static int
ieq(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!lit[i] || lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    return lit[i] == 0;
}

int
hp_name_is(const struct hp_header *h, const char *lower_lit)
{
    return ieq(h->name, h->name_len, lower_lit);
}

static size_t
fail(struct hp_parser *p, enum hp_error e, const char *detail, size_t at)
{
    p->error = e;
    p->err_detail = detail;
    p->state = S_DEAD;
    return at;
}

void
hp_init(struct hp_parser *p, enum hp_kind kind, const struct hp_limits *limits)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    if (limits)
        p->limits = *limits;
    if (!p->limits.max_line)
        p->limits.max_line = 8192;
    if (!p->limits.max_head)
        p->limits.max_head = 16384;
    if (!p->limits.max_headers)
        p->limits.max_headers = 256;
    /* a start line is part of the head: max_line never exceeds max_head, so the request line's
     * 414 always comes no later than the head's 431, whatever the split */
    if (p->limits.max_line > p->limits.max_head)
        p->limits.max_line = p->limits.max_head;
}

void
hp_free(struct hp_parser *p)
{
    free(p->buf);
    free(p->hdrs);
    p->buf = NULL;
    p->hdrs = NULL;
    p->cap = p->hdrs_cap = 0;
}

static void
start_message(struct hp_parser *p)
{
    p->state = S_START;
    p->len = 0;
    p->line_start = 0;
    p->nhdrs = 0;
    p->body_left = 0;
    p->body_seen = 0;
    p->flags = 0;
}

void
hp_reset(struct hp_parser *p)
{
    start_message(p);
    p->error = HP_OK;
    p->err_detail = NULL;
}

int
hp_idle(const struct hp_parser *p)
{
    return p->state == S_START && !p->error;
}

int
hp_upgraded(const struct hp_parser *p)
{
    return p->state == S_UPGRADED;
}

/* ---- the head: start line and header lines ---- */

static int
grow(struct hp_parser *p, size_t need)
{
    if (need <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : INIT_CAP;
    while (cap < need)
        cap *= 2;
    char *nb = realloc(p->buf, cap);
    if (!nb)
        return -1;
    p->buf = nb;
    p->cap = cap;
    return 0;
}

/* The request line: METHOD SP target SP HTTP/1.x */
static int
parse_request_line(struct hp_parser *p, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && tchar[(unsigned char)s[i]])
        i++;
    if (i == 0 || i >= n || s[i] != ' ') {
        p->error = HP_E_INVALID_METHOD;
        p->err_detail = "invalid method";
        return -1;
    }
    size_t t = ++i;
    while (i < n && target_char((unsigned char)s[i]))
        i++;
    if (i == t || i >= n || s[i] != ' ') {
        p->error = HP_E_INVALID_URL;
        p->err_detail =
            i == t ? "empty or invalid request target" : "invalid character in the request target";
        return -1;
    }
    i++;
    const char *v = s + i;
    size_t vn = n - i;
    if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9') {
        p->error = HP_E_INVALID_VERSION;
        p->err_detail = "invalid HTTP version in the request line";
        return -1;
    }
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
        p->error = HP_E_UNSUPPORTED_VERSION;
        p->err_detail = "HTTP version not supported (1.0 and 1.1 are)";
        return -1;
    }
    return 0;
}

/* The status line: HTTP/1.x SP 3DIGIT [SP reason] */
static int
parse_status_line(struct hp_parser *p, const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
        s[7] < '0' || s[7] > '9' || s[8] != ' ') {
        p->error = HP_E_INVALID_VERSION;
        p->err_detail = "invalid HTTP version in the status line";
        return -1;
    }
    if (s[5] != '1' || (s[7] != '0' && s[7] != '1')) {
        p->error = HP_E_UNSUPPORTED_VERSION;
        p->err_detail = "HTTP version not supported (1.0 and 1.1 are)";
        return -1;
    }
    for (int k = 9; k < 12; k++)
        if (s[k] < '0' || s[k] > '9') {
            p->error = HP_E_INVALID_STATUS;
            p->err_detail = "invalid status code";
            return -1;
        }
    if (n > 12) {
        if (s[12] != ' ') {
            p->error = HP_E_INVALID_STATUS;
            p->err_detail = "invalid status code";
            return -1;
        }
        for (size_t k = 13; k < n; k++)
            if (!vchar[(unsigned char)s[k]]) {
                p->error = HP_E_INVALID_STATUS;
                p->err_detail = "invalid character in the reason phrase";
                return -1;
            }
    }
    return 0;
}

/* A header line (or a trailer line: then nothing is kept). off is its offset in p->buf. */
static int
parse_header_line(struct hp_parser *p, size_t off, size_t n, int keep)
{
    const char *s = p->buf + off;
    if (s[0] == ' ' || s[0] == '\t') {
        p->error = HP_E_INVALID_HEADER;
        p->err_detail = "obsolete line folding (a header line starting with white space)";
        return -1;
    }
    size_t i = 0;
    while (i < n && tchar[(unsigned char)s[i]])
        i++;
    if (i == 0 || i >= n || s[i] != ':') {
        p->error = HP_E_INVALID_HEADER;
        p->err_detail = (i < n && (s[i] == ' ' || s[i] == '\t'))
                            ? "white space before a header's colon"
                            : "invalid header name";
        return -1;
    }
    size_t name_len = i++;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t vs = i;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!vchar[c]) {
            p->error = c == '\r' ? HP_E_LF_EXPECTED : HP_E_INVALID_HEADER;
            p->err_detail = c == '\r' ? "a CR not followed by LF in a header"
                                      : "invalid character in a header value";
            return -1;
        }
    }
    size_t ve = n;
    while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
        ve--;
    if (!keep)
        return 0;
    if (p->nhdrs == p->hdrs_cap) {
        size_t cap = p->hdrs_cap ? p->hdrs_cap * 2 : 16;
        struct hp_header *nh = realloc(p->hdrs, cap * sizeof *nh);
        if (!nh) {
            p->error = HP_E_NOMEM;
            p->err_detail = "out of memory";
            return -1;
        }
        p->hdrs = nh;
        p->hdrs_cap = cap;
    }
    /* offsets for now: the buffer may still move */
    struct hp_header *h = &p->hdrs[p->nhdrs++];
    h->name = (const char *)(uintptr_t)off;
    h->name_len = name_len;
    h->value = (const char *)(uintptr_t)(off + vs);
    h->value_len = ve - vs;
    return 0;
}

/* Calls fn(tok, len, arg) for each comma-separated, trimmed, non-empty element of a list. */
static void
each_token(const char *s, size_t n, void (*fn)(const char *, size_t, void *), void *arg)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b > a)
            fn(s + a, b - a, arg);
        i = j + 1;
    }
}

struct conn_info {
    int close, keep_alive, upgrade;
};

static void
conn_token(const char *t, size_t n, void *arg)
{
    struct conn_info *ci = arg;
    if (ieq(t, n, "close"))
        ci->close = 1;
    else if (ieq(t, n, "keep-alive"))
        ci->keep_alive = 1;
    else if (ieq(t, n, "upgrade"))
        ci->upgrade = 1;
}

struct te_info {
    int count, chunked_at, empty;
};

static void
te_token(const char *t, size_t n, void *arg)
{
    struct te_info *te = arg;
    te->count++;
    if (ieq(t, n, "chunked")) {
        if (te->chunked_at)
            te->empty = 1; /* chunked twice: refused */
        te->chunked_at = te->count;
    }
}

static void
call_head_fail(struct hp_parser *p, enum hp_error e, const char *d)
{
    p->error = e;
    p->err_detail = d;
}

/* The whole head is in p->buf (lines checked): fill an hp_head, decide the body's framing.
 * Returns 0, or -1 with p->error set. */
static int
finish_head(struct hp_parser *p, struct hp_head *hd)
{
    memset(hd, 0, sizeof *hd);
    const char *s = p->buf;
    size_t first = (size_t)((const char *)memchr(s, '\n', p->len) - s);
    size_t fl = first && s[first - 1] == '\r' ? first - 1 : first;
    if (p->kind == HP_REQUEST) {
        const char *sp1 = memchr(s, ' ', fl);
        const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(s + fl - sp1 - 1));
        hd->method = s;
        hd->method_len = (size_t)(sp1 - s);
        hd->target = sp1 + 1;
        hd->target_len = (size_t)(sp2 - sp1 - 1);
        hd->version_major = sp2[6] - '0';
        hd->version_minor = sp2[8] - '0';
    } else {
        hd->version_major = s[5] - '0';
        hd->version_minor = s[7] - '0';
        hd->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
        hd->reason = fl > 13 ? s + 13 : s + fl;
        hd->reason_len = fl > 13 ? fl - 13 : 0;
    }
    for (size_t i = 0; i < p->nhdrs; i++) {
        struct hp_header *h = &p->hdrs[i];
        h->name = p->buf + (uintptr_t)h->name;
        h->value = p->buf + (uintptr_t)h->value;
    }
    hd->headers = p->hdrs;
    hd->nheaders = p->nhdrs;

    struct conn_info ci = {0, 0, 0};
    struct te_info te = {0, 0, 0};
    int has_te = 0, has_upgrade = 0, has_cl = 0;
    uint64_t cl = 0;
    for (size_t i = 0; i < p->nhdrs; i++) {
        const struct hp_header *h = &p->hdrs[i];
        switch (lower((unsigned char)h->name[0])) {
        case 'c':
            if (hp_name_is(h, "content-length")) {
                uint64_t v = 0;
                if (h->value_len == 0) {
                    call_head_fail(p, HP_E_INVALID_CONTENT_LENGTH, "empty Content-Length");
                    return -1;
                }
                for (size_t k = 0; k < h->value_len; k++) {
                    unsigned char c = (unsigned char)h->value[k];
                    if (c < '0' || c > '9') {
                        call_head_fail(p, HP_E_INVALID_CONTENT_LENGTH,
                                       "Content-Length is not a number");
                        return -1;
                    }
                    if (v > ((uint64_t)INT64_MAX - (c - '0')) / 10) {
                        call_head_fail(p, HP_E_INVALID_CONTENT_LENGTH, "Content-Length too large");
                        return -1;
                    }
                    v = v * 10 + (c - '0');
                }
                if (has_cl && v != cl) {
                    call_head_fail(p, HP_E_INVALID_CONTENT_LENGTH,
                                   "two different Content-Length headers");
                    return -1;
                }
                has_cl = 1;
                cl = v;
            } else if (hp_name_is(h, "connection")) {
                each_token(h->value, h->value_len, conn_token, &ci);
            }
            break;
        case 't':
            if (hp_name_is(h, "transfer-encoding")) {
                has_te = 1;
                int before = te.count;
                each_token(h->value, h->value_len, te_token, &te);
                if (te.count == before)
                    te.empty = 1;
            }
            break;
        case 'u':
            if (hp_name_is(h, "upgrade"))
                has_upgrade = 1;
            break;
        case 'e':
            if (hp_name_is(h, "expect") && ieq(h->value, h->value_len, "100-continue"))
                hd->expect_continue = 1;
            break;
        default:
            break;
        }
    }

    int chunked = 0, eof_body = 0;
    if (has_te) {
        if (has_cl) {
            call_head_fail(p, HP_E_UNEXPECTED_CONTENT_LENGTH,
                           "Content-Length together with Transfer-Encoding");
            return -1;
        }
        int last_chunked = te.chunked_at && te.chunked_at == te.count && !te.empty;
        if (p->kind == HP_REQUEST) {
            if (hd->version_minor == 0) {
                call_head_fail(p, HP_E_INVALID_TRANSFER_ENCODING,
                               "Transfer-Encoding in an HTTP/1.0 request");
                return -1;
            }
            if (!last_chunked) {
                call_head_fail(p, HP_E_INVALID_TRANSFER_ENCODING,
                               "a request's Transfer-Encoding must end in chunked");
                return -1;
            }
            chunked = 1;
        } else if (last_chunked) {
            chunked = 1;
        } else if (te.chunked_at && te.chunked_at != te.count) {
            eof_body = 1; /* chunked not last: read until close (RFC 9112 6.3) */
        } else {
            eof_body = 1;
        }
    }

    if (ci.close)
        hd->keep_alive = 0;
    else
        hd->keep_alive = hd->version_minor == 1 || ci.keep_alive;

    if (p->kind == HP_REQUEST) {
        hd->upgrade = (has_upgrade && ci.upgrade) || ieq(hd->method, hd->method_len, "connect");
    } else {
        int st = hd->status;
        hd->upgrade = st == 101 && has_upgrade && ci.upgrade;
        if (st < 200 || st == 204 || st == 304) {
            /* no body whatever the headers say (a CL on a 304 is the resource's) */
            p->flags |= F_SKIP;
            chunked = 0;
            eof_body = 0;
        } else if (!chunked && !has_cl) {
            eof_body = 1;
        }
    }
    if (hd->upgrade)
        p->flags |= F_UPGRADE;
    hd->chunked = (unsigned)chunked;
    hd->content_length = has_cl ? (int64_t)cl : -1;
    if (eof_body && !(p->flags & F_SKIP))
        hd->keep_alive = 0;

    /* a request's is refused before on_head; a response's after it (it may be to a HEAD) */
    if (p->kind == HP_REQUEST && p->limits.max_body && has_cl && cl > p->limits.max_body &&
        !hd->upgrade) {
        call_head_fail(p, HP_E_BODY_TOO_LARGE, "body larger than the limit");
        return -1;
    }
    if (chunked)
        p->flags |= F_CHUNKED;
    if (eof_body)
        p->flags |= F_EOF_BODY;
    p->body_left = has_cl ? cl : 0;
    return 0;
}

/* The start of a body once on_head has run. Returns the next state. */
static int
body_state(struct hp_parser *p)
{
    if (p->flags & F_SKIP)
        return -1;
    if (p->flags & F_CHUNKED)
        return S_CHUNK_SIZE;
    if (p->flags & F_EOF_BODY)
        return S_BODY_EOF;
    if (p->body_left)
        return S_BODY_CL;
    return -1;
}

/* Checks a line of the head or trailers as if its bytes came one at a time. `end` is the
 * buffered length the line reaches (after its LF if complete), `last` the byte before the LF
 * (complete) or the last byte so far (partial). Returns 0 or -1 (p->error set). */
static int
check_limits(struct hp_parser *p, size_t end, int complete, unsigned char last)
{
    size_t plen = (complete ? end - 1 : end) - p->line_start; /* partial length before the LF */
    size_t pend = complete ? end - 1 : end;
    int blank = plen == 0 || (plen == 1 && last == '\r');
    if (p->state == S_HEAD && p->kind == HP_REQUEST && p->line_start == 0) {
        size_t ml = p->limits.max_line;
        if (plen > ml + 1 || (plen == ml + 1 && last != '\r')) {
            p->error = HP_E_URI_TOO_LONG;
            p->err_detail = "request line too long";
            return -1;
        }
    }
    if (!blank && (pend > p->limits.max_head || (complete && end > p->limits.max_head))) {
        p->error = HP_E_HEADER_OVERFLOW;
        p->err_detail = p->state == S_HEAD ? "head too large" : "trailers too large";
        return -1;
    }
    return 0;
}

/* The head or trailer line just completed in p->buf [line_start, len). Returns 1 when it was the
 * blank line ending the head, 0 otherwise, -1 on error. */
static int
complete_line(struct hp_parser *p)
{
    size_t off = p->line_start;
    size_t n = p->len - 1 - off; /* without the LF */
    const char *s = p->buf + off;
    if (n && s[n - 1] == '\r')
        n--;
    if (n == 0)
        return 1;
    const char *cr = memchr(s, '\r', n);
    if (cr) {
        p->error = HP_E_LF_EXPECTED;
        p->err_detail = "a CR not followed by LF";
        return -1;
    }
    int first = off == 0;
    if (first && p->state == S_HEAD) {
        if (p->kind == HP_REQUEST ? parse_request_line(p, s, n) : parse_status_line(p, s, n))
            return -1;
        return 0;
    }
    if (p->state == S_HEAD && p->nhdrs >= p->limits.max_headers) {
        p->error = HP_E_HEADER_OVERFLOW;
        p->err_detail = "too many header lines";
        return -1;
    }
    return parse_header_line(p, off, n, p->state == S_HEAD);
}

static size_t
finish_message(struct hp_parser *p, const struct hp_callbacks *cb, void *ud, size_t at, int *stop)
{
    int upgraded = (p->flags & F_UPGRADE) != 0;
    start_message(p);
    if (upgraded)
        p->state = S_UPGRADED;
    if (cb && cb->on_message_end) {
        int r = cb->on_message_end(ud);
        if (r < 0)
            return fail(p, HP_E_CALLBACK, "a callback failed", at);
        if (r & HP_PAUSE)
            *stop = 1;
    }
    if (upgraded)
        *stop = 1;
    return at;
}

size_t
hp_feed(struct hp_parser *p, const char *data, size_t len, const struct hp_callbacks *cb, void *ud)
{
    if (p->error || p->state == S_DEAD || p->state == S_UPGRADED)
        return 0;
    size_t i = 0;
    int stop = 0;
    while (i < len && !stop) {
        switch (p->state) {
        case S_START: {
            unsigned char c = (unsigned char)data[i];
            if (p->kind == HP_REQUEST && (c == '\r' || c == '\n')) {
                i++;
                if (c == '\r')
                    p->state = S_START_CR;
                break;
            }
            p->state = S_HEAD;
            break;
        }
        case S_START_CR:
            if (data[i] != '\n')
                return fail(p, HP_E_LF_EXPECTED, "a CR not followed by LF", i);
            i++;
            p->state = S_START;
            break;
        case S_HEAD:
        case S_TRAILERS: {
            const char *lf = memchr(data + i, '\n', len - i);
            size_t seg = lf ? (size_t)(lf - (data + i)) + 1 : len - i;
            size_t end = p->len + seg;
            unsigned char last;
            if (lf)
                last = seg >= 2 ? (unsigned char)data[i + seg - 2]
                                : (p->len > p->line_start ? (unsigned char)p->buf[p->len - 1] : 0);
            else
                last = (unsigned char)data[len - 1];
            if (check_limits(p, end, lf != NULL, last))
                return fail(p, p->error, p->err_detail, i);
            if (grow(p, end))
                return fail(p, HP_E_NOMEM, "out of memory", i);
            memcpy(p->buf + p->len, data + i, seg);
            p->len = end;
            i += seg;
            if (!lf)
                break;
            int r = complete_line(p);
            if (r < 0)
                return fail(p, p->error, p->err_detail, i);
            if (r == 0) {
                p->line_start = p->len;
                break;
            }
            if (p->state == S_TRAILERS) {
                i = finish_message(p, cb, ud, i, &stop);
                break;
            }
            if (p->line_start == 0) /* a blank line first: only in responses */
                return fail(p, HP_E_INVALID_VERSION, "an empty line instead of a status line", i);
            struct hp_head hd;
            if (finish_head(p, &hd))
                return fail(p, p->error, p->err_detail, i);
            if (cb && cb->on_head) {
                int rr = cb->on_head(ud, &hd);
                if (rr < 0)
                    return fail(p, HP_E_CALLBACK, "a callback failed", i);
                if ((rr & HP_SKIP_BODY) &&
                    p->kind == HP_RESPONSE) /* a request's body is framed by its headers alone */
                    p->flags |= F_SKIP;
                if (rr & HP_PAUSE)
                    stop = 1;
            }
            if (p->kind == HP_REQUEST && (p->flags & F_UPGRADE)) {
                start_message(p);
                p->state = S_UPGRADED;
                return i;
            }
            p->len = 0;
            p->line_start = 0;
            if (p->kind == HP_RESPONSE && !(p->flags & F_SKIP) && p->limits.max_body &&
                p->body_left > p->limits.max_body)
                return fail(p, HP_E_BODY_TOO_LARGE, "body larger than the limit", i);
            int next = body_state(p);
            if (next < 0) {
                i = finish_message(p, cb, ud, i, &stop);
                if (p->error)
                    return i;
            } else {
                p->state = next;
            }
            break;
        }
        case S_BODY_CL: {
            size_t n = len - i;
            if ((uint64_t)n > p->body_left)
                n = (size_t)p->body_left;
            p->body_left -= n;
            p->body_seen += n;
            const char *span = data + i;
            i += n;
            if (cb && cb->on_body) {
                int r = cb->on_body(ud, span, n);
                if (r < 0)
                    return fail(p, HP_E_CALLBACK, "a callback failed", i);
                if (r & HP_PAUSE)
                    stop = 1;
            }
            if (p->body_left == 0) {
                i = finish_message(p, cb, ud, i, &stop);
                if (p->error)
                    return i;
            }
            break;
        }
        case S_BODY_EOF: {
            size_t n = len - i;
            int over = 0;
            if (p->limits.max_body && p->body_seen + n > p->limits.max_body) {
                n = (size_t)(p->limits.max_body - p->body_seen);
                over = 1;
            }
            p->body_seen += n;
            const char *span = data + i;
            i += n;
            if (n && cb && cb->on_body) {
                int r = cb->on_body(ud, span, n);
                if (r < 0)
                    return fail(p, HP_E_CALLBACK, "a callback failed", i);
                if (r & HP_PAUSE)
                    stop = 1;
            }
            if (over)
                return fail(p, HP_E_BODY_TOO_LARGE, "body larger than the limit", i);
            break;
        }
        case S_CHUNK_SIZE: {
            unsigned char c = (unsigned char)data[i];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d >= 0) {
                if (p->body_left > (UINT64_MAX >> 4))
                    return fail(p, HP_E_INVALID_CHUNK_SIZE, "chunk size too large", i);
                p->body_left = (p->body_left << 4) | (uint64_t)d;
                p->flags |= F_DIGITS;
                if (++p->line_start > MAX_CHUNK_LINE)
                    return fail(p, HP_E_INVALID_CHUNK_SIZE, "chunk size line too long", i);
                i++;
                break;
            }
            if (!(p->flags & F_DIGITS))
                return fail(p, HP_E_INVALID_CHUNK_SIZE, "invalid chunk size", i);
            if (c == '\r') {
                p->state = S_CHUNK_SIZE_LF;
                i++;
                break;
            }
            if (c == ';') { /* no white space before it, as llhttp (RFC 9112 allows BWS) */
                p->state = S_CHUNK_EXT;
                p->line_start++;
                i++;
                break;
            }
            if (c == '\n')
                return fail(p, HP_E_LF_EXPECTED, "a chunk size line must end in CRLF", i);
            return fail(p, HP_E_INVALID_CHUNK_SIZE, "invalid chunk size", i);
        }
        case S_CHUNK_EXT: {
            /* skip to the CR: extension bytes (no control characters) */
            while (i < len) {
                unsigned char c = (unsigned char)data[i];
                if (c == '\r')
                    break;
                if (!vchar[c]) {
                    return fail(p, c == '\n' ? HP_E_LF_EXPECTED : HP_E_INVALID_CHUNK_SIZE,
                                c == '\n' ? "a chunk size line must end in CRLF"
                                          : "invalid character in a chunk extension",
                                i);
                }
                if (++p->line_start > MAX_CHUNK_LINE)
                    return fail(p, HP_E_INVALID_CHUNK_SIZE, "chunk extensions too long", i);
                i++;
            }
            if (i < len) {
                p->state = S_CHUNK_SIZE_LF;
                i++;
            }
            break;
        }
        case S_CHUNK_SIZE_LF:
            if (data[i] != '\n')
                return fail(p, HP_E_LF_EXPECTED, "a CR not followed by LF", i);
            i++;
            p->line_start = 0;
            p->flags &= ~F_DIGITS;
            if (p->body_left == 0) {
                p->state = S_TRAILERS;
                p->len = 0;
                break;
            }
            if (p->limits.max_body && (p->body_left > p->limits.max_body ||
                                       p->body_seen > p->limits.max_body - p->body_left))
                return fail(p, HP_E_BODY_TOO_LARGE, "body larger than the limit", i);
            p->state = S_CHUNK_DATA;
            break;
        case S_CHUNK_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > p->body_left)
                n = (size_t)p->body_left;
            p->body_left -= n;
            p->body_seen += n;
            const char *span = data + i;
            i += n;
            if (p->body_left == 0)
                p->state = S_CHUNK_DATA_CR;
            if (cb && cb->on_body) {
                int r = cb->on_body(ud, span, n);
                if (r < 0)
                    return fail(p, HP_E_CALLBACK, "a callback failed", i);
                if (r & HP_PAUSE)
                    stop = 1;
            }
            break;
        }
        case S_CHUNK_DATA_CR:
            if (data[i] != '\r')
                return fail(p, HP_E_LF_EXPECTED, "chunk data not followed by CRLF", i);
            i++;
            p->state = S_CHUNK_DATA_LF;
            break;
        case S_CHUNK_DATA_LF:
            if (data[i] != '\n')
                return fail(p, HP_E_LF_EXPECTED, "chunk data not followed by CRLF", i);
            i++;
            p->state = S_CHUNK_SIZE;
            p->body_left = 0;
            p->line_start = 0;
            break;
        default:
            return 0;
        }
    }
    return i;
}

int
hp_finish(struct hp_parser *p, const struct hp_callbacks *cb, void *ud)
{
    if (p->error)
        return -1;
    switch (p->state) {
    case S_START:
    case S_START_CR:
    case S_UPGRADED:
        return 0;
    case S_BODY_EOF: {
        int stop = 0;
        finish_message(p, cb, ud, 0, &stop);
        return p->error ? -1 : 0;
    }
    default:
        p->error = HP_E_INVALID_EOF_STATE;
        p->err_detail = "the connection closed in the middle of a message";
        p->state = S_DEAD;
        return -1;
    }
}

int
hp_status(const struct hp_parser *p)
{
    switch (p->error) {
    case HP_OK:
        return 0;
    case HP_E_URI_TOO_LONG:
        return 414;
    case HP_E_HEADER_OVERFLOW:
        return 431;
    case HP_E_BODY_TOO_LARGE:
        return 413;
    case HP_E_UNSUPPORTED_VERSION:
        return 505;
    case HP_E_NOMEM:
    case HP_E_CALLBACK:
        return 500;
    default:
        return 400;
    }
}

const char *
hp_error_code(enum hp_error e)
{
    switch (e) {
    case HP_OK:
        return "HPE_OK";
    case HP_E_INVALID_METHOD:
        return "HPE_INVALID_METHOD";
    case HP_E_INVALID_URL:
        return "HPE_INVALID_URL";
    case HP_E_INVALID_VERSION:
    case HP_E_UNSUPPORTED_VERSION:
        return "HPE_INVALID_VERSION";
    case HP_E_INVALID_STATUS:
        return "HPE_INVALID_STATUS";
    case HP_E_INVALID_HEADER:
        return "HPE_INVALID_HEADER_TOKEN";
    case HP_E_INVALID_CONTENT_LENGTH:
        return "HPE_INVALID_CONTENT_LENGTH";
    case HP_E_UNEXPECTED_CONTENT_LENGTH:
        return "HPE_UNEXPECTED_CONTENT_LENGTH";
    case HP_E_INVALID_TRANSFER_ENCODING:
        return "HPE_INVALID_TRANSFER_ENCODING";
    case HP_E_INVALID_CHUNK_SIZE:
        return "HPE_INVALID_CHUNK_SIZE";
    case HP_E_INVALID_EOF_STATE:
        return "HPE_INVALID_EOF_STATE";
    case HP_E_LF_EXPECTED:
        return "HPE_LF_EXPECTED";
    case HP_E_URI_TOO_LONG:
        return "HPE_URI_TOO_LONG";
    case HP_E_HEADER_OVERFLOW:
        return "HPE_HEADER_OVERFLOW";
    case HP_E_BODY_TOO_LARGE:
        return "HPE_BODY_TOO_LARGE";
    case HP_E_CALLBACK:
        return "HPE_CB_ERROR";
    case HP_E_NOMEM:
        return "HPE_NOMEM";
    }
    return "HPE_UNKNOWN";
}

const char *
hp_error_message(const struct hp_parser *p)
{
    if (!p->error)
        return "";
    if (p->err_detail)
        return p->err_detail;
    return hp_error_code(p->error);
}
