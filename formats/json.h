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

struct json_val {
    uint8_t type;    /* enum json_type */
    uint32_t len;    /* members (array, object) or bytes (string) */
    uint32_t size;   /* values in this subtree, itself included */
    const char *key; /* the member's name inside an object, else NULL */
    union {
        double num;
        const char *str;
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
    struct mp_err what;  /* -EINVAL with e.g. "expected ',' or ']'", or -ENOMEM "out of memory"
                            (profiler/base/err.h's shape; the position is the fields above) */
};

/* Parses buf[0..len) (modified in place). 0 on success; -1 with err filled. */
int json_parse(char *buf, size_t len, struct json_doc *doc, struct json_error *err);
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
    return json_is_num(v) ? v->num : dflt;
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
