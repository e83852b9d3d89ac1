/*
 * test_hash.c — profiler/base/hash.c: the one open-addressing table of ids.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "profiler/base/hash.h"

/* The caller's table: record id holds key keys[id]. */
struct rec_table {
    uint64_t keys[20000];
    uint32_t n;
};

static bool
rec_eq(const void *ctx, uint32_t id, const void *key)
{
    return ((const struct rec_table *)ctx)->keys[id] == *(const uint64_t *)key;
}

static uint64_t
rec_hash(uint64_t k)
{
    return mp_mix64(k);
}

static uint64_t
rec_rehash(const void *ctx, uint32_t id)
{
    return rec_hash(((const struct rec_table *)ctx)->keys[id]);
}

/* Finds key, adding it as a new record when absent. */
static uint32_t
intern(struct mp_hash *h, struct rec_table *t, uint64_t key)
{
    uint32_t id = mp_hash_find(h, rec_hash(key), rec_eq, t, &key);
    if (id != UINT32_MAX)
        return id;
    id = t->n++;
    t->keys[id] = key;
    cr_assert_eq(mp_hash_insert(h, rec_hash(key), id, rec_rehash, t), 0);
    return id;
}

Test(hash, empty_table_finds_nothing)
{
    struct mp_hash h = {0};
    uint64_t k = 42;
    cr_assert_eq(mp_hash_find(&h, rec_hash(k), rec_eq, NULL, &k), UINT32_MAX);
    mp_hash_free(&h);
    mp_hash_free(&h); /* twice is harmless */
}

Test(hash, interns_and_finds_across_growth)
{
    static struct rec_table t;
    struct mp_hash h = {0};
    for (uint64_t k = 0; k < 20000; k++)
        cr_assert_eq(intern(&h, &t, k * 7919 + 3), k);
    cr_assert_eq(h.count, 20000);
    cr_assert(h.cap >= 40000 && (h.cap & (h.cap - 1)) == 0, "cap %zu", h.cap);
    for (uint64_t k = 0; k < 20000; k++)
        cr_assert_eq(intern(&h, &t, k * 7919 + 3), k); /* found again, nothing added */
    cr_assert_eq(t.n, 20000);
    uint64_t absent = 5;
    cr_assert_eq(mp_hash_find(&h, rec_hash(absent), rec_eq, &t, &absent), UINT32_MAX);
    mp_hash_free(&h);
    cr_assert_eq(h.slots, NULL);
    cr_assert_eq(h.cap, 0);
}

Test(hash, load_stays_at_most_half)
{
    static struct rec_table t;
    struct mp_hash h = {0};
    for (uint64_t k = 0; k < 1000; k++) {
        intern(&h, &t, k);
        cr_assert(h.count * 2 <= h.cap, "%zu ids in %zu slots", h.count, h.cap);
    }
    cr_assert_eq(h.cap, 2048); /* 256 doubled while 2 * count passed it */
    mp_hash_free(&h);
}

/* Every key hashing to one slot: probing must still tell them apart. */
static uint64_t
same_rehash(const void *ctx, uint32_t id)
{
    return 7;
}

Test(hash, collisions_probe_linearly)
{
    static struct rec_table t;
    struct mp_hash h = {0};
    for (uint32_t i = 0; i < 300; i++) {
        t.keys[i] = 1000 + i;
        cr_assert_eq(mp_hash_insert(&h, 7, i, same_rehash, &t), 0);
    }
    for (uint32_t i = 0; i < 300; i++) {
        uint64_t k = 1000 + i;
        cr_assert_eq(mp_hash_find(&h, 7, rec_eq, &t, &k), i);
    }
    uint64_t k = 999;
    cr_assert_eq(mp_hash_find(&h, 7, rec_eq, &t, &k), UINT32_MAX);
    mp_hash_free(&h);
}

Test(hash, reserve_avoids_growth_and_keeps_ids)
{
    static struct rec_table t;
    struct mp_hash h = {0};
    cr_assert_eq(mp_hash_reserve(&h, 5000, NULL, NULL), 0); /* empty: nothing to rehash */
    size_t cap = h.cap;
    cr_assert_geq(cap, 10000);
    for (uint64_t k = 0; k < 5000; k++) {
        uint64_t key = k ^ 0xabcdef;
        t.keys[t.n] = key;
        cr_assert_eq(mp_hash_insert(&h, rec_hash(key), t.n++, NULL, &t), 0);
    }
    cr_assert_eq(h.cap, cap); /* never grew, so rehash was never needed */
    cr_assert_eq(mp_hash_reserve(&h, 100, rec_rehash, &t), 0); /* smaller: a no-op */
    cr_assert_eq(h.cap, cap);
    cr_assert_eq(mp_hash_reserve(&h, 3 * cap, rec_rehash, &t), 0);
    cr_assert_geq(h.cap, 6 * cap);
    for (uint64_t k = 0; k < 5000; k++) {
        uint64_t key = k ^ 0xabcdef;
        cr_assert_eq(mp_hash_find(&h, rec_hash(key), rec_eq, &t, &key), k);
    }
    mp_hash_free(&h);
}

Test(hash, impossible_reserve_is_enomem_and_leaves_the_table)
{
    static struct rec_table t;
    struct mp_hash h = {0};
    intern(&h, &t, 1);
    intern(&h, &t, 2);
    cr_assert_eq(mp_hash_reserve(&h, SIZE_MAX / 2, rec_rehash, &t), -ENOMEM);
    cr_assert_eq(h.cap, 256);
    cr_assert_eq(intern(&h, &t, 2), 1);
    mp_hash_free(&h);
}

Test(hash, bytes_hash_sees_every_byte_and_the_length)
{
    cr_assert_neq(mp_hash_bytes("a\0b", 3), mp_hash_bytes("a\0c", 3));
    cr_assert_neq(mp_hash_bytes("", 0), mp_hash_bytes("\0", 1));
    cr_assert_eq(mp_hash_bytes("abc", 3), mp_hash_bytes("abcd", 3));
    cr_assert_neq(mp_mix64(1), mp_mix64(2));
}

Test(hash, integer_keys_use_the_u64_helpers)
{
    uint64_t keys[100];
    struct mp_hash h = {0};
    for (uint32_t i = 0; i < 100; i++) {
        keys[i] = (uint64_t)i << 40 | 0xbeef;
        cr_assert_eq(mp_hash_find(&h, mp_mix64(keys[i]), mp_hash_u64_eq, keys, &keys[i]),
                     UINT32_MAX);
        cr_assert_eq(mp_hash_insert(&h, mp_mix64(keys[i]), i, mp_hash_u64_rehash, keys), 0);
    }
    for (uint32_t i = 0; i < 100; i++) {
        uint64_t k = (uint64_t)i << 40 | 0xbeef;
        cr_assert_eq(mp_hash_find(&h, mp_mix64(k), mp_hash_u64_eq, keys, &k), i);
        cr_assert_eq(mp_hash_u64_rehash(keys, i), mp_mix64(k));
    }
    mp_hash_free(&h);
}
