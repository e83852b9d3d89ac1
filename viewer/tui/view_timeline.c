/*
 * view_timeline.c — the timeline: a sparkline per thread of its samples over the run, a cursor,
 * and a time range marked with Space that every view then shows alone (the filter).
 *
 * Under the threads, the loop-health counters (runtime/loophealth.c: one reading per second)
 * on the same time axis, so that a stall lines up with the samples of the thread it held.
 *
 * The buckets (time per thread per column) are derived by refresh only when the profile, the
 * filters or the width changed; the columns map to time by tl_cols (tv_col_time, tv.c).
 */
#include "viewer/tui/tv_view.h"

#include <errno.h>
#include <stdlib.h>

/* The counters drawn under the threads, by their names in the profile. */
static const struct {
    const char *name, *label;
} timeline_counters[] = {
    {"loop lag max ms", "loop lag max"},
    {"longest callback ms", "longest callback"},
};
#define NTL_COUNTERS (sizeof timeline_counters / sizeof *timeline_counters)

/* The samples' weight per (thread, column), their count per thread and the full scale; per
 * counter, the highest reading per column (NULL: no reading) and the peak. */
struct timeline_state {
    struct tv_stamp stamp;
    uint64_t *w, *count, full;
    double *counter[NTL_COUNTERS], peak[NTL_COUNTERS];
};

/* Counter name's readings bucketed into the timeline's columns (the highest per column). */
static double *
bucket_readings(const struct tv *v, uint32_t name, int cols, double *peak)
{
    const struct profile *p = v->p;
    *peak = 0;
    if (name == UINT32_MAX)
        return NULL;
    double *col = NULL;
    uint64_t span = v->t_last - v->t_first + 1;
    const struct prof_counter *k = profile_counters(p);
    for (size_t i = 0; i < p->counters.len; i++) {
        if (k[i].name != name || k[i].t_ns < v->t_first)
            continue;
        if (!col && !(col = calloc((size_t)cols, sizeof *col)))
            return NULL;
        size_t c = (size_t)((k[i].t_ns - v->t_first) * (unsigned __int128)cols / span);
        c = c < (size_t)cols ? c : (size_t)cols - 1;
        if (k[i].value > col[c])
            col[c] = k[i].value;
        if (k[i].value > *peak)
            *peak = k[i].value;
    }
    return col;
}

static int
refresh_timeline(struct tv *v, int w, int rows)
{
    (void)rows;
    const struct profile *p = v->p;
    int cols = w - 2;
    if (cols < 1)
        return 0;
    v->tl_cols = cols;
    if (v->tl_cursor >= cols)
        v->tl_cursor = cols - 1;
    struct timeline_state *st = tv__state(v, TV_TIMELINE, sizeof *st);
    if (!st)
        return -ENOMEM;
    if (!tv__stale(&st->stamp, v, cols, -1))
        return 0;
    size_t nt = profile_nthreads(p), ns = profile_nsamples(p);
    free(st->w);
    free(st->count);
    st->w = st->count = NULL;
    for (size_t k = 0; k < NTL_COUNTERS; k++) {
        free(st->counter[k]);
        st->counter[k] = NULL;
    }
    if (!ns)
        return 0;
    for (size_t k = 0; k < NTL_COUNTERS; k++)
        st->counter[k] =
            bucket_readings(v, profile_find_str(p, timeline_counters[k].name), cols, &st->peak[k]);
    uint64_t *bw = calloc(nt * (size_t)cols, sizeof *bw);
    uint64_t *count = calloc(nt ? nt : 1, sizeof *count);
    if (!bw || !count) {
        free(bw);
        free(count);
        st->stamp.valid = false;
        return -ENOMEM;
    }
    uint64_t span = v->t_last - v->t_first + 1;
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < ns; i++) {
        if (!agg_keep_process(p, &v->filter, &s[i])) /* the processes panel picked another */
            continue;
        size_t c = (size_t)((s[i].t_ns - v->t_first) * (unsigned __int128)cols / span);
        bw[s[i].thread * (size_t)cols + (c < (size_t)cols ? c : (size_t)cols - 1)] +=
            s[i].weight_ns;
        count[s[i].thread]++;
    }
    /* Full scale: the bucket's duration (100 % on CPU), or the fullest bucket if it is more
     * (wall mode with several threads, heap profiles). */
    uint64_t full = span / (uint64_t)cols;
    for (size_t i = 0; i < nt * (size_t)cols; i++)
        if (bw[i] > full)
            full = bw[i];
    st->w = bw;
    st->count = count;
    st->full = full;
    return 0;
}

static void
draw_timeline(const struct tv *v, struct tv_grid *g, int y0, int rows, struct tv_layout *lay)
{
    (void)lay;
    const struct profile *p = v->p;
    const struct timeline_state *st = v->view_state[TV_TIMELINE];
    int cols = g->w - 2;
    if (cols < 1)
        return;
    size_t nt = profile_nthreads(p), ns = profile_nsamples(p);
    if (!ns) {
        tv__text(g, 2, y0, g->w - 2, "no samples yet", TV_ATTR(TV_DIM, 0));
        return;
    }
    if (!st || !st->w)
        return;
    const uint64_t *w = st->w, *count = st->count, full = st->full;
    uint64_t span = v->t_last - v->t_first + 1;
    static const uint32_t blocks[] = {' ',    0x2581, 0x2582, 0x2583, 0x2584,
                                      0x2585, 0x2586, 0x2587, 0x2588};
    static const char ascii[] = " .:-=+*##";
    int lo = v->tl_mark < 0 ? -1 : v->tl_mark < v->tl_cursor ? v->tl_mark : v->tl_cursor;
    int hi = v->tl_mark < 0 ? -1 : v->tl_mark < v->tl_cursor ? v->tl_cursor : v->tl_mark;
    int y = y0;
    for (size_t t = 0; t < nt && y + 1 < y0 + rows - 2; t++) {
        const struct prof_thread_info *ti = &profile_threads(p)[t];
        bool picked = v->filter.thread == (int)t;
        tv__textf(g, 1, y++, g->w - 1, TV_ATTR(picked ? TV_BOLD : 0, 0),
                  "%s %s (tid %lld): %llu samples", picked ? "*" : " ", profile_str(p, ti->name),
                  (long long)ti->tid, (unsigned long long)count[t]);
        for (int c = 0; c < cols; c++) {
            uint64_t x = w[t * (size_t)cols + (size_t)c];
            int level = full ? (int)((x * 8 + full - 1) / full) : 0;
            if (level > 8)
                level = 8;
            uint64_t t0 = tv_col_time(v, c), t1 = tv_col_time(v, c + 1);
            bool in_range = (v->filter.from_ns || v->filter.to_ns) &&
                            t0 < (v->filter.to_ns ? v->filter.to_ns : UINT64_MAX) &&
                            t1 > v->filter.from_ns;
            uint16_t a = TV_ATTR(0, TV_C_SPARK);
            if (in_range)
                a = TV_ATTR(TV_REVERSE, TV_C_RANGE);
            if (c >= lo && c <= hi && lo >= 0)
                a = TV_ATTR(TV_UNDERLINE | TV_REVERSE, TV_C_SELECT);
            tv__put(g, 1 + c, y, v->utf8 ? blocks[level] : (uint32_t)ascii[level], a);
        }
        y++;
    }
    /* The loop counters: each reading stands for the second before it, so a column repeats
     * the next reading back to the one before (a stall shows as wide as the window it ends). */
    for (size_t k = 0; k < NTL_COUNTERS && y + 1 < y0 + rows - 2; k++) {
        const double *col = st->counter[k];
        if (!col)
            continue;
        tv__textf(g, 1, y++, g->w - 1, 0, "  %s: peak %.1f ms", timeline_counters[k].label,
                  st->peak[k]);
        double next = 0;
        for (int c = cols; c-- > 0;) {
            next = col[c] > 0 ? col[c] : next;
            int level = st->peak[k] > 0 ? (int)((next * 8 + st->peak[k] - 1e-9) / st->peak[k]) : 0;
            level = level < 0 ? 0 : level > 8 ? 8 : level;
            tv__put(g, 1 + c, y, v->utf8 ? blocks[level] : (uint32_t)ascii[level],
                    TV_ATTR(0, TV_C_SPARK));
        }
        y++;
    }
    /* The cursor and the time axis. */
    tv__put(g, 1 + v->tl_cursor, y, '^', TV_ATTR(TV_BOLD, 0));
    double at = (double)(tv_col_time(v, v->tl_cursor) - v->t_first) / 1e9;
    char lab[48];
    int len = snprintf(lab, sizeof lab, "%.3f s", at);
    int lx = 1 + v->tl_cursor + 2;
    if (lx + len > g->w)
        lx = 1 + v->tl_cursor - 1 - len;
    tv__text(g, lx < 0 ? 0 : lx, y, len, lab, TV_ATTR(TV_BOLD, 0));
    y++;
    tv__textf(g, 1, y, g->w - 1, TV_ATTR(TV_DIM, 0), "0 s");
    len = snprintf(lab, sizeof lab, "%.3f s", (double)span / 1e9);
    tv__text(g, g->w - 1 - len, y, len, lab, TV_ATTR(TV_DIM, 0));
    y++;
    if (v->tl_mark >= 0)
        tv__text(g, 1, y, g->w - 1, "marking a range: move, then Space or Enter to apply",
                 TV_ATTR(TV_BOLD, 0));
}

/* Timeline columns map to time by the width the last refresh used (tl_cols). */
uint64_t
tv_col_time(const struct tv *v, int col)
{
    uint64_t span = v->t_last - v->t_first + 1;
    return v->t_first + span * (uint64_t)col / (uint64_t)(v->tl_cols > 0 ? v->tl_cols : 1);
}

static void
apply_range(struct tv *v, int a, int b)
{
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    v->filter.from_ns = tv_col_time(v, a);
    v->filter.to_ns = tv_col_time(v, b + 1);
    v->tl_mark = -1;
    v->dirty = true;
    snprintf(v->status, sizeof v->status, "range %.3f s .. %.3f s: every view shows only it",
             (double)(v->filter.from_ns - v->t_first) / 1e9,
             (double)(v->filter.to_ns - v->t_first) / 1e9);
}

static void
key_timeline(struct tv *v, int key)
{
    switch (key) {
    case TV_KEY_LEFT:
        v->tl_cursor = tv__clampi(v->tl_cursor - 1, 0, v->tl_cols - 1);
        break;
    case TV_KEY_RIGHT:
        v->tl_cursor = tv__clampi(v->tl_cursor + 1, 0, v->tl_cols - 1);
        break;
    case TV_KEY_HOME:
        v->tl_cursor = 0;
        break;
    case TV_KEY_END:
        v->tl_cursor = v->tl_cols - 1;
        break;
    case ' ':
        if (v->tl_mark < 0)
            v->tl_mark = v->tl_cursor;
        else
            apply_range(v, v->tl_mark, v->tl_cursor);
        break;
    case TV_KEY_ENTER:
        if (v->tl_mark >= 0)
            apply_range(v, v->tl_mark, v->tl_cursor);
        break;
    case 'c':
    case TV_KEY_ESC:
        v->tl_mark = -1;
        if (v->filter.from_ns || v->filter.to_ns) {
            v->filter.from_ns = v->filter.to_ns = 0;
            v->dirty = true;
            snprintf(v->status, sizeof v->status, "range cleared");
        }
        break;
    default:
        break;
    }
}

static void
click_timeline(struct tv *v, int x, int y)
{
    (void)y;
    v->tl_cursor = tv__clampi(x - 1, 0, v->tl_cols - 1);
}

static void
free_timeline(void *state)
{
    struct timeline_state *st = state;
    free(st->w);
    free(st->count);
    for (size_t k = 0; k < NTL_COUNTERS; k++)
        free(st->counter[k]);
    free(st);
}

const struct tv_view_ops tv__view_timeline = {
    .name = "timeline",
    .hotkey = '4',
    .label = "Timeline",
    .title = "Timeline",
    .keys = "Left/Right cursor  Space mark a range  c clear",
    .help = {"Timeline  Left/Right move the cursor, Space marks where a range starts and ends;",
             "          every other view then shows only that range; c clears it"},
    .own_esc = true,
    .refresh = refresh_timeline,
    .draw = draw_timeline,
    .on_key = key_timeline,
    .on_click = click_timeline,
    .free_state = free_timeline,
};
