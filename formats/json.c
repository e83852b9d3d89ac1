/*
 * json.c — the one-pass JSON parser of json.h: an explicit stack instead of recursion, values
 * appended to one growing array, strings decoded where they lie.
 */
#include "formats/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct parser {
    char *buf;
    size_t len, pos;
    size_t line, line_start; /* newlines are only legal in white space: counted there */
    struct json_doc *doc;
    struct json_error *err;
    unsigned flags;    /* JSON_STRICT, ... */
    unsigned str_mask; /* which classes of str_class stop the fast scan of a string */
};

/* Bytes inside a string: 1 ends the plain run (quote, backslash), 2 a control character, 4 the
 * start of a multi-byte UTF-8 sequence. The lenient mode stops only at 1. */
static const uint8_t str_class[256] = {
    [0x00 ... 0x1f] = 2,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xff] = 4,
};

static int failv(struct parser *ps, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static int
failv(struct parser *ps, const char *fmt, va_list ap)
{
    ps->err->offset = ps->pos < ps->len ? ps->pos : ps->len;
    ps->err->line = ps->line;
    ps->err->column = ps->err->offset - ps->line_start + 1;
    ps->err->truncated = ps->pos >= ps->len;
    if (ps->err->truncated && !(ps->flags & JSON_STRICT)) {
        mp_errf(&ps->err->what, -EINVAL, "the file ends early");
    } else {
        char msg[sizeof ps->err->what.msg];
        vsnprintf(msg, sizeof msg, fmt, ap);
        mp_errf(&ps->err->what, -EINVAL, "%s", msg);
    }
    return -1;
}

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int
fail(struct parser *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(ps, fmt, ap);
    va_end(ap);
    return -1;
}

static void
skip_ws(struct parser *ps)
{
    while (ps->pos < ps->len) {
        char c = ps->buf[ps->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        if (c == '\n')
            ps->line++, ps->line_start = ps->pos + 1;
        ps->pos++;
    }
}

/* Appends a value; returns its index or -1 (out of memory). */
static long
push(struct parser *ps, uint8_t type, const char *key, uint32_t key_len)
{
    struct json_doc *d = ps->doc;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        struct json_val *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return -1;
        d->v = v;
        d->cap = cap;
    }
    struct json_val *v = &d->v[d->n];
    v->type = type;
    v->flags = 0;
    v->len = 0;
    v->size = 1;
    v->key_len = key_len;
    v->key = key;
    v->num = 0;
    return (long)d->n++;
}

static int
hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static char *
put_utf8(char *w, unsigned cp)
{
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xC0 | (cp >> 6));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xE0 | (cp >> 12));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *w++ = (char)(0xF0 | (cp >> 18));
        *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    }
    return w;
}

size_t
json_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* At an opening quote: decodes the string in place, NUL-terminates it. */
static int
parse_string(struct parser *ps, const char **out, uint32_t *outlen)
{
    char *b = ps->buf;
    const unsigned mask = ps->str_mask;
    size_t i = ps->pos + 1, start = i;
    while (i < ps->len && !(str_class[(unsigned char)b[i]] & mask))
        i++;
    char *w = b + i;
    while (i < ps->len) {
        unsigned char c = (unsigned char)b[i];
        unsigned k = str_class[c] & mask;
        if (!k) {
            *w++ = (char)c;
            i++;
            continue;
        }
        if (c == '"')
            break;
        if (k & 2) {
            ps->pos = i;
            return fail(ps, "a raw control character (0x%02x) in a string: write it as \\u%04x", c,
                        c);
        }
        if (k & 4) {
            size_t n = json_utf8_len((const unsigned char *)b + i, ps->len - i);
            if (!n) {
                ps->pos = i;
                return fail(ps, "invalid UTF-8 in a string (byte 0x%02x)", c);
            }
            while (n--)
                *w++ = b[i++];
            continue;
        }
        /* A backslash. */
        if (i + 1 >= ps->len)
            break;
        c = (unsigned char)b[i + 1];
        i += 2;
        switch (c) {
        case '"':
            *w++ = '"';
            break;
        case '\\':
            *w++ = '\\';
            break;
        case '/':
            *w++ = '/';
            break;
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (i + 4 > ps->len || hex4(b + i, &cp) != 0) {
                ps->pos = i - 2;
                return fail(ps, "a bad \\u escape in a string (four hex digits must follow)");
            }
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= ps->len && b[i] == '\\' &&
                b[i + 1] == 'u' && hex4(b + i + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                if (ps->flags & JSON_STRICT) {
                    ps->pos = i - 6;
                    return fail(ps,
                                cp < 0xDC00 ? "a lone surrogate \\u%04x in a string (a high "
                                              "surrogate must be followed by a \\u escape of "
                                              "a low one, DC00-DFFF)"
                                            : "a lone surrogate \\u%04x in a string (a low "
                                              "surrogate must follow a high one)",
                                cp);
                }
                cp = 0xFFFD; /* lenient: the replacement character */
            }
            w = put_utf8(w, cp);
            break;
        }
        default:
            ps->pos = i - 2;
            return fail(ps, "a bad escape in a string");
        }
    }
    if (i >= ps->len) {
        ps->pos = ps->len;
        return fail(ps, "a string that never ends");
    }
    *w = 0;
    *out = b + start;
    *outlen = (uint32_t)(w - (b + start));
    ps->pos = i + 1;
    return 0;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * A number by RFC 8259's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. Up to 19
 * significant digits are gathered in an integer; an integer that fits int64 is kept exactly
 * (JSON_EXACT_INTS), a decimal whose digits fit 2^53 with a power of ten up to 22 is one exact
 * multiplication or division (correctly rounded, as strtod), anything else goes to strtod.
 */
static int
parse_number(struct parser *ps, struct json_val *v)
{
    const char *b = ps->buf;
    size_t len = ps->len, i = ps->pos, start = i;
    bool neg = b[i] == '-';
    if (neg)
        i++;
    if (i >= len || !is_digit(b[i])) {
        ps->pos = i;
        return fail(ps, "expected a value (a digit after '-')");
    }
    uint64_t m = 0;
    int nd = 0;        /* significant digits gathered in m (at most 19) */
    int drop = 0;      /* integer digits beyond those: each one is a factor of ten */
    int scale = 0;     /* fraction digits gathered: each one divides by ten */
    bool lost = false; /* digits beyond the 19th: m is not the whole number */
    if (b[i] == '0') {
        i++;
        if (i < len && is_digit(b[i])) {
            ps->pos = i - 1;
            return fail(ps, "a number with a leading zero");
        }
    } else {
        for (; i < len && is_digit(b[i]); i++) {
            if (nd < 19)
                m = m * 10 + (uint64_t)(b[i] - '0'), nd++;
            else
                drop++, lost = true;
        }
    }
    bool is_int = true;
    if (i < len && b[i] == '.') {
        is_int = false;
        i++;
        if (i >= len || !is_digit(b[i])) {
            ps->pos = i;
            return fail(ps, "a number with no digit after its '.'");
        }
        for (; i < len && is_digit(b[i]); i++) {
            if (nd < 19) {
                m = m * 10 + (uint64_t)(b[i] - '0');
                nd += m != 0; /* leading zeros of 0.00x are not significant */
                scale++;
            } else {
                lost = true;
            }
        }
    }
    long ex = 0;
    if (i < len && (b[i] == 'e' || b[i] == 'E')) {
        is_int = false;
        i++;
        bool eneg = false;
        if (i < len && (b[i] == '+' || b[i] == '-'))
            eneg = b[i++] == '-';
        if (i >= len || !is_digit(b[i])) {
            ps->pos = i;
            return fail(ps, "a number with no digit in its exponent");
        }
        for (; i < len && is_digit(b[i]); i++)
            if (ex < 100000)
                ex = ex * 10 + (b[i] - '0');
        if (eneg)
            ex = -ex;
    }
    ps->pos = i;
    if (is_int && !lost && (ps->flags & JSON_EXACT_INTS) &&
        (neg ? m <= (uint64_t)INT64_MAX + 1 : m <= (uint64_t)INT64_MAX)) {
        v->flags |= JSON_V_INT;
        v->i = neg ? (int64_t)(0 - m) : (int64_t)m;
        return 0;
    }
    long e10 = ex - scale + drop;
    if (!lost && m <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
        double d = (double)m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        v->num = neg ? -d : d;
        return 0;
    }
    /* The slow path: strtod on a NUL-terminated copy of the text. */
    size_t n = i - start;
    char tmp[128];
    char *t = n < sizeof tmp ? tmp : malloc(n + 1);
    if (!t) {
        mp_err_oom(&ps->err->what, NULL);
        return -1;
    }
    memcpy(t, b + start, n);
    t[n] = 0;
    v->num = strtod(t, NULL);
    if (t != tmp)
        free(t);
    return 0;
}

static bool
literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if (ps->len - ps->pos < n || memcmp(ps->buf + ps->pos, word, n) != 0)
        return false;
    ps->pos += n;
    return true;
}

/* A large array on transparent huge pages where the kernel offers them (madvise mode): a
 * 1M-sample profile touches ~80 MB here, and 4 KiB page faults were a third of the read. */
static void *
big_alloc(size_t bytes)
{
    const size_t huge = 2u << 20;
    if (bytes < 4 * huge)
        return malloc(bytes);
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

int
json_parse(char *buf, size_t len, struct json_doc *doc, struct json_error *err)
{
    return json_parse_opts(buf, len, NULL, doc, err);
}

int
json_parse_opts(char *buf, size_t len, const struct json_opts *o, struct json_doc *doc,
                struct json_error *err)
{
    memset(doc, 0, sizeof *doc);
    memset(err, 0, sizeof *err);
    unsigned flags = o ? o->flags : 0;
    size_t max_depth = o && o->max_depth ? o->max_depth : JSON_MAX_DEPTH;
    struct parser ps = {buf, len, 0, 1, 0, doc, err, flags, flags & JSON_STRICT ? 7u : 1u};
    /* The stack of open containers grows on the heap up to max_depth. */
    size_t stack_cap = max_depth < 256 ? max_depth : 256;
    size_t *stack = malloc(stack_cap * sizeof *stack);
    if (!stack) {
        mp_err_oom(&err->what, NULL);
        return -1;
    }
    /* Room for every value a document of this size can plausibly hold (a value takes 2 bytes
     * or more: `1,`), so the array is not copied as it grows; pages never touched cost nothing. */
    doc->cap = len / 3 + 64;
    doc->v = big_alloc(doc->cap * sizeof *doc->v);
    if (!doc->v)
        doc->cap = 0;
    size_t depth = 0;
    const char *key = NULL;
    uint32_t key_len = 0;
    int rc = -1;
    skip_ws(&ps);
    for (;;) {
        /* A value (with the pending member name, if any). */
        if (ps.pos >= len) {
            fail(&ps, "expected a value");
            goto out;
        }
        char c = buf[ps.pos];
        long idx;
        if (c == '{' || c == '[') {
            if (depth == max_depth) {
                err->too_deep = true;
                fail(&ps, "nesting deeper than %zu levels", max_depth);
                goto out;
            }
            if (depth == stack_cap) {
                size_t cap = stack_cap * 2 < max_depth ? stack_cap * 2 : max_depth;
                size_t *st = realloc(stack, cap * sizeof *st);
                if (!st)
                    goto oom;
                stack = st;
                stack_cap = cap;
            }
            if ((idx = push(&ps, c == '{' ? JSON_OBJECT : JSON_ARRAY, key, key_len)) < 0)
                goto oom;
            key = NULL;
            stack[depth++] = (size_t)idx;
            ps.pos++;
            skip_ws(&ps);
            if (ps.pos < len && buf[ps.pos] == (c == '{' ? '}' : ']')) {
                ps.pos++;
                depth--;
                goto after_value;
            }
            if (c == '[')
                continue;
            goto member_name;
        } else if (c == '"') {
            const char *s;
            uint32_t n;
            if (parse_string(&ps, &s, &n) != 0)
                goto out;
            if ((idx = push(&ps, JSON_STRING, key, key_len)) < 0)
                goto oom;
            doc->v[idx].str = s;
            doc->v[idx].len = n;
        } else if ((c == '-' &&
                    !((flags & JSON_ALLOW_NAN) && ps.pos + 1 < len && buf[ps.pos + 1] == 'I')) ||
                   (c >= '0' && c <= '9')) {
            if ((idx = push(&ps, JSON_NUMBER, key, key_len)) < 0)
                goto oom;
            if (parse_number(&ps, &doc->v[idx]) != 0)
                goto out;
        } else if (literal(&ps, "true") || literal(&ps, "false") || literal(&ps, "null")) {
            char l = buf[ps.pos - 1];
            if ((idx = push(&ps,
                            l == 'l'                 ? JSON_NULL
                            : buf[ps.pos - 4] == 't' ? JSON_TRUE
                                                     : JSON_FALSE,
                            key, key_len)) < 0)
                goto oom;
        } else if ((flags & JSON_ALLOW_NAN) && (c == 'N' || c == 'I' || c == '-') &&
                   (literal(&ps, "NaN") || literal(&ps, "Infinity") || literal(&ps, "-Infinity"))) {
            if ((idx = push(&ps, JSON_NUMBER, key, key_len)) < 0)
                goto oom;
            doc->v[idx].num = c == 'N' ? NAN : c == '-' ? -INFINITY : INFINITY;
        } else {
            fail(&ps, "expected a value (an object, array, string, number, true, false or null)");
            goto out;
        }
        key = NULL;
    after_value:
        if (depth == 0)
            break;
        {
            struct json_val *top = &doc->v[stack[depth - 1]];
            bool obj = top->type == JSON_OBJECT;
            top->len++;
            skip_ws(&ps);
            if (ps.pos < len && buf[ps.pos] == ',') {
                ps.pos++;
                skip_ws(&ps);
                if (!obj)
                    continue;
                goto member_name;
            }
            if (ps.pos < len && buf[ps.pos] == (obj ? '}' : ']')) {
                ps.pos++;
                depth--;
                top->size = (uint32_t)(doc->n - stack[depth]);
                goto after_value;
            }
            fail(&ps, obj ? "expected ',' or '}' after an object member"
                          : "expected ',' or ']' after an array element");
            goto out;
        }
    member_name:
        if (ps.pos >= len || buf[ps.pos] != '"') {
            fail(&ps, "expected a member name (a string in double quotes)");
            goto out;
        }
        if (parse_string(&ps, &key, &key_len) != 0)
            goto out;
        skip_ws(&ps);
        if (ps.pos >= len || buf[ps.pos] != ':') {
            fail(&ps, "expected ':' after a member name");
            goto out;
        }
        ps.pos++;
        skip_ws(&ps);
    }
    skip_ws(&ps);
    if (ps.pos < len) {
        fail(&ps, "more data after the end of the JSON value");
        goto out;
    }
    rc = 0;
    goto out;
oom:
    mp_err_oom(&err->what, NULL);
    err->offset = ps.pos;
out:
    free(stack);
    if (rc != 0)
        json_free(doc);
    return rc;
}

void
json_free(struct json_doc *doc)
{
    free(doc->v);
    memset(doc, 0, sizeof *doc);
}

const struct json_val *
json_get(const struct json_val *o, const char *key)
{
    if (!json_is_obj(o))
        return NULL;
    JSON_EACH(m, o)
    if (strcmp(m->key, key) == 0)
        return m;
    return NULL;
}
