/*
 * difftree.c — two call trees merged into one (see difftree.h).
 */
#include "profiler/model/difftree.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/model/match.h"
#include "profiler/model/trie.h"

/* --- frames matched by match.h's rule -----------------------------------------------------------
 */

/* A function of u is (name, file, line): d->frames holds the first frame of u with each. */
struct fm_key {
    uint32_t name, file;
    int32_t line;
};

static uint64_t
fm_hash(uint32_t name, uint32_t file, int32_t line)
{
    return prof_mix64(((uint64_t)name << 32 | file) ^ prof_mix64((uint64_t)(uint32_t)line + 1));
}

static bool
fm_eq(const void *ctx, uint32_t id, const void *key)
{
    const struct prof_frame *x = &profile_frames(ctx)[id];
    const struct fm_key *k = key;
    return x->name == k->name && x->file == k->file && x->line == k->line;
}

static uint64_t
fm_rehash(const void *ctx, uint32_t id)
{
    const struct prof_frame *x = &profile_frames(ctx)[id];
    return fm_hash(x->name, x->file, x->line);
}

/* u's first frame of the function (name, file, line), or UINT32_MAX. */
static uint32_t
fm_find(const struct mp_hash *m, const struct profile *u, uint32_t name, uint32_t file,
        int32_t line)
{
    struct fm_key k = {name, file, line};
    return mp_hash_find(m, fm_hash(name, file, line), fm_eq, u, &k);
}

/* One side's frames as the matching rule sees them, numbered by distinct function: id[f] for
 * each frame, *rep the distinct keys. Returns their number or -ENOMEM. */
static long
side_functions(const struct profile *p, struct match_paths *mp, struct match_key **keys,
               uint32_t *id, struct match_key **rep, uint32_t **first)
{
    size_t nf = profile_nframes(p);
    const struct prof_frame *f = profile_frames(p);
    *keys = malloc((nf + 1) * sizeof **keys);
    *rep = malloc((nf + 1) * sizeof **rep);
    *first = malloc((nf + 1) * sizeof **first);
    if (!*keys || !*rep || !*first)
        return -ENOMEM;
    for (size_t i = 0; i < nf; i++) {
        (*keys)[i] =
            (struct match_key){profile_str(p, f[i].name), match_file(mp, f[i].file), f[i].line};
        if (!(*keys)[i].file)
            return -ENOMEM;
    }
    long n = match_distinct(*keys, nf, id, *first);
    for (long d = 0; d < n; d++)
        (*rep)[d] = (*keys)[(*first)[d]];
    return n;
}

/* u's frame of src's frame f, named as in src. */
static uint32_t
u_frame(struct profile *u, const struct profile *src, uint32_t f)
{
    const struct prof_frame *x = &profile_frames(src)[f];
    return profile_frame_intern(u, profile_str(src, x->name), profile_str(src, x->file), x->line,
                                x->kind);
}

/* fmaps[0] / fmaps[1]: u's frame for each of base's / cur's frames. Functions the rule pairs
 * share one frame of u, named as in cur (where the function is now). */
static int
match_frames(struct profile *u, const struct profile *base, const struct profile *cur,
             uint32_t *amap_f, uint32_t *bmap_f)
{
    struct match_paths pa, pb;
    struct match_key *ka = NULL, *kb = NULL, *ra = NULL, *rb = NULL;
    uint32_t *ida = malloc((profile_nframes(base) + 1) * sizeof *ida);
    uint32_t *idb = malloc((profile_nframes(cur) + 1) * sizeof *idb);
    uint32_t *fa = NULL, *fb = NULL, *ua = NULL, *ub = NULL;
    long *a_to_b = NULL;
    int rc = match_paths_init(&pa, base);
    if (rc == 0 && (rc = match_paths_init(&pb, cur)) != 0)
        match_paths_free(&pa);
    if (rc) {
        free(ida), free(idb);
        return rc;
    }
    rc = -ENOMEM;
    long na, nb;
    if (!ida || !idb || (na = side_functions(base, &pa, &ka, ida, &ra, &fa)) < 0 ||
        (nb = side_functions(cur, &pb, &kb, idb, &rb, &fb)) < 0)
        goto out;
    a_to_b = malloc(((size_t)na + 1) * sizeof *a_to_b);
    ua = malloc(((size_t)na + 1) * sizeof *ua);
    ub = malloc(((size_t)nb + 1) * sizeof *ub);
    if (!a_to_b || !ua || !ub || match_pair(ra, (size_t)na, rb, (size_t)nb, a_to_b) != 0)
        goto out;
    for (long d = 0; d < nb; d++)
        ub[d] = UINT32_MAX;
    for (long d = 0; d < na; d++) {
        long p = a_to_b[d];
        ua[d] = p >= 0 ? u_frame(u, cur, fb[p]) : u_frame(u, base, fa[d]);
        if (p >= 0)
            ub[p] = ua[d];
    }
    for (long d = 0; d < nb; d++)
        if (ub[d] == UINT32_MAX)
            ub[d] = u_frame(u, cur, fb[d]);
    for (size_t f = 0; f < profile_nframes(base); f++)
        amap_f[f] = f == base->f_root ? u->f_root : ua[ida[f]];
    for (size_t f = 0; f < profile_nframes(cur); f++)
        bmap_f[f] = f == cur->f_root ? u->f_root : ub[idb[f]];
    rc = 0;
out:
    free(ka), free(kb), free(ra), free(rb), free(ida), free(idb), free(fa), free(fb), free(ua),
        free(ub);
    free(a_to_b);
    match_paths_free(&pa), match_paths_free(&pb);
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

int
diff_children(const struct diff_tree *d, uint32_t **start, uint32_t **list)
{
    uint8_t *used = malloc(d->nn + 1);
    if (!used)
        return -ENOMEM;
    memset(used, 1, d->nn);
    int rc = profile_children(d->u, used, start, list);
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
    uint32_t *onpath = calloc(nf + 1, sizeof *onpath), *rep = malloc((nf + 1) * sizeof *rep);
    d->base_ftotal = calloc(nf + 1, sizeof *d->base_ftotal);
    int rc = -ENOMEM;
    if (!stack || !onpath || !rep || !d->base_ftotal ||
        mp_hash_reserve(&d->frames, nf, fm_rehash, u) != 0 || diff_children(d, &start, &list) != 0)
        goto out;
    /* One function, one entry: frames of u that agree on (name, file, line) (kinds aside) add
     * up in the first of them. */
    const struct prof_frame *uf = profile_frames(u);
    for (size_t f = 0; f < nf; f++) {
        uint32_t first = fm_find(&d->frames, u, uf[f].name, uf[f].file, uf[f].line);
        if (first == UINT32_MAX) {
            first = (uint32_t)f; /* room reserved above: cannot fail */
            mp_hash_insert(&d->frames, fm_hash(uf[f].name, uf[f].file, uf[f].line), first,
                           fm_rehash, u);
        }
        rep[f] = first;
    }
    const struct prof_node *n = profile_nodes(u);
    size_t sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        uint32_t e = stack[--sp];
        if (e & 0x80000000u) { /* leaving the node */
            onpath[rep[n[e & 0x7fffffffu].frame]]--;
            continue;
        }
        if (e) {
            uint32_t f = rep[n[e].frame];
            if (onpath[f]++ == 0) /* not already counted above on this path */
                d->base_ftotal[f] += d->base_total[e];
            stack[sp++] = e | 0x80000000u;
        }
        for (uint32_t k = start[e]; k < start[e + 1]; k++)
            stack[sp++] = list[k];
    }
    rc = 0;
out:
    free(start), free(list), free(stack), free(onpath), free(rep);
    return rc;
}

double
diff_base_function_pct(const struct diff_tree *d, uint32_t name, uint32_t file, int32_t line)
{
    if (!d->frames.cap)
        return NAN;
    uint32_t f = fm_find(&d->frames, d->u, name, file, line);
    return f != UINT32_MAX && d->base_all > 0 && d->base_ftotal[f] > 0
               ? 100.0 * d->base_ftotal[f] / d->base_all
               : NAN;
}

int
diff_build(const struct profile *base, const struct profile *cur, bool normalise,
           struct diff_tree *d)
{
    memset(d, 0, sizeof *d);
    if ((base->meta.mode == PROFILE_HEAP) != (cur->meta.mode == PROFILE_HEAP))
        return -EINVAL;
    uint32_t *amap = malloc((profile_nnodes(base) + 1) * sizeof *amap);
    uint32_t *bmap = malloc((profile_nnodes(cur) + 1) * sizeof *bmap);
    uint32_t *afr = malloc((profile_nframes(base) + 1) * sizeof *afr);
    uint32_t *bfr = malloc((profile_nframes(cur) + 1) * sizeof *bfr);
    d->u = profile_new();
    int rc = amap && bmap && afr && bfr && d->u ? match_frames(d->u, base, cur, afr, bfr) : -ENOMEM;
    if (rc == 0)
        rc = profile_graft(d->u, base, afr, amap);
    if (rc == 0)
        rc = profile_graft(d->u, cur, bfr, bmap);
    if (rc == 0) {
        const struct prof_thread_info *t = profile_threads(cur);
        for (size_t i = 0; i < profile_nthreads(cur); i++)
            profile_add_thread(d->u, t[i].tid, profile_str(cur, t[i].name));
        const struct prof_sample *s = profile_samples(cur);
        for (size_t i = 0; i < profile_nsamples(cur); i++)
            profile_add_sample(d->u, s[i].thread, bmap[s[i].node], s[i].line, s[i].t_ns,
                               s[i].weight_ns);
        d->u->meta = cur->meta;
        if (profile_oom(d->u))
            rc = -ENOMEM;
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
    free(amap), free(bmap), free(afr), free(bfr);
    if (rc)
        diff_free(d);
    return rc;
}

void
diff_free(struct diff_tree *d)
{
    profile_free(d->u);
    free(d->base_self), free(d->cur_self), free(d->base_total), free(d->cur_total),
        free(d->base_ftotal);
    mp_hash_free(&d->frames);
    memset(d, 0, sizeof *d);
}

double
diff_delta_pts(const struct diff_tree *d, uint32_t node)
{
    double all = d->cur_all > 0 ? d->cur_all : d->base_all;
    return all > 0 ? 100.0 * (d->cur_total[node] - d->base_total[node]) / all : 0.0;
}

/* --- the tree as text ------------------------------------------------------------------------- */

/* --- the change as a profile ------------------------------------------------------------------ */

struct profile *
diff_change_profile(const struct diff_tree *d)
{
    struct profile *g = profile_new();
    uint32_t *nmap = malloc((d->nn + 1) * sizeof *nmap);
    if (!g || !nmap || profile_graft(g, d->u, NULL, nmap) != 0) {
        free(nmap), profile_free(g);
        return NULL;
    }
    profile_add_thread(g, 1, "grew (new - base)");
    profile_add_thread(g, 2, "shrank (base - new)");
    uint64_t t[2] = {0, 0};
    for (int side = 0; side < 2; side++)
        for (size_t i = 1; i < d->nn; i++) {
            double w =
                side == 0 ? d->cur_self[i] - d->base_self[i] : d->base_self[i] - d->cur_self[i];
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
    if (profile_oom(g)) {
        profile_free(g);
        return NULL;
    }
    return g;
}
