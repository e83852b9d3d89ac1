/*
 * test_compare.c — viewer/compare.c and viewer/match.c: two profiles joined function by
 * function (name, file relative to the script root, line), and functions named by budgets.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "profiler/model/compare.h"

/* A profile with functions under main, each with the given sample count (1 ms each). */
static struct profile *
make(const char *const *names, const int *counts, int n)
{
    struct profile *p = profile_new();
    uint32_t th = profile_add_thread(p, 1, "main");
    uint32_t mainf = profile_frame_intern(p, "main", "app.rb", 1, FRAME_RUBY);
    uint32_t mainn = profile_node(p, 0, mainf);
    uint64_t t = 0;
    for (int i = 0; i < n; i++) {
        uint32_t f = profile_frame_intern(p, names[i], "app.rb", 10 + i, FRAME_RUBY);
        uint32_t node = profile_node(p, mainn, f);
        for (int k = 0; k < counts[i]; k++)
            profile_add_sample(p, th, node, 0, t += 1000000, 1000000);
    }
    return p;
}

static const struct cmp_row *
find(const struct cmp_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].name, name) == 0)
            return &t->rows[i];
    return NULL;
}

Test(compare, joins_by_name_and_marks_new_and_gone)
{
    const char *an[] = {"A", "B", "C"}, *bn[] = {"B", "A", "D"};
    int ac[] = {50, 30, 20}, bc[] = {30, 60, 20};
    struct profile *a = make(an, ac, 3), *b = make(bn, bc, 3);
    struct cmp_table t;
    cr_assert_eq(cmp_compute(a, b, AGG_FUNCTION, &t), 0);
    cr_assert_float_eq(t.base_ms, 100.0, 1e-9);
    cr_assert_float_eq(t.cur_ms, 110.0, 1e-9);
    const struct cmp_row *ra = find(&t, "A"), *rc = find(&t, "C"), *rd = find(&t, "D");
    cr_assert(ra && rc && rd);
    cr_assert_eq(ra->status, CMP_BOTH);
    cr_assert_float_eq(ra->base.self_pct, 50.0, 1e-9);
    cr_assert_float_eq(ra->cur.self_pct, 60.0 / 110.0 * 100.0, 1e-9);
    cr_assert_float_eq(ra->cur.self_ms, 60.0, 1e-9);
    cr_assert_eq(rc->status, CMP_GONE);
    cr_assert_eq(rd->status, CMP_NEW);
    /* sorted by the size of the change: C and D (20 points) before A (4.5) */
    cr_assert(strcmp(t.rows[0].name, "A") != 0);
    cr_assert_gt(ra->z, 0.0);
    cmp_free(&t);
    profile_free(a), profile_free(b);
}

Test(compare, identical_profiles_have_no_change)
{
    const char *n[] = {"A", "B"};
    int c[] = {70, 30};
    struct profile *a = make(n, c, 2), *b = make(n, c, 2);
    struct cmp_table t;
    cr_assert_eq(cmp_compute(a, b, AGG_FUNCTION, &t), 0);
    for (size_t i = 0; i < t.n; i++) {
        cr_assert_eq(t.rows[i].status, CMP_BOTH);
        cr_assert_float_eq(t.rows[i].delta_pts, 0.0, 1e-9);
    }
    cmp_free(&t);
    profile_free(a), profile_free(b);
}

/* --- the matching rule (viewer/match.c) ------------------------------------------------------- */

#include "profiler/model/match.h"

/* A profile of script `script` (its <main>) calling functions (name, line) with counts, all in
 * file `file` (NULL: the script). */
struct fn {
    const char *name;
    int line, count;
};

static struct profile *
make_in(const char *script, const char *file, const struct fn *fns, int n)
{
    struct profile *p = profile_new();
    uint32_t th = profile_add_thread(p, 1, "main");
    uint32_t mainn = profile_node(p, 0, profile_frame_intern(p, "<main>", script, 1, FRAME_RUBY));
    uint64_t t = 0;
    for (int i = 0; i < n; i++) {
        uint32_t f =
            profile_frame_intern(p, fns[i].name, file ? file : script, fns[i].line, FRAME_BLOCK);
        uint32_t node = profile_node(p, mainn, f);
        for (int k = 0; k < fns[i].count; k++)
            profile_add_sample(p, th, node, 0, t += 1000000, 1000000);
    }
    return p;
}

static const struct cmp_row *
find_at(const struct cmp_table *t, const char *name, int line)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].name, name) == 0 && t->rows[i].line == line)
            return &t->rows[i];
    return NULL;
}

Test(compare, blocks_that_differ_by_line_stay_apart_in_one_profile)
{
    const struct fn fns[] = {{"block in <main>", 67, 30}, {"block in <main>", 80, 10}};
    struct profile *a = make_in("/srv/a/app.rb", NULL, fns, 2);
    struct agg_table t;
    cr_assert_eq(agg_compute(a, -1, AGG_FUNCTION, &t), 0);
    int seen = 0;
    for (size_t i = 0; i < t.n; i++)
        if (strcmp(profile_str(a, t.rows[i].name), "block in <main>") == 0) {
            cr_assert(t.rows[i].line == 67 ? t.rows[i].self_n == 30
                                           : t.rows[i].line == 80 && t.rows[i].self_n == 10);
            seen++;
        }
    cr_assert_eq(seen, 2);
    agg_free(&t);
    profile_free(a);
}

Test(compare, two_directories_meet_and_moved_functions_pair_in_line_order)
{
    /* The base from one checkout, the new one from another with every line 3 further down and
     * the script given as a relative path: the same functions, none new or gone. */
    const struct fn base[] = {
        {"block in <main>", 67, 30}, {"block in <main>", 80, 10}, {"Store#get", 12, 20}};
    const struct fn cur[] = {
        {"block in <main>", 70, 10}, {"block in <main>", 83, 30}, {"Store#get", 15, 20}};
    struct profile *a = make_in("/ci/main/srv/app.rb", NULL, base, 3),
                   *b = make_in("srv/app.rb", NULL, cur, 3);
    struct cmp_table t;
    cr_assert_eq(cmp_compute(a, b, AGG_FUNCTION, &t), 0);
    for (size_t i = 0; i < t.n; i++)
        cr_assert_eq(t.rows[i].status, CMP_BOTH, "%s:%d is %d", t.rows[i].name, t.rows[i].line,
                     t.rows[i].status);
    const struct cmp_row *r70 = find_at(&t, "block in <main>", 70),
                         *r83 = find_at(&t, "block in <main>", 83);
    const struct cmp_row *get = find_at(&t, "Store#get", 15);
    cr_assert(r70 && r83 && get);
    cr_assert_eq(r70->base_line, 67); /* in line order: 67 -> 70, 80 -> 83 */
    cr_assert_eq(r83->base_line, 80);
    cr_assert_eq(get->base_line, 12);
    cr_assert_float_eq(r70->base.self_ms, 30.0, 1e-9);
    cr_assert_float_eq(r70->cur.self_ms, 10.0, 1e-9);
    cmp_free(&t);
    profile_free(a), profile_free(b);
}

Test(compare, the_same_line_pairs_first_and_the_rest_is_new_or_gone)
{
    /* base: blocks at 10, 20, 30; new: 20 kept, 10 and 30 gone, 25 and 40 added. 20 pairs with
     * 20, then the rest in line order: 10 with 25, 30 with 40. Other files never pair. */
    struct match_key ka[] = {
        {"b", "app.rb", 10}, {"b", "app.rb", 20}, {"b", "app.rb", 30}, {"b", "lib.rb", 7}};
    struct match_key kb[] = {
        {"b", "app.rb", 20}, {"b", "app.rb", 25}, {"b", "app.rb", 40}, {"b", "x.rb", 7}};
    long m[4];
    cr_assert_eq(match_pair(ka, 4, kb, 4, m), 0);
    cr_assert_eq(m[0], 1);
    cr_assert_eq(m[1], 0);
    cr_assert_eq(m[2], 2);
    cr_assert_eq(m[3], -1);
}

Test(compare, files_relative_to_the_script_root)
{
    struct {
        const char *root, *file, *want;
    } cases[] = {
        {"/ci/a/srv", "/ci/a/srv/app.rb", "app.rb"},
        {"/ci/a/srv", "/ci/a/lib/x.rb", "../lib/x.rb"},
        {"/ci/a/srv", "file:///ci/a/srv/./sub/../app.rb", "app.rb"},
        {"srv", "srv/app.rb", "app.rb"},
        {"../main/srv", "../main/srv/app.rb", "app.rb"},
        {"", "app.rb", "app.rb"},
        {"srv", "/abs/lib/x.rb", "x.rb"},    /* absolute against a relative root */
        {"../main/srv", "lib/x.rb", "x.rb"}, /* over "..": no lexical answer */
        {"/ci/a", "node:internal/main", "node:internal/main"},
        {"/ci/a", "https://h/app.js", "https://h/app.js"},
        {"/ci/a", "", ""},
        {"/", "/x/y.rb", "x/y.rb"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *r = match_relative(cases[i].root, cases[i].file);
        cr_assert_str_eq(r, cases[i].want, "root %s file %s", cases[i].root, cases[i].file);
        free(r);
    }
    char *whole = match_relative(NULL, "/ci/a/app.rb");
    cr_assert_str_eq(whole, "/ci/a/app.rb");
    free(whole);
}

Test(compare, the_root_is_the_entry_script_or_the_common_directory)
{
    const struct fn fns[] = {{"Store#get", 12, 5}};
    struct profile *a = make_in("/ci/a/srv/app.rb", "/ci/a/lib/store.rb", fns, 1);
    struct match_paths m;
    cr_assert_eq(match_paths_init(&m, a), 0);
    cr_assert_str_eq(m.root, "/ci/a/srv");
    cr_assert_str_eq(match_file(&m, profile_intern(a, "/ci/a/lib/store.rb")), "../lib/store.rb");
    match_paths_free(&m);
    profile_free(a);
    /* No <main> (Node, Chrome): the common directory of the absolute paths. */
    struct profile *n = profile_new();
    uint32_t th = profile_add_thread(n, 1, "main");
    uint32_t x = profile_node(
        n, 0, profile_frame_intern(n, "(anonymous)", "file:///w/app/index.js", 1, FRAME_RUBY));
    uint32_t y = profile_node(
        n, x, profile_frame_intern(n, "route", "file:///w/app/lib/r.js", 3, FRAME_RUBY));
    profile_node(n, x, profile_frame_intern(n, "readFile", "node:fs", 9, FRAME_RUBY));
    profile_add_sample(n, th, y, 0, 1000, 1000);
    cr_assert_eq(match_paths_init(&m, n), 0);
    cr_assert_str_eq(m.root, "/w/app");
    cr_assert_str_eq(match_file(&m, profile_intern(n, "file:///w/app/lib/r.js")), "lib/r.js");
    cr_assert_str_eq(match_file(&m, profile_intern(n, "node:fs")), "node:fs");
    match_paths_free(&m);
    profile_free(n);
}

Test(compare, a_budget_names_functions_by_name_file_and_line)
{
    const struct fn fns[] = {{"block in <main>", 67, 30}, {"block in <main>", 80, 10}};
    struct profile *a = make_in("/srv/a/app.rb", NULL, fns, 2);
    struct match_paths m;
    cr_assert_eq(match_paths_init(&m, a), 0);
    bool hit[16];
    struct match_spec s;
    cr_assert(match_spec_parse("block in <main>@app.rb:67", &s));
    cr_assert_eq(match_spec_frames(&s, &m, hit), 1);
    cr_assert_float_eq(match_inclusive_pct(a, hit), 75.0, 1e-9);
    cr_assert(match_spec_parse("block in <main>", &s));
    cr_assert_eq(match_spec_frames(&s, &m, hit), 2);
    cr_assert_float_eq(match_inclusive_pct(a, hit), 100.0, 1e-9);
    cr_assert(match_spec_parse("block in <main>@a/app.rb", &s)); /* trailing components */
    cr_assert_eq(match_spec_frames(&s, &m, hit), 2);
    cr_assert(match_spec_parse("block in <main>@pp.rb", &s)); /* not a partial component */
    cr_assert_eq(match_spec_frames(&s, &m, hit), 0);
    cr_assert(match_spec_parse("Store#escape_htm", &s)); /* no such function: 0, told apart */
    cr_assert_eq(match_spec_frames(&s, &m, hit), 0);
    cr_assert_not(match_spec_parse("@app.rb", &s));
    match_paths_free(&m);
    profile_free(a);
}
