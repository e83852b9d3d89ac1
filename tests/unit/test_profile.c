/*
 * test_profile.c — the profile model (profiler/profile.c) and its aggregations (aggregate.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "profiler/model/aggregate.h"
#include "profiler/model/profile.h"

static struct profile *p;
static void
setup(void)
{
    p = profile_new();
}
static void
teardown(void)
{
    profile_free(p);
}
TestSuite(profile, .init = setup, .fini = teardown);

Test(profile, strings_are_interned_once)
{
    uint32_t a = profile_intern(p, "Foo#bar"), b = profile_intern(p, "Foo#bar");
    cr_assert_eq(a, b);
    cr_assert_str_eq(profile_str(p, a), "Foo#bar");
    cr_assert_neq(profile_intern(p, "Foo#baz"), a);
    for (int i = 0; i < 5000; i++) { /* through several index growths */
        char buf[32];
        snprintf(buf, sizeof buf, "s%d", i);
        cr_assert_str_eq(profile_str(p, profile_intern(p, buf)), buf);
    }
    cr_assert_eq(profile_intern(p, "Foo#bar"), a);
}

Test(profile, same_stack_same_node)
{
    uint32_t f = profile_frame_intern(p, "a", "x.rb", 1, FRAME_RUBY);
    uint32_t g = profile_frame_intern(p, "b", "x.rb", 5, FRAME_RUBY);
    cr_assert_eq(profile_frame_intern(p, "a", "x.rb", 1, FRAME_RUBY), f);
    uint32_t n1 = profile_node(p, profile_node(p, 0, f), g);
    uint32_t n2 = profile_node(p, profile_node(p, 0, f), g);
    cr_assert_eq(n1, n2);
    cr_assert_neq(profile_node(p, 0, g), n1);
    cr_assert_lt(profile_nodes(p)[n1].parent, n1);
}

Test(profile, validate_catches_bad_ids_and_time)
{
    struct mp_err err;
    uint32_t t = profile_add_thread(p, 1, "main");
    uint32_t n = profile_node(p, 0, profile_frame_intern(p, "a", "", 0, FRAME_RUBY));
    profile_add_sample(p, t, n, 0, 100, 1);
    cr_assert_eq(profile_validate(p, &err), 0);
    profile_add_sample(p, t, n, 0, 50, 1);
    cr_assert_neq(profile_validate(p, &err), 0);
    cr_assert(strstr(err.msg, "back in time"));
    profile_sort_samples(p);
    cr_assert_eq(profile_validate(p, &err), 0);
    profile_add_sample(p, t, 999, 0, 200, 1);
    cr_assert_neq(profile_validate(p, &err), 0);
    cr_assert(strstr(err.msg, "node 999"));
}

/* main -> rec -> rec -> leaf: recursion must count a sample once in rec's total. */
Test(profile, totals_count_recursion_once)
{
    uint32_t t = profile_add_thread(p, 1, "main");
    uint32_t fm = profile_frame_intern(p, "main", "m.rb", 1, FRAME_RUBY);
    uint32_t fr = profile_frame_intern(p, "rec", "m.rb", 3, FRAME_RUBY);
    uint32_t fl = profile_frame_intern(p, "leaf", "m.rb", 9, FRAME_RUBY);
    uint32_t nm = profile_node(p, 0, fm), nr = profile_node(p, nm, fr),
             nr2 = profile_node(p, nr, fr);
    uint32_t nl = profile_node(p, nr2, fl);
    profile_add_sample(p, t, nl, 10, 0, 3);
    profile_add_sample(p, t, nr2, 4, 1, 1);
    profile_add_sample(p, t, nm, 2, 2, 1);
    struct agg_table a;
    cr_assert_eq(agg_compute(p, -1, AGG_FUNCTION, &a), 0);
    cr_assert_eq(a.total_w, 5);
    cr_assert_str_eq(profile_str(p, a.rows[0].name), "leaf");
    for (size_t i = 0; i < a.n; i++) {
        const char *name = profile_str(p, a.rows[i].name);
        if (strcmp(name, "rec") == 0) {
            cr_assert_eq(a.rows[i].total_w, 4);
            cr_assert_eq(a.rows[i].self_w, 1);
        }
        if (strcmp(name, "main") == 0)
            cr_assert_eq(a.rows[i].total_w, 5);
    }
    agg_free(&a);
    struct agg_tree tr;
    cr_assert_eq(agg_tree_build(p, -1, &tr), 0);
    cr_assert_eq(tr.total_w[nm], 5);
    cr_assert_eq(tr.total_w[nr], 4);
    cr_assert_eq(tr.self_w[nr2], 1);
    agg_tree_free(&tr);
    cr_assert_eq(agg_compute(p, -1, AGG_LINE, &a), 0);
    cr_assert_eq(a.rows[0].line, 10);
    agg_free(&a);
}

/* The wait states' names are pseudo frames; nothing else in parentheses is. */
Test(profile, pseudo_names_are_mrprofs_own)
{
    cr_assert(profile_pseudo_name("(idle)"));
    cr_assert(profile_pseudo_name("(garbage collector)"));
    cr_assert(profile_pseudo_name("(program)"));
    cr_assert(profile_pseudo_name("(root)"));
    cr_assert(profile_pseudo_name("(blocked: sleep)"));
    cr_assert(profile_pseudo_name("(blocked: Deferred#value)"));
    cr_assert_not(profile_pseudo_name("(blocked: )"));
    cr_assert_not(profile_pseudo_name("(blocked: sleep"));
    cr_assert_not(profile_pseudo_name("(anonymous)"));
    cr_assert_not(profile_pseudo_name("idle"));
    cr_assert_not(profile_pseudo_name(""));
}

/* hide_idle leaves the (idle) samples out (wherever the idle node hangs) and nothing else; the
 * shares are then of the rest, and agg_idle tells what was left out. */
Test(profile, hide_idle_leaves_out_idle_samples_only)
{
    uint32_t t = profile_add_thread(p, 1, "main"), t2 = profile_add_thread(p, 2, "w");
    uint32_t fm = profile_frame_intern(p, "main", "m.rb", 1, FRAME_RUBY);
    uint32_t fs = profile_frame_intern(p, "Kernel#sleep", "", 0, FRAME_CFUNC);
    uint32_t fb = profile_frame_intern(p, "(blocked: sleep)", "", 0, FRAME_PSEUDO);
    uint32_t nm = profile_node(p, 0, fm), ns = profile_node(p, nm, fs);
    uint32_t nb = profile_node(p, ns, fb);
    uint32_t ni = profile_node(p, 0, p->f_idle), ni2 = profile_node(p, nm, p->f_idle);
    uint32_t ng = profile_node(p, 0, p->f_gc);
    profile_add_sample(p, t, nb, 0, 0, 30);
    profile_add_sample(p, t, ni, 0, 1, 50);
    profile_add_sample(p, t, ni2, 0, 2, 10);
    profile_add_sample(p, t, ng, 0, 3, 10);
    profile_add_sample(p, t2, ni, 0, 4, 7);
    struct agg_filter f = {.thread = 0, .hide_idle = true};
    struct agg_table a;
    cr_assert_eq(agg_compute_f(p, &f, AGG_FUNCTION, &a), 0);
    cr_assert_eq(a.total_w, 40);
    cr_assert_eq(a.total_n, 2);
    for (size_t i = 0; i < a.n; i++)
        cr_assert(a.rows[i].name != profile_frames(p)[p->f_idle].name || a.rows[i].self_w == 0);
    cr_assert_str_eq(profile_str(p, a.rows[0].name), "(blocked: sleep)");
    cr_assert_eq(a.rows[0].self_w, 30);
    agg_free(&a);
    struct agg_tree tr;
    cr_assert_eq(agg_tree_build_f(p, &f, &tr), 0);
    cr_assert_eq(tr.all_w, 40);
    cr_assert_eq(tr.total_w[nm], 30);
    cr_assert_eq(tr.total_w[ni], 0);
    agg_tree_free(&tr);
    uint64_t w, n;
    agg_idle(p, &f, &w, &n);
    cr_assert_eq(w, 60);
    cr_assert_eq(n, 2);
    f.hide_idle = false;
    cr_assert_eq(agg_compute_f(p, &f, AGG_FUNCTION, &a), 0);
    cr_assert_eq(a.total_w, 100);
    agg_free(&a);
}

/* Allocation samples seen as a memory profile: live filter, and estimates scaled to the bytes
 * the hook counted. */
Test(profile, heap_view_scales_to_counted_bytes_and_filters_live)
{
    struct profile *h = profile_new();
    uint32_t t = profile_add_thread(h, 1, "main");
    uint32_t fk = profile_frame_intern(h, "keep", "k.rb", 1, FRAME_RUBY);
    uint32_t fd = profile_frame_intern(h, "drop", "k.rb", 2, FRAME_RUBY);
    uint32_t nk = profile_node(h, 0, fk), nd = profile_node(h, 0, fd);
    /* Estimates of 1000 bytes each, 3 kept and 1 dropped; the hook counted 8000 bytes. */
    for (int i = 0; i < 4; i++) {
        size_t id = profile_add_alloc(h, t, i < 3 ? nk : nd, 10 + (uint64_t)i, 100, 1000.0, 1.0);
        if (i == 3)
            ((struct prof_alloc *)h->allocs.data)[id].freed_ns = 20;
    }
    h->meta.heap.alloc_bytes = 8000;
    struct mp_err err;
    cr_assert_eq(profile_validate(h, &err), 0, "%s", err.msg);
    size_t nstrings = h->strings.offs.len;
    cr_assert_eq(profile_find_str(h, "keep"), profile_frames(h)[fk].name);
    cr_assert_eq(profile_find_str(h, "not there"), UINT32_MAX);
    cr_assert_eq(h->strings.offs.len, nstrings, "a lookup adds nothing");

    struct profile *all = profile_heap_view(h, false, NULL),
                   *live = profile_heap_view(h, true, NULL);
    cr_assert_eq(all->meta.mode, PROFILE_HEAP);
    cr_assert_eq(profile_nsamples(all), 4);
    cr_assert_eq(profile_total_weight(all, -1), 8000, "scaled to the counted bytes");
    cr_assert_eq(all->meta.heap.estimated_bytes, 4000.0);
    cr_assert_eq(profile_nsamples(live), 3);
    cr_assert_eq(profile_total_weight(live, -1), 6000);
    /* The same stacks: the frame names survive. */
    const struct prof_sample *s = profile_samples(live);
    const struct prof_node *n = profile_nodes(live);
    cr_assert_str_eq(profile_str(live, profile_frames(live)[n[s[0].node].frame].name), "keep");

    /* Explicit totals (a snapshot while threads still run) win over the profile's own. */
    struct profile_heap_meta totals = {.alloc_bytes = 4000};
    struct profile *same = profile_heap_view(h, false, &totals);
    cr_assert_eq(profile_total_weight(same, -1), 4000);

    /* A bad node is caught. */
    profile_add_alloc(h, t, 99, 30, 1, 1, 1);
    cr_assert_neq(profile_validate(h, &err), 0);
    cr_assert(strstr(err.msg, "allocation sample 4"), "%s", err.msg);
    profile_free(h), profile_free(all), profile_free(live), profile_free(same);
}
