/*
 * panel_processes.c — the processes panel (key P): the processes of the profile (a cluster's
 * primary and its workers, profile.h), each with its pid, name, samples, share of the time and,
 * for a live source, whether it still runs. Enter picks the process every view then shows alone
 * (filter.process, as `--process` does); a shows them all again. It is drawn over the body of
 * the current view, which stays underneath: P or Esc goes back to it.
 *
 * The sums per process are derived only when the profile or the filters changed (the time range
 * and idle filters apply; the process and thread filters do not, so every process has its row).
 */
#include "viewer/tui/tv_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Weight and samples per process; [np] is all of them. */
struct procs_state {
    struct tv_stamp stamp;
    size_t np;
    uint64_t *wt, *cnt;
};

static int
refresh_procs(struct tv *v, int w, int rows)
{
    (void)w;
    const struct profile *p = v->p;
    size_t np = profile_nprocesses(p), ns = profile_nsamples(p), nt = profile_nthreads(p);
    int scroll = 0;
    tv__scrolled(&v->proc_sel, &scroll, (int)np + 1, rows - 1);
    if (!v->procs_state)
        v->procs_state = calloc(1, sizeof(struct procs_state));
    struct procs_state *st = v->procs_state;
    if (!st)
        return -ENOMEM;
    if (!tv__stale(&st->stamp, v, -1, -1))
        return 0;
    free(st->wt);
    free(st->cnt);
    st->np = np;
    uint64_t *wt = st->wt = calloc(np + 1, sizeof *wt),
             *cnt = st->cnt = calloc(np + 1, sizeof *cnt);
    if (!wt || !cnt) {
        free(wt);
        free(cnt);
        st->wt = st->cnt = NULL;
        st->stamp.valid = false;
        return -ENOMEM;
    }
    struct agg_filter every = v->filter;
    every.thread = -1;
    every.process = 0;
    const struct prof_sample *s = profile_samples(p);
    const struct prof_thread_info *t = profile_threads(p);
    for (size_t i = 0; i < ns; i++) {
        if (!agg_keep_p(p, &every, &s[i]))
            continue;
        uint32_t k = s[i].thread < nt ? t[s[i].thread].process : 0;
        if (k >= np)
            k = 0;
        wt[k] += s[i].weight_ns;
        cnt[k]++;
        wt[np] += s[i].weight_ns;
        cnt[np]++;
    }
    return 0;
}

static const char *
state_name(const struct tv *v, uint32_t k)
{
    if (!v->proc_state || k >= v->nproc_state)
        return "";
    return v->proc_state[k] == TV_PROC_LIVE    ? "live"
           : v->proc_state[k] == TV_PROC_ENDED ? "ended"
                                               : "";
}

static void
draw_procs(const struct tv *v, struct tv_grid *g, int y0, int rows, struct tv_layout *lay)
{
    const struct profile *p = v->p;
    const struct procs_state *st = v->procs_state;
    if (!st || !st->wt)
        return;
    size_t np = st->np;
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    tv__fill(g, 0, y0, g->w, ' ', hdr);
    tv__textf(g, 0, y0, g->w, hdr, "   %-22s %8s %9s %10s %7s  %-6s", "PROCESS", "PID", "SAMPLES",
              tv__is_heap(v)                ? "KiB"
              : p->meta.mode == PROFILE_CPU ? "CPU ms"
                                            : "wall ms",
              "SHARE", "STATE");
    int n = (int)np + 1;
    int scroll = 0, sel_row = v->proc_sel;
    tv__scrolled(&sel_row, &scroll, n, rows - 1);
    lay->list_y = y0 + 1;
    lay->scroll = scroll;
    for (int i = 0; i + scroll < n && i < rows - 1; i++) {
        int r = i + scroll, y = y0 + 1 + i;
        bool sel = r == sel_row, picked = v->filter.process == (uint32_t)r;
        uint16_t a = sel ? TV_ATTR(TV_REVERSE, TV_C_SELECT) : 0;
        if (sel)
            tv__fill(g, 0, y, g->w, ' ', a);
        size_t k = r == 0 ? np : (size_t)(r - 1);
        char name[64], pid[24] = "";
        const char *state = "";
        if (r == 0) {
            snprintf(name, sizeof name, "all processes");
        } else {
            const char *pn = profile_process_name(p, (uint32_t)k);
            snprintf(name, sizeof name, "%s", *pn ? pn : "this process");
            if (profile_process_pid(p, (uint32_t)k) > 0)
                snprintf(pid, sizeof pid, "%lld", (long long)profile_process_pid(p, (uint32_t)k));
            state = state_name(v, (uint32_t)k);
        }
        int x = tv__textf(g, 0, y, g->w, a, " %s %-22.22s %8s %9llu %10.1f %6.1f%%  %-6s ",
                          picked ? "*" : " ", name, pid, (unsigned long long)st->cnt[k],
                          tv__in_unit(v, st->wt[k]), tv__pct(st->wt[k], st->wt[np]), state);
        if (x < g->w - 2)
            tv__bar(g, x, y, g->w - x - 1 < 20 ? g->w - x - 1 : 20,
                    st->wt[np] ? (double)st->wt[k] / (double)st->wt[np] : 0, v->utf8,
                    sel ? a : TV_ATTR(0, TV_C_BAR));
    }
}

static int *
cursor_procs(struct tv *v, int *n)
{
    *n = (int)profile_nprocesses(v->p) + 1;
    return &v->proc_sel;
}

static void
key_procs(struct tv *v, int key)
{
    int n = (int)profile_nprocesses(v->p) + 1;
    v->proc_sel = tv__clampi(v->proc_sel, 0, n - 1);
    switch (key) {
    case TV_KEY_ENTER:
    case ' ':
        /* Thread numbers stay those of the whole profile: a thread of another process would
         * leave nothing to show, so the thread filter goes with a new process. */
        if (v->filter.thread >= 0 && v->proc_sel > 0 &&
            (size_t)v->filter.thread < profile_nthreads(v->p) &&
            profile_threads(v->p)[v->filter.thread].process != (uint32_t)v->proc_sel - 1) {
            v->filter.thread = -1;
            v->th_sel = 0;
        }
        v->filter.process = (uint32_t)v->proc_sel;
        v->dirty = true;
        if (v->proc_sel > 0) {
            char label[128];
            profile_process_label(v->p, (uint32_t)v->proc_sel - 1, label, sizeof label);
            snprintf(v->status, sizeof v->status,
                     "every view shows only %s; a shows all, P or Esc back to the view", label);
        }
        break;
    case 'a':
        v->filter.process = 0;
        v->proc_sel = 0;
        v->dirty = true;
        break;
    case TV_KEY_ESC:
        v->procs_open = false;
        break;
    default:
        break;
    }
}

static void
free_procs(void *state)
{
    struct procs_state *st = state;
    free(st->wt);
    free(st->cnt);
    free(st);
}

const struct tv_view_ops tv__panel_processes = {
    .name = "processes",
    .hotkey = 'P',
    .label = "Procs",
    .title = "Processes",
    .keys = "Enter pick a process  a all  P/Esc close",
    .own_esc = true,
    .refresh = refresh_procs,
    .draw = draw_procs,
    .cursor = cursor_procs,
    .on_key = key_procs,
    .free_state = free_procs,
};
