/*
 * hash.h — the one open-addressing hash table of the model, the formats and the viewer.
 *
 * A table of uint32_t ids (the index of a record in a table the caller owns: a string, a frame,
 * a trie node, a group), not of keys: a slot holds id + 1 (0 is empty), and the caller says how
 * to compare a key with record id (eq) and how to hash record id again when the table grows
 * (rehash). So one table indexes strings, frames, nodes and integer keys alike, and a record's
 * key is stored once, in the caller's record.
 *
 * Linear probing over a power-of-two capacity; grows (doubling, from 256 slots) before it passes
 * 50 % load, so an insert is amortised O(1). No deletion (the model only ever adds). Lookups are
 * static inline, so at each call site the compiler inlines eq and the probe loop stays as fast as
 * a hand-written table (profile.c's interning is the hot path of every reader); growth is the
 * cold path, in hash.c.
 *
 * Out of memory: mp_hash_insert and mp_hash_reserve return -ENOMEM and leave the table as it was
 * (every id already in it is still found); they never abort (see err.h for the policy).
 *
 * Not async-signal-safe (it calls calloc): the sampler's signal handler and the allocation
 * sampler's live set keep their own preallocated tables in profiler/sampler/.
 *
 * Ownership: the caller owns struct mp_hash (zero-initialise it: {0} is an empty table) and
 * releases it with mp_hash_free(). Depends on nothing of the project.
 */
#ifndef MRPROF_BASE_HASH_H
#define MRPROF_BASE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_hash {
    uint32_t *slots; /* id + 1, 0 = empty; cap entries */
    size_t cap;      /* 0 or a power of two */
    size_t count;    /* ids in the table */
};

/* Whether record id has key (whatever the caller's key is). ctx is the caller's table. */
typedef bool (*mp_hash_eq)(const void *ctx, uint32_t id, const void *key);
/* The hash of record id, as it was given to mp_hash_insert (for growing). */
typedef uint64_t (*mp_hash_rehash)(const void *ctx, uint32_t id);

/* A 64-bit finaliser (MurmurHash3's fmix64): spreads an integer key over all bits. */
static inline uint64_t
mp_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* FNV-1a over n bytes (NULs included), finished with mp_mix64. */
static inline uint64_t
mp_hash_bytes(const void *s, size_t n)
{
    const unsigned char *b = s;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return mp_mix64(h ^ n);
}

/* The id whose record equals key (hash h), or UINT32_MAX when there is none. */
static inline uint32_t
mp_hash_find(const struct mp_hash *t, uint64_t h, mp_hash_eq eq, const void *ctx, const void *key)
{
    if (!t->cap)
        return UINT32_MAX;
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t s = t->slots[i];
        if (!s)
            return UINT32_MAX;
        if (eq(ctx, s - 1, key))
            return s - 1;
    }
}

/* Makes room for n ids in all without growing again. 0 or -ENOMEM (the table unchanged). */
int mp_hash_reserve(struct mp_hash *t, size_t n, mp_hash_rehash rehash, const void *ctx);

/* Adds id under hash h (the caller found it absent first: ids are not deduplicated here).
 * 0 or -ENOMEM (the table unchanged). rehash may be NULL when the table never grows past what
 * mp_hash_reserve made room for. */
static inline int
mp_hash_insert(struct mp_hash *t, uint64_t h, uint32_t id, mp_hash_rehash rehash, const void *ctx)
{
    if ((t->count + 1) * 2 > t->cap) {
        int rc = mp_hash_reserve(t, t->count + 1, rehash, ctx);
        if (rc)
            return rc;
    }
    size_t mask = t->cap - 1, i = h & mask;
    while (t->slots[i])
        i = (i + 1) & mask;
    t->slots[i] = id + 1;
    t->count++;
    return 0;
}

void mp_hash_free(struct mp_hash *t);

/* Integer keys, the common case: ctx is the caller's uint64_t keys[id], key points to a
 * uint64_t, the hash is mp_mix64(key). */
static inline bool
mp_hash_u64_eq(const void *ctx, uint32_t id, const void *key)
{
    return ((const uint64_t *)ctx)[id] == *(const uint64_t *)key;
}

static inline uint64_t
mp_hash_u64_rehash(const void *ctx, uint32_t id)
{
    return mp_mix64(((const uint64_t *)ctx)[id]);
}

#endif
