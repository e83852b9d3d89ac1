/*
 * view_memory.c — the memory view: the memory counters over the run as sparklines (RSS, bytes
 * in use, allocated, live objects, GC cycles), then the allocation sites by bytes.
 *
 * The counters' columns are derived by refresh when the profile or the width changed, the
 * sites when the profile changed; drawing only paints them.
 */
#include "viewer/tui/tv_view.h"

#include <errno.h>
#include <stdlib.h>

/* The counters drawn, in this order, and how their values read. */
static const struct {
    const char *name, *label;
    int unit; /* U_COUNT, U_BYTES, U_MS */
} memory_counters[] = {
    {"RSS bytes", "RSS", true},
    {"in-use bytes (sampled)", "in use (sampled)", true},
    {"allocated bytes", "allocated", true},
    {"live objects", "live objects", false},
    {"GC cycles", "GC cycles", false},
    /* The loop-health counters (runtime/loophealth.c), one reading per second. */
    {"loop lag max ms", "loop lag max", 2},
    {"loop lag p99 ms", "loop lag p99", 2},
    {"loop lag p50 ms", "loop lag p50", 2},
    {"callbacks/s", "callbacks/s", false},
    {"longest callback ms", "longest callback", 2},
};

static void
human(char *buf, size_t len, double v, int unit)
{
    bool bytes = unit == 1;
    if (unit == 2) { /* milliseconds */
        snprintf(buf, len,
                 v < 10     ? "%.2fms"
                 : v < 1000 ? "%.0fms"
                            : "%.1fs",
                 v < 1000 ? v : v / 1000);
        return;
    }
    static const char *units[] = {"", "K", "M", "G", "T"};
    int u = 0;
    double div = bytes ? 1024.0 : 1000.0;
    while (v >= div * 10 && u < 4)
        v /= div, u++;
    snprintf(buf, len, "%.0f%s%s", v, units[u], bytes ? "B" : "");
}

#define NCOUNTERS (sizeof memory_counters / sizeof *memory_counters)
#define COUNTER_X 35 /* the sparklines' first column: label 1..16, last 18..24, peak 26..32 */

/* One counter over the run's time: each column's highest reading, the last and the peak. */
struct counter_line {
    bool shown; /* the file has readings of it, and the sparkline has room */
    double *col, last, peak;
};

struct memory_state {
    struct tv_stamp counters_stamp, sites_stamp;
    struct counter_line counter[NCOUNTERS];
    bool sites_ok;          /* false: out of memory */
    struct agg_site *sites; /* by bytes, largest first */
    size_t nsites;
    double all; /* bytes of every site */
};

/* The readings of string id name, found in one pass over the counters, in cols columns. */
static void
bucket_counter(const struct tv *v, struct counter_line *line, uint32_t name, int cols)
{
    const struct profile *p = v->p;
    free(line->col);
    *line = (struct counter_line){0};
    if (name == UINT32_MAX || cols < 4)
        return;
    double *col = calloc((size_t)cols, sizeof *col), last = 0, peak = 0;
    if (!col)
        return;
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
        return;
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
    *line = (struct counter_line){true, col, last, peak};
}

/* Allocation sites: a memory profile's samples (bytes), or a CPU profile's allocations,
 * summed per node first. */
static void
find_sites(const struct tv *v, struct memory_state *st)
{
    const struct profile *p = v->p;
    free(st->sites);
    st->sites = NULL;
    st->nsites = 0;
    st->all = 0;
    size_t nn = profile_nnodes(p);
    double *alloc = calloc(nn ? nn : 1, sizeof *alloc), *live = calloc(nn ? nn : 1, sizeof *live),
           all = 0;
    st->sites_ok = alloc && live;
    if (!alloc || !live) {
        free(alloc), free(live);
        return;
    }
    if (tv__is_heap(v)) {
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
    st->nsites = agg_sites(p, alloc, live, NULL, &st->sites);
    st->all = all;
    free(alloc), free(live);
}

static int
refresh_memory(struct tv *v, int w, int rows)
{
    (void)rows;
    struct memory_state *st = tv__state(v, TV_MEMORY, sizeof *st);
    if (!st)
        return -ENOMEM;
    if (tv__stale(&st->counters_stamp, v, w, -1))
        for (size_t i = 0; i < NCOUNTERS; i++)
            bucket_counter(v, &st->counter[i], profile_find_str(v->p, memory_counters[i].name),
                           w - COUNTER_X - 1);
    if (tv__stale(&st->sites_stamp, v, -1, -1))
        find_sites(v, st);
    return 0;
}

/* One counter as a sparkline over the run's time, with its last value and its peak. */
static void
draw_counter(const struct tv *v, struct tv_grid *g, int y, const struct counter_line *line,
             const char *label, int unit)
{
    int x0 = COUNTER_X, cols = g->w - x0 - 1;
    const double *col = line->col, last = line->last, peak = line->peak;
    char lv[24], pv[24];
    human(lv, sizeof lv, last, unit);
    human(pv, sizeof pv, peak, unit);
    tv__textf(g, 1, y, x0 - 1, 0, "%-16.16s %7s %7s", label, lv, pv);
    static const uint32_t blocks[] = {0x2581, 0x2582, 0x2583, 0x2584,
                                      0x2585, 0x2586, 0x2587, 0x2588};
    static const char ascii[] = "_.:-=+*#";
    double held = 0; /* a column with no reading repeats the one before */
    for (int c = 0; c < cols; c++) {
        held = col[c] > 0 ? col[c] : held;
        int level = peak > 0 ? (int)(held * 7.999 / peak) : 0;
        tv__put(g, x0 + c, y, v->utf8 ? blocks[level] : (uint32_t)ascii[level],
                TV_ATTR(0, TV_C_SPARK));
    }
}

static void
draw_memory(const struct tv *v, struct tv_grid *g, int y0, int rows, struct tv_layout *lay)
{
    (void)lay;
    const struct memory_state *st = v->view_state[TV_MEMORY];
    if (!st)
        return;
    int y = y0;
    uint16_t head = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    tv__fill(g, 0, y, g->w, ' ', head);
    tv__textf(g, 0, y++, g->w, head, " %-16s %7s %7s  %s", "COUNTER", "LAST", "PEAK",
              "OVER THE RUN");
    int drawn = 0;
    for (size_t i = 0; i < NCOUNTERS && y < y0 + rows; i++)
        if (st->counter[i].shown) {
            draw_counter(v, g, y, &st->counter[i], memory_counters[i].label,
                         memory_counters[i].unit);
            y++, drawn++;
        }
    if (!drawn)
        tv__text(g, 1, y++, g->w - 1,
                 v->live ? "no memory counters yet"
                         : "no memory counters in this file (a trace holds them: mrprof record "
                           "--memory -f trace)",
                 TV_ATTR(TV_DIM, 0));
    y++;
    if (!st->sites_ok || y >= y0 + rows)
        return;
    const struct agg_site *sites = st->sites;
    size_t n = st->nsites;
    double all = st->all;
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    tv__fill(g, 0, y, g->w, ' ', hdr);
    tv__textf(g, 0, y++, g->w, hdr, " %10s %6s %10s  %s", tv__is_heap(v) ? "BYTES" : "ALLOCATED",
              "SHARE", tv__is_heap(v) ? "" : "NOT FREED",
              "ALLOCATION SITE (Ruby code, and what allocated)");
    if (!n) {
        tv__text(g, 1, y, g->w - 1,
                 v->live ? "no allocation samples yet"
                         : "no allocation samples in this file (record --memory and mrun "
                           "--heap-prof write them "
                           "to a .heapprofile: open that)",
                 TV_ATTR(TV_DIM, 0));
        return;
    }
    for (size_t i = 0; i < n && y < y0 + rows; i++, y++) {
        char a[24], l[24] = "", site[300];
        human(a, sizeof a, sites[i].allocated, true);
        if (!tv__is_heap(v))
            human(l, sizeof l, sites[i].live, true);
        if (sites[i].code == sites[i].leaf)
            snprintf(site, sizeof site, "%s", tv__frame_name(v, sites[i].code));
        else
            snprintf(site, sizeof site, "%s (%s)", tv__frame_name(v, sites[i].code),
                     tv__frame_name(v, sites[i].leaf));
        int x = tv__textf(g, 0, y, g->w, 0, " %10s %5.1f%% %10s  ", a,
                          all > 0 ? 100.0 * sites[i].allocated / all : 0.0, l);
        char loc[256];
        tv__frame_location(v, sites[i].code, loc, sizeof loc);
        x += tv__text(g, x, y, g->w - x, site,
                      tv_frame_matches(v, sites[i].code) ? TV_ATTR(TV_BOLD, TV_C_MATCH) : 0);
        if (*loc && x + 2 < g->w)
            tv__text_tail(g, x + 2, y, g->w - x - 2, loc, v->utf8, TV_ATTR(TV_DIM, 0));
    }
}

static void
free_memory(void *state)
{
    struct memory_state *st = state;
    for (size_t i = 0; i < NCOUNTERS; i++)
        free(st->counter[i].col);
    free(st->sites);
    free(st);
}

const struct tv_view_ops tv__view_memory = {
    .name = "memory",
    .hotkey = '6',
    .label = "Memory",
    .title = "Memory",
    .keys = "memory counters over the run and the top allocation sites",
    .refresh = refresh_memory,
    .draw = draw_memory,
    .free_state = free_memory,
};
