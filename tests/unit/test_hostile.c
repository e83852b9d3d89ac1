/*
 * test_hostile.c — issue 19's memory-safety items at the level of the model and the live
 * decoder: strings holding NUL bytes (which the live stream carries), interned again from a
 * pointer into the string table itself while that table must grow, and the checked number
 * conversions every reader uses. Under ASan the old code fails the table-growth test with a
 * use-after-free.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "formats/internal.h"
#include "formats/live.h"

/* 19.2: "a" then "b" lie as "a\0b\0" in the table. The old comparison (strncmp, then the stored
 * string's byte at the key's length) took the key "a\0b" for "a" whenever probing reached "a"'s
 * slot, and read past the table when "a" was its last string. The hash seldom sends this key
 * there, so this checks the rule (equal means same length and bytes) rather than replaying the
 * old failure, which the fuzz targets found. */
Test(hostile, a_key_holding_nul_is_not_a_shorter_string)
{
    struct profile *p = profile_new();
    uint32_t a = profile_intern(p, "a");
    profile_intern(p, "b");
    uint32_t anb = profile_intern_n(p, "a\0b", 3);
    cr_assert_neq(anb, a, "\"a\\0b\" was taken for \"a\"");
    cr_assert_eq(profile_intern_n(p, "a\0b", 3), anb, "the same 3 bytes are not found again");
    cr_assert_eq(profile_intern(p, "a"), a);
    cr_assert_eq(profile_find_str(p, "a"), a);
    profile_free(p);
}

/* Fills p's string table up to one byte short of its capacity. */
static void
fill_to_the_brim(struct profile *p)
{
    struct strtab *t = &p->strings;
    char pad[8192];
    size_t room = t->cap - t->len;
    cr_assert_gt(room, 2);
    memset(pad, 'x', room - 2);
    profile_intern_n(p, pad, room - 2); /* room - 2 bytes and a NUL: one byte left */
    cr_assert_eq(t->cap - t->len, 1);
}

/* 19.1: interning a string given by a pointer into the table itself, when the table must grow
 * for it: the copy is made from the moved buffer, not the freed one. */
Test(hostile, interning_from_the_table_itself_while_it_grows)
{
    struct profile *p = profile_new();
    uint32_t anb = profile_intern_n(p, "a\0b", 3);
    fill_to_the_brim(p);
    char *before = p->strings.buf;
    uint32_t a = profile_intern(p, profile_str(p, anb)); /* "a": 2 bytes, 1 byte of room */
    cr_assert_neq(p->strings.buf, before, "the table did not move; the test proves nothing");
    cr_assert_str_eq(profile_str(p, a), "a");
    profile_free(p);
}

/* 19.1 through the live stream: a thread named by a string holding a NUL, sent when the
 * viewer's table is one byte short of full; the decoder interns profile_str() of its own table. */
Test(hostile, live_thread_named_with_a_nul_string)
{
    struct profile *src = profile_new();
    uint32_t anb = profile_intern_n(src, "a\0b", 3);
    fill_to_the_brim(src); /* the viewer's table will be laid out the same: same strings */
    uint32_t th = profile_add_thread(src, 42, "");
    ((struct prof_thread_info *)src->threads.data)[th].name = anb;
    struct live_buf b = {0};
    struct live_cursor c;
    live_cursor_init(&c);
    cr_assert_eq(live_encode_welcome(&b, src, 1), 0);
    cr_assert_eq(live_encode_delta(&b, src, &c, 1000, 0), 0);
    struct live_decoder d;
    live_decoder_init(&d);
    int rc = live_decode(&d, b.data, b.len);
    cr_assert_geq(rc, 0, "decode: %s", d.err.msg);
    cr_assert_eq(profile_nthreads(d.p), 1);
    cr_assert_str_eq(profile_str(d.p, profile_threads(d.p)[0].name), "a");
    live_decoder_free(&d);
    live_cursor_free(&c);
    live_buf_free(&b);
    profile_free(src);
}

/* 19.5: the one checked conversion, at its edges. */
Test(hostile, checked_conversions_refuse_what_a_cast_cannot_hold)
{
    int64_t v;
    cr_assert(fmt__to_i64(-9223372036854775808.0, INT64_MIN, INT64_MAX, &v) && v == INT64_MIN);
    cr_assert_not(fmt__to_i64(9223372036854775808.0, INT64_MIN, INT64_MAX, &v));
    cr_assert_not(fmt__to_i64(NAN, INT64_MIN, INT64_MAX, &v));
    cr_assert_not(fmt__to_i64(INFINITY, INT64_MIN, INT64_MAX, &v));
    cr_assert_not(fmt__to_i64(-1, 0, 10, &v));
    cr_assert(fmt__to_i64(10.9, 0, 10, &v) && v == 10);
    uint64_t ns;
    cr_assert(fmt__us_to_ns(1.5, &ns) && ns == 1500);
    cr_assert_not(fmt__us_to_ns(-0.5, &ns));
    cr_assert_not(fmt__us_to_ns(1e300, &ns));
    cr_assert_not(fmt__to_ns((double)FMT_MAX_NS, &ns));
    cr_assert_eq(fmt__clamp_u64(1e300, UINT32_MAX), UINT32_MAX);
    cr_assert_eq(fmt__clamp_u64(NAN, UINT64_MAX), 0);
    cr_assert_eq(fmt__clamp_u64(-3, UINT64_MAX), 0);
    cr_assert_eq(fmt__line(2147483647.0), 2147483647);
    cr_assert_eq(fmt__line(2147483648.0), 0);
    cr_assert_eq(fmt__line(0.5), 0);
}
