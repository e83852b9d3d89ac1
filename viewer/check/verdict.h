/*
 * verdict.h — the verdicts of `mrprof check` and the two engines that make them (docs/ci.md
 * explains the statistics):
 *   compare_profiles  two profiles (--baseline BASE NEW): each function's total (inclusive)
 *                     share, failed when it grew by more than the threshold AND far beyond
 *                     sampling noise (two-proportion z > 3).
 *   compare_runs      two run sets (--runs: --against, or a stored baseline): total CPU time and
 *                     each function worth 1 % or more measured against the rest of its run,
 *                     one-sided Mann-Whitney U tests with Holm's correction, plus the threshold
 *                     on the median change, with the Hodges-Lehmann 95 % interval.
 * Budgets add their verdicts too (budget.h). Functions meet through profiler/model/match.h only.
 *
 * Ownership: struct verdicts owns its array (free(vs.v)); verdicts hold copies of names.
 */
#ifndef MRPROF_CHECK_VERDICT_H
#define MRPROF_CHECK_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "profiler/model/profile.h"
#include "viewer/check/baseline.h"

struct verdict {
    char name[300];
    char where[200];    /* the function's file:line, added to the name when two share a name */
    char file[256];     /* the function's file in the new profile ("" for totals, budgets) */
    int32_t line;       /* its first line there (0 unknown) */
    bool file_rel_root; /* file is relative to the script's directory (runs), else as recorded */
    double base, cur;   /* shares in % (profiles) or median ms (runs) */
    double change;      /* relative change, % */
    double lo, hi;      /* 95 % interval of the change, % (NAN when not computed) */
    double stat;        /* z (profiles) or p (runs) */
    bool judged;        /* a test case (false: shown only) */
    bool failed;
    char why[200];
};

struct verdicts {
    struct verdict *v;
    size_t n, cap;
    bool runs; /* units: ms medians and p-values */
};

/* A new zeroed verdict at the end of vs (lo, hi NAN), or NULL when out of memory. */
struct verdict *add_verdict(struct verdicts *vs);

/* Form 1: the functions of b against a (threshold: the smallest relative change that counts,
 * in %). Returns 0 or -ENOMEM. */
int compare_profiles(double threshold, const struct profile *a, const struct profile *b,
                     struct verdicts *vs);
/* Form 2: the run set cur against base (alpha: the significance level of the tests). Sets
 * vs->runs. Returns 0 or -ENOMEM. */
int compare_runs(double threshold, double alpha, const struct run_set *base,
                 const struct run_set *cur, struct verdicts *vs);

/* Functions that share a name get their location added to it. */
void name_apart(struct verdicts *vs);
/* qsort order of verdicts: failures first, then the largest relative change first. */
int by_verdict(const void *x, const void *y);

#endif
