/*
 * difftree.c — two call trees merged into one (see difftree.h).
 */
#include "viewer/difftree.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "viewer/report.h"

/* --- frames matched by (name, file) ----------------------------------------------------------- */

static int
fm_init(struct diff_frames *m, size_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n + 2)
        m->cap *= 2;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->frames = calloc(m->cap, sizeof *m->frames);
    return m->keys && m->frames ? 0 : -ENOMEM;
}

static void
fm_free(struct diff_frames *m)
{
    free(m->keys), free(m->frames);
}

static size_t
fm_slot(const struct diff_frames *m, uint64_t key)
{
    size_t i = prof_mix64(key) & (m->cap - 1);
    while (m->frames[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* The frame of u named (name, file): found, or made with line and kind. */
static uint32_t
fm_get(struct diff_frames *m, struct profile *u, uint32_t name, uint32_t file, int32_t line, int kind)
{
    uint64_t key = (uint64_t)name << 32 | file;
    size_t i = fm_slot(m, key);
    if (!m->frames[i]) {
        m->keys[i] = key;
        m->frames[i] = profile_frame_add(u, name, file, line, kind) + 1;
    }
    return m->frames[i] - 1;
}

/* u's frame for src's frame f: the one of the same name and file, made on first sight. */
static uint32_t
fm_frame(struct diff_frames *m, struct profile *u, const struct profile *src, const struct prof_frame *f)
{
    return fm_get(m, u, profile_intern(u, profile_str(src, f->name)), profile_intern(u, profile_str(src, f->file)),
                  f->line, f->kind);
}

/* Grafts src's trie into u with frames matched through m; nmap gets u's node per src node. */
static int
graft_matched(struct diff_frames *m, struct profile *u, const struct profile *src, uint32_t *nmap)
{
    uint32_t *fmap = malloc((profile_nframes(src) + 1) * sizeof *fmap);
    if (!fmap)
        return -ENOMEM;
    const struct prof_frame *f = profile_frames(src);
    for (size_t i = 0; i < profile_nframes(src); i++)
        fmap[i] = i == src->f_root ? u->f_root : fm_frame(m, u, src, &f[i]);
    int rc = profile_graft(u, src, fmap, nmap);
    free(fmap);
    return rc;
}

/* --- building --------------------------------------------------------------------------------- */

static void
add_weights(const struct profile *p, const uint32_t *nmap, double scale, double *self)
{
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < profile_nsamples(p); i++)
        self[nmap[s[i].node]] += (double)s[i].weight_ns * scale;
}

/* The children of every merged node in CSR form (see fmt_children). 0 or -ENOMEM. */
static int
all_children(const struct diff_tree *d, uint32_t **start, uint32_t **list)
{
    uint8_t *used = malloc(d->nn + 1);
    if (!used)
        return -ENOMEM;
    memset(used, 1, d->nn);
    int rc = fmt_children(d->u, used, start, list);
    free(used);
    return rc;
}

/* base_ftotal: each node's base inclusive time added to its function, unless the function is
 * already on the path above it (recursion). A depth-first walk keeps a count per frame of the
 * nodes on the current path. */
static int
function_totals(struct diff_tree *d)
{
    const struct profile *u = d->u;
    size_t nf = profile_nframes(u);
    uint32_t *start = NULL, *list = NULL, *stack = malloc((2 * d->nn + 1) * sizeof *stack);
    uint32_t *onpath = calloc(nf + 1, sizeof *onpath);
    d->base_ftotal = calloc(nf + 1, sizeof *d->base_ftotal);
    int rc = -ENOMEM;
    if (!stack || !onpath || !d->base_ftotal || all_children(d, &start, &list) != 0)
        goto out;
    const struct prof_node *n = profile_nodes(u);
    size_t sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        uint32_t e = stack[--sp];
        if (e & 0x80000000u) { /* leaving the node */
            onpath[n[e & 0x7fffffffu].frame]--;
            continue;
        }
        if (e) {
            uint32_t f = n[e].frame;
            if (onpath[f]++ == 0) /* not already counted above on this path */
                d->base_ftotal[f] += d->base_total[e];
            stack[sp++] = e | 0x80000000u;
        }
        for (uint32_t k = start[e]; k < start[e + 1]; k++)
            stack[sp++] = list[k];
    }
    rc = 0;
out:
    free(start), free(list), free(stack), free(onpath);
    return rc;
}

double
diff_base_function_pct(const struct diff_tree *d, uint32_t name, uint32_t file)
{
    uint32_t f = d->frames.frames[fm_slot(&d->frames, (uint64_t)name << 32 | file)];
    return f && d->base_all > 0 && d->base_ftotal[f - 1] > 0 ? 100.0 * d->base_ftotal[f - 1] / d->base_all : NAN;
}

int
diff_build(const struct profile *base, const struct profile *cur, bool normalise, struct diff_tree *d)
{
    memset(d, 0, sizeof *d);
    if ((base->meta.mode == PROFILE_HEAP) != (cur->meta.mode == PROFILE_HEAP))
        return -EINVAL;
    struct diff_frames *m = &d->frames;
    uint32_t *amap = malloc((profile_nnodes(base) + 1) * sizeof *amap);
    uint32_t *bmap = malloc((profile_nnodes(cur) + 1) * sizeof *bmap);
    d->u = profile_new();
    int rc = fm_init(m, profile_nframes(base) + profile_nframes(cur) + profile_nframes(d->u));
    const struct prof_frame *uf = profile_frames(d->u);
    for (uint32_t i = 0; rc == 0 && i < profile_nframes(d->u); i++) { /* (idle), (program), ... */
        uint64_t key = (uint64_t)uf[i].name << 32 | uf[i].file;
        size_t slot = fm_slot(m, key);
        m->keys[slot] = key, m->frames[slot] = i + 1;
    }
    if (rc == 0 && (!amap || !bmap))
        rc = -ENOMEM;
    if (rc == 0)
        rc = graft_matched(m, d->u, base, amap);
    if (rc == 0)
        rc = graft_matched(m, d->u, cur, bmap);
    if (rc == 0) {
        const struct prof_thread_info *t = profile_threads(cur);
        for (size_t i = 0; i < profile_nthreads(cur); i++)
            profile_add_thread(d->u, t[i].tid, profile_str(cur, t[i].name));
        const struct prof_sample *s = profile_samples(cur);
        for (size_t i = 0; i < profile_nsamples(cur); i++)
            profile_add_sample(d->u, s[i].thread, bmap[s[i].node], s[i].line, s[i].t_ns, s[i].weight_ns);
        d->u->meta = cur->meta;
        d->nn = profile_nnodes(d->u);
        d->base_self = calloc(d->nn, sizeof *d->base_self);
        d->cur_self = calloc(d->nn, sizeof *d->cur_self);
        d->base_total = calloc(d->nn, sizeof *d->base_total);
        d->cur_total = calloc(d->nn, sizeof *d->cur_total);
        if (!d->base_self || !d->cur_self || !d->base_total || !d->cur_total)
            rc = -ENOMEM;
    }
    if (rc == 0) {
        d->base_raw_all = (double)profile_total_weight(base, -1);
        d->cur_all = (double)profile_total_weight(cur, -1);
        d->scale = normalise && d->base_raw_all > 0 ? d->cur_all / d->base_raw_all : 1.0;
        d->base_all = d->base_raw_all * d->scale;
        add_weights(base, amap, d->scale, d->base_self);
        add_weights(cur, bmap, 1.0, d->cur_self);
        memcpy(d->base_total, d->base_self, d->nn * sizeof *d->base_total);
        memcpy(d->cur_total, d->cur_self, d->nn * sizeof *d->cur_total);
        const struct prof_node *n = profile_nodes(d->u);
        for (size_t i = d->nn; i-- > 1;) { /* children after parents: sum bottom-up */
            d->base_total[n[i].parent] += d->base_total[i];
            d->cur_total[n[i].parent] += d->cur_total[i];
        }
        rc = function_totals(d);
    }
    free(amap), free(bmap);
    if (rc)
        diff_free(d);
    return rc;
}

void
diff_free(struct diff_tree *d)
{
    profile_free(d->u);
    free(d->base_self), free(d->cur_self), free(d->base_total), free(d->cur_total), free(d->base_ftotal);
    fm_free(&d->frames);
    memset(d, 0, sizeof *d);
}

double
diff_delta_pts(const struct diff_tree *d, uint32_t node)
{
    double all = d->cur_all > 0 ? d->cur_all : d->base_all;
    return all > 0 ? 100.0 * (d->cur_total[node] - d->base_total[node]) / all : 0.0;
}

/* --- the tree as text ------------------------------------------------------------------------- */

static const struct diff_tree *sort_d; /* qsort has no context argument */

static int
by_abs_delta(const void *x, const void *y)
{
    double a = fabs(diff_delta_pts(sort_d, *(const uint32_t *)x));
    double b = fabs(diff_delta_pts(sort_d, *(const uint32_t *)y));
    return (a < b) - (a > b);
}

void
diff_print_tree(const struct diff_tree *d, double min_pts, FILE *out)
{
    const struct profile *u = d->u;
    double all = d->cur_all > 0 ? d->cur_all : d->base_all;
    double *reach = malloc((d->nn + 1) * sizeof *reach); /* largest |change| in each subtree */
    uint32_t *start = NULL, *list = NULL, *stack = malloc((d->nn + 1) * sizeof *stack);
    int *depth = malloc((d->nn + 1) * sizeof *depth);
    if (!reach || !stack || !depth || all_children(d, &start, &list) != 0) {
        fprintf(out, "  (out of memory)\n");
        goto out;
    }
    const struct prof_node *n = profile_nodes(u);
    for (size_t i = 0; i < d->nn; i++)
        reach[i] = fabs(diff_delta_pts(d, (uint32_t)i));
    for (size_t i = d->nn; i-- > 1;)
        reach[n[i].parent] = fmax(reach[n[i].parent], reach[i]);
    sort_d = d;
    for (size_t i = 0; i < d->nn; i++)
        qsort(list + start[i], start[i + 1] - start[i], sizeof *list, by_abs_delta);
    fprintf(out, "  base%%   new%%  change  (inclusive, %% of the new total)\n");
    size_t sp = 0, shown = 0;
    for (uint32_t k = start[1]; k-- > start[0];) /* the root's children, largest change on top */
        stack[sp] = list[k], depth[sp++] = 0;
    char loc[512];
    while (sp > 0) {
        uint32_t i = stack[--sp];
        int dep = depth[sp];
        if (reach[i] < min_pts)
            continue;
        const struct prof_frame *f = &profile_frames(u)[n[i].frame];
        report_location(u, f->file, f->line, loc, sizeof loc);
        fprintf(out, "%7.1f %6.1f %+7.1f  %*s%s  %s\n", 100.0 * d->base_total[i] / all,
                100.0 * d->cur_total[i] / all, diff_delta_pts(d, i), 2 * (dep < 30 ? dep : 30), "",
                profile_str(u, f->name), loc);
        shown++;
        for (uint32_t k = start[i + 1]; k-- > start[i];)
            stack[sp] = list[k], depth[sp++] = dep + 1;
    }
    if (!shown)
        fprintf(out, "  (no path moved by %.1f points or more)\n", min_pts);
out:
    free(reach), free(start), free(list), free(stack), free(depth);
}

/* --- the change as a profile ------------------------------------------------------------------ */

struct profile *
diff_change_profile(const struct diff_tree *d)
{
    struct profile *g = profile_new();
    uint32_t *nmap = malloc((d->nn + 1) * sizeof *nmap);
    if (!nmap || profile_graft(g, d->u, NULL, nmap) != 0) {
        free(nmap), profile_free(g);
        return NULL;
    }
    profile_add_thread(g, 1, "grew (new - base)");
    profile_add_thread(g, 2, "shrank (base - new)");
    uint64_t t[2] = {0, 0};
    for (int side = 0; side < 2; side++)
        for (size_t i = 1; i < d->nn; i++) {
            double w = side == 0 ? d->cur_self[i] - d->base_self[i] : d->base_self[i] - d->cur_self[i];
            if (w < 1000.0)
                continue; /* under the microsecond the file formats count in */
            profile_add_sample(g, (uint32_t)side, nmap[i], 0, t[side], (uint64_t)w);
            t[side] += (uint64_t)w;
        }
    free(nmap);
    g->meta.mode = d->u->meta.mode;
    g->meta.hz = d->u->meta.hz;
    g->meta.start_ns = 0;
    g->meta.end_ns = t[0] > t[1] ? t[0] : t[1];
    snprintf(g->meta.tool, sizeof g->meta.tool, "mrprof diff");
    return g;
}
