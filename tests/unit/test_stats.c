/*
 * test_stats.c — viewer/stats.c: Mann–Whitney U, Hodges–Lehmann, two-proportion z.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "profiler/model/stats.h"

Test(stats, mwu_exact_p_of_complete_separation)
{
    /* b above a everywhere: U = 9 of 9; P = 1 / C(6, 3) = 0.05 */
    double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    cr_assert_float_eq(mwu_p_greater(a, 3, b, 3), 0.05, 1e-12);
    /* the other way round: every arrangement has U >= 0 */
    cr_assert_float_eq(mwu_p_greater(b, 3, a, 3), 1.0, 1e-12);
    /* 10 against 10: 1 / C(20, 10) */
    double x[10], y[10];
    for (int i = 0; i < 10; i++)
        x[i] = i, y[i] = 100 + i;
    cr_assert_float_eq(mwu_p_greater(x, 10, y, 10), 1.0 / 184756.0, 1e-15);
}

Test(stats, mwu_identical_samples_are_not_significant)
{
    double a[] = {10, 12, 11, 13, 9, 10.5, 11.5, 12.5}, b[] = {11, 10, 12, 13, 9.5, 10.5, 12, 11};
    cr_assert_gt(mwu_p_greater(a, 8, b, 8), 0.2);
}

Test(stats, mwu_normal_approximation_agrees_with_exact_on_large_samples)
{
    double a[30], b[30];
    for (int i = 0; i < 30; i++)
        a[i] = i, b[i] = i + 5;             /* a shift of 5 on 0..29 */
    double p = mwu_p_greater(a, 30, b, 30); /* 900 pairs: normal approximation */
    cr_assert(p > 0.01 && p < 0.2, "p = %g", p);
}

Test(stats, hodges_lehmann_shift_and_interval)
{
    double a[] = {10, 11, 12, 13, 14, 15, 16, 17}, b[] = {20, 21, 22, 23, 24, 25, 26, 27};
    double s, lo, hi;
    cr_assert_eq(hodges_lehmann(a, 8, b, 8, 0.95, &s, &lo, &hi), 0);
    cr_assert_float_eq(s, 10.0, 1e-12);
    cr_assert(lo <= 10 && hi >= 10 && lo > 5 && hi < 15, "[%g, %g]", lo, hi);
    cr_assert_eq(hodges_lehmann(a, 0, b, 8, 0.95, &s, &lo, &hi), -1);
}

Test(stats, two_proportion_z)
{
    cr_assert_float_eq(two_prop_z(50, 100, 50, 100), 0.0, 1e-12);
    cr_assert_gt(two_prop_z(5000, 10000, 6000, 11000), 3.0); /* 50 % -> 54.5 % on 10 000 samples */
    cr_assert_lt(two_prop_z(5, 10, 6, 11), 1.0);             /* the same on 10 samples: noise */
    cr_assert_float_eq(two_prop_z(1, 0, 1, 10), 0.0, 1e-12);
}

Test(stats, median)
{
    double v[] = {5, 1, 3}, w[] = {4, 1, 3, 2};
    cr_assert_float_eq(stats_median(v, 3), 3.0, 1e-12);
    cr_assert_float_eq(stats_median(w, 4), 2.5, 1e-12);
}
