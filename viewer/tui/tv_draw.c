/*
 * tv_draw.c — draws the terminal viewer's screen into a cell grid.
 *
 *   row 0       title: file, samples, duration, mode and rate, thread and range filters
 *   row 1       tabs (1 Top, 2 Tree, 3 Flame, 4 Timeline, 5 Threads) and the live state
 *   rows 2..h-2 the current view (or the help)
 *   row h-1     the current view's keys, the search prompt, or a one-off status message
 *
 * Block characters when the terminal is UTF-8, ASCII otherwise; colours are roles
 * (enum tv_color) that the back end maps to what the terminal has.
 */
#include "viewer/tui/tv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/model/difftree.h"
#include "viewer/text/report.h"

/* --- the grid ------------------------------------------------------------------------------ */

int
tv_grid_resize(struct tv_grid *g, int w, int h)
{
    if (w < 1 || h < 1)
        return -EINVAL;
    struct tv_cell *c = realloc(g->cells, (size_t)w * (size_t)h * sizeof *c);
    if (!c)
        return -ENOMEM;
    g->cells = c;
    g->w = w;
    g->h = h;
    for (int i = 0; i < w * h; i++)
        c[i] = (struct tv_cell){' ', 0};
    return 0;
}

void
tv_grid_free(struct tv_grid *g)
{
    free(g->cells);
    memset(g, 0, sizeof *g);
}

static void
put_utf8(FILE *out, uint32_t c)
{
    if (c < 0x80) {
        fputc((int)c, out);
    } else if (c < 0x800) {
        fputc(0xC0 | (int)(c >> 6), out);
        fputc(0x80 | (int)(c & 0x3F), out);
    } else {
        fputc(0xE0 | (int)(c >> 12), out);
        fputc(0x80 | (int)((c >> 6) & 0x3F), out);
        fputc(0x80 | (int)(c & 0x3F), out);
    }
}

void
tv_grid_print(const struct tv_grid *g, FILE *out)
{
    for (int y = 0; y < g->h; y++) {
        const struct tv_cell *row = &g->cells[y * g->w];
        int end = g->w;
        while (end > 0 && row[end - 1].ch == ' ')
            end--;
        for (int x = 0; x < end; x++)
            put_utf8(out, row[x].ch);
        fputc('\n', out);
    }
}

static void
put(struct tv_grid *g, int x, int y, uint32_t ch, uint16_t attr)
{
    if (x >= 0 && y >= 0 && x < g->w && y < g->h)
        g->cells[y * g->w + x] = (struct tv_cell){ch, attr};
}

static void
fill(struct tv_grid *g, int x, int y, int w, uint32_t ch, uint16_t attr)
{
    for (int i = 0; i < w; i++)
        put(g, x + i, y, ch, attr);
}

/* Decodes one UTF-8 code point from *s (invalid bytes become '?'). */
static uint32_t
next_cp(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t c = p[0];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0) {
        *s += 1;
        return '?';
    }
    c &= n == 0 ? 0x7F : (0x3F >> n);
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s += i;
            return '?';
        }
        c = c << 6 | (p[i] & 0x3F);
    }
    *s += n + 1;
    return c > 0xFFFF || c < 32 ? '?' : c;
}

static size_t
cp_len(const char *s)
{
    size_t n = 0;
    while (*s) {
        next_cp(&s);
        n++;
    }
    return n;
}

/* Writes s at (x, y), at most maxw columns; returns the columns written. */
static int
text(struct tv_grid *g, int x, int y, int maxw, const char *s, uint16_t attr)
{
    int n = 0;
    while (*s && n < maxw) {
        uint32_t c = next_cp(&s);
        put(g, x + n++, y, c < 32 ? '?' : c, attr);
    }
    return n;
}

static int __attribute__((format(printf, 6, 7)))
textf(struct tv_grid *g, int x, int y, int maxw, uint16_t attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return text(g, x, y, maxw, buf, attr);
}

/* A name that fits w columns: whole; or, for Class#method names, "…" + the end (the method
 * is what tells frames apart); or the start and "…". */
static void
clip_name(const char *name, int w, bool utf8, char *out, size_t outlen)
{
    size_t n = cp_len(name);
    const char *ell = utf8 ? "\xe2\x80\xa6" : "~";
    if (w <= 0) {
        out[0] = '\0';
        return;
    }
    if ((int)n <= w) {
        snprintf(out, outlen, "%s", name);
        return;
    }
    if (w == 1) {
        snprintf(out, outlen, "%s", ell);
        return;
    }
    const char *sep = strpbrk(name, "#.");
    if (sep && (int)cp_len(sep) < w) { /* keep the method, cut the class from the left */
        const char *s = name;
        size_t drop = n - (size_t)(w - 1);
        for (size_t i = 0; i < drop; i++)
            next_cp(&s);
        snprintf(out, outlen, "%s%s", ell, s);
        return;
    }
    const char *s = name;
    for (int i = 0; i < w - 1; i++)
        next_cp(&s);
    snprintf(out, outlen, "%.*s%s", (int)(s - name), name, ell);
}

/* A location that fits w columns: whole, or "…" and its end (file name and line). */
static int
text_tail(struct tv_grid *g, int x, int y, int w, const char *s, bool utf8, uint16_t attr)
{
    size_t n = cp_len(s);
    int ell = utf8 ? 1 : 2; /* "…" or ".." ("~" would read as a home directory) */
    if (w <= ell || (int)n <= w)
        return text(g, x, y, w, s, attr);
    for (size_t i = 0; i < n - (size_t)(w - ell); i++)
        next_cp(&s);
    text(g, x, y, ell, utf8 ? "\xe2\x80\xa6" : "..", attr);
    return ell + text(g, x + ell, y, w - ell, s, attr);
}

/* --- units and common pieces --------------------------------------------------------------- */

static bool
is_heap(const struct tv *v)
{
    return v->p->meta.mode == PROFILE_HEAP;
}

static double
in_unit(const struct tv *v, uint64_t w)
{
    return (double)w / (is_heap(v) ? 1024.0 : 1e6);
}

static double
pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *
unit_name(const struct tv *v)
{
    return is_heap(v) ? "KiB" : "ms";
}

/* A horizontal bar of `frac` of w columns (eighth blocks in UTF-8, '#' in ASCII). */
static void
bar(struct tv_grid *g, int x, int y, int w, double frac, bool utf8, uint16_t attr)
{
    static const uint32_t eighths[] = {0, 0x258F, 0x258E, 0x258D, 0x258C, 0x258B, 0x258A, 0x2589};
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    int units = (int)(frac * w * 8 + 0.5);
    for (int i = 0; i < w; i++, units -= 8) {
        uint32_t c = ' ';
        if (units >= 8)
            c = utf8 ? 0x2588 : '#';
        else if (units > 0)
            c = utf8 ? eighths[units] : (units >= 4 ? '#' : ' ');
        put(g, x + i, y, c, attr);
    }
}

static void
draw_scrolled(int *sel, int *scroll, int n, int rows)
{
    if (*sel >= n)
        *sel = n ? n - 1 : 0;
    if (*sel < *scroll)
        *scroll = *sel;
    if (*sel >= *scroll + rows)
        *scroll = *sel - rows + 1;
    if (*scroll < 0)
        *scroll = 0;
}

static const char *
frame_name(const struct tv *v, uint32_t frame)
{
    return profile_str(v->p, profile_frames(v->p)[frame].name);
}

static void
frame_location(const struct tv *v, uint32_t frame, char *buf, size_t len)
{
    const struct prof_frame *f = &profile_frames(v->p)[frame];
    report_location(v->p, f->file, f->line, buf, len);
}

/* --- header, tabs, footer ------------------------------------------------------------------ */

static const char *view_names[TV_NVIEWS] = {"Top", "Tree", "Flame", "Timeline", "Threads", "Memory"};

static void
draw_header(struct tv *v, struct tv_grid *g)
{
    const struct profile *p = v->p;
    uint16_t a = TV_ATTR(TV_REVERSE | TV_BOLD, TV_C_HEADER);
    fill(g, 0, 0, g->w, ' ', a);
    static const char *modes[] = {"cpu", "wall", "heap"};
    char thread[80] = "all threads", range[64] = "";
    if (v->filter.thread >= 0 && (size_t)v->filter.thread < profile_nthreads(p)) {
        const struct prof_thread_info *t = &profile_threads(p)[v->filter.thread];
        snprintf(thread, sizeof thread, "thread %s", profile_str(p, t->name));
    }
    if (v->filter.from_ns || v->filter.to_ns)
        snprintf(range, sizeof range, " | %.2f-%.2f s", (double)(v->filter.from_ns - v->t_first) / 1e9,
                 (double)(v->filter.to_ns - v->t_first) / 1e9);
    double secs = (double)profile_duration_ns(p) / 1e9;
    int mode = p->meta.mode >= 0 && p->meta.mode <= 2 ? p->meta.mode : 0;
    char hz[32] = "";
    if (p->meta.hz && mode != PROFILE_HEAP)
        snprintf(hz, sizeof hz, " %u Hz", p->meta.hz);
    textf(g, 0, 0, g->w, a, " mrprof | %s | %zu samples | %.2f s | %s%s | %s%s", v->title,
          v->tree.all_n, secs, modes[mode], hz, thread, range);
}

static void
draw_tabs(struct tv *v, struct tv_grid *g)
{
    for (int i = 0; i < TV_NVIEWS; i++) {
        uint16_t a = i == (int)v->view ? TV_ATTR(TV_REVERSE | TV_BOLD, TV_C_TAB) : TV_ATTR(0, 0);
        textf(g, 1 + i * TV_TAB_WIDTH, 1, TV_TAB_WIDTH - 1, a, " %d %-8s", i + 1, view_names[i]);
    }
    if (!v->live)
        return;
    char st[64];
    if (v->ended)
        snprintf(st, sizeof st, v->exit_code >= 0 ? "ENDED exit %d " : "ENDED ", v->exit_code);
    else
        snprintf(st, sizeof st, "%s ", v->paused ? "PAUSED" : "LIVE");
    int len = (int)strlen(st);
    text(g, g->w - len, 1, len, st, TV_ATTR(TV_BOLD, TV_C_STATUS));
}

static const char *view_keys[TV_NVIEWS] = {
    "Up/Down move  Enter show in tree  t sort self/total",
    "Right/Left open/close  f focus  b back  * open all",
    "arrows select  Enter zoom  b zoom out  t in tree",
    "Left/Right cursor  Space mark a range  c clear",
    "Up/Down move  Enter pick a thread  a all threads",
    "memory counters over the run and the top allocation sites",
};

static void
draw_footer(struct tv *v, struct tv_grid *g)
{
    int y = g->h - 1;
    uint16_t a = TV_ATTR(TV_REVERSE, TV_C_HEADER);
    fill(g, 0, y, g->w, ' ', a);
    if (v->typing) {
        int n = textf(g, 0, y, g->w, a, " search: %s", v->typed);
        put(g, n, y, '_', TV_ATTR(TV_REVERSE | TV_BOLD, TV_C_HEADER));
        text(g, n + 2, y, g->w - n - 2, "(Enter apply, Esc cancel, empty clears)", a);
        return;
    }
    if (v->status[0]) {
        textf(g, 0, y, g->w, TV_ATTR(TV_REVERSE | TV_BOLD, TV_C_HEADER), " %s", v->status);
        return;
    }
    /* The view's own keys first: at 80 columns the common ones are in the help (?). */
    char keys[256];
    snprintf(keys, sizeof keys, " %s  %s? help  q quit%s", view_keys[v->view],
             v->search[0] ? "Esc clear search  " : "/ search  ",
             v->live && !v->ended ? "  p pause  s save" : "  s save");
    text(g, 0, y, g->w, keys, a);
}

/* Diff: a change counts when it moves the node by half a point of the total and by 5 % of
 * the node's own time, so that noise on a big node and a blip on a tiny one stay neutral. */
static int
change_sign(const struct tv *v, uint32_t node)
{
    double d = diff_delta_pts(v->diff, node), base = v->diff->base_total[node];
    double rel = base > 0 ? (v->diff->cur_total[node] - base) / base : 1.0;
    return d >= 0.5 && rel >= 0.05 ? 1 : d <= -0.5 && rel <= -0.05 ? -1 : 0;
}

static uint16_t
change_color(int sign)
{
    return sign > 0 ? TV_C_GREW : sign < 0 ? TV_C_SHRANK : TV_C_SAME;
}

/* --- the views ----------------------------------------------------------------------------- */

static void
draw_top(struct tv *v, struct tv_grid *g, int y0, int rows)
{
    const char *u = unit_name(v);
    int barw = g->w >= 100 || v->diff ? 12 : 8;
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    fill(g, 0, y0, g->w, ' ', hdr);
    textf(g, 0, y0, g->w, hdr, "%7s %9s %7s %9s %-*s %s", "SELF%", u[0] == 'm' ? "SELF ms" : "SELF KiB",
          "TOTAL%", u[0] == 'm' ? "TOTAL ms" : "TOTAL KiB", barw,
          v->diff ? "BASE% CHG" : v->sort_total ? "[total]" : "[self]",
          v->search[0] ? "FUNCTION (filtered by search)" : "FUNCTION");
    rows--;
    int n = (int)v->ntop_rows;
    draw_scrolled(&v->top_sel, &v->top_scroll, n, rows);
    if (!n) {
        text(g, 2, y0 + 1, g->w - 2,
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
            fill(g, 0, y, g->w, ' ', a);
        int x = textf(g, 0, y, g->w, a, "%6.1f%% %9.1f %6.1f%% %9.1f ", pct(row->self_w, v->top.total_w),
                      in_unit(v, row->self_w), pct(row->total_w, v->top.total_w),
                      in_unit(v, row->total_w));
        if (v->diff) { /* total share in the base, and the change in points (new = no base) */
            double was = diff_base_function_pct(v->diff, row->name, row->file, row->line);
            double now = pct(row->total_w, v->top.total_w), d = now - (isnan(was) ? 0 : was);
            int sign = isnan(was) ? 1 : d >= 0.5 ? 1 : d <= -0.5 ? -1 : 0;
            uint16_t ca = sel || !sign ? a : TV_ATTR(TV_BOLD, change_color(sign));
            if (isnan(was))
                textf(g, x, y, barw, ca, "%5s %+5.1f", "new", d);
            else
                textf(g, x, y, barw, ca, "%5.1f %+5.1f", was, d);
        } else {
            uint64_t key = v->sort_total ? row->total_w : row->self_w;
            bar(g, x, y, barw, v->top.total_w ? (double)key / (double)v->top.total_w : 0, v->utf8,
                sel ? a : TV_ATTR(0, TV_C_BAR));
        }
        x += barw + 1;
        const char *name = profile_str(v->p, row->name);
        char loc[256], clipped[512];
        report_location(v->p, row->file, row->line, loc, sizeof loc);
        clip_name(name, g->w - x, v->utf8, clipped, sizeof clipped);
        uint16_t na = v->search[0] && !sel ? TV_ATTR(TV_BOLD, TV_C_MATCH) : a;
        x += text(g, x, y, g->w - x, clipped, na);
        if (loc[0] && x + 6 < g->w)
            text_tail(g, x + 2, y, g->w - x - 2, loc, v->utf8, sel ? a : TV_ATTR(TV_DIM, 0));
    }
}

static void
draw_tree(struct tv *v, struct tv_grid *g, int y0, int rows)
{
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    fill(g, 0, y0, g->w, ' ', hdr);
    const char *change = v->diff ? "  CHANGE" : "";
    if (v->tree_focus)
        textf(g, 0, y0, g->w, hdr, "%7s %7s %9s%s  CALL TREE (focused on %s; b goes back)", "TOTAL%",
              "SELF%", is_heap(v) ? "TOTAL KiB" : "TOTAL ms", change,
              frame_name(v, profile_nodes(v->p)[v->tree_focus].frame));
    else
        textf(g, 0, y0, g->w, hdr, "%7s %7s %9s%s  CALL TREE", "TOTAL%", "SELF%",
              is_heap(v) ? "TOTAL KiB" : "TOTAL ms", change);
    rows--;
    int n = (int)v->ntree_rows;
    draw_scrolled(&v->tree_sel, &v->tree_scroll, n, rows);
    if (!n) {
        text(g, 2, y0 + 1, g->w - 2, "no samples yet", TV_ATTR(TV_DIM, 0));
        return;
    }
    const struct agg_tree *t = &v->tree;
    const struct prof_node *nodes = profile_nodes(v->p);
    for (int i = 0; i < rows && v->tree_scroll + i < n; i++) {
        int r = v->tree_scroll + i, y = y0 + 1 + i;
        uint32_t node = v->tree_rows[r];
        bool sel = r == v->tree_sel;
        uint16_t a = sel ? TV_ATTR(TV_REVERSE, TV_C_SELECT) : 0;
        if (sel)
            fill(g, 0, y, g->w, ' ', a);
        int x = textf(g, 0, y, g->w, a, "%6.1f%% %6.1f%% %9.1f  ", pct(t->total_w[node], t->all_w),
                      pct(t->self_w[node], t->all_w), in_unit(v, t->total_w[node]));
        if (v->diff) { /* the change of the node's inclusive time against the base */
            int sign = change_sign(v, node);
            x += textf(g, x, y, g->w - x, sel || !sign ? a : TV_ATTR(TV_BOLD, change_color(sign)), "%+6.1f",
                       diff_delta_pts(v->diff, node));
            x += text(g, x, y, g->w - x, "  ", a);
        }
        int depth = v->tree_depth[r], room = g->w - x;
        int indent = depth * 2;
        if (indent > room / 2) { /* very deep: show the depth instead of the indentation */
            x += textf(g, x, y, room, a, "[%d] ", depth);
            indent = 0;
        }
        x += indent;
        bool kids = t->child_start[node] != t->child_start[node + 1];
        const char *mark = !kids ? "  " : v->expanded[node] ? (v->utf8 ? "\xe2\x96\xbe " : "- ")
                                                            : (v->utf8 ? "\xe2\x96\xb8 " : "+ ");
        x += text(g, x, y, g->w - x, mark, a);
        uint32_t frame = nodes[node].frame;
        char clipped[512], loc[256];
        clip_name(frame_name(v, frame), g->w - x, v->utf8, clipped, sizeof clipped);
        uint16_t na = tv_frame_matches(v, frame) && !sel ? TV_ATTR(TV_BOLD, TV_C_MATCH) : a;
        x += text(g, x, y, g->w - x, clipped, na);
        frame_location(v, frame, loc, sizeof loc);
        if (loc[0] && x + 6 < g->w)
            text_tail(g, x + 2, y, g->w - x - 2, loc, v->utf8, sel ? a : TV_ATTR(TV_DIM, 0));
    }
}

static void
push_box(struct tv *v, uint32_t node, int depth, int x0, int x1)
{
    if (v->nboxes == v->cap_boxes) {
        size_t c = v->cap_boxes ? v->cap_boxes * 2 : 256;
        struct tv_box *b = realloc(v->boxes, c * sizeof *b);
        if (!b)
            return;
        v->boxes = b;
        v->cap_boxes = c;
    }
    v->boxes[v->nboxes++] = (struct tv_box){node, depth, x0, x1};
}

/* Lays out node's subtree: node spans [x, x + w) columns (fractional) on row depth. */
static void
layout_flame(struct tv *v, uint32_t node, int depth, double x, double w, int maxdepth)
{
    int x0 = (int)(x + 0.5), x1 = (int)(x + w + 0.5);
    if (x1 <= x0 || depth >= maxdepth)
        return;
    push_box(v, node, depth, x0, x1);
    const struct agg_tree *t = &v->tree;
    double scale = t->total_w[node] ? w / (double)t->total_w[node] : 0;
    double cx = x;
    for (uint32_t k = t->child_start[node]; k < t->child_start[node + 1]; k++) {
        uint32_t c = t->child_list[k];
        double cw = (double)t->total_w[c] * scale;
        layout_flame(v, c, depth + 1, cx, cw, maxdepth);
        cx += cw;
    }
}

static uint16_t
flame_color(const struct tv *v, uint32_t frame)
{
    const struct prof_frame *f = &profile_frames(v->p)[frame];
    if (f->kind == FRAME_PSEUDO)
        return TV_C_PSEUDO;
    /* The same function always gets the same colour (FNV-1a of its name). */
    uint32_t h = 2166136261u;
    for (const char *s = profile_str(v->p, f->name); *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return (uint16_t)(TV_C_FLAME0 + h % TV_FLAME_COLORS);
}

static void
draw_flame(struct tv *v, struct tv_grid *g, int y0, int rows)
{
    v->nboxes = 0;
    const struct agg_tree *t = &v->tree;
    if (!t->all_n) {
        text(g, 2, y0, g->w - 2, "no samples yet", TV_ATTR(TV_DIM, 0));
        return;
    }
    int depth_rows = rows - 1; /* the last row describes the selected box */
    layout_flame(v, v->flame_zoom, 0, 0, g->w, depth_rows);
    const struct tv_box *sel = NULL;
    for (size_t i = 0; i < v->nboxes; i++)
        if (v->boxes[i].node == v->flame_sel)
            sel = &v->boxes[i];
    if (!sel && v->nboxes) {
        sel = &v->boxes[0];
        v->flame_sel = sel->node;
    }
    const struct prof_node *nodes = profile_nodes(v->p);
    for (size_t i = 0; i < v->nboxes; i++) {
        const struct tv_box *b = &v->boxes[i];
        uint32_t frame = nodes[b->node].frame;
        int y = y0 + b->depth, w = b->x1 - b->x0;
        uint16_t a = TV_ATTR(0, v->diff ? change_color(change_sign(v, b->node)) : flame_color(v, frame));
        if (tv_frame_matches(v, frame))
            a = TV_ATTR(TV_BOLD, TV_C_MATCH);
        if (b == sel)
            a = TV_ATTR(TV_BOLD | TV_REVERSE, TV_C_SELECT);
        fill(g, b->x0, y, w, ' ', a);
        put(g, b->x0, y, v->utf8 ? 0x258F : '|', a);
        char clipped[512], label[512];
        const char *name = b->node == 0 ? "all" : frame_name(v, frame);
        if (v->diff && change_sign(v, b->node)) /* the change in points, for colourless screens */
            snprintf(label, sizeof label, "%s %+.1f", name, diff_delta_pts(v->diff, b->node)), name = label;
        clip_name(name, w - 1, v->utf8, clipped, sizeof clipped);
        text(g, b->x0 + 1, y, w - 1, clipped, a);
    }
    if (sel) {
        uint32_t frame = nodes[sel->node].frame;
        char loc[256];
        frame_location(v, frame, loc, sizeof loc);
        char was[64] = "";
        if (v->diff)
            snprintf(was, sizeof was, ", base %.1f%%, %+.1f pts",
                     v->diff->base_all > 0 ? 100.0 * v->diff->base_total[sel->node] / v->diff->base_all : 0.0,
                     fabs(diff_delta_pts(v->diff, sel->node)) < 0.05 ? 0.0 : diff_delta_pts(v->diff, sel->node));
        textf(g, 0, y0 + rows - 1, g->w, TV_ATTR(TV_BOLD, 0),
              "%s%s  total %.1f%% (%.1f %s%s)  self %.1f%%  %s",
              v->flame_zoom ? "[zoomed] " : "", sel->node == 0 ? "all" : frame_name(v, frame),
              pct(t->total_w[sel->node], t->all_w), in_unit(v, t->total_w[sel->node]),
              unit_name(v), was, pct(t->self_w[sel->node], t->all_w), loc);
    }
}

static void
draw_timeline(struct tv *v, struct tv_grid *g, int y0, int rows)
{
    const struct profile *p = v->p;
    int cols = g->w - 2;
    if (cols < 1)
        return;
    v->tl_cols = cols;
    if (v->tl_cursor >= cols)
        v->tl_cursor = cols - 1;
    size_t nt = profile_nthreads(p), ns = profile_nsamples(p);
    if (!ns) {
        text(g, 2, y0, g->w - 2, "no samples yet", TV_ATTR(TV_DIM, 0));
        return;
    }
    uint64_t *w = calloc(nt * (size_t)cols, sizeof *w);
    uint64_t *count = calloc(nt ? nt : 1, sizeof *count);
    if (!w || !count) {
        free(w);
        free(count);
        return;
    }
    uint64_t span = v->t_last - v->t_first + 1;
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < ns; i++) {
        size_t c = (size_t)((s[i].t_ns - v->t_first) * (unsigned __int128)cols / span);
        w[s[i].thread * (size_t)cols + (c < (size_t)cols ? c : (size_t)cols - 1)] += s[i].weight_ns;
        count[s[i].thread]++;
    }
    /* Full scale: the bucket's duration (100 % on CPU), or the fullest bucket if it is more
     * (wall mode with several threads, heap profiles). */
    uint64_t full = span / (uint64_t)cols;
    for (size_t i = 0; i < nt * (size_t)cols; i++)
        if (w[i] > full)
            full = w[i];
    static const uint32_t blocks[] = {' ', 0x2581, 0x2582, 0x2583, 0x2584, 0x2585, 0x2586, 0x2587, 0x2588};
    static const char ascii[] = " .:-=+*##";
    int lo = v->tl_mark < 0 ? -1 : v->tl_mark < v->tl_cursor ? v->tl_mark : v->tl_cursor;
    int hi = v->tl_mark < 0 ? -1 : v->tl_mark < v->tl_cursor ? v->tl_cursor : v->tl_mark;
    int y = y0;
    for (size_t t = 0; t < nt && y + 1 < y0 + rows - 2; t++) {
        const struct prof_thread_info *ti = &profile_threads(p)[t];
        bool picked = v->filter.thread == (int)t;
        textf(g, 1, y++, g->w - 1, TV_ATTR(picked ? TV_BOLD : 0, 0), "%s %s (tid %lld): %llu samples",
              picked ? "*" : " ", profile_str(p, ti->name), (long long)ti->tid,
              (unsigned long long)count[t]);
        for (int c = 0; c < cols; c++) {
            uint64_t x = w[t * (size_t)cols + (size_t)c];
            int level = full ? (int)((x * 8 + full - 1) / full) : 0;
            if (level > 8)
                level = 8;
            uint64_t t0 = tv_col_time(v, c), t1 = tv_col_time(v, c + 1);
            bool in_range = (v->filter.from_ns || v->filter.to_ns) && t0 < (v->filter.to_ns ? v->filter.to_ns : UINT64_MAX) &&
                            t1 > v->filter.from_ns;
            uint16_t a = TV_ATTR(0, TV_C_SPARK);
            if (in_range)
                a = TV_ATTR(TV_REVERSE, TV_C_RANGE);
            if (c >= lo && c <= hi && lo >= 0)
                a = TV_ATTR(TV_UNDERLINE | TV_REVERSE, TV_C_SELECT);
            put(g, 1 + c, y, v->utf8 ? blocks[level] : (uint32_t)ascii[level], a);
        }
        y++;
    }
    /* The cursor and the time axis. */
    put(g, 1 + v->tl_cursor, y, '^', TV_ATTR(TV_BOLD, 0));
    double at = (double)(tv_col_time(v, v->tl_cursor) - v->t_first) / 1e9;
    char lab[48];
    int len = snprintf(lab, sizeof lab, "%.3f s", at);
    int lx = 1 + v->tl_cursor + 2;
    if (lx + len > g->w)
        lx = 1 + v->tl_cursor - 1 - len;
    text(g, lx < 0 ? 0 : lx, y, len, lab, TV_ATTR(TV_BOLD, 0));
    y++;
    textf(g, 1, y, g->w - 1, TV_ATTR(TV_DIM, 0), "0 s");
    len = snprintf(lab, sizeof lab, "%.3f s", (double)span / 1e9);
    text(g, g->w - 1 - len, y, len, lab, TV_ATTR(TV_DIM, 0));
    y++;
    if (v->tl_mark >= 0)
        text(g, 1, y, g->w - 1, "marking a range: move, then Space or Enter to apply",
             TV_ATTR(TV_BOLD, 0));
    free(w);
    free(count);
}

static void
draw_threads(struct tv *v, struct tv_grid *g, int y0, int rows)
{
    const struct profile *p = v->p;
    size_t nt = profile_nthreads(p), ns = profile_nsamples(p);
    uint64_t *wt = calloc(nt + 1, sizeof *wt), *cnt = calloc(nt + 1, sizeof *cnt);
    if (!wt || !cnt) {
        free(wt);
        free(cnt);
        return;
    }
    struct agg_filter all_threads = v->filter;
    all_threads.thread = -1;
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < ns; i++)
        if (agg_keep(&all_threads, &s[i])) {
            wt[s[i].thread] += s[i].weight_ns;
            cnt[s[i].thread]++;
            wt[nt] += s[i].weight_ns;
            cnt[nt]++;
        }
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    fill(g, 0, y0, g->w, ' ', hdr);
    textf(g, 0, y0, g->w, hdr, "   %-26s %8s %9s %10s %7s", "THREAD", "TID", "SAMPLES",
          is_heap(v) ? "KiB" : v->p->meta.mode == PROFILE_CPU ? "CPU ms" : "wall ms", "SHARE");
    int n = (int)nt + 1;
    int scroll = 0;
    draw_scrolled(&v->th_sel, &scroll, n, rows - 1);
    for (int i = 0; i + scroll < n && i < rows - 1; i++) {
        int r = i + scroll, y = y0 + 1 + i;
        bool sel = r == v->th_sel, picked = v->filter.thread == r - 1;
        uint16_t a = sel ? TV_ATTR(TV_REVERSE, TV_C_SELECT) : 0;
        if (sel)
            fill(g, 0, y, g->w, ' ', a);
        size_t k = r == 0 ? nt : (size_t)(r - 1);
        char name[64], tid[24] = "";
        if (r == 0) {
            snprintf(name, sizeof name, "all threads");
        } else {
            const struct prof_thread_info *ti = &profile_threads(p)[k];
            snprintf(name, sizeof name, "%s", profile_str(p, ti->name));
            snprintf(tid, sizeof tid, "%lld", (long long)ti->tid);
        }
        int x = textf(g, 0, y, g->w, a, " %s %-26.26s %8s %9llu %10.1f %6.1f%% ", picked ? "*" : " ",
                      name, tid, (unsigned long long)cnt[k], in_unit(v, wt[k]), pct(wt[k], wt[nt]));
        if (x < g->w - 2)
            bar(g, x, y, g->w - x - 1 < 20 ? g->w - x - 1 : 20, wt[nt] ? (double)wt[k] / (double)wt[nt] : 0,
                v->utf8, sel ? a : TV_ATTR(0, TV_C_BAR));
    }
    free(wt);
    free(cnt);
}


/* --- the memory view ------------------------------------------------------------------------ */

/* The counters drawn, in this order, and how their values read. */
static const struct {
    const char *name, *label;
    bool bytes;
} memory_counters[] = {
    {"RSS bytes", "RSS", true},
    {"in-use bytes (sampled)", "in use (sampled)", true},
    {"allocated bytes", "allocated", true},
    {"live objects", "live objects", false},
    {"GC cycles", "GC cycles", false},
};

static void
human(char *buf, size_t len, double v, bool bytes)
{
    static const char *units[] = {"", "K", "M", "G", "T"};
    int u = 0;
    double div = bytes ? 1024.0 : 1000.0;
    while (v >= div * 10 && u < 4)
        v /= div, u++;
    snprintf(buf, len, "%.0f%s%s", v, units[u], bytes ? "B" : "");
}

/* One counter as a sparkline over the run's time, with its last value and its peak: the
 * readings of string id name, found in one pass over the counters. */
static int
draw_counter(struct tv *v, struct tv_grid *g, int y, uint32_t name, const char *label, bool bytes)
{
    const struct profile *p = v->p;
    int x0 = 35, cols = g->w - x0 - 1; /* label 1..16, last 18..24, peak 26..32 */
    if (name == UINT32_MAX || cols < 4)
        return 0;
    double *col = calloc((size_t)cols, sizeof *col), last = 0, peak = 0;
    if (!col)
        return 0;
    /* Counters are appended in time order: the first and the last reading are the time axis,
     * found from either end; then one pass buckets the readings. */
    const struct prof_counter *k = profile_counters(p);
    size_t first = 0, end = p->counters.len;
    while (first < end && k[first].name != name)
        first++;
    while (end > first && k[end - 1].name != name)
        end--;
    if (first == end) {
        free(col);
        return 0;
    }
    uint64_t t0 = k[first].t_ns, span = k[end - 1].t_ns > t0 ? k[end - 1].t_ns - t0 : 1;
    for (size_t i = first; i < end; i++) {
        if (k[i].name != name || k[i].t_ns < t0 || k[i].t_ns - t0 > span) /* out of time order */
            continue;
        size_t c = (size_t)((k[i].t_ns - t0) * (unsigned __int128)(cols - 1) / span);
        if (k[i].value > col[c]) /* the bucket's highest value: peaks stay visible */
            col[c] = k[i].value;
        last = k[i].value;
        peak = k[i].value > peak ? k[i].value : peak;
    }
    char lv[24], pv[24];
    human(lv, sizeof lv, last, bytes);
    human(pv, sizeof pv, peak, bytes);
    textf(g, 1, y, x0 - 1, 0, "%-16.16s %7s %7s", label, lv, pv);
    static const uint32_t blocks[] = {0x2581, 0x2582, 0x2583, 0x2584, 0x2585, 0x2586, 0x2587, 0x2588};
    static const char ascii[] = "_.:-=+*#";
    double held = 0; /* a column with no reading repeats the one before */
    for (int c = 0; c < cols; c++) {
        held = col[c] > 0 ? col[c] : held;
        int level = peak > 0 ? (int)(held * 7.999 / peak) : 0;
        put(g, x0 + c, y, v->utf8 ? blocks[level] : (uint32_t)ascii[level], TV_ATTR(0, TV_C_SPARK));
    }
    free(col);
    return 1;
}

static void
draw_memory(struct tv *v, struct tv_grid *g, int y0, int rows)
{
    const struct profile *p = v->p;
    int y = y0;
    uint16_t head = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    fill(g, 0, y, g->w, ' ', head);
    textf(g, 0, y++, g->w, head, " %-16s %7s %7s  %s", "COUNTER", "LAST", "PEAK", "OVER THE RUN");
    int drawn = 0;
    for (size_t i = 0; i < sizeof memory_counters / sizeof *memory_counters && y < y0 + rows; i++)
        if (draw_counter(v, g, y, profile_find_str(p, memory_counters[i].name), memory_counters[i].label,
                         memory_counters[i].bytes))
            y++, drawn++;
    if (!drawn)
        text(g, 1, y++, g->w - 1,
             v->live ? "no memory counters yet"
                     : "no memory counters in this file (a trace holds them: mrprof record --memory -f trace)",
             TV_ATTR(TV_DIM, 0));
    y++;
    /* Allocation sites: a memory profile's samples (bytes), or a CPU profile's allocations,
     * summed per node first. */
    size_t nn = profile_nnodes(p);
    double *alloc = calloc(nn ? nn : 1, sizeof *alloc), *live = calloc(nn ? nn : 1, sizeof *live), all = 0;
    if (!alloc || !live) {
        free(alloc), free(live);
        return;
    }
    if (is_heap(v)) {
        for (size_t i = 0; i < profile_nsamples(p); i++)
            alloc[profile_samples(p)[i].node] += (double)profile_samples(p)[i].weight_ns;
    } else {
        for (size_t i = 0; i < profile_nallocs(p); i++) {
            const struct prof_alloc *a = &profile_allocs(p)[i];
            alloc[a->node] += a->bytes;
            live[a->node] += a->freed_ns == 0 ? a->bytes : 0;
        }
    }
    for (size_t i = 0; i < nn; i++)
        all += alloc[i];
    struct agg_site *sites;
    size_t n = agg_sites(p, alloc, live, NULL, &sites);
    free(alloc), free(live);
    if (y >= y0 + rows) {
        free(sites);
        return;
    }
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    fill(g, 0, y, g->w, ' ', hdr);
    textf(g, 0, y++, g->w, hdr, " %10s %6s %10s  %s", is_heap(v) ? "BYTES" : "ALLOCATED", "SHARE",
          is_heap(v) ? "" : "NOT FREED", "ALLOCATION SITE (Ruby code, and what allocated)");
    if (!n) {
        text(g, 1, y, g->w - 1,
             v->live ? "no allocation samples yet"
                     : "no allocation samples in this file (record --memory and mrun --heap-prof write them "
                       "to a .heapprofile: open that)",
             TV_ATTR(TV_DIM, 0));
        free(sites);
        return;
    }
    for (size_t i = 0; i < n && y < y0 + rows; i++, y++) {
        char a[24], l[24] = "", site[300];
        human(a, sizeof a, sites[i].allocated, true);
        if (!is_heap(v))
            human(l, sizeof l, sites[i].live, true);
        if (sites[i].code == sites[i].leaf)
            snprintf(site, sizeof site, "%s", frame_name(v, sites[i].code));
        else
            snprintf(site, sizeof site, "%s (%s)", frame_name(v, sites[i].code), frame_name(v, sites[i].leaf));
        int x = textf(g, 0, y, g->w, 0, " %10s %5.1f%% %10s  ", a, all > 0 ? 100.0 * sites[i].allocated / all : 0.0, l);
        char loc[256];
        frame_location(v, sites[i].code, loc, sizeof loc);
        x += text(g, x, y, g->w - x, site, tv_frame_matches(v, sites[i].code) ? TV_ATTR(TV_BOLD, TV_C_MATCH) : 0);
        if (*loc && x + 2 < g->w)
            text_tail(g, x + 2, y, g->w - x - 2, loc, v->utf8, TV_ATTR(TV_DIM, 0));
    }
    free(sites);
}

static void
draw_help(struct tv *v, struct tv_grid *g, int y0, int rows)
{
    static const char *lines[] = {
        "Views     1 Top functions  2 Call tree  3 Flame graph  4 Timeline  5 Threads  6 Memory",
        "          Tab cycles through them; a click on a tab opens it",
        "Move      Up/Down (j/k), PgUp/PgDn, Home/End; the mouse wheel scrolls",
        "Top       t sorts by self or total; Enter shows the function in the call tree",
        "Tree      Right opens, Left closes (or goes to the parent), Enter toggles,",
        "          * opens the whole subtree, f focuses on the subtree, b goes back",
        "Flame     arrows select a frame, Enter zooms into it, b zooms out, Esc resets,",
        "          t shows it in the tree; width is time",
        "Timeline  Left/Right move the cursor, Space marks where a range starts and ends;",
        "          every other view then shows only that range; c clears it",
        "Threads   Enter shows only the selected thread, a shows all",
        "Search    / then text: the top view keeps matching functions, tree and flame",
        "          highlight them (function or file name); Esc clears the search",
        "Other     s saves every thread (mrprof-TIME.cpuprofile here, a file per thread),",
        "          p pauses a live view, q quits, ? this help (q quits, any other key closes it)",
    };
    textf(g, 0, y0, g->w, TV_ATTR(TV_BOLD, 0), "Keys%s", v->live ? " (live view)" : "");
    int n = (int)(sizeof lines / sizeof *lines);
    for (int i = 0; i < n && i + 1 < rows; i++)
        text(g, 1, y0 + 1 + i, g->w - 1, lines[i], 0);
    static const char *diff_lines[] = {
        "Diff      red grew, blue shrank; the change in points of the total follows the name;",
        "          CHANGE, BASE% and CHG compare with the base; filters apply to the new profile",
    };
    for (int i = 0; v->diff && i < 2 && n + i + 1 < rows; i++)
        text(g, 1, y0 + 1 + n + i, g->w - 1, diff_lines[i], 0);
}

int
tv_body_rows(int h)
{
    return h > 3 ? h - 3 : 1;
}

void
tv_draw(struct tv *v, struct tv_grid *g)
{
    for (int i = 0; i < g->w * g->h; i++)
        g->cells[i] = (struct tv_cell){' ', 0};
    tv_refresh(v);
    draw_header(v, g);
    draw_tabs(v, g);
    int y0 = 2, rows = tv_body_rows(g->h);
    if (v->help)
        draw_help(v, g, y0, rows);
    else if (v->view == TV_TOP)
        draw_top(v, g, y0, rows);
    else if (v->view == TV_TREE)
        draw_tree(v, g, y0, rows);
    else if (v->view == TV_FLAME)
        draw_flame(v, g, y0, rows);
    else if (v->view == TV_TIMELINE)
        draw_timeline(v, g, y0, rows);
    else if (v->view == TV_THREADS)
        draw_threads(v, g, y0, rows);
    else
        draw_memory(v, g, y0, rows);
    draw_footer(v, g);
}

int
tv_snapshot(struct tv *v, int view, int w, int h, FILE *out)
{
    struct tv_grid g = {0};
    if (tv_grid_resize(&g, w, h) != 0)
        return -ENOMEM;
    enum tv_view saved = v->view;
    for (int i = 0; i < TV_NVIEWS; i++) {
        if (view >= 0 && i != view)
            continue;
        v->view = (enum tv_view)i;
        tv_draw(v, &g);
        tv_grid_print(&g, out);
    }
    v->view = saved;
    tv_grid_free(&g);
    return 0;
}
