/*
 * test_formats.c — writers and readers (formats/): round trips and error messages.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

static struct profile *
sample_profile(void)
{
    struct profile *p = profile_new();
    p->meta.mode = PROFILE_CPU;
    p->meta.hz = 1000;
    uint32_t t = profile_add_thread(p, 42, "main");
    uint32_t fa = profile_frame_intern(p, "A#run", "a.rb", 3, FRAME_RUBY);
    uint32_t fb = profile_frame_intern(p, "block in A#run", "a.rb", 4, FRAME_BLOCK);
    uint32_t na = profile_node(p, 0, fa), nb = profile_node(p, na, fb);
    for (int i = 0; i < 100; i++)
        profile_add_sample(p, t, i % 4 ? nb : na, i % 4 ? 5 : 3, 1000000 + (uint64_t)i * 1000000,
                           900000);
    p->meta.start_ns = 1000000;
    p->meta.end_ns = 102000000;
    return p;
}

static char *
write_to_string(const struct profile *p, const char *fmt, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    struct fmt_err e = {0};
    struct fmt_write_opts o = {-1};
    cr_assert_eq(fmt_by_name(fmt)->write(p, f, &o, &e), 0, "%s", e.msg);
    fclose(f);
    return buf;
}

Test(formats, cpuprofile_round_trip_keeps_samples_weights_and_lines)
{
    struct profile *p = sample_profile();
    size_t len;
    char *json = write_to_string(p, "cpuprofile", &len);
    struct fmt_err e;
    struct profile *q = fmt_read_buffer(json, len, "mem", &e);
    cr_assert_not_null(q, "%s", e.msg);
    cr_assert_eq(profile_nsamples(q), 100);
    cr_assert_eq(profile_total_weight(q, -1), profile_total_weight(p, -1));
    cr_assert_eq(q->meta.mode, PROFILE_CPU);
    size_t on5 = 0;
    for (size_t i = 0; i < profile_nsamples(q); i++)
        on5 += profile_samples(q)[i].line == 5;
    cr_assert_eq(on5, 75);
    free(json);
    profile_free(p);
    profile_free(q);
}

Test(formats, collapsed_lines)
{
    struct profile *p = sample_profile();
    size_t len;
    char *txt = write_to_string(p, "collapsed", &len);
    cr_assert(strstr(txt, "A#run;block in A#run 75\n"), "%s", txt);
    cr_assert(strstr(txt, "A#run 25\n"), "%s", txt);
    free(txt);
    profile_free(p);
}

Test(formats, errors_name_the_problem)
{
    struct fmt_err e;
    cr_assert_null(fmt_read_buffer("", 0, "f", &e));
    cr_assert(strstr(e.msg, "empty"));
    cr_assert_null(fmt_read_buffer("{\"nodes\": [", 11, "f", &e));
    cr_assert(strstr(e.msg, "cut short"), "%s", e.msg);
    cr_assert_null(fmt_read_buffer("{\"a\":1}", 7, "f", &e));
    cr_assert(strstr(e.msg, "not a profile"), "%s", e.msg);
    cr_assert_null(fmt_read_buffer("\x01\x02", 2, "f", &e));
    cr_assert(strstr(e.msg, "0x01"), "%s", e.msg);
    const char *dup = "{\"nodes\":[{\"id\":1,\"callFrame\":{}},{\"id\":1,\"callFrame\":{}}],"
                      "\"samples\":[],\"timeDeltas\":[]}";
    cr_assert_null(fmt_read_buffer(dup, strlen(dup), "f", &e));
    cr_assert(strstr(e.msg, "share the id 1"), "%s", e.msg);
}

Test(formats, format_table_lookup)
{
    cr_assert_str_eq(fmt_by_path("x/y.cpuprofile")->name, "cpuprofile");
    cr_assert_str_eq(fmt_by_path("t.json")->name, "trace");
    cr_assert_str_eq(fmt_by_path("t.folded")->name, "collapsed");
    cr_assert_null(fmt_by_path("t.txt"));
    cr_assert_null(fmt_by_name("svg"));
}
