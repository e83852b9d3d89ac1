/*
 * test_difftree.c — viewer/difftree.c: two call trees merged, the change per path and per
 * function, and the profile of the change.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "profiler/model/difftree.h"
#include "viewer/text/difftext.h"

/* Adds n samples of 1 ms at the stack main > ... (names, outermost first). */
static void
stack(struct profile *p, const char *const *names, int depth, int line_shift, int n)
{
    uint32_t th = profile_nthreads(p) ? 0 : profile_add_thread(p, 1, "main");
    uint32_t node = 0;
    for (int i = 0; i < depth; i++)
        node = profile_node(
            p, node, profile_frame_intern(p, names[i], "app.rb", 10 * i + line_shift, FRAME_RUBY));
    uint64_t t = profile_nsamples(p) ? profile_samples(p)[profile_nsamples(p) - 1].t_ns : 0;
    for (int k = 0; k < n; k++)
        profile_add_sample(p, th, node, 0, t += 1000000, 1000000);
}

/* The merged node at the path, or UINT32_MAX. */
static uint32_t
find(const struct diff_tree *d, const char *const *names, int depth)
{
    const struct profile *u = d->u;
    uint32_t node = 0;
    for (int i = 0; i < depth; i++) {
        uint32_t next = UINT32_MAX;
        for (uint32_t k = 1; k < profile_nnodes(u); k++) {
            const struct prof_node *n = &profile_nodes(u)[k];
            if (n->parent == node &&
                strcmp(profile_str(u, profile_frames(u)[n->frame].name), names[i]) == 0)
                next = k;
        }
        if (next == UINT32_MAX)
            return next;
        node = next;
    }
    return node;
}

static const char *main_parse[] = {"main", "parse"}, *main_render[] = {"main", "render"},
                  *main_store[] = {"main", "store"};

Test(difftree, merges_paths_by_name_and_file_and_scales_the_base)
{
    struct profile *a = profile_new(), *b = profile_new();
    stack(a, main_parse, 2, 0, 50);
    stack(a, main_render, 2, 0, 30);
    stack(a, main_store, 2, 0, 20);
    /* the new version: parse 25 % slower, store gone, a new function; lines moved */
    stack(b, main_parse, 2, 3, 125);
    stack(b, main_render, 2, 3, 75);
    const char *main_cache[] = {"main", "cache"};
    stack(b, main_cache, 2, 3, 50);
    struct diff_tree d;
    cr_assert_eq(diff_build(a, b, true, &d), 0);
    cr_assert_float_eq(d.scale, 2.5, 1e-9);
    cr_assert_float_eq(d.base_all, 250e6, 1);
    uint32_t parse = find(&d, main_parse, 2), store = find(&d, main_store, 2),
             cache = find(&d, main_cache, 2);
    cr_assert(parse != UINT32_MAX && store != UINT32_MAX && cache != UINT32_MAX);
    /* one merged node per path although the lines moved */
    cr_assert_eq(profile_nnodes(d.u), 1 + 1 + 4);
    cr_assert_float_eq(diff_delta_pts(&d, parse), 0.0, 1e-9);   /* 50 % -> 50 % */
    cr_assert_float_eq(diff_delta_pts(&d, store), -20.0, 1e-9); /* gone */
    cr_assert_float_eq(diff_delta_pts(&d, cache), 20.0, 1e-9);  /* new */
    cr_assert_float_eq(diff_delta_pts(&d, find(&d, main_parse, 1)), 0.0, 1e-9);
    /* NEW's samples are the merged profile's */
    cr_assert_eq(profile_nsamples(d.u), 250);
    cr_assert_eq(profile_total_weight(d.u, -1), 250000000u);
    diff_free(&d);

    /* absolute: the base as measured, so parse's 50 -> 125 ms is +30 points of the new 250 */
    cr_assert_eq(diff_build(a, b, false, &d), 0);
    cr_assert_float_eq(d.scale, 1.0, 1e-12);
    cr_assert_float_eq(diff_delta_pts(&d, find(&d, main_parse, 2)), 30.0, 1e-9);
    diff_free(&d);
    profile_free(a), profile_free(b);
}

/* main > walk > walk > walk, n samples of 1 ms: one recursive function (one first line). */
static void
recursion(struct profile *p, int n)
{
    uint32_t th = profile_nthreads(p) ? 0 : profile_add_thread(p, 1, "main");
    uint32_t node = profile_node(p, 0, profile_frame_intern(p, "main", "app.rb", 0, FRAME_RUBY));
    for (int i = 0; i < 3; i++)
        node = profile_node(p, node, profile_frame_intern(p, "walk", "app.rb", 10, FRAME_RUBY));
    uint64_t t = profile_nsamples(p) ? profile_samples(p)[profile_nsamples(p) - 1].t_ns : 0;
    for (int k = 0; k < n; k++)
        profile_add_sample(p, th, node, 0, t += 1000000, 1000000);
}

Test(difftree, function_totals_count_recursion_once)
{
    struct profile *a = profile_new(), *b = profile_new();
    recursion(a, 40);
    stack(a, main_store, 2, 0, 60);
    stack(b, main_store, 2, 0, 10);
    struct diff_tree d;
    cr_assert_eq(diff_build(a, b, true, &d), 0);
    uint32_t walk = profile_intern(d.u, "walk"), file = profile_intern(d.u, "app.rb");
    cr_assert_float_eq(diff_base_function_pct(&d, walk, file, 10), 40.0, 1e-9);
    cr_assert_float_eq(diff_base_function_pct(&d, profile_intern(d.u, "main"), file, 0), 100.0,
                       1e-9);
    cr_assert(isnan(diff_base_function_pct(&d, walk, file, 20)));
    cr_assert(isnan(diff_base_function_pct(&d, profile_intern(d.u, "nowhere"), file, 0)));
    diff_free(&d);
    profile_free(a), profile_free(b);
}

/* Base: main > parse and main > render, 50 ms each; new: parse and render with these counts. */
static void
parse_render(int parse_ms, int render_ms, struct profile **a, struct profile **b,
             struct diff_tree *d)
{
    *a = profile_new(), *b = profile_new();
    stack(*a, main_parse, 2, 0, 50);
    stack(*a, main_render, 2, 0, 50);
    stack(*b, main_parse, 2, 0, parse_ms);
    stack(*b, main_render, 2, 0, render_ms);
    cr_assert_eq(diff_build(*a, *b, true, d), 0);
}

Test(difftree, the_change_profile_holds_what_grew_and_what_shrank)
{
    struct profile *a, *b;
    struct diff_tree d;
    parse_render(70, 30, &a, &b, &d);
    struct profile *g = diff_change_profile(&d);
    cr_assert_not_null(g);
    struct mp_err err;
    cr_assert_eq(profile_validate(g, &err), 0, "%s", err.msg);
    cr_assert_eq(profile_nthreads(g), 2);
    cr_assert_eq(profile_total_weight(g, 0), 20000000u); /* parse grew by 20 ms */
    cr_assert_eq(profile_total_weight(g, 1), 20000000u); /* render shrank by 20 ms */
    const struct prof_sample *s = profile_samples(g);
    for (size_t i = 0; i < profile_nsamples(g); i++) {
        const char *name =
            profile_str(g, profile_frames(g)[profile_nodes(g)[s[i].node].frame].name);
        cr_assert_str_eq(name, s[i].thread == 0 ? "parse" : "render");
    }
    profile_free(g);
    diff_free(&d);
    profile_free(a), profile_free(b);
}

Test(difftree, a_heap_profile_does_not_compare_with_a_cpu_profile)
{
    struct profile *a = profile_new(), *b = profile_new();
    stack(a, main_parse, 2, 0, 5);
    stack(b, main_parse, 2, 0, 5);
    b->meta.mode = PROFILE_HEAP;
    struct diff_tree d;
    cr_assert_eq(diff_build(a, b, true, &d), -EINVAL);
    cr_assert_null(d.u);
    profile_free(a), profile_free(b);
}

Test(difftree, the_printed_tree_shows_paths_that_moved)
{
    struct profile *a, *b;
    struct diff_tree d;
    parse_render(60, 40, &a, &b, &d);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    diff_print_tree(&d, 5.0, f);
    fclose(f);
    cr_assert(strstr(buf, "   50.0   60.0   +10.0    parse  app.rb:10"), "%s", buf);
    cr_assert(strstr(buf, "   50.0   40.0   -10.0    render  app.rb:10"), "%s", buf);
    cr_assert(strstr(buf, "main"), "%s", buf); /* the path to them, although main did not move */
    free(buf);
    f = open_memstream(&buf, &len);
    diff_print_tree(&d, 20.0, f);
    fclose(f);
    cr_assert(strstr(buf, "no path moved by 20.0 points or more"), "%s", buf);
    free(buf);
    diff_free(&d);
    profile_free(a), profile_free(b);
}

/* n samples of 1 ms at <main> > block in <main> (at line) of script. */
static void
block_at(struct profile *p, const char *script, int line, int n)
{
    uint32_t th = profile_nthreads(p) ? 0 : profile_add_thread(p, 1, "main");
    uint32_t m = profile_node(p, 0, profile_frame_intern(p, "<main>", script, 1, FRAME_RUBY));
    uint32_t node =
        profile_node(p, m, profile_frame_intern(p, "block in <main>", script, line, FRAME_BLOCK));
    uint64_t t = profile_nsamples(p) ? profile_samples(p)[profile_nsamples(p) - 1].t_ns : 0;
    for (int k = 0; k < n; k++)
        profile_add_sample(p, th, node, 0, t += 1000000, 1000000);
}

Test(difftree, blocks_stay_apart_and_pair_across_directories_and_moved_lines)
{
    /* Base from /ci/main, new from srv/ (relative) with every line 2 further down: the :data
     * handler (67 -> 69) doubled, the listen callback (80 -> 82) unchanged in ms. */
    struct profile *a = profile_new(), *b = profile_new();
    block_at(a, "/ci/main/srv/app.rb", 67, 30);
    block_at(a, "/ci/main/srv/app.rb", 80, 10);
    block_at(b, "srv/app.rb", 69, 60);
    block_at(b, "srv/app.rb", 82, 10);
    struct diff_tree d;
    cr_assert_eq(diff_build(a, b, false, &d), 0);
    /* root, <main>, two blocks: nothing new or gone, the blocks not merged */
    cr_assert_eq(profile_nnodes(d.u), 4);
    const struct prof_frame *f = profile_frames(d.u);
    for (uint32_t n = 2; n < 4; n++) {
        const struct prof_frame *x = &f[profile_nodes(d.u)[n].frame];
        cr_assert_str_eq(profile_str(d.u, x->file), "srv/app.rb"); /* named as in NEW */
        cr_assert(x->line == 69 || x->line == 82);
        cr_assert_float_eq(d.base_self[n], x->line == 69 ? 30e6 : 10e6, 1);
        cr_assert_float_eq(d.cur_self[n], x->line == 69 ? 60e6 : 10e6, 1);
        double was = diff_base_function_pct(&d, x->name, x->file, x->line);
        cr_assert_float_eq(was, x->line == 69 ? 75.0 : 25.0, 1e-9);
    }
    diff_free(&d);
    profile_free(a), profile_free(b);
}
