/*
 * stats.c — Mann–Whitney U, Hodges–Lehmann and the two-proportion z test (see stats.h).
 */
#include "profiler/model/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
dbl_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

double
stats_median(const double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    double *s = malloc(n * sizeof *s);
    if (!s)
        return 0.0;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, dbl_cmp);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    free(s);
    return m;
}

/* U of b over a: pairs (i, j) with b[j] > a[i], ties counting one half. */
static double
u_statistic(const double *a, size_t na, const double *b, size_t nb)
{
    double u = 0.0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            u += b[j] > a[i] ? 1.0 : b[j] == a[i] ? 0.5 : 0.0;
    return u;
}

/* dist[u] = number of arrangements of m "a" and n "b" values with U = u (no ties), for
 * u = 0 .. m*n, by the recurrence f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u). Caller frees. */
static double *
u_distribution(size_t m, size_t n)
{
    size_t umax = m * n;
    /* f[i][j][u] computed row by row over i with a table over (j, u). */
    double *prev = calloc((n + 1) * (umax + 1), sizeof *prev);
    double *cur = calloc((n + 1) * (umax + 1), sizeof *cur);
    if (!prev || !cur) {
        free(prev), free(cur);
        return NULL;
    }
#define AT(t, j, u) (t)[(j) * (umax + 1) + (u)]
    for (size_t j = 0; j <= n; j++)
        AT(prev, j, 0) = 1.0; /* i = 0: one arrangement, U = 0 */
    for (size_t i = 1; i <= m; i++) {
        memset(cur, 0, (n + 1) * (umax + 1) * sizeof *cur);
        AT(cur, 0, 0) = 1.0;
        for (size_t j = 1; j <= n; j++)
            for (size_t u = 0; u <= i * j; u++) {
                /* the largest value is an "a" (adds nothing to U of b)... */
                double v = AT(prev, j, u);
                /* ...or a "b" (beats all i values of a) */
                if (u >= i)
                    v += AT(cur, j - 1, u - i);
                AT(cur, j, u) = v;
            }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double *dist = malloc((umax + 1) * sizeof *dist);
    if (dist)
        for (size_t u = 0; u <= umax; u++)
            dist[u] = AT(prev, n, u);
#undef AT
    free(prev), free(cur);
    return dist;
}

double
mwu_p_greater(const double *a, size_t na, const double *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return 1.0;
    double u = u_statistic(a, na, b, nb);
    if (na * nb <= 400) {
        double *dist = u_distribution(na, nb);
        if (dist) {
            double total = 0.0, tail = 0.0;
            size_t umax = na * nb;
            /* P(U >= u); a tie's half point rounds down so the test stays conservative. */
            size_t from = (size_t)floor(u);
            for (size_t k = 0; k <= umax; k++) {
                total += dist[k];
                if (k >= from)
                    tail += dist[k];
            }
            free(dist);
            return total > 0 ? tail / total : 1.0;
        }
    }
    /* Normal approximation with tie correction. */
    size_t n = na + nb;
    double *all = malloc(n * sizeof *all);
    if (!all)
        return 1.0;
    memcpy(all, a, na * sizeof *all);
    memcpy(all + na, b, nb * sizeof *all);
    qsort(all, n, sizeof *all, dbl_cmp);
    double ties = 0.0;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && all[j] == all[i]; j++)
            ;
        double t = (double)(j - i);
        ties += t * t * t - t;
    }
    free(all);
    double mean = (double)na * (double)nb / 2.0;
    double var = (double)na * (double)nb / 12.0 *
                 (((double)n + 1.0) - ties / ((double)n * ((double)n - 1.0)));
    if (var <= 0)
        return 1.0;
    double z = (u - mean - 0.5) / sqrt(var);
    return 0.5 * erfc(z / sqrt(2.0));
}

/* z with P(Z > z) = p for a standard normal Z, by bisection (p in (0, 0.5]). */
static double
normal_upper_quantile(double p)
{
    double lo = 0.0, hi = 40.0;
    for (int i = 0; i < 100; i++) {
        double mid = (lo + hi) / 2.0;
        if (0.5 * erfc(mid / sqrt(2.0)) > p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2.0;
}

int
hodges_lehmann(const double *a, size_t na, const double *b, size_t nb, double level, double *shift,
               double *lo, double *hi)
{
    size_t np = na * nb;
    if (np == 0 || np > 1000000)
        return -1;
    double *d = malloc(np * sizeof *d);
    if (!d)
        return -1;
    for (size_t i = 0, k = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            d[k++] = b[j] - a[i];
    qsort(d, np, sizeof *d, dbl_cmp);
    *shift = np % 2 ? d[np / 2] : (d[np / 2 - 1] + d[np / 2]) / 2.0;
    /* k = the largest count with P(U <= k - 1) <= (1 - level) / 2: the interval is
     * [d(k), d(np - k + 1)] (1-based). */
    double alpha2 = (1.0 - level) / 2.0;
    size_t k = 0;
    double *dist = np <= 400 ? u_distribution(na, nb) : NULL;
    if (dist) {
        double total = 0.0, cum = 0.0;
        for (size_t u = 0; u <= np; u++)
            total += dist[u];
        while (k < np / 2 && (cum + dist[k]) / total <= alpha2)
            cum += dist[k++];
        free(dist);
    } else {
        /* normal approximation of the same order statistic */
        double z = normal_upper_quantile(alpha2);
        double c =
            (double)np / 2.0 - z * sqrt((double)na * (double)nb * (double)(na + nb + 1) / 12.0);
        k = c < 0 ? 0 : (size_t)floor(c);
    }
    if (k == 0) { /* too few runs for this level: the interval is everything observed */
        *lo = d[0];
        *hi = d[np - 1];
    } else {
        *lo = d[k - 1];
        *hi = d[np - k];
    }
    free(d);
    return 0;
}

double
two_prop_z(double x1, double n1, double x2, double n2)
{
    if (n1 <= 0 || n2 <= 0)
        return 0.0;
    double p = (x1 + x2) / (n1 + n2);
    double se = sqrt(p * (1.0 - p) * (1.0 / n1 + 1.0 / n2));
    return se > 0 ? (x2 / n2 - x1 / n1) / se : 0.0;
}
