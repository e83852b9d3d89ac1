/*
 * test_check.c — the parts of `mrprof check` under viewer/check/: the run set and its baseline
 * files (baseline.c, on formats/json.c and jsonout.c), budgets (budget.c) and the verdict
 * engines (verdict.c). Run from the repository root (tests/run.sh does), for tests/data/.
 *
 * tests/data/check/old-baseline.json was written by the cJSON code this replaced (commit
 * "check: a script with two `helper`s ..."), from tests/scripts/collide/main.rb: files of older
 * releases must keep loading, and a file read and written again must not change.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiler/base/fileio.h"
#include "profiler/model/profile.h"
#include "viewer/check/baseline.h"
#include "viewer/check/budget.h"
#include "viewer/check/check_parse.h"
#include "viewer/check/verdict.h"

#define OLD_BASELINE "tests/data/check/old-baseline.json"
#define OLD_SCRIPT "/work/wt/check/tests/scripts/collide/main.rb" /* as the file names it */

static double
ms_of(struct run_set *r, const char *key, size_t run)
{
    long k = key_index(r, key, false);
    cr_assert_geq(k, 0, "no key '%s'", key);
    return r->ms[(size_t)k * r->nruns + run];
}

/* --- baseline files ------------------------------------------------------------------------- */

Test(baseline, a_file_written_by_the_cjson_code_loads)
{
    struct run_set r = {0};
    cr_assert_eq(load_runs(&r, OLD_BASELINE), 0);
    cr_assert_eq(r.nruns, 2);
    cr_assert_eq(r.nkeys, 9);
    cr_assert_float_eq(r.total[0], 64.799809, 1e-9);
    cr_assert_float_eq(r.total[1], 38.034982, 1e-9);
    /* the two helpers share a name and a base name, not a key */
    cr_assert_float_eq(ms_of(&r, "helper\tlib/a/util.rb\t2", 0), 49.393304, 1e-9);
    cr_assert_float_eq(ms_of(&r, "helper\tlib/b/util.rb\t2", 0), 13.927399, 1e-9);
    cr_assert_float_eq(ms_of(&r, "helper\tlib/b/util.rb\t2", 1), 11.96137, 1e-9);
    cr_assert_float_eq(ms_of(&r, "Kernel#require_relative\t\t0", 1), 0.362903, 1e-9);
    cr_assert_str_eq(r.keys[0], "spin\tmain.rb\t4"); /* the file's order */
    run_set_free(&r);
}

Test(baseline, read_and_written_again_the_file_is_byte_for_byte_the_same)
{
    size_t len, len2;
    struct mp_err err;
    char *old = fio_read_file(OLD_BASELINE, &len, &err);
    cr_assert(old, "%s", err.msg);
    struct run_set r = {0};
    cr_assert_eq(parse_runs(&r, old, len, OLD_BASELINE), 0);
    char path[] = "/tmp/mrprof-test-check.XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(save_runs(&r, path, OLD_SCRIPT), 0);
    char *again = fio_read_file(path, &len2, &err);
    unlink(path);
    cr_assert(again, "%s", err.msg);
    cr_assert_eq(len2, len);
    cr_assert(memcmp(old, again, len) == 0, "rewritten:\n%s", again);
    free(old), free(again);
    run_set_free(&r);
}

Test(baseline, keys_without_a_line_from_older_releases_load_as_line_0)
{
    /* the fuzz seed is a baseline of a release that keyed "name\tfile" (its first byte picks the
     * fuzz target's parser) */
    size_t len;
    struct mp_err err;
    char *text = fio_read_file("tests/fuzz/corpus/check/seed-baseline.json", &len, &err);
    cr_assert(text, "%s", err.msg);
    struct run_set r = {0};
    cr_assert_eq(parse_runs(&r, text + 1, len - 1, "seed"), 0);
    cr_assert_eq(r.nruns, 2);
    cr_assert_float_eq(ms_of(&r, "sixty\tself_split.rb", 1), 7.105297, 1e-9);
    cr_assert_float_eq(ms_of(&r, "ten\tself_split.rb", 0), 0.0, 1e-12); /* not in run 1 */
    char **bufs;
    struct match_key *k = run_keys(&r, &bufs);
    cr_assert(k);
    long i = key_index(&r, "sixty\tself_split.rb", false);
    cr_assert_str_eq(k[i].name, "sixty");
    cr_assert_str_eq(k[i].file, "self_split.rb");
    cr_assert_eq(k[i].line, 0);
    free_keys(k, bufs, r.nkeys);
    run_set_free(&r);
    free(text);
}

Test(baseline, what_is_not_a_baseline_is_refused, .init = cr_redirect_stderr)
{
    const char *bad[] = {
        "",
        "{\"runs\": 3}",
        "{\"mrprof_baseline\": 1, \"runs\": []}",
        "{\"mrprof_baseline\": 1, \"runs\": [{\"total_ms\": 1}]}",
        "{\"mrprof_baseline\": 1, \"runs\": [{\"total_ms\": 1, \"functions\": {\"f\\tx.rb\\t1\": "
        "\"1\"}}]}",
        "{\"mrprof_baseline\": 1, \"runs\": [7]}",
        "[1, 2]",
        "{\"mrprof_baseline\": 1, \"runs\": [{\"total_ms\": 1, \"functions\": {}}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(check_parse_baseline(bad[i], strlen(bad[i])), -1, "accepted: %s", bad[i]);
    const char *good = "{\"mrprof_baseline\": 1, \"runs\": [{\"total_ms\": 1, \"functions\": {}}]}";
    cr_assert_eq(check_parse_baseline(good, strlen(good)), 0);
}

Test(baseline, keys_are_found_by_hash_in_the_order_they_came)
{
    struct run_set r = {0};
    cr_assert_eq(run_set_init(&r, 3), 0);
    char key[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "f%d\tapp.rb\t%d", i, i % 97);
        cr_assert_eq(key_index(&r, key, true), i);
        r.ms[(size_t)i * r.nruns + 2] = i;
    }
    for (int i = 0; i < 20000; i += 7) {
        snprintf(key, sizeof key, "f%d\tapp.rb\t%d", i, i % 97);
        cr_assert_eq(key_index(&r, key, false), i);
        cr_assert_eq(key_index(&r, key, true), i); /* found, not added again */
        cr_assert_float_eq(r.ms[(size_t)i * r.nruns + 2], (double)i, 1e-12);
        cr_assert_float_eq(r.ms[(size_t)i * r.nruns + 0], 0.0, 1e-12);
    }
    cr_assert_eq(r.nkeys, 20000);
    cr_assert_eq(key_index(&r, "f1\tapp.rb\t2", false), -1);
    run_set_free(&r);
}

/* --- budgets -------------------------------------------------------------------------------- */

Test(budget, specs_and_did_you_mean, .init = cr_redirect_stderr)
{
    struct budget b;
    cr_assert(parse_budget("Parser#parse<=30%", &b, "t"));
    cr_assert_str_eq(b.name, "Parser#parse");
    cr_assert_float_eq(b.max_pct, 30.0, 1e-12);
    cr_assert(parse_budget("helper@lib/a/util.rb:2<=12.5", &b, "t"));
    cr_assert_str_eq(b.name, "helper@lib/a/util.rb:2");
    cr_assert_not(parse_budget("<=30%", &b, "t"));
    cr_assert_not(parse_budget("parse<=130%", &b, "t"));
    cr_assert_not(parse_budget("parse<30%", &b, "t"));
    cr_assert_not(parse_budget("parse<=30%x", &b, "t"));
    cr_assert_eq(check_parse_budget("parse<=3"), 0);
    cr_assert_eq(check_parse_budget("parse"), -1);
    cr_assert_eq(edit_distance("Parser#parse", "Parser#parse"), 0);
    cr_assert_eq(edit_distance("Parser#prase", "Parser#parse"), 2);
    cr_assert_eq(edit_distance("", "abc"), 3);
}

/* --- the three paths of check meet functions alike ------------------------------------------ */

/* A profile of /srv/app/main.rb whose <main> calls `helper` of lib/a/util.rb (na samples),
 * `helper` of lib/b/util.rb (nb samples), both at line 2, and `other` of main.rb (100), 1 ms each.
 */
static struct profile *
two_helpers(int na, int nb)
{
    struct profile *p = profile_new();
    uint32_t th = profile_add_thread(p, 1, "main");
    uint32_t mainn =
        profile_node(p, 0, profile_frame_intern(p, "<main>", "/srv/app/main.rb", 1, FRAME_RUBY));
    const struct {
        const char *name, *file;
        int line, n;
    } fns[] = {{"helper", "/srv/app/lib/a/util.rb", 2, na},
               {"helper", "/srv/app/lib/b/util.rb", 2, nb},
               {"other", "/srv/app/main.rb", 20, 100}};
    uint64_t t = 0;
    for (size_t i = 0; i < 3; i++) {
        uint32_t node = profile_node(
            p, mainn, profile_frame_intern(p, fns[i].name, fns[i].file, fns[i].line, FRAME_RUBY));
        for (int k = 0; k < fns[i].n; k++)
            profile_add_sample(p, th, node, 0, t += 1000000, 1000000);
    }
    return p;
}

/* The verdict of `helper` in file (a path ending in it: --baseline names a function by its
 * profile's own path, --runs by the path relative to the script's root). */
static const struct verdict *
helper_in(const struct verdicts *vs, const char *file)
{
    char end[64];
    snprintf(end, sizeof end, "%s:2)", file);
    const struct verdict *found = NULL;
    for (size_t i = 0; i < vs->n; i++) {
        const char *n = vs->v[i].name;
        size_t len = strlen(n);
        if (strncmp(n, "helper (", 8) == 0 && len >= strlen(end) &&
            strcmp(n + len - strlen(end), end) == 0) {
            cr_assert_null(found, "two verdicts for helper in %s", file);
            found = &vs->v[i];
        }
    }
    return found;
}

Test(paths, baseline_runs_and_budgets_keep_two_helpers_of_one_base_name_apart)
{
    /* lib/a's helper does 600 -> 900 ms of work, lib/b's stays at 300 ms: every path must
     * blame lib/a's alone (a match on the base name "util.rb" would merge them into one). */
    struct profile *a = two_helpers(600, 300), *b = two_helpers(900, 300);

    /* budgets: NAME@FILE picks one, NAME alone both */
    double share;
    cr_assert_eq(budget_share(b, "helper@lib/a/util.rb", &share), 1);
    cr_assert_float_eq(share, 100.0 * 900 / 1300, 1e-9);
    double b_share;
    cr_assert_eq(budget_share(b, "helper@lib/b/util.rb:2", &b_share), 1);
    cr_assert_float_eq(b_share, 100.0 * 300 / 1300, 1e-9);
    cr_assert_eq(budget_share(b, "helper", &share), 2);
    cr_assert_float_eq(share, 100.0 * 1200 / 1300, 1e-9);

    /* --baseline: two verdicts, named apart by their files, with the budget's shares */
    struct verdicts vs = {0};
    cr_assert_eq(compare_profiles(5.0, a, b, &vs), 0);
    name_apart(&vs);
    const struct verdict *va = helper_in(&vs, "/lib/a/util.rb"),
                         *vb = helper_in(&vs, "/lib/b/util.rb");
    cr_assert(va && vb);
    cr_assert_float_eq(va->base, 60.0, 1e-9);
    cr_assert_float_eq(va->cur, 100.0 * 900 / 1300, 1e-9);
    cr_assert_float_eq(vb->cur, b_share, 1e-9);
    cr_assert(va->failed);
    cr_assert_not(vb->failed);
    free(vs.v);

    /* --runs: one key per helper, with each one's own time; the engine pairs them alike */
    struct run_set rb = {0}, rc = {0};
    cr_assert_eq(run_set_init(&rb, 8), 0);
    cr_assert_eq(run_set_init(&rc, 8), 0);
    for (size_t i = 0; i < 8; i++) {
        cr_assert_eq(add_run(&rb, i, a), 0);
        cr_assert_eq(add_run(&rc, i, b), 0);
    }
    cr_assert_float_eq(ms_of(&rb, "helper\tlib/a/util.rb\t2", 0), 600.0, 1e-9);
    cr_assert_float_eq(ms_of(&rb, "helper\tlib/b/util.rb\t2", 0), 300.0, 1e-9);
    cr_assert_float_eq(ms_of(&rc, "helper\tlib/a/util.rb\t2", 7), 900.0, 1e-9);
    memset(&vs, 0, sizeof vs);
    cr_assert_eq(compare_runs(5.0, 0.01, &rb, &rc, &vs), 0);
    name_apart(&vs);
    va = helper_in(&vs, "lib/a/util.rb");
    vb = helper_in(&vs, "lib/b/util.rb");
    cr_assert(va && vb);
    cr_assert_float_eq(va->base, 600.0, 1e-9);
    cr_assert_float_eq(va->cur, 900.0, 1e-9);
    cr_assert_float_eq(vb->base, 300.0, 1e-9);
    cr_assert_float_eq(vb->cur, 300.0, 1e-9);
    cr_assert(va->failed);
    cr_assert_not(vb->failed);
    free(vs.v);

    /* and a stored baseline of those runs pairs the same way */
    char path[] = "/tmp/mrprof-test-check.XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(save_runs(&rb, path, "/srv/app/main.rb"), 0);
    struct run_set stored = {0};
    cr_assert_eq(load_runs(&stored, path), 0);
    unlink(path);
    memset(&vs, 0, sizeof vs);
    cr_assert_eq(compare_runs(5.0, 0.01, &stored, &rc, &vs), 0);
    name_apart(&vs);
    va = helper_in(&vs, "lib/a/util.rb");
    vb = helper_in(&vs, "lib/b/util.rb");
    cr_assert(va && vb && va->failed && !vb->failed);
    cr_assert_float_eq(va->base, 600.0, 1e-9);
    free(vs.v);

    run_set_free(&rb), run_set_free(&rc), run_set_free(&stored);
    profile_free(a), profile_free(b);
}
