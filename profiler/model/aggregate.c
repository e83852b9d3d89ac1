/*
 * aggregate.c — self/total per function, per line, per file, and per call-tree node.
 *
 * One pass over the samples accumulates self weight per trie node; everything else is derived
 * from the (much smaller) node table: totals per node by one backward pass (parents precede
 * children), totals per group by walking each sampled node's ancestors once, with a stamp per
 * group so that recursion counts a sample once.
 */
#include "profiler/model/aggregate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Groups by an integer key: profiler/base/hash.h's table over keys[group]. */
struct group_map {
    struct mp_hash ix;
    uint64_t *keys; /* [group] its key */
};

/* Finds or adds key as group next; *fresh says whether it was added. Room for every group is
 * reserved up front, so adding cannot fail. */
static uint32_t
group_get(struct group_map *m, uint64_t key, uint32_t next, bool *fresh)
{
    uint64_t h = mp_mix64(key);
    uint32_t g = mp_hash_find(&m->ix, h, mp_hash_u64_eq, m->keys, &key);
    *fresh = g == UINT32_MAX;
    if (!*fresh)
        return g;
    m->keys[next] = key;
    mp_hash_insert(&m->ix, h, next, mp_hash_u64_rehash, m->keys);
    return next;
}

static int
row_cmp_self(const void *a, const void *b)
{
    const struct agg_row *x = a, *y = b;
    if (x->self_w != y->self_w)
        return x->self_w < y->self_w ? 1 : -1;
    if (x->total_w != y->total_w)
        return x->total_w < y->total_w ? 1 : -1;
    if (x->name != y->name)
        return (x->name > y->name) - (x->name < y->name);
    if (x->file != y->file)
        return (x->file > y->file) - (x->file < y->file);
    return (x->line > y->line) - (x->line < y->line);
}

static int
row_cmp_total(const void *a, const void *b)
{
    const struct agg_row *x = a, *y = b;
    if (x->total_w != y->total_w)
        return x->total_w < y->total_w ? 1 : -1;
    return row_cmp_self(a, b);
}

void
agg_sort_by_total(struct agg_table *t)
{
    qsort(t->rows, t->n, sizeof *t->rows, row_cmp_total);
}

/* A function is (name, file, first line), as DevTools and speedscope key it (the model has no
 * column): two blocks of one method, or a worker's method and the main thread's method of the
 * same name, are different functions. Frames that agree on all three (the sampler's frames of
 * one method seen from two VMs) are one. Sorting the frame ids puts each function's frames side
 * by side; frame_group gets each frame's row, rows the functions in that order. */
static const struct prof_frame *sort_frames; /* qsort has no context argument */

static int
function_cmp(const void *a, const void *b)
{
    const struct prof_frame *x = &sort_frames[*(const uint32_t *)a],
                            *y = &sort_frames[*(const uint32_t *)b];
    if (x->name != y->name)
        return x->name < y->name ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* Fills frame_group[f] with frame f's row and rows with one row per function; returns the
 * number of rows, or UINT32_MAX when out of memory. */
static uint32_t
function_groups(const struct prof_frame *frames, size_t nf, uint32_t *frame_group,
                struct agg_row *rows)
{
    uint32_t *order = malloc((nf ? nf : 1) * sizeof *order);
    if (!order)
        return UINT32_MAX;
    for (size_t f = 0; f < nf; f++)
        order[f] = (uint32_t)f;
    sort_frames = frames;
    qsort(order, nf, sizeof *order, function_cmp);
    uint32_t ngroups = 0;
    for (size_t i = 0; i < nf; i++) {
        uint32_t f = order[i];
        if (i == 0 || function_cmp(&order[i - 1], &order[i]) != 0) {
            struct agg_row *r = &rows[ngroups++];
            r->name = frames[f].name;
            r->file = frames[f].file;
            r->line = frames[f].line;
        }
        frame_group[f] = ngroups - 1;
    }
    sort_frames = NULL;
    free(order);
    return ngroups;
}

int
agg_compute(const struct profile *p, int thread, enum agg_by by, struct agg_table *out)
{
    struct agg_filter f = {.thread = thread};
    return agg_compute_f(p, &f, by, out);
}

int
agg_compute_f(const struct profile *p, const struct agg_filter *filter, enum agg_by by,
              struct agg_table *out)
{
    memset(out, 0, sizeof *out);
    size_t nn = profile_nnodes(p), ns = profile_nsamples(p), nf = profile_nframes(p);
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);

    /* Self per node (for function/file grouping) in one pass. */
    uint64_t *node_w = calloc(nn, sizeof *node_w), *node_n = calloc(nn, sizeof *node_n);
    size_t maxgroups = (by == AGG_LINE ? ns : nf) + 1;
    struct group_map m = {{0}, malloc(maxgroups * sizeof *m.keys)};
    uint32_t *frame_group = malloc((nf ? nf : 1) * sizeof *frame_group);
    uint32_t *stamp = NULL;
    out->rows = calloc(maxgroups, sizeof *out->rows);
    if (!node_w || !node_n || !m.keys || mp_hash_reserve(&m.ix, maxgroups, NULL, NULL) != 0 ||
        !frame_group || !out->rows)
        goto oom;

    uint32_t ngroups = 0;
    bool fresh;
    if (by == AGG_FUNCTION) {
        ngroups = function_groups(frames, nf, frame_group, out->rows);
        if (ngroups == UINT32_MAX)
            goto oom;
    } else if (by == AGG_FILE) {
        for (size_t f = 0; f < nf; f++) {
            uint64_t key = frames[f].file;
            if (frames[f].kind == FRAME_PSEUDO)
                key = (uint64_t)1 << 63 | frames[f].name; /* pseudo frames group by name */
            uint32_t g = group_get(&m, key, ngroups, &fresh);
            if (fresh) {
                struct agg_row *r = &out->rows[ngroups++];
                r->file = frames[f].file;
                r->name = frames[f].kind != FRAME_PSEUDO ? 0 : frames[f].name;
            }
            frame_group[f] = g;
        }
    }
    for (size_t i = 0; i < ns; i++) {
        if (!agg_keep_p(p, filter, &s[i]))
            continue;
        out->total_w += s[i].weight_ns;
        out->total_n++;
        node_w[s[i].node] += s[i].weight_ns;
        node_n[s[i].node]++;
        if (by == AGG_LINE) {
            const struct prof_frame *f = &frames[nodes[s[i].node].frame];
            uint64_t key = (uint64_t)f->file << 32 | (uint32_t)s[i].line;
            if (f->kind == FRAME_PSEUDO || s[i].line <= 0)
                key = (uint64_t)1 << 63 | (uint64_t)f->name << 20 | (uint64_t)f->file;
            uint32_t g = group_get(&m, key, ngroups, &fresh);
            struct agg_row *r = &out->rows[g];
            if (fresh) {
                ngroups++;
                r->name = f->name;
                r->file = f->file;
                r->line = s[i].line > 0 ? s[i].line : 0;
            }
            r->self_w += s[i].weight_ns;
            r->self_n++;
            r->total_w += s[i].weight_ns;
            r->total_n++;
        }
    }
    if (by != AGG_LINE) {
        stamp = malloc((ngroups ? ngroups : 1) * sizeof *stamp);
        if (!stamp)
            goto oom;
        for (uint32_t g = 0; g < ngroups; g++)
            stamp[g] = UINT32_MAX;
        for (size_t n = 1; n < nn; n++) {
            if (!node_n[n])
                continue;
            struct agg_row *self_row = &out->rows[frame_group[nodes[n].frame]];
            self_row->self_w += node_w[n];
            self_row->self_n += node_n[n];
            for (uint32_t a = (uint32_t)n; a != 0; a = nodes[a].parent) {
                uint32_t g = frame_group[nodes[a].frame];
                if (stamp[g] == n)
                    continue;
                stamp[g] = (uint32_t)n;
                out->rows[g].total_w += node_w[n];
                out->rows[g].total_n += node_n[n];
            }
        }
    }
    /* Keep only groups that were seen. */
    size_t k = 0;
    for (uint32_t g = 0; g < ngroups; g++)
        if (out->rows[g].total_n)
            out->rows[k++] = out->rows[g];
    out->n = k;
    qsort(out->rows, out->n, sizeof *out->rows, row_cmp_self);
    free(node_w), free(node_n), free(m.keys), mp_hash_free(&m.ix), free(frame_group), free(stamp);
    return 0;
oom:
    free(node_w), free(node_n), free(m.keys), mp_hash_free(&m.ix), free(frame_group), free(stamp);
    free(out->rows);
    memset(out, 0, sizeof *out);
    return -ENOMEM;
}

void
agg_free(struct agg_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}

static const struct agg_tree *sort_tree;

static int
child_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint64_t wx = sort_tree->total_w[x], wy = sort_tree->total_w[y];
    if (wx != wy)
        return wx < wy ? 1 : -1;
    return (x > y) - (x < y);
}

void
agg_idle(const struct profile *p, const struct agg_filter *f, uint64_t *w, uint64_t *n)
{
    const struct prof_sample *s = profile_samples(p);
    const struct prof_node *nodes = profile_nodes(p);
    *w = *n = 0;
    for (size_t i = 0; i < profile_nsamples(p); i++)
        if (agg_keep(f, &s[i]) && agg_keep_process(p, f, &s[i]) && s[i].node < profile_nnodes(p) &&
            nodes[s[i].node].frame == p->f_idle) {
            *w += s[i].weight_ns;
            (*n)++;
        }
}

int
agg_tree_build(const struct profile *p, int thread, struct agg_tree *t)
{
    struct agg_filter f = {.thread = thread};
    return agg_tree_build_f(p, &f, t);
}

int
agg_tree_build_f(const struct profile *p, const struct agg_filter *filter, struct agg_tree *t)
{
    memset(t, 0, sizeof *t);
    size_t nn = profile_nnodes(p);
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_sample *s = profile_samples(p);
    t->nn = nn;
    t->self_w = calloc(nn, sizeof *t->self_w);
    t->total_w = calloc(nn, sizeof *t->total_w);
    t->self_n = calloc(nn, sizeof *t->self_n);
    t->total_n = calloc(nn, sizeof *t->total_n);
    t->child_start = calloc(nn + 1, sizeof *t->child_start);
    t->child_list = calloc(nn, sizeof *t->child_list);
    uint32_t *fill = calloc(nn, sizeof *fill);
    if (!t->self_w || !t->total_w || !t->self_n || !t->total_n || !t->child_start ||
        !t->child_list || !fill) {
        free(fill);
        agg_tree_free(t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        if (!agg_keep_p(p, filter, &s[i]))
            continue;
        t->self_w[s[i].node] += s[i].weight_ns;
        t->self_n[s[i].node]++;
        t->all_w += s[i].weight_ns;
        t->all_n++;
    }
    for (size_t i = 0; i < nn; i++) {
        t->total_w[i] = t->self_w[i];
        t->total_n[i] = t->self_n[i];
    }
    for (size_t i = nn; i-- > 1;) {
        t->total_w[nodes[i].parent] += t->total_w[i];
        t->total_n[nodes[i].parent] += t->total_n[i];
    }
    for (size_t i = 1; i < nn; i++)
        if (t->total_n[i])
            t->child_start[nodes[i].parent + 1]++;
    for (size_t i = 0; i < nn; i++)
        t->child_start[i + 1] += t->child_start[i];
    for (size_t i = 1; i < nn; i++)
        if (t->total_n[i]) {
            uint32_t par = nodes[i].parent;
            t->child_list[t->child_start[par] + fill[par]++] = (uint32_t)i;
        }
    free(fill);
    sort_tree = t;
    for (size_t i = 0; i < nn; i++)
        qsort(t->child_list + t->child_start[i], t->child_start[i + 1] - t->child_start[i],
              sizeof(uint32_t), child_cmp);
    sort_tree = NULL;
    return 0;
}

void
agg_tree_free(struct agg_tree *t)
{
    free(t->self_w), free(t->total_w), free(t->self_n), free(t->total_n);
    free(t->child_start), free(t->child_list);
    memset(t, 0, sizeof *t);
}

/* --- allocation sites ----------------------------------------------------------------------- */

static int
by_code_leaf(const void *a, const void *b)
{
    const struct agg_site *x = a, *y = b;
    if (x->code != y->code)
        return x->code < y->code ? -1 : 1;
    return (x->leaf > y->leaf) - (x->leaf < y->leaf);
}

static int
by_allocated_desc(const void *a, const void *b)
{
    const struct agg_site *x = a, *y = b;
    if (x->allocated != y->allocated)
        return x->allocated > y->allocated ? -1 : 1;
    return by_code_leaf(a, b);
}

size_t
agg_sites(const struct profile *p, const double *alloc, const double *live, const double *count,
          struct agg_site **out)
{
    size_t nn = profile_nnodes(p), n = 0;
    const struct prof_node *nd = profile_nodes(p);
    const struct prof_frame *f = profile_frames(p);
    struct agg_site *s = malloc((nn ? nn : 1) * sizeof *s);
    if (!(*out = s))
        return 0;
    for (uint32_t node = 1; node < nn; node++) {
        if (alloc[node] <= 0)
            continue;
        uint32_t leaf = nd[node].frame, code = leaf;
        for (uint32_t k = node; k; k = nd[k].parent)
            if (f[nd[k].frame].kind == FRAME_RUBY || f[nd[k].frame].kind == FRAME_BLOCK) {
                code = nd[k].frame;
                break;
            }
        s[n++] = (struct agg_site){code, leaf, alloc[node], live ? live[node] : 0,
                                   count ? count[node] : 0};
    }
    qsort(s, n, sizeof *s, by_code_leaf);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m && s[m - 1].code == s[i].code && s[m - 1].leaf == s[i].leaf) {
            s[m - 1].allocated += s[i].allocated;
            s[m - 1].live += s[i].live;
            s[m - 1].count += s[i].count;
        } else {
            s[m++] = s[i];
        }
    qsort(s, m, sizeof *s, by_allocated_desc);
    return m;
}
