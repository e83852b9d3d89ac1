/*
 * compare.c — two aggregations joined by the matching rule of match.h (see compare.h).
 */
#include "profiler/model/compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/model/match.h"
#include "profiler/model/stats.h"

/* The rows of one aggregation as the matching rule sees them. */
static struct match_key *
row_keys(struct match_paths *m, const struct agg_table *t, enum agg_by by)
{
    struct match_key *k = calloc(t->n ? t->n : 1, sizeof *k);
    if (!k)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        const struct agg_row *r = &t->rows[i];
        k[i].name = by == AGG_FILE || !r->name ? "" : profile_str(m->p, r->name);
        k[i].file = match_file(m, r->file);
        k[i].line = by == AGG_FILE ? 0 : r->line;
        if (!k[i].file) {
            free(k);
            return NULL;
        }
    }
    return k;
}

static void
fill_side(struct cmp_side *s, const struct agg_row *r, const struct agg_table *t)
{
    s->self_ms = (double)r->self_w / 1e6;
    s->total_ms = (double)r->total_w / 1e6;
    s->self_pct = t->total_w ? 100.0 * (double)r->self_w / (double)t->total_w : 0.0;
    s->total_pct = t->total_w ? 100.0 * (double)r->total_w / (double)t->total_w : 0.0;
    s->self_n = r->self_n;
}

/* The size of a row's change: the larger of its self and total moves; on a tie (a leaf and the
 * callers it drags along) the one whose own time moved comes first. */
static int
by_change(const void *x, const void *y)
{
    const struct cmp_row *r = x, *q = y;
    double a = fmax(fabs(r->delta_pts), fabs(r->delta_total_pts));
    double b = fmax(fabs(q->delta_pts), fabs(q->delta_total_pts));
    if (fabs(a - b) > 1e-9)
        return (a < b) - (a > b);
    return (fabs(r->delta_pts) < fabs(q->delta_pts)) - (fabs(r->delta_pts) > fabs(q->delta_pts));
}

int
cmp_compute(const struct profile *a, const struct profile *b, enum agg_by by, struct cmp_table *t)
{
    memset(t, 0, sizeof *t);
    struct agg_table ta, tb;
    if (agg_compute(a, -1, by, &ta) != 0)
        return -ENOMEM;
    if (agg_compute(b, -1, by, &tb) != 0) {
        agg_free(&ta);
        return -ENOMEM;
    }
    struct match_paths ma, mb;
    int rc = match_paths_init(&ma, a);
    if (rc == 0 && (rc = match_paths_init(&mb, b)) != 0)
        match_paths_free(&ma);
    if (rc) {
        agg_free(&ta), agg_free(&tb);
        return -ENOMEM;
    }
    struct match_key *ka = row_keys(&ma, &ta, by), *kb = row_keys(&mb, &tb, by);
    long *a_to_b = malloc((ta.n + 1) * sizeof *a_to_b);
    bool *paired = calloc(tb.n + 1, sizeof *paired);
    t->rows = calloc(ta.n + tb.n + 1, sizeof *t->rows);
    if (!ka || !kb || !a_to_b || !paired || !t->rows ||
        match_pair(ka, ta.n, kb, tb.n, a_to_b) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    t->base_ms = (double)ta.total_w / 1e6;
    t->cur_ms = (double)tb.total_w / 1e6;
    t->base_n = ta.total_n;
    t->cur_n = tb.total_n;
    /* Every base row (with its partner when it has one), then the new profile's unpaired rows. */
    for (size_t i = 0; i < ta.n + tb.n; i++) {
        const struct agg_row *ra = NULL, *rb = NULL;
        if (i < ta.n) {
            ra = &ta.rows[i];
            rb = a_to_b[i] >= 0 ? &tb.rows[a_to_b[i]] : NULL;
            if (rb)
                paired[a_to_b[i]] = true;
        } else if (!paired[i - ta.n]) {
            rb = &tb.rows[i - ta.n];
        } else {
            continue;
        }
        struct cmp_row *r = &t->rows[t->n++];
        if (ra)
            fill_side(&r->base, ra, &ta);
        if (rb)
            fill_side(&r->cur, rb, &tb);
        r->status = ra && rb ? CMP_BOTH : ra ? CMP_GONE : CMP_NEW;
        const struct agg_row *src = rb ? rb : ra; /* where the function is now, if it still is */
        const struct profile *sp = rb ? b : a;
        r->name = by == AGG_FILE ? profile_str(sp, src->file) : profile_str(sp, src->name);
        r->file = profile_str(sp, src->file);
        r->line = src->line;
        r->base_line = ra ? ra->line : 0;
        r->delta_pts = r->cur.self_pct - r->base.self_pct;
        r->delta_total_pts = r->cur.total_pct - r->base.total_pct;
        r->z = two_prop_z((double)r->base.self_n, (double)ta.total_n, (double)r->cur.self_n,
                          (double)tb.total_n);
    }
    qsort(t->rows, t->n, sizeof *t->rows, by_change);
out:
    free(ka), free(kb), free(a_to_b), free(paired);
    /* The rows' strings belong to a and b, not to the paths or the tables. */
    match_paths_free(&ma), match_paths_free(&mb);
    agg_free(&ta), agg_free(&tb);
    if (rc)
        cmp_free(t);
    return rc;
}

void
cmp_free(struct cmp_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}
