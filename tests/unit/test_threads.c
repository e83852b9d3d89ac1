/* Unit tests of formats/threads.c: every thread of a profile written, one file per thread for
 * the one-thread .cpuprofile, files numbered by the worker's own number. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/threads.h"

/* main (10 samples), then the workers in the order they joined: 2 (20), 1 (30), and an idle 3. */
static struct profile *
three_threads(void)
{
    struct profile *p = profile_new();
    p->meta.mode = PROFILE_CPU;
    p->meta.hz = 1000;
    uint32_t th[4] = {profile_add_thread(p, 1, "main"),
                      profile_add_thread(p, 2, "Deferred worker 2"),
                      profile_add_thread(p, 3, "Deferred worker 1"),
                      profile_add_thread(p, 4, "Deferred worker 3")};
    uint32_t f = profile_frame_intern(p, "spin", "a.rb", 3, FRAME_RUBY);
    uint32_t n = profile_node(p, 0, f);
    int counts[3] = {10, 20, 30};
    uint64_t t = 1000000;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < counts[k]; i++, t += 1000000)
            profile_add_sample(p, th[k], n, 3, t, 1000000);
    p->meta.start_ns = 1000000;
    p->meta.end_ns = t;
    return p;
}

static char dir[] = "/tmp/mrprof-threads.XXXXXX";

static void
setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* The thread name a written .cpuprofile holds, read back through the reader. */
static void
expect_file(const char *path, const char *thread, size_t samples)
{
    struct fmt_err e = {0};
    struct profile *q = fmt_read_path(path, &e);
    cr_assert_not_null(q, "%s: %s", path, e.msg);
    cr_assert_eq(profile_nsamples(q), samples, "%s: %zu samples", path, profile_nsamples(q));
    cr_assert_str_eq(profile_str(q, profile_threads(q)[profile_samples(q)[0].thread].name), thread,
                     "%s", path);
    profile_free(q);
}

Test(threads, cpuprofile_one_file_per_thread_numbered_by_worker, .init = setup, .fini = teardown)
{
    struct profile *p = three_threads();
    char path[256], want[256];
    snprintf(path, sizeof path, "%s/x.cpuprofile", dir);
    struct fmt_write_opts o = {.thread = -1};
    struct fmt_err e = {0};
    struct fmt_written *w;
    size_t n;
    cr_assert_eq(fmt_write_threads(p, path, fmt_by_name("cpuprofile"), &o, &w, &n, &e), 0, "%s",
                 e.msg);
    cr_assert_eq(n, 3, "files: %zu (the idle worker 3 gets none)", n);
    cr_assert_str_eq(w[0].path, path);
    expect_file(w[0].path, "main", 10);
    snprintf(want, sizeof want, "%s/x.thread-1.cpuprofile", dir);
    cr_assert_str_eq(w[1].path, want);
    expect_file(w[1].path, "Deferred worker 1", 30);
    snprintf(want, sizeof want, "%s/x.thread-2.cpuprofile", dir);
    cr_assert_str_eq(w[2].path, want);
    expect_file(w[2].path, "Deferred worker 2", 20);
    char desc[1024];
    fmt_written_describe(p, w, n, desc, sizeof desc);
    cr_assert(strstr(desc, "x.thread-1.cpuprofile (Deferred worker 1, 30 samples)"), "%s", desc);
    free(w);
    profile_free(p);
}

Test(threads, formats_holding_every_thread_write_one_file, .init = setup, .fini = teardown)
{
    struct profile *p = three_threads();
    char path[256];
    snprintf(path, sizeof path, "%s/x.json", dir);
    struct fmt_write_opts o = {.thread = -1};
    struct fmt_err e = {0};
    struct fmt_written *w;
    size_t n;
    cr_assert_eq(fmt_write_threads(p, path, fmt_by_name("trace"), &o, &w, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(w[0].thread, -1);
    cr_assert_eq(w[0].samples, 60);
    struct profile *q = fmt_read_path(path, &e);
    cr_assert_not_null(q, "%s", e.msg);
    cr_assert_eq(profile_nsamples(q), 60);
    profile_free(q);
    free(w);
    profile_free(p);
}

/* Two threads named alike: the files fall back to thread indices rather than overwrite. */
Test(threads, clashing_worker_numbers_use_indices, .init = setup, .fini = teardown)
{
    struct profile *p = profile_new();
    p->meta.mode = PROFILE_CPU;
    uint32_t a = profile_add_thread(p, 1, "main"),
             b = profile_add_thread(p, 2, "Deferred worker 1"),
             c = profile_add_thread(p, 3, "Deferred worker 1");
    uint32_t n = profile_node(p, 0, profile_frame_intern(p, "f", "a.rb", 1, FRAME_RUBY));
    profile_add_sample(p, a, n, 1, 1000, 1000);
    profile_add_sample(p, b, n, 1, 2000, 1000);
    profile_add_sample(p, c, n, 1, 3000, 1000);
    char path[256];
    snprintf(path, sizeof path, "%s/y.cpuprofile", dir);
    struct fmt_write_opts o = {.thread = -1};
    struct fmt_err e = {0};
    struct fmt_written *w;
    size_t k;
    cr_assert_eq(fmt_write_threads(p, path, fmt_by_name("cpuprofile"), &o, &w, &k, &e), 0, "%s",
                 e.msg);
    cr_assert_eq(k, 3);
    cr_assert(strstr(w[1].path, "y.thread-1.cpuprofile") &&
                  strstr(w[2].path, "y.thread-2.cpuprofile"),
              "%s %s", w[1].path, w[2].path);
    free(w);
    profile_free(p);
}
