/*
 * compare.h — two profiles side by side, per function (or line, or file): the comparison
 * behind `mrprof diff` and `mrprof check --baseline`. Rows are matched by name and file
 * strings, not ids, so any two profiles compare (a function's first line may move between
 * versions of the code, so it is not part of a function's key).
 */
#ifndef MRPROF_COMPARE_H
#define MRPROF_COMPARE_H

#include "profiler/aggregate.h"

enum cmp_status { CMP_BOTH, CMP_NEW, CMP_GONE };

struct cmp_side {
    double self_ms, total_ms, self_pct, total_pct;
    uint64_t self_n;
};

struct cmp_row {
    const char *name, *file; /* strings of the profile the row came from */
    int32_t line;
    struct cmp_side base, cur;
    double delta_pts;       /* cur.self_pct - base.self_pct */
    double delta_total_pts; /* cur.total_pct - base.total_pct */
    double z;         /* two-proportion z of the self sample share (positive: grew) */
    enum cmp_status status;
};

struct cmp_table {
    struct cmp_row *rows; /* largest change (self or total, in points) first */
    size_t n;
    double base_ms, cur_ms;   /* weight of all samples considered */
    uint64_t base_n, cur_n;   /* samples considered */
};

/* Returns 0 or -ENOMEM. The rows point into a and b: keep both alive while using t. */
int cmp_compute(const struct profile *a, const struct profile *b, enum agg_by by,
                struct cmp_table *t);
void cmp_free(struct cmp_table *t);

#endif
