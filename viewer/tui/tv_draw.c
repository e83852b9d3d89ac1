/*
 * tv_draw.c — draws the terminal viewer's screen into a cell grid: the frame around the views,
 * and the painting helpers the views share (tv_view.h).
 *
 *   row 0       title: file, samples, duration, mode and rate, thread and range filters
 *   row 1       tabs (one per row of tv_views[]: 1 Top, 2 Tree, ...) and the live state
 *   rows 2..h-2 the current view (its refresh, then its draw; view_*.c) or the help
 *   row h-1     the current view's keys, the search prompt, or a one-off status message
 *
 * Block characters when the terminal is UTF-8, ASCII otherwise; colours are roles
 * (enum tv_color) that the back end maps to what the terminal has.
 */
#include "viewer/tui/tv_view.h"

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

void
tv__fill(struct tv_grid *g, int x, int y, int w, uint32_t ch, uint16_t attr)
{
    for (int i = 0; i < w; i++)
        tv__put(g, x + i, y, ch, attr);
}

/* Decodes one UTF-8 code point from *s (invalid bytes become '?'). */
static uint32_t
next_cp(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t c = p[0];
    int n = c < 0x80             ? 0
            : (c & 0xE0) == 0xC0 ? 1
            : (c & 0xF0) == 0xE0 ? 2
            : (c & 0xF8) == 0xF0 ? 3
                                 : -1;
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
int
tv__text(struct tv_grid *g, int x, int y, int maxw, const char *s, uint16_t attr)
{
    int n = 0;
    while (*s && n < maxw) {
        uint32_t c = next_cp(&s);
        tv__put(g, x + n++, y, c < 32 ? '?' : c, attr);
    }
    return n;
}

int
tv__textf(struct tv_grid *g, int x, int y, int maxw, uint16_t attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return tv__text(g, x, y, maxw, buf, attr);
}

/* A name that fits w columns: whole; or, for Class#method names, "…" + the end (the method
 * is what tells frames apart); or the start and "…". */
void
tv__clip_name(const char *name, int w, bool utf8, char *out, size_t outlen)
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
int
tv__text_tail(struct tv_grid *g, int x, int y, int w, const char *s, bool utf8, uint16_t attr)
{
    size_t n = cp_len(s);
    int ell = utf8 ? 1 : 2; /* "…" or ".." ("~" would read as a home directory) */
    if (w <= ell || (int)n <= w)
        return tv__text(g, x, y, w, s, attr);
    for (size_t i = 0; i < n - (size_t)(w - ell); i++)
        next_cp(&s);
    tv__text(g, x, y, ell, utf8 ? "\xe2\x80\xa6" : "..", attr);
    return ell + tv__text(g, x + ell, y, w - ell, s, attr);
}

/* --- units and common pieces --------------------------------------------------------------- */

bool
tv__is_heap(const struct tv *v)
{
    return v->p->meta.mode == PROFILE_HEAP;
}

double
tv__in_unit(const struct tv *v, uint64_t w)
{
    return (double)w / (tv__is_heap(v) ? 1024.0 : 1e6);
}

double
tv__pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

const char *
tv__unit_name(const struct tv *v)
{
    return tv__is_heap(v) ? "KiB" : "ms";
}

/* A horizontal bar of `frac` of w columns (eighth blocks in UTF-8, '#' in ASCII). */
void
tv__bar(struct tv_grid *g, int x, int y, int w, double frac, bool utf8, uint16_t attr)
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
        tv__put(g, x + i, y, c, attr);
    }
}

void
tv__scrolled(int *sel, int *scroll, int n, int rows)
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

const char *
tv__frame_name(const struct tv *v, uint32_t frame)
{
    return profile_str(v->p, profile_frames(v->p)[frame].name);
}

void
tv__frame_location(const struct tv *v, uint32_t frame, char *buf, size_t len)
{
    const struct prof_frame *f = &profile_frames(v->p)[frame];
    report_location(v->p, f->file, f->line, buf, len);
}

/* --- header, tabs, footer ------------------------------------------------------------------ */

static void
draw_header(const struct tv *v, struct tv_grid *g)
{
    const struct profile *p = v->p;
    uint16_t a = TV_ATTR(TV_REVERSE | TV_BOLD, TV_C_HEADER);
    tv__fill(g, 0, 0, g->w, ' ', a);
    static const char *modes[] = {"cpu", "wall", "heap"};
    char thread[200] = "all threads", range[64] = "", process[128] = "";
    if (v->filter.process && v->filter.process <= profile_nprocesses(p)) {
        profile_process_label(p, v->filter.process - 1, process, sizeof process);
        if (strncmp(process, "cluster ", 8) == 0) /* "worker 1 (pid 123)": the header is full */
            memmove(process, process + 8, strlen(process + 8) + 1);
        snprintf(thread, sizeof thread, "%s", process);
    }
    if (v->filter.thread >= 0 && (size_t)v->filter.thread < profile_nthreads(p)) {
        const struct prof_thread_info *t = &profile_threads(p)[v->filter.thread];
        snprintf(thread, sizeof thread, "%s%sthread %s", process, process[0] ? " " : "",
                 profile_str(p, t->name));
    }
    if (v->filter.from_ns || v->filter.to_ns)
        snprintf(range, sizeof range, " | %.2f-%.2f s",
                 (double)(v->filter.from_ns - v->t_first) / 1e9,
                 (double)(v->filter.to_ns - v->t_first) / 1e9);
    double secs = (double)profile_duration_ns(p) / 1e9;
    int mode = p->meta.mode >= 0 && p->meta.mode <= 2 ? p->meta.mode : 0;
    char hz[32] = "";
    if (p->meta.hz && mode != PROFILE_HEAP)
        snprintf(hz, sizeof hz, " %u Hz", p->meta.hz);
    /* "idle hidden" next to the mode, before the parts a long title pushes off a narrow screen:
     * the shares are then of the rest. */
    tv__textf(g, 0, 0, g->w, a, " mrprof | %s | %zu samples | %.2f s | %s%s%s | %s%s", v->title,
              v->tree.all_n, secs, modes[mode], hz, v->filter.hide_idle ? ", idle hidden" : "",
              thread, range);
}

static void
draw_tabs(const struct tv *v, struct tv_grid *g)
{
    for (int i = 0; i < TV_NVIEWS; i++) {
        uint16_t a = i == (int)v->view ? TV_ATTR(TV_REVERSE | TV_BOLD, TV_C_TAB) : TV_ATTR(0, 0);
        tv__textf(g, 1 + i * TV_TAB_WIDTH, 1, TV_TAB_WIDTH - 1, a, " %c %-8s", tv_views[i]->hotkey,
                  tv_views[i]->label);
    }
    if (!v->live)
        return;
    char st[64];
    if (v->ended)
        snprintf(st, sizeof st, v->exit_code >= 0 ? "ENDED exit %d " : "ENDED ", v->exit_code);
    else
        snprintf(st, sizeof st, "%s ", v->paused ? "PAUSED" : "LIVE");
    int len = (int)strlen(st);
    tv__text(g, g->w - len, 1, len, st, TV_ATTR(TV_BOLD, TV_C_STATUS));
}

static void
draw_footer(const struct tv *v, struct tv_grid *g)
{
    int y = g->h - 1;
    uint16_t a = TV_ATTR(TV_REVERSE, TV_C_HEADER);
    tv__fill(g, 0, y, g->w, ' ', a);
    if (v->typing) {
        int n = tv__textf(g, 0, y, g->w, a, " search: %s", v->typed);
        tv__put(g, n, y, '_', TV_ATTR(TV_REVERSE | TV_BOLD, TV_C_HEADER));
        tv__text(g, n + 2, y, g->w - n - 2, "(Enter apply, Esc cancel, empty clears)", a);
        return;
    }
    if (v->status[0]) {
        tv__textf(g, 0, y, g->w, TV_ATTR(TV_REVERSE | TV_BOLD, TV_C_HEADER), " %s", v->status);
        return;
    }
    /* The view's own keys first: at 80 columns the common ones are in the help (?). */
    char keys[256];
    snprintf(keys, sizeof keys, " %s  %s? help  q quit%s", tv__ops(v)->keys,
             v->search[0] ? "Esc clear search  " : "/ search  ",
             v->live && !v->ended ? "  p pause  s save" : "  s save");
    tv__text(g, 0, y, g->w, keys, a);
}

/* Diff: a change counts when it moves the node by half a point of the total and by 5 % of
 * the node's own time, so that noise on a big node and a blip on a tiny one stay neutral. */
int
tv__change_sign(const struct tv *v, uint32_t node)
{
    double d = diff_delta_pts(v->diff, node), base = v->diff->base_total[node];
    double rel = base > 0 ? (v->diff->cur_total[node] - base) / base : 1.0;
    return d >= 0.5 && rel >= 0.05 ? 1 : d <= -0.5 && rel <= -0.05 ? -1 : 0;
}

uint16_t
tv__change_color(int sign)
{
    return sign > 0 ? TV_C_GREW : sign < 0 ? TV_C_SHRANK : TV_C_SAME;
}

/* --- the help ------------------------------------------------------------------------------- */

/* The keys of every view: the views' lines come from the table, in tab order. */
static void
draw_help(const struct tv *v, struct tv_grid *g, int y0, int rows)
{
    static const char *before[] = {
        "          Tab cycles through them; a click on a tab opens it",
        "Move      Up/Down (j/k), PgUp/PgDn, Home/End; the mouse wheel scrolls",
    };
    static const char *after[] = {
        "Search    / then text: the top view keeps matching functions, tree and flame",
        "          highlight them (function or file name); Esc clears the search",
        "Other     s saves every thread (mrprof-TIME.cpuprofile here, a file per thread),",
        "          p pauses a live view, q quits, ? this help (q quits, any other key closes it)",
        "Idle      i hides (idle), the loop's waits for I/O or timers, or shows it again:",
        "          shares are then of the rest (the header says \"idle hidden\")",
        "Processes P lists a cluster's processes (pid, samples, share, live or ended);",
        "          Enter shows only the selected one in every view, a all, P/Esc closes",
    };
    const char *lines[64];
    int n = 0;
    char views[256] = "Views    ";
    for (int i = 0; i < TV_NVIEWS; i++) {
        size_t len = strlen(views);
        snprintf(views + len, sizeof views - len, "%s%c %s", i ? "  " : " ", tv_views[i]->hotkey,
                 tv_views[i]->title);
    }
    lines[n++] = views;
    for (size_t i = 0; i < sizeof before / sizeof *before; i++)
        lines[n++] = before[i];
    for (int i = 0; i < TV_NVIEWS; i++)
        for (int k = 0; k < 3 && tv_views[i]->help[k]; k++)
            lines[n++] = tv_views[i]->help[k];
    for (size_t i = 0; i < sizeof after / sizeof *after; i++)
        lines[n++] = after[i];
    tv__textf(g, 0, y0, g->w, TV_ATTR(TV_BOLD, 0), "Keys%s", v->live ? " (live view)" : "");
    for (int i = 0; i < n && i + 1 < rows; i++)
        tv__text(g, 1, y0 + 1 + i, g->w - 1, lines[i], 0);
    static const char *diff_lines[] = {
        "Diff      red grew, blue shrank; the change in points of the total follows the name;",
        "          CHANGE, BASE% and CHG compare with the base; filters apply to the new profile",
    };
    for (int i = 0; v->diff && i < 2 && n + i + 1 < rows; i++)
        tv__text(g, 1, y0 + 1 + n + i, g->w - 1, diff_lines[i], 0);
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
    const struct tv_view_ops *ops = tv__ops(v);
    if (v->help) { /* the view's layout stays: it is still what clicks select in */
        draw_help(v, g, y0, rows);
    } else {
        v->layout =
            (struct tv_layout){.view = v->view, .procs = v->procs_open, .body_y = y0, .list_y = -1};
        if (ops->refresh)
            ops->refresh(v, g->w, rows);
        ops->draw(v, g, y0, rows, &v->layout);
    }
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
