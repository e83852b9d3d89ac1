/*
 * stats.h — the statistics behind `mrprof check`: distribution-free tests on small samples of
 * run measurements (Mann–Whitney U, Hodges–Lehmann shift with its confidence interval) and the
 * two-proportion z test for shares of samples within two profiles.
 */
#ifndef MRPROF_STATS_H
#define MRPROF_STATS_H

#include <stddef.h>

/* One-sided Mann–Whitney U test of "b tends to be larger than a": the p-value. Exact (by
 * counting arrangements) up to 400 pairs, the normal approximation with continuity and tie
 * correction beyond. 1.0 when either side is empty. */
double mwu_p_greater(const double *a, size_t na, const double *b, size_t nb);

/* Hodges–Lehmann estimate of the shift b - a (median of all pairwise differences) and its
 * distribution-free confidence interval at the given level (e.g. 0.95), from the order
 * statistics of the pairwise differences. Returns 0, or -1 when a side is empty or too large
 * (over 1 000 000 pairs). */
int hodges_lehmann(const double *a, size_t na, const double *b, size_t nb, double level,
                   double *shift, double *lo, double *hi);

/* z of the difference of two proportions x1/n1 -> x2/n2 (pooled standard error); 0 when
 * undefined. Positive when the second is larger. */
double two_prop_z(double x1, double n1, double x2, double n2);

double stats_median(const double *v, size_t n);

#endif
