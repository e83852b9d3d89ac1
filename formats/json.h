/*
 * json.h — a one-pass JSON parser into a flat array, for the readers of large profiles.
 *
 * cJSON mallocs every value; a 1M-sample .cpuprofile is ~2.5M values and spent most of its
 * read time in malloc. This parser makes one array of values in document order (a container is
 * followed by its whole subtree; `size` counts the subtree, so the next sibling is v + v->size),
 * decodes strings in place in the caller's buffer (an escape is never shorter than what it
 * stands for) and NUL-terminates them there. Integers take a fast path; other numbers strtod.
 * No recursion: nesting depth is bounded by JSON_MAX_DEPTH, not by the C stack.
 *
 * Two callers, one parser. The profile readers call json_parse: lenient where a profile written
 * by another tool may be sloppy (bytes in strings are passed through, a lone \u surrogate becomes
 * U+FFFD), numbers are doubles in `num`. The runtime's JSON.parse calls json_parse_opts with
 * JSON_STRICT (UTF-8 validated, no raw control characters, lone surrogates are errors: RFC 8259
 * as CRuby's json reads it), JSON_EXACT_INTS (an integer that fits int64 is kept in `i`, flagged
 * JSON_V_INT, so 2^63-1 survives) and its own depth limit. The number grammar is RFC 8259's in
 * both modes (no leading zeros, no "1.", no "+1").
 *
 * Ownership: the values point into the buffer given to json_parse; keep it alive and unchanged
 * until json_free.
 */
#ifndef MRPROF_JSON_H
#define MRPROF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiler/base/err.h"

#define JSON_MAX_DEPTH 4096

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

/* json_val.flags */
#define JSON_V_INT                                                                                 \
    1 /* a number written as an integer that fits int64: `i` holds it exactly                      \
         (only under JSON_EXACT_INTS; otherwise `num` holds every number) */

struct json_val {
    uint8_t type;     /* enum json_type */
    uint8_t flags;    /* JSON_V_* */
    uint32_t len;     /* members (array, object) or bytes (string) */
    uint32_t size;    /* values in this subtree, itself included */
    uint32_t key_len; /* bytes of key (a key may hold a NUL from \u0000) */
    const char *key;  /* the member's name inside an object (NUL-terminated), else NULL */
    union {
        double num;
        const char *str;
        int64_t i; /* flags & JSON_V_INT */
    };
};

struct json_doc {
    struct json_val *v;
    size_t n, cap;
};

struct json_error {
    size_t offset;       /* byte where parsing stopped */
    size_t line, column; /* of that byte, from 1 */
    bool truncated;      /* the document ended early */
    bool too_deep;       /* the nesting limit was reached */
    struct mp_err what;  /* -EINVAL with e.g. "expected ',' or ']'", or -ENOMEM "out of memory"
                            (profiler/base/err.h's shape; the position is the fields above) */
};

/* json_opts.flags */
enum {
    JSON_STRICT = 1,     /* validate UTF-8, refuse raw control characters and lone surrogates */
    JSON_EXACT_INTS = 2, /* integers that fit int64 go to `i` with JSON_V_INT */
    JSON_ALLOW_NAN = 4,  /* accept NaN, Infinity and -Infinity (numbers in `num`) */
};

struct json_opts {
    unsigned flags;
    size_t max_depth; /* deepest nesting accepted; 0: JSON_MAX_DEPTH. Larger values grow the
                         parser's own stack (heap), never the C stack. */
};

/* Parses buf[0..len) (modified in place). 0 on success; -1 with err filled. The readers' mode:
 * no flags, depth JSON_MAX_DEPTH; an early end says "the file ends early". */
int json_parse(char *buf, size_t len, struct json_doc *doc, struct json_error *err);

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no encoded
 * surrogates, nothing above U+10FFFF), or 0: the strict parser's check, which JSON.generate
 * (runtime/json.c) applies to the Strings it writes. */
size_t json_utf8_len(const unsigned char *s, size_t avail);
/* The same with options; under JSON_STRICT err->what.msg always names what was expected (also
 * when the text ends early: err->truncated tells). */
int json_parse_opts(char *buf, size_t len, const struct json_opts *o, struct json_doc *doc,
                    struct json_error *err);
void json_free(struct json_doc *doc);

static inline const struct json_val *
json_root(const struct json_doc *d)
{
    return d->n ? d->v : NULL;
}

/* The member named key of object o, or NULL (also when o is NULL or not an object). */
const struct json_val *json_get(const struct json_val *o, const char *key);

/* Iterates the members of an array or object c (NULL or a scalar: no iterations). */
#define JSON_EACH(it, c)                                                                           \
    for (const struct json_val *it = json_first(c), *it##_end = (c) ? (c) + (c)->size : NULL;      \
         it && it < it##_end; it += it->size)

static inline const struct json_val *
json_first(const struct json_val *c)
{
    return c && (c->type == JSON_ARRAY || c->type == JSON_OBJECT) && c->len ? c + 1 : NULL;
}

static inline bool
json_is_num(const struct json_val *v)
{
    return v && v->type == JSON_NUMBER;
}
static inline bool
json_is_str(const struct json_val *v)
{
    return v && v->type == JSON_STRING;
}
static inline bool
json_is_arr(const struct json_val *v)
{
    return v && v->type == JSON_ARRAY;
}
static inline bool
json_is_obj(const struct json_val *v)
{
    return v && v->type == JSON_OBJECT;
}

/* Typed reads with a default for a missing or mistyped value. */
static inline double
json_num(const struct json_val *v, double dflt)
{
    return !json_is_num(v) ? dflt : v->flags & JSON_V_INT ? (double)v->i : v->num;
}

static inline const char *
json_str_or(const struct json_val *v, const char *dflt)
{
    return json_is_str(v) ? v->str : dflt;
}

/* Members of an array or object (0 for anything else). */
static inline size_t
json_len(const struct json_val *v)
{
    return json_is_arr(v) || json_is_obj(v) ? v->len : 0;
}

#endif
