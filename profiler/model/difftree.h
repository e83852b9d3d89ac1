/*
 * difftree.h — two profiles' call trees laid over each other: the diff call tree behind
 * `mrprof diff` (its tree and its -o file) and `mrprof view --diff`.
 *
 * Both stack tries are merged into one, functions paired by match.h's rule (files relative to
 * the script's root; the same (name, file, line), then the rest of one name and file in line
 * order: a function whose first line moved between versions still pairs, two blocks of one
 * method stay two). A paired function is one frame of the merged profile, named as in NEW. The
 * merged profile carries the NEW profile's threads and samples, so every view of it is a view of
 * NEW; the base profile is kept as a self weight per merged node. The base is scaled to NEW's total
 * when normalised (the default: runs of different lengths compare, the changes add up to zero) and
 * taken as is when absolute.
 *
 * Ownership: diff_build() fills a caller-provided struct released with diff_free(); the merged
 * profile belongs to it.
 */
#ifndef MRPROF_DIFFTREE_H
#define MRPROF_DIFFTREE_H

#include <stdbool.h>
#include <stdio.h>

#include "profiler/model/profile.h"

struct diff_tree {
    struct profile *u;              /* merged frames and trie; NEW's threads and samples */
    size_t nn;                      /* nodes of u */
    double *base_self, *cur_self;   /* [node] ns (base scaled by `scale`) */
    double *base_total, *cur_total; /* [node] ns, the node and everything under it */
    double base_all, cur_all;       /* ns of all samples (base scaled) */
    double scale;                   /* factor applied to the base's weights */
    double base_raw_all;            /* ns of all the base's samples, unscaled */
    double *base_ftotal;            /* [frame of u] the base's inclusive ns per function (a
                                       recursive function counted once per stack) */
    struct mp_hash frames;          /* u's first frame of each function (name, file, line) */
};

/* Returns 0, -ENOMEM, or -EINVAL when the profiles cannot be compared (a heap profile against a
 * CPU one). */
int diff_build(const struct profile *base, const struct profile *cur, bool normalise,
               struct diff_tree *d);
void diff_free(struct diff_tree *d);

/* The change of node's inclusive time in points of NEW's total (positive: grew). */
double diff_delta_pts(const struct diff_tree *d, uint32_t node);

/* The base's inclusive share (% of the base total) of the function (name, file, line) — string
 * ids of d->u, as in an aggregation row of u — or NAN when the base never ran it. */
double diff_base_function_pct(const struct diff_tree *d, uint32_t name, uint32_t file,
                              int32_t line);

/* The children of every merged node in CSR form (see profile_children): node i's children are
 * list[start[i] .. start[i + 1]). 0 or -ENOMEM; the caller frees both arrays. */
int diff_children(const struct diff_tree *d, uint32_t **start, uint32_t **list);

/* A profile of the change, for tools that draw flame graphs: thread 0 "grew" holds, per merged
 * node, the self time NEW has beyond the base, thread 1 "shrank" the time the base had beyond
 * NEW, laid out as consecutive samples. NULL when out of memory; the caller frees it. */
struct profile *diff_change_profile(const struct diff_tree *d);

#endif
