/*
 * compare.c — join two aggregations by name/file (see compare.h).
 */
#include "viewer/compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viewer/stats.h"

struct keyed {
    char *key;
    const struct agg_row *row;
};

static int
key_cmp(const void *x, const void *y)
{
    return strcmp(((const struct keyed *)x)->key, ((const struct keyed *)y)->key);
}

static char *
make_key(const struct profile *p, const struct agg_row *r, enum agg_by by)
{
    const char *name = r->name ? profile_str(p, r->name) : "";
    const char *file = profile_str(p, r->file);
    size_t len = strlen(name) + strlen(file) + 24;
    char *k = malloc(len);
    if (!k)
        return NULL;
    if (by == AGG_LINE)
        snprintf(k, len, "%s\x1f%s\x1f%d", name, file, r->line);
    else
        snprintf(k, len, "%s\x1f%s", by == AGG_FILE ? "" : name, file);
    return k;
}

static struct keyed *
keyed_rows(const struct profile *p, const struct agg_table *t, enum agg_by by)
{
    struct keyed *k = calloc(t->n ? t->n : 1, sizeof *k);
    if (!k)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        k[i].row = &t->rows[i];
        k[i].key = make_key(p, &t->rows[i], by);
        if (!k[i].key) {
            for (size_t j = 0; j < i; j++)
                free(k[j].key);
            free(k);
            return NULL;
        }
    }
    qsort(k, t->n, sizeof *k, key_cmp);
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
    struct keyed *ka = keyed_rows(a, &ta, by), *kb = keyed_rows(b, &tb, by);
    t->rows = calloc(ta.n + tb.n + 1, sizeof *t->rows);
    int rc = 0;
    if (!ka || !kb || !t->rows) {
        rc = -ENOMEM;
        goto out;
    }
    t->base_ms = (double)ta.total_w / 1e6;
    t->cur_ms = (double)tb.total_w / 1e6;
    t->base_n = ta.total_n;
    t->cur_n = tb.total_n;
    /* Merge the two sorted key lists. */
    size_t i = 0, j = 0;
    while (i < ta.n || j < tb.n) {
        int c = i >= ta.n ? 1 : j >= tb.n ? -1 : strcmp(ka[i].key, kb[j].key);
        struct cmp_row *r = &t->rows[t->n++];
        const struct agg_row *src;
        const struct profile *sp;
        if (c <= 0) {
            fill_side(&r->base, ka[i].row, &ta);
            src = ka[i].row, sp = a;
        }
        if (c >= 0) {
            fill_side(&r->cur, kb[j].row, &tb);
            src = kb[j].row, sp = b;
        }
        r->status = c == 0 ? CMP_BOTH : c < 0 ? CMP_GONE : CMP_NEW;
        r->name = by == AGG_FILE ? profile_str(sp, src->file) : profile_str(sp, src->name);
        r->file = profile_str(sp, src->file);
        r->line = src->line;
        r->delta_pts = r->cur.self_pct - r->base.self_pct;
        r->delta_total_pts = r->cur.total_pct - r->base.total_pct;
        r->z = two_prop_z((double)r->base.self_n, (double)ta.total_n, (double)r->cur.self_n,
                          (double)tb.total_n);
        i += c <= 0;
        j += c >= 0;
    }
    qsort(t->rows, t->n, sizeof *t->rows, by_change);
out:
    if (ka)
        for (size_t k = 0; k < ta.n; k++)
            free(ka[k].key);
    if (kb)
        for (size_t k = 0; k < tb.n; k++)
            free(kb[k].key);
    free(ka), free(kb);
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
