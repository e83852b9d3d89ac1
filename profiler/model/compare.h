/*
 * compare.h — two profiles side by side, per function (or line, or file): the comparison
 * behind `mrprof diff` and `mrprof check --baseline`. A row is a function (name, file, first
 * line), a line or a file of each profile; rows of the two profiles are paired by match.h's
 * rule (files relative to the script's root; exact line first, then the rest of one name and
 * file in line order, so a method whose definition moved still pairs).
 */
#ifndef MRPROF_COMPARE_H
#define MRPROF_COMPARE_H

#include "profiler/model/aggregate.h"

enum cmp_status { CMP_BOTH, CMP_NEW, CMP_GONE };

struct cmp_side {
    double self_ms, total_ms, self_pct, total_pct;
    uint64_t self_n;
};

struct cmp_row {
    const char *name, *file; /* strings of the profile the row came from */
    int32_t line;            /* in the new profile (the base's for a gone row) */
    int32_t base_line;       /* in the base (0 for a new row) */
    struct cmp_side base, cur;
    double delta_pts;       /* cur.self_pct - base.self_pct */
    double delta_total_pts; /* cur.total_pct - base.total_pct */
    double z;               /* two-proportion z of the self sample share (positive: grew) */
    enum cmp_status status;
};

struct cmp_table {
    struct cmp_row *rows; /* largest change (self or total, in points) first */
    size_t n;
    double base_ms, cur_ms; /* weight of all samples considered */
    uint64_t base_n, cur_n; /* samples considered */
};

/* Returns 0 or -ENOMEM. The rows point into a and b: keep both alive while using t. */
int cmp_compute(const struct profile *a, const struct profile *b, enum agg_by by,
                struct cmp_table *t);
void cmp_free(struct cmp_table *t);

#endif
