/*
 * test_process.c — the processes of one profile (profiler/model/process.c): a worker merged in
 * as a process, one process cut out, a user's PID|NAME, and the trace round trip of several.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "profiler/model/profile.h"

/* A one-thread profile of pid with samples of frame fn, at t0, t0+1ms, ... */
static struct profile *
one(int64_t pid, const char *pname, const char *fn, int n, uint64_t t0)
{
    struct profile *p = profile_new();
    cr_assert(p);
    p->meta.pid = pid;
    p->meta.hz = 1000;
    snprintf(p->meta.process_name, sizeof p->meta.process_name, "%s", pname);
    uint32_t th = profile_add_thread(p, pid, "main");
    uint32_t node = profile_node(p, 0, profile_frame_intern(p, fn, "a.rb", 1, FRAME_RUBY));
    for (int i = 0; i < n; i++)
        profile_add_sample(p, th, node, 1, t0 + (uint64_t)i * 1000000, 1000000);
    p->meta.start_ns = t0, p->meta.end_ns = t0 + (uint64_t)n * 1000000;
    return p;
}

static uint64_t
weight_of(const struct profile *p, const char *fn)
{
    uint64_t w = 0;
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < profile_nsamples(p); i++)
        if (strcmp(profile_str(p, profile_frames(p)[profile_nodes(p)[s[i].node].frame].name), fn) ==
            0)
            w += s[i].weight_ns;
    return w;
}

Test(process, one_process_has_no_others)
{
    struct profile *p = one(10, "", "f", 3, 1000);
    cr_assert_eq(profile_nprocesses(p), 1);
    cr_assert_eq(profile_threads(p)[0].process, 0);
    cr_assert_eq(profile_process_pid(p, 0), 10);
    cr_assert_eq(profile_find_process(p, 10), 0);
    cr_assert_eq(profile_find_process(p, 11), UINT32_MAX);
    profile_free(p);
}

Test(process, merge_adds_a_process_with_its_threads_and_samples)
{
    struct profile *p = one(10, "cluster primary", "prim", 3, 1000);
    struct profile *w = one(11, "cluster worker 1", "work", 5, 500);
    profile_add_counter(w, "heap", 600, 1.0);
    cr_assert_eq(profile_merge_process(p, w), 0);
    struct mp_err e = {0};
    cr_assert_eq(profile_validate(p, &e), 0, "%s", e.msg);
    cr_assert_eq(profile_nprocesses(p), 2);
    cr_assert_eq(profile_nthreads(p), 2);
    cr_assert_eq(profile_threads(p)[1].process, 1);
    cr_assert_eq(profile_process_pid(p, 1), 11);
    cr_assert_str_eq(profile_process_name(p, 1), "cluster worker 1");
    cr_assert_eq(profile_nsamples(p), 8);
    cr_assert_eq(weight_of(p, "work"), 5000000);
    cr_assert_eq(p->meta.start_ns, 500, "the earlier start of the two");
    cr_assert_str_eq(profile_str(p, profile_counters(p)[0].name), "heap (cluster worker 1)");
    uint32_t k = 99;
    cr_assert_eq(profile_parse_process(p, "worker 1", &k, &e), 0);
    cr_assert_eq(k, 1);
    cr_assert_eq(profile_parse_process(p, "11", &k, &e), 0);
    cr_assert_eq(k, 1);
    cr_assert_eq(profile_parse_process(p, "primary", &k, &e), 0);
    cr_assert_eq(k, 0);
    cr_assert_eq(profile_parse_process(p, "worker 2", &k, &e), -EINVAL);
    cr_assert(strstr(e.msg, "cluster worker 1 (pid 11)"), "%s", e.msg);
    struct profile *only = profile_only_process(p, 1);
    cr_assert(only);
    cr_assert_eq(profile_nprocesses(only), 1);
    cr_assert_eq(only->meta.pid, 11);
    cr_assert_eq(profile_nsamples(only), 5);
    cr_assert_eq(weight_of(only, "prim"), 0);
    profile_free(only);
    profile_free(w);
    profile_free(p);
}

/* Allocation samples of n blocks of sz bytes, on p's first thread and node. */
static void
allocs(struct profile *p, int n, double sz, uint64_t total)
{
    for (int i = 0; i < n; i++)
        profile_add_alloc(p, 0, 0, 1000 + (uint64_t)i, (uint64_t)sz, sz, 1);
    p->meta.heap.interval = 512;
    p->meta.heap.alloc_bytes = total;
    p->meta.heap.alloc_count = total / 64;
    p->meta.heap.estimated_bytes = n * sz;
}

Test(process, merge_keeps_allocations_and_one_process_its_own)
{
    struct profile *p = one(10, "cluster primary", "prim", 3, 1000);
    struct profile *w = one(11, "cluster worker 1", "work", 5, 500);
    allocs(p, 2, 1000, 6400);
    allocs(w, 6, 1000, 12800);
    cr_assert_eq(profile_merge_process(p, w), 0);
    struct mp_err e = {0};
    cr_assert_eq(profile_validate(p, &e), 0, "%s", e.msg);
    cr_assert_eq(profile_nallocs(p), 8, "the worker's allocation samples are merged");
    cr_assert_eq(profile_allocs(p)[7].thread, 1, "on the worker's thread");
    cr_assert_eq(p->meta.heap.alloc_bytes, 19200, "exact totals add up");
    cr_assert_eq(p->meta.heap.alloc_count, 300);
    cr_assert_eq(p->meta.heap.interval, 512);
    /* One process cut out: its own exact counts, kept by the merge. */
    struct profile *only = profile_only_process(p, 1);
    cr_assert(only);
    cr_assert_eq(profile_nallocs(only), 6);
    cr_assert_eq(only->meta.heap.alloc_bytes, 12800, "the worker's own count");
    cr_assert_eq(only->meta.heap.alloc_count, 200);
    profile_free(only);
    only = profile_only_process(p, 0);
    cr_assert(only);
    cr_assert_eq(profile_nallocs(only), 2);
    cr_assert_eq(only->meta.heap.alloc_bytes, 6400,
                 "the primary's own: the total less the worker's");
    cr_assert_eq(only->meta.heap.alloc_count, 100);
    profile_free(only);
    /* Counts not known per process (a live cluster, a trace read back): estimated by the share
     * of the sampled bytes, 6 of 8. */
    ((struct prof_process *)p->processes.data)[0].heap_known = 0;
    only = profile_only_process(p, 1);
    cr_assert(only);
    cr_assert_eq(only->meta.heap.alloc_bytes, 14400, "its share of the sampled bytes: 6 of 8");
    cr_assert_eq(only->meta.heap.alloc_count, 225);
    profile_free(only);
    profile_free(w);
    profile_free(p);
}

Test(process, trace_round_trip_keeps_processes)
{
    struct profile *p = one(10, "cluster primary", "prim", 3, 1000000);
    struct profile *w = one(11, "cluster worker 1", "work", 5, 1000000);
    cr_assert_eq(profile_merge_process(p, w), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct fmt_write_opts o = {.thread = -1};
    struct mp_err e = {0};
    cr_assert_eq(trace_write(p, f, &o, &e), 0);
    fclose(f);
    struct profile *back = fmt_read_buffer(buf, len, "t.json", &e);
    cr_assert(back, "%s", e.msg);
    cr_assert_eq(profile_nprocesses(back), 2);
    cr_assert_eq(back->meta.pid, 10);
    cr_assert_str_eq(back->meta.process_name, "cluster primary");
    cr_assert_eq(profile_process_pid(back, 1), 11);
    cr_assert_str_eq(profile_process_name(back, 1), "cluster worker 1");
    cr_assert_eq(profile_threads(back)[1].process, 1);
    cr_assert_eq(weight_of(back, "work"), 5000000);
    profile_free(back);
    free(buf);
    profile_free(w);
    profile_free(p);
}
