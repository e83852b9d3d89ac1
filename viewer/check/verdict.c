/*
 * verdict.c — the two verdict engines of `mrprof check` (see verdict.h): two profiles judged by
 * a z test on their samples, and two run sets judged by Mann-Whitney U tests under Holm's
 * correction. Failures are listed largest relative change first (by_verdict), which names the
 * method that got slower before its callers (whose change is diluted by their other work).
 */
#include "viewer/check/verdict.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/model/compare.h"
#include "profiler/model/match.h"
#include "profiler/model/stats.h"
#include "viewer/text/report.h"

struct verdict *
add_verdict(struct verdicts *vs)
{
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 32;
        struct verdict *v = realloc(vs->v, cap * sizeof *v);
        if (!v)
            return NULL;
        vs->v = v;
        vs->cap = cap;
    }
    struct verdict *r = &vs->v[vs->n++];
    memset(r, 0, sizeof *r);
    r->lo = r->hi = NAN;
    return r;
}

/* --- form 1: two profiles ------------------------------------------------------------------- */

#define Z_NOISE 3.0   /* two-proportion z beyond which a change is not sampling noise */
#define MIN_SHARE 0.5 /* % of the time under which a function is shown, not judged */

int
compare_profiles(double threshold, const struct profile *a, const struct profile *b,
                 struct verdicts *vs)
{
    struct cmp_table t;
    if (cmp_compute(a, b, AGG_FUNCTION, &t) != 0)
        return -ENOMEM;
    struct verdict *tot = add_verdict(vs);
    if (tot) {
        snprintf(tot->name, sizeof tot->name, "total CPU time");
        tot->base = t.base_ms, tot->cur = t.cur_ms;
        tot->change = t.base_ms > 0 ? 100.0 * (t.cur_ms / t.base_ms - 1.0) : NAN;
        tot->judged = true; /* a test case, but one profile per side cannot judge time: */
        snprintf(tot->why, sizeof tot->why,
                 "%.1f ms -> %.1f ms; not judged from one profile per side (use --runs)", t.base_ms,
                 t.cur_ms);
    }
    for (size_t i = 0; i < t.n; i++) {
        const struct cmp_row *r = &t.rows[i];
        double pb = r->base.total_pct, pc = r->cur.total_pct;
        if ((pb < MIN_SHARE && pc < MIN_SHARE) || (pb >= 99.95 && pc >= 99.95))
            continue; /* too small to judge, or a root that is always all of the time */
        struct verdict *v = add_verdict(vs);
        if (!v)
            break;
        snprintf(v->name, sizeof v->name, "%s", r->name);
        report_location_str(r->file, r->line, v->where, sizeof v->where);
        snprintf(v->file, sizeof v->file, "%s", r->file);
        v->line = r->line;
        v->base = pb;
        v->cur = pc;
        v->change = r->status == CMP_NEW ? INFINITY : 100.0 * (pc / pb - 1.0);
        v->stat = two_prop_z(pb / 100.0 * (double)t.base_n, (double)t.base_n,
                             pc / 100.0 * (double)t.cur_n, (double)t.cur_n);
        v->judged = true;
        bool grew = r->status == CMP_NEW ? pc >= 1.0 : v->change > threshold;
        v->failed = grew && v->stat > Z_NOISE;
        if (r->status == CMP_NEW)
            snprintf(v->why, sizeof v->why, "new: %.1f%% of the time (z %.1f)", pc, v->stat);
        else
            snprintf(v->why, sizeof v->why, "share %.1f%% -> %.1f%% (%+.1f%%, z %.1f)", pb, pc,
                     v->change, v->stat);
    }
    cmp_free(&t);
    return 0;
}

/* --- form 2: runs --------------------------------------------------------------------------- */

static void
series(const struct run_set *r, long k, double *out)
{
    for (size_t i = 0; i < r->nruns; i++)
        out[i] = k < 0 ? 0.0 : r->ms[(size_t)k * r->nruns + i];
}

/* Fills v from two series of run times. With norm_a and norm_b (the same runs measured against
 * the rest of each run, see normalised_series) the change, its interval and the p-value are
 * those of the normalised series, and the plain medians are shown beside them; without, all
 * come from a and b. v->failed says only "beyond the threshold" until holm() adds
 * significance. */
static void
judge_series(double threshold, struct verdict *v, const double *a, size_t na, const double *b,
             size_t nb, const double *norm_a, const double *norm_b)
{
    double ma = stats_median(a, na), mb = stats_median(b, nb);
    v->base = ma;
    v->cur = mb;
    const double *ja = norm_a ? norm_a : a, *jb = norm_a ? norm_b : b;
    double ja_med = stats_median(ja, na), jb_med = stats_median(jb, nb);
    v->change = ja_med > 0 ? 100.0 * (jb_med / ja_med - 1.0) : (jb_med > 0 ? INFINITY : 0.0);
    double shift, lo, hi;
    if (ja_med > 0 && hodges_lehmann(ja, na, jb, nb, 0.95, &shift, &lo, &hi) == 0) {
        v->lo = 100.0 * lo / ja_med;
        v->hi = 100.0 * hi / ja_med;
    }
    v->stat = mwu_p_greater(ja, na, jb, nb);
    v->judged = true;
    v->failed = v->change > threshold;
    if (norm_a)
        snprintf(v->why, sizeof v->why,
                 "median %.1f ms -> %.1f ms; against the rest of each run %+.1f%% (95%% CI "
                 "%+.1f%%..%+.1f%%), "
                 "p = %.2g",
                 ma, mb, v->change, v->lo, v->hi, v->stat);
    else
        snprintf(v->why, sizeof v->why,
                 "median %.1f ms -> %.1f ms (%+.1f%%, 95%% CI %+.1f%%..%+.1f%%), p = %.2g", ma, mb,
                 v->change, v->lo, v->hi, v->stat);
}

static int
by_p(const void *x, const void *y)
{
    const struct verdict *a = *(const struct verdict *const *)x,
                         *b = *(const struct verdict *const *)y;
    return (a->stat > b->stat) - (a->stat < b->stat);
}

/*
 * Holm's step-down correction over the n tests in v: the k-th smallest p (k from 0) is
 * significant when it and every smaller one are under alpha / (n - k). Like Bonferroni it keeps
 * the chance of any false alarm under alpha, but once the clear changes are counted the next
 * ones face a lower bar, which matters when one slow method also slows each of its callers.
 */
static int
holm(double alpha, struct verdict *v, size_t n)
{
    struct verdict **order = malloc((n + 1) * sizeof *order);
    if (!order)
        return -ENOMEM;
    for (size_t k = 0; k < n; k++)
        order[k] = &v[k];
    qsort(order, n, sizeof *order, by_p);
    bool significant = true;
    for (size_t k = 0; k < n; k++) {
        significant = significant && order[k]->stat < alpha / (double)(n - k);
        order[k]->failed = order[k]->failed && significant;
    }
    free(order);
    return 0;
}

/*
 * A function's time in one run measured against the rest of that run, F / (T - F): the series
 * that decides whether a function got slower. A machine that runs a whole batch 16 % slower
 * (seen on this shared runner) scales F and T - F alike and cancels out, so a baseline stored
 * an hour earlier or a neighbour's burst does not read as a slower function; what remains is
 * sampling noise and a real change in the function, at its full size (25 % more work in parse
 * is +25 % here, where parse's share of the total would grow half as much). The price: when
 * parse grows, the functions beside it read smaller against a larger rest; the test is
 * one-sided, so that costs nothing but a line in the docs.
 */
static void
normalised_series(const struct run_set *r, long k, double *out)
{
    for (size_t i = 0; i < r->nruns; i++) {
        double f = k < 0 ? 0.0 : r->ms[(size_t)k * r->nruns + i];
        double rest = fmax(r->total[i] - f, 0.005 * r->total[i]);
        out[i] = rest > 0 ? f / rest : 0.0;
    }
}

#define WHOLE_PROGRAM 95.0 /* % of the time from which a function is judged by the total */
#define MIN_RUN_SHARE 1.0  /* % of the time under which a function is not judged */

int
compare_runs(double threshold, double alpha, const struct run_set *base, const struct run_set *cur,
             struct verdicts *vs)
{
    vs->runs = true;
    double med_total = stats_median(base->total, base->nruns);
    size_t n = base->nruns + cur->nruns + 1;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double *na = malloc(n * sizeof *na), *nb = malloc(n * sizeof *nb);
    if (!a || !b || !na || !nb) {
        free(a), free(b), free(na), free(nb);
        return -ENOMEM;
    }
    char **bbuf = NULL, **cbuf = NULL;
    struct match_key *bk = run_keys(base, &bbuf), *ck = run_keys(cur, &cbuf);
    long *b_to_c = malloc((base->nkeys + 1) * sizeof *b_to_c);
    if (!bk || !ck || !b_to_c || match_pair(bk, base->nkeys, ck, cur->nkeys, b_to_c) != 0) {
        free(a), free(b), free(na), free(nb), free(b_to_c);
        free_keys(bk, bbuf, base->nkeys), free_keys(ck, cbuf, cur->nkeys);
        return -ENOMEM;
    }
    size_t first = vs->n;
    struct verdict *v = add_verdict(vs);
    if (v) {
        snprintf(v->name, sizeof v->name, "total CPU time");
        judge_series(threshold, v, base->total, base->nruns, cur->total, cur->nruns, NULL, NULL);
    }
    /* Every function worth 1 % of the baseline's median, except those that are (nearly) the
     * whole program: <main>, the loop around everything. Their time is the total's, already
     * judged; counting them again would only widen Holm's family and blunt every test. */
    for (size_t k = 0; k < base->nkeys && med_total > 0; k++) {
        series(base, (long)k, a);
        double share = 100.0 * stats_median(a, base->nruns) / med_total;
        if (share < MIN_RUN_SHARE || share >= WHOLE_PROGRAM || !(v = add_verdict(vs)))
            continue;
        snprintf(v->name, sizeof v->name, "%s", bk[k].name);
        report_location_str(bk[k].file, bk[k].line, v->where, sizeof v->where);
        const struct match_key *nk = b_to_c[k] >= 0 ? &ck[b_to_c[k]] : &bk[k]; /* the new side */
        snprintf(v->file, sizeof v->file, "%s", nk->file);
        v->line = nk->line;
        v->file_rel_root = true;
        series(cur, b_to_c[k], b);
        normalised_series(base, (long)k, na);
        normalised_series(cur, b_to_c[k], nb);
        judge_series(threshold, v, a, base->nruns, b, cur->nruns, na, nb);
    }
    free(b_to_c);
    free_keys(bk, bbuf, base->nkeys), free_keys(ck, cbuf, cur->nkeys);
    free(a), free(b), free(na), free(nb);
    return holm(alpha, vs->v + first, vs->n - first);
}

/* --- order and names ------------------------------------------------------------------------ */

/* Functions that share a name (the blocks of one method, `block in <main>` at several lines)
 * are told apart by their location. */
void
name_apart(struct verdicts *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        bool shared = false;
        for (size_t k = 0; k < vs->n && !shared; k++)
            shared = k != i && strcmp(vs->v[k].name, vs->v[i].name) == 0;
        if (!shared)
            continue;
        char name[sizeof vs->v[i].name];
        memcpy(name, vs->v[i].name, sizeof name);
        for (size_t k = i; k < vs->n; k++) { /* every holder of the name, i included */
            struct verdict *v = &vs->v[k];
            if (strcmp(v->name, name) != 0)
                continue;
            if (v->where[0] && strlen(v->name) + strlen(v->where) + 4 < sizeof v->name)
                strcat(strcat(strcat(v->name, " ("), v->where), ")");
        }
    }
}

int
by_verdict(const void *x, const void *y)
{
    const struct verdict *a = x, *b = y;
    if (a->failed != b->failed)
        return a->failed ? -1 : 1;
    double ca = isfinite(a->change) ? a->change : 1e300,
           cb = isfinite(b->change) ? b->change : 1e300;
    return (ca < cb) - (ca > cb);
}
