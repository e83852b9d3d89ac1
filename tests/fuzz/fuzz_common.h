/*
 * fuzz_common.h — what the reader fuzz targets share: after a successful read, every writer runs
 * over the profile (into /dev/null), so the writers meet every shape a reader can produce.
 */
#ifndef MRPROF_FUZZ_COMMON_H
#define MRPROF_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/internal.h"

static FILE *fuzz_null;

static inline void
fuzz_write_all(const struct profile *p)
{
    if (!fuzz_null && !(fuzz_null = fopen("/dev/null", "w")))
        abort();
    for (size_t i = 0; i < fmt_count; i++) {
        struct fmt_write_opts o = {.thread = -1};
        struct fmt_err e = {0};
        fmt_table[i].write(p, fuzz_null, &o, &e);
    }
}

/* A reader's input as the CLI gives it: NUL-terminated, writable (strings decode in place). */
static inline char *
fuzz_copy(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = 0;
    return buf;
}

/* Parses JSON and runs one reader over it; the profile is validated as fmt_read_buffer does, then
 * written in every format when valid. */
static inline void
fuzz_json_reader(const uint8_t *data, size_t size,
                 int (*reader)(struct profile *, const struct json_val *, const char *,
                               struct fmt_err *))
{
    char *buf = fuzz_copy(data, size);
    struct json_doc doc;
    struct json_error jerr;
    if (json_parse(buf, size, &doc, &jerr) == 0) {
        struct profile *p = profile_new();
        struct fmt_err e = {0};
        struct mp_err verr;
        if (reader(p, json_root(&doc), "fuzz", &e) == 0) {
            profile_sort_samples(p);
            if (profile_validate(p, &verr) == 0)
                fuzz_write_all(p);
        }
        profile_free(p);
        json_free(&doc);
    }
    free(buf);
}

#endif
