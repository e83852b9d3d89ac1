/*
 * test_compare.c — viewer/compare.c: two profiles joined by function name and file.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "viewer/compare.h"

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
