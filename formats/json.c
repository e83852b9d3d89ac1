/*
 * json.c — the one-pass JSON parser of json.h: an explicit stack instead of recursion, values
 * appended to one growing array, strings decoded where they lie.
 */
#include "formats/json.h"

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
};

static int
fail(struct parser *ps, const char *what)
{
    ps->err->offset = ps->pos < ps->len ? ps->pos : ps->len;
    ps->err->line = ps->line;
    ps->err->column = ps->err->offset - ps->line_start + 1;
    ps->err->truncated = ps->pos >= ps->len;
    mp_errf(&ps->err->what, -EINVAL, "%s", ps->pos >= ps->len ? "the file ends early" : what);
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
push(struct parser *ps, uint8_t type, const char *key)
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
    v->len = 0;
    v->size = 1;
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

/* At an opening quote: decodes the string in place, NUL-terminates it. */
static int
parse_string(struct parser *ps, const char **out, uint32_t *outlen)
{
    char *b = ps->buf;
    size_t i = ps->pos + 1, start = i;
    while (i < ps->len && b[i] != '"' && b[i] != '\\')
        i++;
    char *w = b + i;
    while (i < ps->len && b[i] != '"') {
        if (b[i] != '\\') {
            *w++ = b[i++];
            continue;
        }
        if (i + 1 >= ps->len)
            break;
        char c = b[i + 1];
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
                return fail(ps, "a bad \\u escape in a string");
            }
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= ps->len && b[i] == '\\' &&
                b[i + 1] == 'u' && hex4(b + i + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate: the replacement character */
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

static int
parse_number(struct parser *ps, double *out)
{
    const char *b = ps->buf;
    size_t i = ps->pos, start = i;
    bool neg = b[i] == '-';
    if (neg)
        i++;
    uint64_t v = 0;
    size_t digits = 0;
    while (i < ps->len && b[i] >= '0' && b[i] <= '9' && digits < 19) {
        v = v * 10 + (uint64_t)(b[i] - '0');
        i++, digits++;
    }
    if (digits == 0)
        return fail(ps, "expected a value");
    bool simple = i >= ps->len ||
                  !(b[i] == '.' || b[i] == 'e' || b[i] == 'E' || (b[i] >= '0' && b[i] <= '9'));
    if (simple) {
        *out = neg ? -(double)v : (double)v;
        ps->pos = i;
        return 0;
    }
    while (i < ps->len && ((b[i] >= '0' && b[i] <= '9') || b[i] == '.' || b[i] == 'e' ||
                           b[i] == 'E' || b[i] == '+' || b[i] == '-'))
        i++;
    char tmp[64];
    if (i - start >= sizeof tmp)
        return fail(ps, "a number too long to read");
    memcpy(tmp, b + start, i - start);
    tmp[i - start] = 0;
    char *end;
    *out = strtod(tmp, &end);
    if (*end) {
        ps->pos = start + (size_t)(end - tmp);
        return fail(ps, "a malformed number");
    }
    ps->pos = i;
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
    memset(doc, 0, sizeof *doc);
    memset(err, 0, sizeof *err);
    struct parser ps = {buf, len, 0, 1, 0, doc, err};
    size_t *stack = malloc(JSON_MAX_DEPTH * sizeof *stack);
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
            if (depth == JSON_MAX_DEPTH) {
                fail(&ps, "nesting deeper than 4096 levels");
                goto out;
            }
            if ((idx = push(&ps, c == '{' ? JSON_OBJECT : JSON_ARRAY, key)) < 0)
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
            if ((idx = push(&ps, JSON_STRING, key)) < 0)
                goto oom;
            doc->v[idx].str = s;
            doc->v[idx].len = n;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            double x = 0;
            if (parse_number(&ps, &x) != 0)
                goto out;
            if ((idx = push(&ps, JSON_NUMBER, key)) < 0)
                goto oom;
            doc->v[idx].num = x;
        } else if (literal(&ps, "true") || literal(&ps, "false") || literal(&ps, "null")) {
            char l = buf[ps.pos - 1];
            if ((idx = push(&ps,
                            l == 'l'                 ? JSON_NULL
                            : buf[ps.pos - 4] == 't' ? JSON_TRUE
                                                     : JSON_FALSE,
                            key)) < 0)
                goto oom;
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
        {
            uint32_t n;
            if (parse_string(&ps, &key, &n) != 0)
                goto out;
        }
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
