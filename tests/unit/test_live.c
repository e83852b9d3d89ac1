/*
 * test_live.c — formats/live.c: the live stream's encoder and decoder.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/live.h"
#include "profiler/model/aggregate.h"

/* Grows p the way the sampler does: a frame first named "?", samples appended in batches. */
static uint32_t
add_unnamed_frame(struct profile *p)
{
    return profile_frame_add(p, profile_intern(p, "?"), 0, 0, FRAME_RUBY);
}

static void
add_samples(struct profile *p, uint32_t thread, uint32_t node, int n, uint64_t *t)
{
    for (int i = 0; i < n; i++)
        profile_add_sample(p, thread, node, 7, *t += 1000000, 1000000);
}

static void
feed(struct live_decoder *d, struct live_buf *b, size_t chunk)
{
    /* In small pieces, as a socket may deliver them. */
    for (size_t off = 0; off < b->len; off += chunk) {
        size_t n = b->len - off < chunk ? b->len - off : chunk;
        cr_assert_geq(live_decode(d, b->data + off, n), 0, "decode: %s", d->err.msg);
    }
    b->len = 0;
}

static void
assert_same(const struct profile *a, const struct profile *b)
{
    cr_assert_eq(profile_nsamples(a), profile_nsamples(b));
    cr_assert_eq(profile_nnodes(a), profile_nnodes(b));
    cr_assert_eq(profile_nframes(a), profile_nframes(b));
    struct agg_table ta, tb;
    agg_compute(a, -1, AGG_FUNCTION, &ta);
    agg_compute(b, -1, AGG_FUNCTION, &tb);
    cr_assert_eq(ta.n, tb.n);
    for (size_t i = 0; i < ta.n; i++) {
        cr_assert_str_eq(profile_str(a, ta.rows[i].name), profile_str(b, tb.rows[i].name));
        cr_assert_eq(ta.rows[i].self_w, tb.rows[i].self_w);
        cr_assert_eq(ta.rows[i].total_w, tb.rows[i].total_w);
    }
    agg_free(&ta);
    agg_free(&tb);
}

Test(live, deltas_rebuild_the_growing_profile_and_late_names)
{
    struct profile *p = profile_new();
    p->meta.hz = 997;
    p->meta.mode = PROFILE_WALL;
    snprintf(p->meta.tool, sizeof p->meta.tool, "mrun");
    uint32_t th = profile_add_thread(p, 42, "main");
    uint32_t f1 = add_unnamed_frame(p);
    uint32_t n1 = profile_node(p, 0, f1);
    uint64_t t = 0;
    add_samples(p, th, n1, 10, &t);

    struct live_buf b = {0};
    struct live_cursor c;
    struct live_decoder d;
    live_cursor_init(&c);
    live_decoder_init(&d);
    cr_assert_eq(live_encode_welcome(&b, p, 1234), 0);
    cr_assert_eq(live_encode_delta(&b, p, &c, SIZE_MAX, 0), 0);
    feed(&d, &b, 3);
    cr_assert(d.welcomed);
    cr_assert_eq(d.pid, 1234);
    cr_assert_eq(d.p->meta.hz, 997);
    cr_assert_eq(d.p->meta.mode, PROFILE_WALL);
    cr_assert_str_eq(d.p->meta.tool, "mrun");
    assert_same(p, d.p);
    cr_assert_str_eq(profile_str(d.p, profile_frames(d.p)[f1].name), "?");

    /* The sampler names the frame later, adds a thread, a frame and more samples. */
    profile_set_frame(p, f1, profile_intern(p, "Foo#bar"), profile_intern(p, "foo.rb"), 3,
                      FRAME_RUBY);
    uint32_t th2 = profile_add_thread(p, 43, "worker");
    uint32_t f2 = profile_frame_intern(p, "baz", "baz.rb", 9, FRAME_BLOCK);
    uint32_t n2 = profile_node(p, n1, f2);
    add_samples(p, th2, n2, 5, &t);
    add_samples(p, th, n1, 3, &t);
    cr_assert_eq(live_encode_delta(&b, p, &c, 4, 0), 0); /* at most 4 samples this time */
    feed(&d, &b, 1000);
    cr_assert_eq(profile_nsamples(d.p), 14);
    cr_assert_str_eq(profile_str(d.p, profile_frames(d.p)[f1].name), "Foo#bar");
    cr_assert_str_eq(profile_str(d.p, profile_frames(d.p)[f1].file), "foo.rb");
    cr_assert_eq(c.nunnamed, 0);
    cr_assert_eq(live_encode_delta(&b, p, &c, SIZE_MAX, 0), 0);
    feed(&d, &b, 7);
    assert_same(p, d.p);
    cr_assert_eq(profile_nthreads(d.p), 2);
    cr_assert_str_eq(profile_str(d.p, profile_threads(d.p)[1].name), "worker");
    cr_assert_eq(profile_threads(d.p)[1].tid, 43);

    /* The end: a reset, the profile whole, the exit status. */
    live_encode_reset(&b);
    struct live_cursor fresh;
    live_cursor_init(&fresh);
    live_encode_delta(&b, p, &fresh, SIZE_MAX, 5);
    live_encode_end(&b, 3);
    feed(&d, &b, 4096);
    assert_same(p, d.p);
    cr_assert(d.ended);
    cr_assert_eq(d.exit_status, 3);
    cr_assert_eq(d.held_back, 5);
    /* Nothing may follow the end. */
    live_encode_end(&b, 0);
    cr_assert_eq(live_decode(&d, b.data, b.len), -1);
    cr_assert(strstr(d.err.msg, "after the end"));

    live_cursor_free(&c);
    live_cursor_free(&fresh);
    live_decoder_free(&d);
    live_buf_free(&b);
    profile_free(p);
}

static int
decode_bytes(const void *bytes, size_t n, struct mp_err *e)
{
    struct live_decoder d;
    live_decoder_init(&d);
    struct live_buf b = {0};
    struct profile *p = profile_new();
    live_encode_welcome(&b, p, 1);
    profile_free(p);
    int r = live_decode(&d, b.data, b.len);
    if (r >= 0)
        r = live_decode(&d, bytes, n);
    *e = d.err;
    live_decoder_free(&d);
    live_buf_free(&b);
    return r;
}

Test(live, the_decoder_rejects_what_does_not_fit)
{
    struct mp_err err;
    /* A length beyond the limit. */
    uint8_t huge[] = {0xff, 0xff, 0xff, 0x7f, 'X'};
    cr_assert_eq(decode_bytes(huge, sizeof huge, &err), -1);
    cr_assert(strstr(err.msg, "not 1 to"), "%s", err.msg);
    /* A sample naming a node that does not exist. */
    uint8_t sample[4 + 1 + 28] = {29, 0, 0, 0, 'X', 0, 0, 0, 0, 99};
    cr_assert_eq(decode_bytes(sample, sizeof sample, &err), -1);
    cr_assert(strstr(err.msg, "a sample of thread 0, node 99"), "%s", err.msg);
    /* Frames that start past the end of the viewer's table. */
    uint8_t frames[4 + 1 + 4] = {5, 0, 0, 0, 'F', 200, 0, 0, 0};
    cr_assert_eq(decode_bytes(frames, sizeof frames, &err), -1);
    cr_assert(strstr(err.msg, "frames start at 200"), "%s", err.msg);
    /* An unknown type. */
    uint8_t unk[] = {1, 0, 0, 0, 'q'};
    cr_assert_eq(decode_bytes(unk, sizeof unk, &err), -1);
    cr_assert(strstr(err.msg, "unknown message type"), "%s", err.msg);
    /* A stream that does not start with a welcome. */
    struct live_decoder d;
    live_decoder_init(&d);
    uint8_t reset[] = {1, 0, 0, 0, 'Z'};
    cr_assert_eq(live_decode(&d, reset, sizeof reset), -1);
    cr_assert(strstr(d.err.msg, "welcome"));
    live_decoder_free(&d);
    /* Random bytes never crash it. */
    srand(7);
    for (int round = 0; round < 200; round++) {
        uint8_t junk[512];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rand();
        decode_bytes(junk, sizeof junk, &err);
    }
}

Test(live, hello_is_checked_with_and_without_a_token)
{
    struct live_buf b = {0};
    size_t used;
    struct mp_err why;
    live_encode_hello(&b, NULL);
    cr_assert_eq(live_check_hello(b.data, 3, NULL, &used, &why), 0); /* need more */
    cr_assert_eq(live_check_hello(b.data, b.len, NULL, &used, &why), 1);
    cr_assert_eq(used, b.len);
    cr_assert_eq(live_check_hello(b.data, b.len, "abc", &used, &why), -1);
    cr_assert(strstr(why.msg, "token"));
    b.len = 0;
    live_encode_hello(&b, "abc");
    cr_assert_eq(live_check_hello(b.data, b.len, "abc", &used, &why), 1);
    cr_assert_eq(live_check_hello(b.data, b.len, "abd", &used, &why), -1);
    cr_assert_str_eq(why.msg, "wrong token");
    uint8_t http[] = "GET / HTTP/1.1\r\n\r\n";
    cr_assert_eq(live_check_hello(http, sizeof http - 1, NULL, &used, &why), -1);
    cr_assert(strstr(why.msg, "not a hello"), "%s", why.msg);
    live_buf_free(&b);
}

Test(live, tcp_addresses_parse_one_way_for_both_sides)
{
    char host[64];
    struct mp_err err;
    long port;
    cr_assert_eq(live_parse_tcp("[::1]:7", host, sizeof host, &port, &err), 0);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(port, 7);
    cr_assert_eq(live_parse_tcp("localhost:9", host, sizeof host, &port, &err), 0);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(live_parse_tcp("0", host, sizeof host, &port, &err), 0);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 0);
    cr_assert_eq(live_parse_tcp("127.0.0.1:70000", host, sizeof host, &port, &err), -1);
    cr_assert(strstr(err.msg, "70000"));
    cr_assert_eq(live_parse_tcp("host:", host, sizeof host, &port, &err), -1);
}

/* Memory counters and allocation samples travel too, in order, as they were when sent. */
Test(live, counters_and_allocations_reach_the_viewer)
{
    struct profile *p = profile_new();
    uint32_t th = profile_add_thread(p, 7, "main");
    uint32_t n1 = profile_node(p, 0, profile_frame_intern(p, "hold", "g.rb", 5, FRAME_RUBY));
    struct live_buf b = {0};
    struct live_cursor c;
    struct live_decoder d;
    live_cursor_init(&c);
    live_decoder_init(&d);
    cr_assert_eq(live_encode_welcome(&b, p, 1), 0);
    profile_add_counter(p, "RSS bytes", 100, 5e6);
    profile_add_alloc(p, th, n1, 110, 20000, 131072.5, 6.5);
    cr_assert_eq(live_encode_delta(&b, p, &c, SIZE_MAX, 0), 0);
    profile_add_counter(p, "RSS bytes", 200, 6e6);
    size_t id = profile_add_alloc(p, th, n1, 210, 30000, 140000.0, 4.0);
    ((struct prof_alloc *)p->allocs.data)[id].freed_ns = 250;
    cr_assert_eq(live_encode_delta(&b, p, &c, SIZE_MAX, 0), 0);
    feed(&d, &b, 5);
    cr_assert_eq(d.p->counters.len, 2);
    cr_assert_str_eq(profile_str(d.p, profile_counters(d.p)[1].name), "RSS bytes");
    cr_assert_eq(profile_counters(d.p)[1].value, 6e6);
    cr_assert_eq(profile_nallocs(d.p), 2);
    const struct prof_alloc *a = profile_allocs(d.p);
    cr_assert_eq(a[0].bytes, 131072.5);
    cr_assert_eq(a[0].size, 20000);
    cr_assert_eq(a[0].freed_ns, 0);
    cr_assert_eq(a[1].freed_ns, 250);
    cr_assert_eq(a[1].node, n1);
    live_buf_free(&b);
    live_cursor_free(&c);
    live_decoder_free(&d);
    profile_free(p);
}
