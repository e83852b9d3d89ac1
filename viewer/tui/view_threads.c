/*
 * view_threads.c — the threads view: each thread's samples and share of the time (in the time
 * range, whatever thread is picked); Enter picks the thread every view then shows alone.
 *
 * The sums per thread are derived by refresh only when the profile or the filters changed.
 */
#include "viewer/tui/tv_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Weight and samples per thread; [nt] is all threads. The rows: the threads of the process the
 * processes panel picked (filter.process), or all of them. */
struct threads_state {
    struct tv_stamp stamp;
    uint64_t *wt, *cnt;
    uint32_t *rows;
    size_t nrows;
};

/* The rows of the list: 1 (all threads) + the threads shown. */
static int
nrows(const struct tv *v)
{
    const struct threads_state *st = v->view_state[TV_THREADS];
    return st && st->rows ? (int)st->nrows + 1 : (int)profile_nthreads(v->p) + 1;
}

/* The thread of list row r (r >= 1). */
static size_t
row_thread(const struct threads_state *st, int r)
{
    return st && st->rows ? st->rows[r - 1] : (size_t)(r - 1);
}

static int
refresh_threads(struct tv *v, int w, int rows)
{
    (void)w;
    const struct profile *p = v->p;
    size_t nt = profile_nthreads(p), ns = profile_nsamples(p);
    struct threads_state *st = tv__state(v, TV_THREADS, sizeof *st);
    if (!st)
        return -ENOMEM;
    bool stale = tv__stale(&st->stamp, v, -1, -1);
    if (stale) {
        free(st->wt);
        free(st->cnt);
        free(st->rows);
        st->wt = calloc(nt + 1, sizeof *st->wt);
        st->cnt = calloc(nt + 1, sizeof *st->cnt);
        st->rows = malloc((nt + 1) * sizeof *st->rows);
        st->nrows = 0;
        if (!st->wt || !st->cnt || !st->rows) {
            free(st->wt);
            free(st->cnt);
            free(st->rows);
            st->wt = st->cnt = NULL;
            st->rows = NULL;
            st->stamp.valid = false;
            return -ENOMEM;
        }
        for (size_t i = 0; i < nt; i++)
            if (!v->filter.process || profile_threads(p)[i].process == v->filter.process - 1)
                st->rows[st->nrows++] = (uint32_t)i;
    }
    int scroll = 0;
    tv__scrolled(&v->th_sel, &scroll, (int)st->nrows + 1, rows - 1);
    if (!stale)
        return 0;
    uint64_t *wt = st->wt, *cnt = st->cnt;
    struct agg_filter all_threads = v->filter;
    all_threads.thread = -1;
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < ns; i++)
        if (agg_keep_p(p, &all_threads, &s[i])) {
            wt[s[i].thread] += s[i].weight_ns;
            cnt[s[i].thread]++;
            wt[nt] += s[i].weight_ns;
            cnt[nt]++;
        }
    return 0;
}

/* "worker 1 (pid 123)" of "cluster worker 1", "primary (pid 12)": short enough for the column. */
static const char *
process_short(const struct profile *p, uint32_t k)
{
    static char buf[48];
    const char *n = profile_process_name(p, k);
    if (strncmp(n, "cluster ", 8) == 0)
        n += 8;
    snprintf(buf, sizeof buf, "%s (%lld)", *n ? n : "primary",
             (long long)profile_process_pid(p, k));
    return buf;
}

static void
draw_threads(const struct tv *v, struct tv_grid *g, int y0, int rows, struct tv_layout *lay)
{
    const struct profile *p = v->p;
    const struct threads_state *st = v->view_state[TV_THREADS];
    if (!st || !st->wt)
        return;
    size_t nt = profile_nthreads(p);
    const uint64_t *wt = st->wt, *cnt = st->cnt;
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    tv__fill(g, 0, y0, g->w, ' ', hdr);
    tv__textf(g, 0, y0, g->w, hdr, "   %-26s %8s %9s %10s %7s",
              profile_nprocesses(p) > 1 ? "PROCESS: THREAD" : "THREAD", "TID", "SAMPLES",
              tv__is_heap(v)                   ? "KiB"
              : v->p->meta.mode == PROFILE_CPU ? "CPU ms"
                                               : "wall ms",
              "SHARE");
    int n = nrows(v);
    int scroll = 0, th_sel = v->th_sel;
    tv__scrolled(&th_sel, &scroll, n, rows - 1);
    lay->list_y = y0 + 1;
    lay->scroll = scroll;
    for (int i = 0; i + scroll < n && i < rows - 1; i++) {
        int r = i + scroll, y = y0 + 1 + i;
        bool sel = r == th_sel, picked = r > 0 && v->filter.thread == (int)row_thread(st, r);
        uint16_t a = sel ? TV_ATTR(TV_REVERSE, TV_C_SELECT) : 0;
        if (sel)
            tv__fill(g, 0, y, g->w, ' ', a);
        size_t k = r == 0 ? nt : row_thread(st, r);
        char name[128], tid[24] = "";
        if (r == 0) {
            snprintf(name, sizeof name, "all threads");
        } else {
            const struct prof_thread_info *ti = &profile_threads(p)[k];
            if (profile_nprocesses(p) > 1) /* a cluster: grouped by process, named with it */
                snprintf(name, sizeof name, "%s: %s", process_short(p, ti->process),
                         profile_str(p, ti->name));
            else
                snprintf(name, sizeof name, "%s", profile_str(p, ti->name));
            snprintf(tid, sizeof tid, "%lld", (long long)ti->tid);
        }
        int x = tv__textf(g, 0, y, g->w, a, " %s %-26.26s %8s %9llu %10.1f %6.1f%% ",
                          picked ? "*" : " ", name, tid, (unsigned long long)cnt[k],
                          tv__in_unit(v, wt[k]), tv__pct(wt[k], wt[nt]));
        if (x < g->w - 2)
            tv__bar(g, x, y, g->w - x - 1 < 20 ? g->w - x - 1 : 20,
                    wt[nt] ? (double)wt[k] / (double)wt[nt] : 0, v->utf8,
                    sel ? a : TV_ATTR(0, TV_C_BAR));
    }
}

static int *
cursor_threads(struct tv *v, int *n)
{
    *n = nrows(v);
    return &v->th_sel;
}

static void
key_threads(struct tv *v, int key)
{
    int n = nrows(v);
    v->th_sel = tv__clampi(v->th_sel, 0, n - 1);
    switch (key) {
    case TV_KEY_ENTER:
    case ' ':
        v->filter.thread =
            v->th_sel > 0 ? (int)row_thread(v->view_state[TV_THREADS], v->th_sel) : -1;
        v->dirty = true;
        break;
    case 'a':
        v->filter.thread = -1;
        v->th_sel = 0;
        v->dirty = true;
        break;
    default:
        break;
    }
    v->th_sel = tv__clampi(v->th_sel, 0, n - 1);
}

static void
free_threads(void *state)
{
    struct threads_state *st = state;
    free(st->wt);
    free(st->cnt);
    free(st->rows);
    free(st);
}

const struct tv_view_ops tv__view_threads = {
    .name = "threads",
    .hotkey = '5',
    .label = "Threads",
    .title = "Threads",
    .keys = "Up/Down move  Enter pick a thread  a all threads",
    .help = {"Threads   Enter shows only the selected thread, a shows all"},
    .refresh = refresh_threads,
    .draw = draw_threads,
    .cursor = cursor_threads,
    .on_key = key_threads,
    .free_state = free_threads,
};
