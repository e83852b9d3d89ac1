/*
 * report.c — the text report: header, top table, call tree. A function over the model.
 */
#include "viewer/text/report.h"

#include <errno.h>
#include <string.h>

const char *
report_location(const struct profile *p, uint32_t file, int32_t line, char *buf, size_t len)
{
    return report_location_str(profile_str(p, file), line, buf, len);
}

const char *
report_location_str(const char *f, int32_t line, char *buf, size_t len)
{
    if (!*f)
        snprintf(buf, len, "%s", "");
    else if (line > 0)
        snprintf(buf, len, "%s:%d", f, line);
    else
        snprintf(buf, len, "%s", f);
    return buf;
}

static double
pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* What a sample weighs: ns of time shown as ms, or bytes (heap profiles) shown as KiB. */
struct unit {
    const char *label, *tsv, *what;
    double div;
};

static struct unit
unit_of(const struct profile *p)
{
    static const struct unit heap = {"KiB", "kib", "allocated", 1024.0};
    static const struct unit time = {"ms", "ms", "time", 1e6};
    return p->meta.mode == PROFILE_HEAP ? heap : time;
}

static double
in_unit(const struct unit *u, uint64_t w)
{
    return (double)w / u->div;
}

static void
print_header(FILE *out, const struct profile *p, const char *title, const struct report_opts *o,
             uint64_t all_w, uint64_t all_n)
{
    const struct profile_meta *m = &p->meta;
    double secs = (double)profile_duration_ns(p) / 1e9;
    fprintf(out, "Profile: %s\n", title);
    static const char *modes[] = {"cpu", "wall", "heap"};
    fprintf(out, "  tool %s, %s mode", m->tool[0] ? m->tool : "unknown",
            modes[m->mode >= 0 && m->mode <= PROFILE_HEAP ? m->mode : PROFILE_WALL]);
    if (m->mode == PROFILE_HEAP) {
        fprintf(out, "\n  %zu allocation samples", profile_nsamples(p));
        if (m->heap.interval)
            fprintf(out, ", one per %llu bytes allocated on average",
                    (unsigned long long)m->heap.interval);
        if (m->heap.alloc_count)
            fprintf(out, "\n  counted while profiling: %.1f KiB allocated in %llu allocations",
                    (double)m->heap.alloc_bytes / 1024.0, (unsigned long long)m->heap.alloc_count);
        goto threads;
    }
    if (m->hz)
        fprintf(out, ", %u Hz requested", m->hz);
    double nthreads = profile_nthreads(p) ? (double)profile_nthreads(p) : 1.0;
    fprintf(out, "\n  duration %.3f s, %zu samples", secs, profile_nsamples(p));
    if (secs > 0)
        fprintf(out, ", %.0f Hz achieved per thread",
                (double)profile_nsamples(p) / secs / nthreads);
    /* Of the samples this file holds: the session's signal count covers every thread it
     * sampled, and a one-thread file of a run with workers would read several times 100 %. */
    if (m->hz && secs > 0)
        fprintf(out, " (%.1f%% of requested)",
                100.0 * (double)profile_nsamples(p) / (secs * m->hz * nthreads));
    fprintf(out, "\n  dropped %llu, truncated stacks %llu", (unsigned long long)m->dropped,
            (unsigned long long)m->truncated);
threads:
    if (profile_nprocesses(p) > 1) { /* a cluster: its processes, each with its threads */
        fprintf(out, "\n  processes %zu:", profile_nprocesses(p));
        for (uint32_t k = 0; k < profile_nprocesses(p); k++) {
            char label[160];
            profile_process_label(p, k, label, sizeof label);
            fprintf(out, "%s %s, threads", k ? ";" : "", label);
            for (size_t t = 0; t < profile_nthreads(p); t++)
                if (profile_threads(p)[t].process == k)
                    fprintf(out, " [%zu]", t);
        }
    }
    fprintf(out, "\n  threads %zu:", profile_nthreads(p));
    for (size_t t = 0; t < profile_nthreads(p); t++)
        fprintf(out, " [%zu] %s", t, profile_str(p, profile_threads(p)[t].name));
    struct unit u = unit_of(p);
    fprintf(out, "\n  %s %s in this report: %.1f %s over %llu samples%s\n",
            m->mode == PROFILE_CPU    ? "CPU"
            : m->mode == PROFILE_HEAP ? "memory"
                                      : "wall",
            u.what, in_unit(&u, all_w), u.label, (unsigned long long)all_n,
            o->thread >= 0 ? " (one thread)" : "");
    if (o->hide_idle) {
        struct agg_filter f = {.thread = o->thread};
        uint64_t idle_w, idle_n;
        agg_idle(p, &f, &idle_w, &idle_n);
        fprintf(out,
                "  idle hidden: %.1f %s of (idle) over %llu samples left out; shares are of "
                "the rest\n",
                in_unit(&u, idle_w), u.label, (unsigned long long)idle_n);
    }
}

static void
print_tree(FILE *out, const struct profile *p, const struct agg_tree *t, uint32_t node, int depth,
           double min_pct)
{
    const struct prof_frame *f = &profile_frames(p)[profile_nodes(p)[node].frame];
    char loc[512];
    if (node != 0) {
        fprintf(out, "%6.1f%% %6.1f%%  %*s%s", pct(t->total_w[node], t->all_w),
                pct(t->self_w[node], t->all_w), depth * 2, "", profile_str(p, f->name));
        report_location(p, f->file, f->line, loc, sizeof loc);
        if (*loc)
            fprintf(out, "  %s", loc);
        putc('\n', out);
    }
    if (depth > 60)
        return;
    for (uint32_t c = t->child_start[node]; c < t->child_start[node + 1]; c++) {
        uint32_t ch = t->child_list[c];
        if (pct(t->total_w[ch], t->all_w) < min_pct)
            continue;
        print_tree(out, p, t, ch, node == 0 ? 0 : depth + 1, min_pct);
    }
}

static const char *
row_name(const struct profile *p, const struct report_opts *o, const struct agg_row *r)
{
    if (o->by == AGG_FILE) {
        const char *f = r->name ? profile_str(p, r->name) : profile_str(p, r->file);
        return *f ? f : "(no source file: C methods, idle, GC)";
    }
    return profile_str(p, r->name);
}

/* A TSV field: tabs and line breaks inside names become spaces so every row stays one row. */
static void
put_field(FILE *out, const char *s)
{
    for (; *s; s++)
        putc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, out);
}

/* One header line, then one line per row: self%, total%, self ms, total ms, samples, name,
 * location. */
static void
print_tsv(FILE *out, const struct profile *p, const struct report_opts *o,
          const struct agg_table *t, const char *key)
{
    char loc[512];
    struct unit u = unit_of(p);
    fprintf(out, "self_pct\ttotal_pct\tself_%s\ttotal_%s\tself_samples\t%s\tlocation\n", u.tsv,
            u.tsv, key);
    for (size_t i = 0; i < t->n && (o->top == 0 || (int)i < o->top); i++) {
        const struct agg_row *r = &t->rows[i];
        report_location(p, o->by == AGG_FILE ? 0 : r->file, r->line, loc, sizeof loc);
        fprintf(out, "%.2f\t%.2f\t%.3f\t%.3f\t%llu\t", pct(r->self_w, t->total_w),
                pct(r->total_w, t->total_w), in_unit(&u, r->self_w), in_unit(&u, r->total_w),
                (unsigned long long)r->self_n);
        put_field(out, row_name(p, o, r));
        putc('\t', out);
        put_field(out, loc);
        putc('\n', out);
    }
}

int
report_print(FILE *out, const struct profile *p, const char *title, const struct report_opts *o)
{
    struct agg_table t;
    struct agg_filter f = {.thread = o->thread, .hide_idle = o->hide_idle};
    if (agg_compute_f(p, &f, o->by, &t) != 0)
        return -ENOMEM;
    static const char *by_name[] = {"function", "line", "file"};
    if (o->tsv) {
        print_tsv(out, p, o, &t, by_name[o->by]);
        agg_free(&t);
        return 0;
    }
    print_header(out, p, title, o, t.total_w, t.total_n);
    struct unit u = unit_of(p);
    fprintf(out, "\nTop %s by self %s:\n", by_name[o->by],
            p->meta.mode == PROFILE_HEAP ? "memory" : "time");
    fprintf(out, "  %8s  self%%  %9s total%%  %-40s %s\n",
            p->meta.mode == PROFILE_HEAP ? "self KiB" : "self ms",
            p->meta.mode == PROFILE_HEAP ? "total KiB" : "total ms", by_name[o->by], "location");
    char loc[512];
    for (size_t i = 0; i < t.n && (o->top == 0 || (int)i < o->top); i++) {
        const struct agg_row *r = &t.rows[i];
        const char *name = row_name(p, o, r);
        report_location(p, o->by == AGG_FILE ? 0 : r->file, r->line, loc, sizeof loc);
        fprintf(out, "%10.1f %5.1f%% %10.1f %5.1f%%  %-40s %s\n", in_unit(&u, r->self_w),
                pct(r->self_w, t.total_w), in_unit(&u, r->total_w), pct(r->total_w, t.total_w),
                name, loc);
    }
    if (t.n == 0)
        fprintf(out, "  (no samples)\n");
    agg_free(&t);
    if (o->tree) {
        struct agg_tree tree;
        if (agg_tree_build_f(p, &f, &tree) != 0)
            return -ENOMEM;
        fprintf(out, "\nCall tree (total%%, self%%; nodes under %.1f%% hidden):\n", o->min_pct);
        print_tree(out, p, &tree, 0, 0, o->min_pct);
        agg_tree_free(&tree);
    }
    return 0;
}
