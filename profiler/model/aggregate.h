/*
 * aggregate.h — aggregations over the profile model, shared by report, diff, check and the TUI.
 *
 * Weights: every sum is of sample weights (CPU ns in cpu mode, wall ns in wall mode) and of
 * sample counts. "total" counts a sample once per group even when the group appears several
 * times on its stack (recursion).
 *
 * Ownership: agg_compute() and agg_tree_build() fill caller-provided structs whose arrays the
 * caller releases with agg_free() / agg_tree_free().
 */
#ifndef MRPROF_AGGREGATE_H
#define MRPROF_AGGREGATE_H

#include "profiler/model/profile.h"

enum agg_by { AGG_FUNCTION = 0, AGG_LINE = 1, AGG_FILE = 2 };

/* By function, a row is one function as DevTools and speedscope key it: (name, file, first
 * line); two blocks in one method, or same-named methods of a worker and the main thread, are
 * two rows, each with its own line. By line, a row is (file, current line); by file, a file. */
struct agg_row {
    uint32_t name, file; /* string ids (name is 0 when grouping by file) */
    int32_t line;        /* function's first line (by function), the line (by line), 0 (by file) */
    uint64_t self_w, total_w, self_n, total_n;
};

struct agg_table {
    struct agg_row *rows; /* sorted by self weight, descending */
    size_t n;
    uint64_t total_w, total_n; /* of all samples considered */
};

/* Which samples an aggregation considers: one thread (or -1 for all), a time range of sample
 * timestamps [from_ns, to_ns) (to_ns == 0: no upper bound), and with hide_idle not the samples
 * whose leaf is (idle) (`report --hide-idle`, the viewer's key i: shares are then of the rest).
 * process is 0 for every process, k + 1 for process k only (profile.h: the threads of a
 * cluster's primary and workers; the viewer's processes panel): 0 when zeroed, so a filter
 * written `{.thread = t}` keeps every process. */
struct agg_filter {
    int thread;
    uint64_t from_ns, to_ns;
    bool hide_idle;
    uint32_t process;
};

static inline bool
agg_keep(const struct agg_filter *f, const struct prof_sample *s)
{
    return (f->thread < 0 || s->thread == (uint32_t)f->thread) && s->t_ns >= f->from_ns &&
           (f->to_ns == 0 || s->t_ns < f->to_ns);
}

/* Whether s is of the process f->process names (always, when it names none). */
static inline bool
agg_keep_process(const struct profile *p, const struct agg_filter *f, const struct prof_sample *s)
{
    return !f->process || (s->thread < profile_nthreads(p) &&
                           profile_threads(p)[s->thread].process == f->process - 1);
}

/* agg_keep, of f's process, and not an (idle) sample when f->hide_idle. */
static inline bool
agg_keep_p(const struct profile *p, const struct agg_filter *f, const struct prof_sample *s)
{
    return agg_keep(f, s) && agg_keep_process(p, f, s) &&
           !(f->hide_idle && s->node < profile_nnodes(p) &&
             profile_nodes(p)[s->node].frame == p->f_idle);
}

/* The weight and count of the (idle) samples f would keep if it did not hide them. */
void agg_idle(const struct profile *p, const struct agg_filter *f, uint64_t *w, uint64_t *n);

/* thread -1 = all threads. Returns 0 or -ENOMEM. */
int agg_compute(const struct profile *p, int thread, enum agg_by by, struct agg_table *out);
int agg_compute_f(const struct profile *p, const struct agg_filter *f, enum agg_by by,
                  struct agg_table *out);
void agg_free(struct agg_table *t);
/* Re-sorts rows by total weight (descending). */
void agg_sort_by_total(struct agg_table *t);

struct agg_tree {
    size_t nn;
    uint64_t *self_w, *total_w;
    uint64_t *self_n, *total_n;
    uint32_t *child_start, *child_list; /* children of node i: child_list[child_start[i] ..
                                           child_start[i+1]), sorted by total weight */
    uint64_t all_w, all_n;              /* of all samples considered */
};

int agg_tree_build(const struct profile *p, int thread, struct agg_tree *t);
int agg_tree_build_f(const struct profile *p, const struct agg_filter *f, struct agg_tree *t);
void agg_tree_free(struct agg_tree *t);

/* An allocation site: the first Ruby frame up the stack (code) and the frame that allocated
 * (leaf, often a C method such as String#*), with what was allocated there. */
struct agg_site {
    uint32_t code, leaf; /* frame ids; equal when a Ruby frame allocated itself */
    double allocated, live, count;
};

/* The sites of the per-node amounts in alloc[] (live[] and count[] may be NULL), one row per
 * (code, leaf), sorted by allocated bytes, largest first. *out is malloc'd (the caller frees
 * it); returns the number of rows, or 0 with *out NULL when out of memory. The memory view of
 * the TUI and MemoryProfile#top both list these. */
size_t agg_sites(const struct profile *p, const double *alloc, const double *live,
                 const double *count, struct agg_site **out);

#endif
