/*
 * test_tv.c — viewer/tui/: the terminal viewer's model and its views (tv.c, tv_draw.c, view_*.c),
 * drawn into a grid.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "viewer/tui/tv.h"

/*
 * main -> parse -> lex (60 samples), main -> parse (10 self), main -> render (30), in thread
 * 0 during the first 100 ms; then thread 1 ("worker") runs `job` for 50 samples.
 */
static struct profile *
make(void)
{
    struct profile *p = profile_new();
    uint32_t t0 = profile_add_thread(p, 1, "main"), t1 = profile_add_thread(p, 2, "worker");
    uint32_t fm = profile_frame_intern(p, "main", "app.rb", 1, FRAME_RUBY);
    uint32_t fp = profile_frame_intern(p, "Parser#parse", "parser.rb", 10, FRAME_RUBY);
    uint32_t fl = profile_frame_intern(p, "Lexer#lex", "lexer.rb", 5, FRAME_RUBY);
    uint32_t fr = profile_frame_intern(p, "render", "view.rb", 3, FRAME_RUBY);
    uint32_t fj = profile_frame_intern(p, "job", "job.rb", 1, FRAME_RUBY);
    uint32_t nm = profile_node(p, 0, fm), np = profile_node(p, nm, fp);
    uint32_t nl = profile_node(p, np, fl), nr = profile_node(p, nm, fr);
    uint32_t nj = profile_node(p, 0, fj);
    uint64_t t = 1000000000;
    for (int i = 0; i < 100; i++)
        profile_add_sample(p, t0, i < 60 ? nl : i < 70 ? np : nr, 0, t += 1000000, 1000000);
    for (int i = 0; i < 50; i++)
        profile_add_sample(p, t1, nj, 0, t += 1000000, 1000000);
    p->meta.hz = 1000;
    p->meta.start_ns = 1000000000;
    p->meta.end_ns = t;
    return p;
}

/* Row y of the grid as text (trailing blanks trimmed). */
static char *
row(const struct tv_grid *g, int y)
{
    static char buf[1024];
    int n = 0;
    for (int x = 0; x < g->w && n < 1000; x++)
        buf[n++] = g->cells[y * g->w + x].ch < 128 ? (char)g->cells[y * g->w + x].ch : '*';
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return buf;
}

static int
find_row(const struct tv_grid *g, const char *needle)
{
    for (int y = 0; y < g->h; y++)
        if (strstr(row(g, y), needle))
            return y;
    return -1;
}

struct fixture {
    struct profile *p;
    struct tv v;
    struct tv_grid g;
};

static void
open_view(struct fixture *f, int w, int h)
{
    f->p = make();
    tv_init(&f->v, f->p, "test", false);
    memset(&f->g, 0, sizeof f->g);
    cr_assert_eq(tv_grid_resize(&f->g, w, h), 0);
    tv_draw(&f->v, &f->g);
}

static void
close_view(struct fixture *f)
{
    tv_free(&f->v);
    tv_grid_free(&f->g);
    profile_free(f->p);
}

Test(tv, top_view_lists_the_hottest_self_function_first_at_80x24)
{
    struct fixture f;
    open_view(&f, 80, 24);
    cr_assert(strstr(row(&f.g, 0), "150 samples"), "header: %s", row(&f.g, 0));
    cr_assert(strstr(row(&f.g, 1), "1 Top"));
    cr_assert(strstr(row(&f.g, 3), "Lexer#lex"), "first row: %s", row(&f.g, 3));
    cr_assert(strstr(row(&f.g, 3), "40.0%"), "lex is 60 of 150: %s", row(&f.g, 3));
    cr_assert(strstr(row(&f.g, 4), "job"), "second row: %s", row(&f.g, 4));
    cr_assert(strstr(row(&f.g, 23), "q quit"), "footer: %s", row(&f.g, 23));
    /* t re-sorts by total: main (100) first. */
    tv_key(&f.v, 't', 20);
    tv_draw(&f.v, &f.g);
    cr_assert(strstr(row(&f.g, 3), "main"), "by total: %s", row(&f.g, 3));
    close_view(&f);
}

Test(tv, enter_shows_the_function_in_the_tree_under_its_caller)
{
    struct fixture f;
    open_view(&f, 100, 30);
    tv_key(&f.v, TV_KEY_ENTER, 26); /* on Lexer#lex */
    cr_assert_eq(f.v.view, TV_TREE);
    tv_draw(&f.v, &f.g);
    int y = find_row(&f.g, "Lexer#lex");
    cr_assert_gt(y, 0);
    cr_assert(strstr(row(&f.g, y - 1), "Parser#parse"), "caller row: %s", row(&f.g, y - 1));
    cr_assert(strstr(row(&f.g, y), "40.0%"));
    /* Left on lex goes to its parent; Left again closes parse: lex is gone. */
    tv_key(&f.v, TV_KEY_LEFT, 26);
    tv_key(&f.v, TV_KEY_LEFT, 26);
    tv_draw(&f.v, &f.g);
    cr_assert_eq(find_row(&f.g, "Lexer#lex"), -1);
    tv_key(&f.v, TV_KEY_RIGHT, 26);
    tv_draw(&f.v, &f.g);
    cr_assert_gt(find_row(&f.g, "Lexer#lex"), 0);
    /* f focuses on parse's subtree; b goes back. */
    tv_key(&f.v, 'f', 26);
    tv_draw(&f.v, &f.g);
    cr_assert_eq(find_row(&f.g, "render"), -1);
    cr_assert_gt(find_row(&f.g, "focused on Parser#parse"), 0);
    tv_key(&f.v, 'b', 26);
    tv_draw(&f.v, &f.g);
    cr_assert_gt(find_row(&f.g, "render"), 0);
    close_view(&f);
}

Test(tv, flame_boxes_are_as_wide_as_their_time_and_zoom)
{
    struct fixture f;
    open_view(&f, 100, 24);
    tv_key(&f.v, '3', 20);
    tv_draw(&f.v, &f.g);
    /* Root spans 100 columns; main is 100/150 of it, job 50/150. */
    int main_w = -1, job_w = -1, parse_w = -1;
    const struct prof_node *nodes = profile_nodes(f.p);
    for (size_t i = 0; i < f.v.nboxes; i++) {
        const char *name =
            profile_str(f.p, profile_frames(f.p)[nodes[f.v.boxes[i].node].frame].name);
        int w = f.v.boxes[i].x1 - f.v.boxes[i].x0;
        if (!strcmp(name, "main"))
            main_w = w;
        else if (!strcmp(name, "job"))
            job_w = w;
        else if (!strcmp(name, "Parser#parse"))
            parse_w = w;
    }
    cr_assert_eq(main_w, 67);
    cr_assert_eq(job_w, 33);
    cr_assert_eq(parse_w, 47); /* 70 of 150 */
    /* Down selects main (the widest child), Enter zooms: main is the whole width. */
    tv_key(&f.v, TV_KEY_DOWN, 20);
    tv_key(&f.v, TV_KEY_ENTER, 20);
    tv_draw(&f.v, &f.g);
    cr_assert_eq(f.v.boxes[0].x1 - f.v.boxes[0].x0, 100);
    cr_assert(strstr(row(&f.g, 2), "main"), "zoomed row: %s", row(&f.g, 2));
    tv_key(&f.v, 'b', 20);
    tv_draw(&f.v, &f.g);
    cr_assert(strstr(row(&f.g, 2), "all"));
    close_view(&f);
}

Test(tv, search_filters_top_and_highlights_the_tree)
{
    struct fixture f;
    open_view(&f, 80, 24);
    tv_key(&f.v, '/', 20);
    for (const char *s = "LEX"; *s; s++) /* case-insensitive */
        tv_key(&f.v, *s, 20);
    tv_key(&f.v, TV_KEY_ENTER, 20);
    tv_draw(&f.v, &f.g);
    cr_assert_eq(f.v.ntop_rows, 1);
    cr_assert(strstr(row(&f.g, 3), "Lexer#lex"));
    cr_assert_eq(find_row(&f.g, "render"), -1);
    /* A file name matches too. */
    tv_key(&f.v, '/', 20);
    tv_key(&f.v, TV_KEY_BACKSPACE, 20);
    tv_key(&f.v, TV_KEY_BACKSPACE, 20);
    tv_key(&f.v, TV_KEY_BACKSPACE, 20);
    for (const char *s = "view.rb"; *s; s++)
        tv_key(&f.v, *s, 20);
    tv_key(&f.v, TV_KEY_ENTER, 20);
    tv_draw(&f.v, &f.g);
    cr_assert_eq(f.v.ntop_rows, 1);
    cr_assert(strstr(row(&f.g, 3), "render"));
    /* In the tree, matching rows carry the match colour and the path to them is open. */
    tv_key(&f.v, '2', 20);
    tv_draw(&f.v, &f.g);
    int y = find_row(&f.g, "render");
    cr_assert_gt(y, 0);
    int x = (int)(strstr(row(&f.g, y), "render") - row(&f.g, y));
    cr_assert_eq(f.g.cells[y * f.g.w + x].attr >> 8, TV_C_MATCH);
    tv_key(&f.v, TV_KEY_ESC, 20);
    tv_draw(&f.v, &f.g);
    cr_assert_eq(f.v.search[0], '\0');
    close_view(&f);
}

Test(tv, a_timeline_range_and_a_thread_narrow_every_view)
{
    struct fixture f;
    open_view(&f, 102, 24); /* 100 timeline columns */
    tv_key(&f.v, '4', 20);
    tv_draw(&f.v, &f.g);
    cr_assert_gt(find_row(&f.g, "worker (tid 2): 50 samples"), 0);
    /* Mark the first two thirds: thread main's 100 samples. */
    tv_key(&f.v, TV_KEY_HOME, 20);
    tv_key(&f.v, ' ', 20);
    for (int i = 0; i < 66; i++) /* columns 0..66 of 100 over 149 ms: the first 99.8 ms */
        tv_key(&f.v, TV_KEY_RIGHT, 20);
    tv_key(&f.v, ' ', 20);
    tv_key(&f.v, '1', 20);
    tv_draw(&f.v, &f.g);
    cr_assert(strstr(row(&f.g, 0), "100 samples"), "header: %s", row(&f.g, 0));
    cr_assert_eq(find_row(&f.g, " job"), -1);
    /* Clear the range, pick the worker thread. */
    tv_key(&f.v, '4', 20);
    tv_key(&f.v, 'c', 20);
    tv_key(&f.v, '5', 20);
    tv_key(&f.v, TV_KEY_DOWN, 20);
    tv_key(&f.v, TV_KEY_DOWN, 20);
    tv_key(&f.v, TV_KEY_ENTER, 20);
    tv_key(&f.v, '1', 20);
    tv_draw(&f.v, &f.g);
    cr_assert(strstr(row(&f.g, 0), "50 samples") && strstr(row(&f.g, 0), "thread worker"),
              "header: %s", row(&f.g, 0));
    cr_assert(strstr(row(&f.g, 3), "job"));
    close_view(&f);
}

Test(tv, long_names_are_clipped_keeping_the_method)
{
    struct profile *p = profile_new();
    uint32_t th = profile_add_thread(p, 1, "main");
    uint32_t f =
        profile_frame_intern(p, "Very::Long::Namespace::Of::Classes::Widget#render_everything",
                             "lib/a/very/deep/path/to/widget.rb", 120, FRAME_RUBY);
    profile_add_sample(p, th, profile_node(p, 0, f), 0, 1000, 1000);
    struct tv v;
    tv_init(&v, p, "t", false);
    struct tv_grid g = {0};
    tv_grid_resize(&g, 72, 8);
    tv_draw(&v, &g);
    const char *r = row(&g, 3);
    cr_assert(strstr(r, "~") && strstr(r, "#render_everything"), "clipped: %s", r);
    /* The help fits and any key closes it. */
    tv_key(&v, '?', 4);
    tv_draw(&v, &g);
    cr_assert(strstr(row(&g, 2), "Keys"));
    cr_assert_eq(tv_key(&v, 'x', 4), TV_REDRAW);
    cr_assert_eq(tv_key(&v, 'q', 4), TV_QUIT);
    tv_free(&v);
    tv_grid_free(&g);
    profile_free(p);
}

Test(tv, tiny_screens_and_empty_profiles_draw_without_harm)
{
    struct profile *p = profile_new();
    struct tv v;
    tv_init(&v, p, "empty", true);
    struct tv_grid g = {0};
    for (int w = 1; w < 30; w += 7)
        for (int h = 1; h < 8; h += 2) {
            tv_grid_resize(&g, w, h);
            for (int view = 0; view < TV_NVIEWS; view++) {
                v.view = (enum tv_view)view;
                tv_draw(&v, &g);
                for (int k = TV_KEY_UP; k <= TV_KEY_TAB; k++)
                    tv_key(&v, k, h);
            }
        }
    tv_grid_resize(&g, 80, 24);
    v.view = TV_TOP;
    tv_draw(&v, &g);
    cr_assert(strstr(row(&g, 3), "no samples yet"));
    tv_free(&v);
    tv_grid_free(&g);
    profile_free(p);
}

Test(tv, threads_view_click_selects_the_row_drawn_there_when_scrolled)
{
    /* 30 threads at 72x10: 6 rows show; with the cursor on thread 20 the list is scrolled, and a
     * click selects the row under the pointer (it used to select as if the list began at 0). */
    struct profile *p = profile_new();
    uint32_t f = profile_frame_intern(p, "work", "w.rb", 1, FRAME_RUBY);
    for (int t = 0; t < 30; t++) {
        char name[16];
        snprintf(name, sizeof name, "t%02d", t);
        uint32_t th = profile_add_thread(p, 100 + t, name);
        profile_add_sample(p, th, profile_node(p, 0, f), 0, 1000 + (uint64_t)t, 1000);
    }
    struct tv v;
    tv_init(&v, p, "threads", false);
    struct tv_grid g = {0};
    tv_grid_resize(&g, 72, 10);
    tv_key(&v, '5', 7);
    v.th_sel = 21; /* thread 20 */
    tv_draw(&v, &g);
    const char *first = row(&g, 3);
    cr_assert(strstr(first, "t15"), "scrolled: the first row is thread 15: %s", first);
    tv_click(&v, 10, 3, 0);
    cr_assert_eq(v.th_sel, 16, "the click selects the row drawn at y 3 (thread 15), not %d",
                 v.th_sel);
    tv_draw(&v, &g); /* the list scrolls by what it shows now: thread 11 on y 4 */
    cr_assert(strstr(row(&g, 4), "t11"), "%s", row(&g, 4));
    tv_click(&v, 10, 4, 0);
    cr_assert_eq(v.th_sel, 12);
    tv_free(&v);
    tv_grid_free(&g);
    profile_free(p);
}

Test(tv, views_derived_data_follows_new_samples_and_filters)
{
    /* The threads and timeline views keep what they derived until the profile or a filter
     * changes: a live append (tv_mark_dirty) and a range must show at once. */
    struct fixture f;
    open_view(&f, 100, 30);
    tv_key(&f.v, '5', 26);
    tv_draw(&f.v, &f.g);
    int y = find_row(&f.g, "worker");
    cr_assert(y >= 0 && strstr(row(&f.g, y), " 50 "), "50 worker samples: %s",
              y >= 0 ? row(&f.g, y) : "");
    uint32_t nj = profile_samples(f.p)[149].node;
    for (int i = 0; i < 25; i++)
        profile_add_sample(f.p, 1, nj, 0, f.p->meta.end_ns + 1000000 * (uint64_t)(i + 1), 1000000);
    tv_draw(&f.v, &f.g); /* not marked dirty: what was derived stays */
    cr_assert(strstr(row(&f.g, y), " 50 "), "%s", row(&f.g, y));
    tv_mark_dirty(&f.v);
    tv_draw(&f.v, &f.g);
    cr_assert(strstr(row(&f.g, y), " 75 "), "75 after the append: %s", row(&f.g, y));
    tv_key(&f.v, '4', 26);
    tv_draw(&f.v, &f.g);
    cr_assert(find_row(&f.g, "worker (tid 2): 75 samples") >= 0);
    close_view(&f);
}

Test(tv, views_are_named_by_the_table)
{
    static const char *names[] = {"top", "tree", "flame", "timeline", "threads", "memory"};
    for (int i = 0; i < TV_NVIEWS; i++)
        cr_assert_eq(tv_view_by_name(names[i]), i);
    cr_assert_eq(tv_view_by_name("all"), -1);
    cr_assert_eq(tv_view_by_name("Top"), -2);
    cr_assert_str_eq(tv_view_names(), "top, tree, flame, timeline, threads, memory");
    struct fixture f;
    open_view(&f, 100, 30);
    cr_assert(strstr(row(&f.g, 1),
                     "1 Top       2 Tree      3 Flame     4 Timeline  5 Threads   6 Memory"),
              "tabs: %s", row(&f.g, 1));
    close_view(&f);
}

/* The processes panel (P): make()'s profile as a primary (pid 7) with a worker (pid 42) whose
 * one thread ran `job` for 40 samples; a live source says the worker ended. */
Test(tv, processes_panel_lists_the_processes_and_picks_one_for_every_view)
{
    struct fixture f;
    open_view(&f, 100, 20);
    f.p->meta.pid = 7;
    snprintf(f.p->meta.process_name, sizeof f.p->meta.process_name, "cluster primary");
    struct profile *w = profile_new();
    uint32_t wt = profile_add_thread(w, 42, "main");
    uint32_t nj = profile_node(w, 0, profile_frame_intern(w, "job", "job.rb", 1, FRAME_RUBY));
    for (int i = 0; i < 40; i++)
        profile_add_sample(w, wt, nj, 0, 2000000000 + (uint64_t)i * 1000000, 1000000);
    w->meta.pid = 42;
    snprintf(w->meta.process_name, sizeof w->meta.process_name, "cluster worker 1");
    cr_assert_eq(profile_merge_process(f.p, w), 0);
    profile_free(w);
    const uint8_t state[] = {TV_PROC_LIVE, TV_PROC_ENDED};
    f.v.proc_state = state;
    f.v.nproc_state = 2;
    tv_mark_dirty(&f.v);

    tv_key(&f.v, 'P', 16);
    tv_draw(&f.v, &f.g);
    int hdr = find_row(&f.g, "PROCESS"), all = find_row(&f.g, "all processes");
    int prim = find_row(&f.g, "cluster primary"), wk = find_row(&f.g, "cluster worker 1");
    cr_assert(hdr > 0 && all == hdr + 1 && prim == all + 1 && wk == prim + 1, "rows: %d %d %d %d",
              hdr, all, prim, wk);
    char line[1024];
    snprintf(line, sizeof line, "%s", row(&f.g, prim));
    cr_assert(strstr(line, " 7 ") && strstr(line, "150") && strstr(line, "78.9%") &&
                  strstr(line, "live"),
              "primary: %s", line);
    snprintf(line, sizeof line, "%s", row(&f.g, wk));
    cr_assert(strstr(line, " 42 ") && strstr(line, "40") && strstr(line, "21.1%") &&
                  strstr(line, "ended"),
              "worker: %s", line);
    cr_assert(strstr(row(&f.g, 19), "Enter pick a process"), "footer: %s", row(&f.g, 19));

    /* Enter on the worker's row: every view shows it alone, and the header names it. */
    tv_key(&f.v, TV_KEY_DOWN, 16);
    tv_key(&f.v, TV_KEY_DOWN, 16);
    tv_key(&f.v, TV_KEY_ENTER, 16);
    cr_assert_eq(f.v.filter.process, 2);
    tv_key(&f.v, TV_KEY_ESC, 16);
    cr_assert(!f.v.procs_open);
    tv_draw(&f.v, &f.g);
    cr_assert(strstr(row(&f.g, 0), "40 samples") && strstr(row(&f.g, 0), "worker 1 (pid 42)"),
              "header: %s", row(&f.g, 0));
    cr_assert(strstr(row(&f.g, 3), "job") && strstr(row(&f.g, 3), "100.0%"), "top: %s",
              row(&f.g, 3));
    cr_assert_eq(find_row(&f.g, "Lexer#lex"), -1);
    tv_key(&f.v, '5', 16);
    tv_draw(&f.v, &f.g);
    cr_assert(find_row(&f.g, "worker 1 (42): main") > 0);
    cr_assert_eq(find_row(&f.g, "(7)"), -1, "the primary's threads are listed");
    /* a: all processes again. */
    tv_key(&f.v, 'P', 16);
    tv_key(&f.v, 'a', 16);
    cr_assert_eq(f.v.filter.process, 0);
    tv_key(&f.v, 'P', 16);
    tv_draw(&f.v, &f.g);
    cr_assert(strstr(row(&f.g, 0), "190 samples"), "header: %s", row(&f.g, 0));
    cr_assert(find_row(&f.g, "primary (7): main") > 0);
    close_view(&f);
}
