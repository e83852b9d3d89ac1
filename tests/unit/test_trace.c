/*
 * test_trace.c — the Trace Event writer's two flavours: DevTools (one track per thread, no
 * slice, pseudo frames under (root), the recording pid) and Perfetto (nested slices on the
 * thread's own track); both read back to the same profile.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

/* main: A#run, then waits in A#wait (idle under it), then a GC inside A#run. */
static struct profile *
waiting_profile(void)
{
    struct profile *p = profile_new();
    p->meta.mode = PROFILE_WALL;
    p->meta.hz = 1000;
    p->meta.pid = 4321;
    p->meta.start_ns = 1000000;
    p->meta.end_ns = 40000000;
    uint32_t t = profile_add_thread(p, 77, "main");
    uint32_t fa = profile_frame_intern(p, "A#run", "a.rb", 3, FRAME_RUBY);
    uint32_t fw = profile_frame_intern(p, "A#wait", "a.rb", 9, FRAME_RUBY);
    uint32_t na = profile_node(p, 0, fa), nw = profile_node(p, na, fw);
    uint32_t ni = profile_node(p, nw, p->f_idle), ng = profile_node(p, na, p->f_gc);
    for (int i = 0; i < 30; i++)
        profile_add_sample(p, t,
                           i < 10   ? na
                           : i < 25 ? ni
                                    : ng,
                           4, 2000000 + (uint64_t)i * 1000000, 1000000);
    return p;
}

/* The same, then idle outside any call (under the root itself), as the loop's main thread is. */
static struct profile *
waiting_profile_idle_at_top(void)
{
    struct profile *p = waiting_profile();
    uint32_t top = profile_node(p, 0, p->f_idle);
    for (int i = 30; i < 35; i++)
        profile_add_sample(p, 0, top, 0, 2000000 + (uint64_t)i * 1000000, 1000000);
    return p;
}

static char *
write_str(const struct profile *p, const char *fmt, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    struct fmt_err e = {0};
    struct fmt_write_opts o = {.thread = -1};
    cr_assert_eq(fmt_by_name(fmt)->write(p, f, &o, &e), 0, "%s", e.msg);
    fclose(f);
    return buf;
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *s = hay; (s = strstr(s, needle)) != NULL; s++)
        n++;
    return n;
}

/* The self weight of the node reached by the path of frame names from the root. */
static uint64_t
weight_at(const struct profile *p, const char *const *path, int depth)
{
    uint32_t node = 0;
    for (int d = 0; d < depth; d++) {
        uint32_t found = UINT32_MAX;
        for (size_t n = 1; n < profile_nnodes(p) && found == UINT32_MAX; n++) {
            const struct prof_node *pn = &profile_nodes(p)[n];
            if (pn->parent == node &&
                strcmp(profile_str(p, profile_frames(p)[pn->frame].name), path[d]) == 0)
                found = (uint32_t)n;
        }
        if (found == UINT32_MAX)
            return 0;
        node = found;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < profile_nsamples(p); i++)
        if (profile_samples(p)[i].node == node)
            w += profile_samples(p)[i].weight_ns;
    return w;
}

Test(trace, devtools_flavour_one_track_per_thread_real_pid_no_slice)
{
    struct profile *p = waiting_profile();
    size_t len;
    char *json = write_str(p, "trace", &len);
    cr_assert(strstr(json, "\"pid\":4321"), "the recording pid");
    cr_assert_eq(count(json, "\"pid\":1,"), 0, "no invented pid");
    cr_assert_eq(count(json, "\"name\":\"thread_name\""), 1, "one track: %s", json);
    cr_assert_eq(count(json, "\"ph\":\"X\""), 0, "no slice above the samples");
    cr_assert_null(strstr(json, "mrprof thread"));
    cr_assert_eq(count(json, "\"ph\":\"I\""), 2, "instants keep the thread and set the time axis");
    /* (idle) and (garbage collector) are declared under (root) (node 1) for DevTools. */
    cr_assert(strstr(json,
                     "\"functionName\":\"(idle)\",\"scriptId\":0,\"url\":\"\",\"lineNumber\":-1,"
                     "\"columnNumber\":-1},\"parent\":1}"),
              "%s", json);
    cr_assert(strstr(json, "\"functionName\":\"(garbage collector)\",\"scriptId\":0,\"url\":\"\","
                           "\"lineNumber\":-1,\"columnNumber\":-1},\"parent\":1}"),
              "%s", json);
    free(json);
    profile_free(p);
}

/* DevTools takes the first (idle) under (root) for its idle node and shows any other as a
 * function "(idle) (unknown)": the samples moved there share the trie's own node. */
Test(trace, devtools_flavour_one_idle_node_under_root)
{
    struct profile *p = waiting_profile_idle_at_top();
    size_t len;
    char *json = write_str(p, "trace", &len);
    cr_assert_eq(count(json,
                       "\"functionName\":\"(idle)\",\"scriptId\":0,\"url\":\"\",\"lineNumber\":-1,"
                       "\"columnNumber\":-1},\"parent\":1}"),
                 1, "%s", json);
    struct fmt_err e;
    struct profile *q = fmt_read_buffer(json, len, "mem", &e);
    cr_assert_not_null(q, "%s", e.msg);
    const char *const idle[] = {"A#run", "A#wait", "(idle)"}, *const top_idle[] = {"(idle)"};
    cr_assert_eq(weight_at(q, idle, 3), 15 * 1000000);
    cr_assert_eq(weight_at(q, top_idle, 1), 5 * 1000000);
    free(json);
    profile_free(q);
    profile_free(p);
}

Test(trace, both_flavours_read_back_to_the_same_stacks_and_pid)
{
    struct profile *p = waiting_profile();
    const char *const idle[] = {"A#run", "A#wait", "(idle)"}, *const gc[] = {"A#run",
                                                                             "(garbage collector)"};
    const char *const top_idle[] = {"(idle)"};
    const char *fmts[] = {"trace", "perfetto"};
    for (int f = 0; f < 2; f++) {
        size_t len;
        char *json = write_str(p, fmts[f], &len);
        struct fmt_err e;
        struct profile *q = fmt_read_buffer(json, len, "mem", &e);
        cr_assert_not_null(q, "%s: %s", fmts[f], e.msg);
        cr_assert_eq(q->meta.pid, 4321, "%s", fmts[f]);
        cr_assert_eq(profile_nsamples(q), 30);
        cr_assert_eq(weight_at(q, idle, 3), 15 * 1000000, "%s: idle stays in A#wait", fmts[f]);
        cr_assert_eq(weight_at(q, gc, 2), 5 * 1000000, "%s: GC stays in A#run", fmts[f]);
        cr_assert_eq(weight_at(q, top_idle, 1), 0, "%s", fmts[f]);
        free(json);
        profile_free(q);
    }
    profile_free(p);
}

Test(trace, perfetto_flavour_nests_slices_on_the_thread_itself)
{
    struct profile *p = waiting_profile();
    size_t len;
    char *json = write_str(p, "perfetto", &len);
    cr_assert_eq(count(json, "\"name\":\"thread_name\""), 1, "no companion track");
    cr_assert_eq(count(json, "\"cat\":\"mrprof.stack\""), 4,
                 "A#run, A#wait, (idle), (garbage collector): %s", json);
    cr_assert_eq(count(json, "\"tid\":77") + 1, count(json, "\"tid\":"),
                 "all but process_name on the thread's tid");
    cr_assert_str_eq(fmt_by_path("x.perfetto.json")->name, "perfetto");
    cr_assert_str_eq(fmt_by_path("x.json")->name, "trace");
    free(json);
    profile_free(p);
}

/* DevTools draws nothing of a .cpuprofile whose startTime is 0 (what a diff's change starts at). */
Test(trace, cpuprofile_starting_at_time_0_starts_at_1us_for_devtools)
{
    struct profile *p = profile_new();
    uint32_t t = profile_add_thread(p, 1, "main");
    uint32_t n = profile_node(p, 0, profile_frame_intern(p, "f", "f.rb", 1, FRAME_RUBY));
    profile_add_sample(p, t, n, 1, 0, 1000000);
    profile_add_sample(p, t, n, 1, 1000000, 1000000);
    size_t len;
    char *json = write_str(p, "cpuprofile", &len);
    cr_assert(strstr(json, "\"startTime\":1,\"endTime\":2001"), "%s", json);
    /* (the last delta is the CPU axis' closing (root) sample at endTime: formats/cpuprofile.c) */
    cr_assert(strstr(json, "\"timeDeltas\":[0,1000,1000]"), "%s", json);
    free(json);
    profile_free(p);
}
