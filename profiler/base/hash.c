/*
 * hash.c — growing and freeing the one hash table (see hash.h; lookups and inserts are inline
 * there).
 */
#include "profiler/base/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
mp_hash_reserve(struct mp_hash *t, size_t n, mp_hash_rehash rehash, const void *ctx)
{
    size_t cap = t->cap ? t->cap : 256;
    if (n > SIZE_MAX / 4)
        return -ENOMEM;
    while (n * 2 > cap) {
        if (cap > SIZE_MAX / 2 / sizeof *t->slots)
            return -ENOMEM;
        cap *= 2;
    }
    if (cap == t->cap)
        return 0;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    size_t mask = cap - 1;
    for (size_t k = 0; k < t->cap; k++) {
        uint32_t s = t->slots[k];
        if (!s)
            continue;
        size_t i = rehash(ctx, s - 1) & mask;
        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = s;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

void
mp_hash_free(struct mp_hash *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}
