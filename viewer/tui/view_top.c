/*
 * view_top.c — the top view: functions by self (or total) time, as `mrprof report` lists them,
 * restricted to the search. Enter opens the call tree at the function's heaviest call path.
 *
 * Its rows (top_rows) are derived by tv_refresh() (tv.c), which the tree and the header share;
 * here is only the cursor, the drawing and the keys.
 */
#include "viewer/tui/tv_view.h"

#include <math.h>

#include "profiler/model/difftree.h"
#include "viewer/text/report.h"

static int
refresh_top(struct tv *v, int w, int rows)
{
    (void)w;
    tv__scrolled(&v->top_sel, &v->top_scroll, (int)v->ntop_rows, rows - 1);
    return 0;
}

static void
draw_top(const struct tv *v, struct tv_grid *g, int y0, int rows, struct tv_layout *lay)
{
    const char *u = tv__unit_name(v);
    int barw = g->w >= 100 || v->diff ? 12 : 8;
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    tv__fill(g, 0, y0, g->w, ' ', hdr);
    tv__textf(g, 0, y0, g->w, hdr, "%7s %9s %7s %9s %-*s %s", "SELF%",
              u[0] == 'm' ? "SELF ms" : "SELF KiB", "TOTAL%",
              u[0] == 'm' ? "TOTAL ms" : "TOTAL KiB", barw,
              v->diff         ? "BASE% CHG"
              : v->sort_total ? "[total]"
                              : "[self]",
              v->search[0] ? "FUNCTION (filtered by search)" : "FUNCTION");
    rows--;
    int n = (int)v->ntop_rows;
    lay->list_y = y0 + 1;
    lay->scroll = v->top_scroll;
    if (!n) {
        tv__text(g, 2, y0 + 1, g->w - 2,
                 v->search[0] ? "no function matches the search (Esc clears it)" : "no samples yet",
                 TV_ATTR(TV_DIM, 0));
        return;
    }
    for (int i = 0; i < rows && v->top_scroll + i < n; i++) {
        int r = v->top_scroll + i, y = y0 + 1 + i;
        const struct agg_row *row = &v->top.rows[v->top_rows[r]];
        bool sel = r == v->top_sel;
        uint16_t a = sel ? TV_ATTR(TV_REVERSE, TV_C_SELECT) : 0;
        if (sel)
            tv__fill(g, 0, y, g->w, ' ', a);
        int x = tv__textf(g, 0, y, g->w, a, "%6.1f%% %9.1f %6.1f%% %9.1f ",
                          tv__pct(row->self_w, v->top.total_w), tv__in_unit(v, row->self_w),
                          tv__pct(row->total_w, v->top.total_w), tv__in_unit(v, row->total_w));
        if (v->diff) { /* total share in the base, and the change in points (new = no base) */
            double was = diff_base_function_pct(v->diff, row->name, row->file, row->line);
            double now = tv__pct(row->total_w, v->top.total_w), d = now - (isnan(was) ? 0 : was);
            int sign = isnan(was) ? 1 : d >= 0.5 ? 1 : d <= -0.5 ? -1 : 0;
            uint16_t ca = sel || !sign ? a : TV_ATTR(TV_BOLD, tv__change_color(sign));
            if (isnan(was))
                tv__textf(g, x, y, barw, ca, "%5s %+5.1f", "new", d);
            else
                tv__textf(g, x, y, barw, ca, "%5.1f %+5.1f", was, d);
        } else {
            uint64_t key = v->sort_total ? row->total_w : row->self_w;
            tv__bar(g, x, y, barw, v->top.total_w ? (double)key / (double)v->top.total_w : 0,
                    v->utf8, sel ? a : TV_ATTR(0, TV_C_BAR));
        }
        x += barw + 1;
        const char *name = profile_str(v->p, row->name);
        char loc[256], clipped[512];
        report_location(v->p, row->file, row->line, loc, sizeof loc);
        tv__clip_name(name, g->w - x, v->utf8, clipped, sizeof clipped);
        uint16_t na = v->search[0] && !sel ? TV_ATTR(TV_BOLD, TV_C_MATCH) : a;
        x += tv__text(g, x, y, g->w - x, clipped, na);
        if (loc[0] && x + 6 < g->w)
            tv__text_tail(g, x + 2, y, g->w - x - 2, loc, v->utf8, sel ? a : TV_ATTR(TV_DIM, 0));
    }
}

static int *
cursor_top(struct tv *v, int *n)
{
    *n = (int)v->ntop_rows;
    return &v->top_sel;
}

/* The node of the function in top row r with the most time: where "show in tree" goes. */
static uint32_t
heaviest_node_of_row(const struct tv *v, const struct agg_row *r)
{
    const struct prof_node *nodes = profile_nodes(v->p);
    const struct prof_frame *frames = profile_frames(v->p);
    uint32_t best = 0;
    for (size_t n = 1; n < v->tree.nn; n++) {
        const struct prof_frame *f = &frames[nodes[n].frame];
        if (f->name == r->name && f->file == r->file && f->line == r->line && v->tree.total_n[n] &&
            (!best || v->tree.total_w[n] > v->tree.total_w[best]))
            best = (uint32_t)n;
    }
    return best;
}

static void
key_top(struct tv *v, int key)
{
    int n = (int)v->ntop_rows;
    switch (key) {
    case 't':
        v->sort_total = !v->sort_total;
        v->dirty = true;
        break;
    case TV_KEY_ENTER:
        if (n && v->top_sel < n)
            tv__show_in_tree(v, heaviest_node_of_row(v, &v->top.rows[v->top_rows[v->top_sel]]));
        break;
    default:
        break;
    }
}

const struct tv_view_ops tv__view_top = {
    .name = "top",
    .hotkey = '1',
    .label = "Top",
    .title = "Top functions",
    .keys = "Up/Down move  Enter show in tree  t sort self/total",
    .help = {"Top       t sorts by self or total; Enter shows the function in the call tree"},
    .refresh = refresh_top,
    .draw = draw_top,
    .cursor = cursor_top,
    .on_key = key_top,
};
