/*
 * cpuprofile.c — the DevTools `Profiler.Profile` JSON (.cpuprofile): writer and reader.
 *
 * Shape: {nodes: [{id, callFrame: {functionName, scriptId, url, lineNumber, columnNumber},
 * hitCount, children, positionTicks}], startTime, endTime, samples: [node id], timeDeltas: [µs]}.
 * One thread per file (DevTools' own rule). Line numbers are 0-based in the file, 1-based in
 * the model. mrun adds a "$mrprof" object (ignored by DevTools and speedscope) carrying the mode,
 * the requested rate, the sampler's counters and, in CPU mode, each sample's CPU weight; without
 * it (Node, Chrome) a sample weighs the time until the next sample, as DevTools computes it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/internal.h"

/* --- writer --------------------------------------------------------------------------------- */

static int
line_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static uint64_t
us(uint64_t ns)
{
    return ns / 1000;
}

int
cpuprofile_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                 struct fmt_err *e)
{
    int th = fmt_pick_thread(p, o);
    size_t nn = profile_nnodes(p), ns = profile_nsamples(p);
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);
    uint8_t *used = fmt_used_nodes(p, th);
    uint32_t *hits = calloc(nn, sizeof *hits);
    uint32_t *child_start = NULL, *child_list = NULL;
    /* positionTicks: each node's sampled lines, bucketed by node (counting sort) and sorted
     * within the node, so equal lines are runs. tick_start is CSR offsets like child_start. */
    uint32_t *tick_start = calloc(nn + 1, sizeof *tick_start);
    int32_t *ticks = malloc((ns ? ns : 1) * sizeof *ticks);
    if (!used || !hits || fmt_children(p, used, &child_start, &child_list) != 0 || !tick_start || !ticks) {
        free(used), free(hits), free(child_start), free(child_list), free(tick_start), free(ticks);
        e->code = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return e->code;
    }
    size_t nthread = 0;
    uint64_t first_t = 0, last_t = 0, last_w = 0;
    for (size_t i = 0; i < ns; i++) {
        if (s[i].thread != (uint32_t)th)
            continue;
        if (!nthread++)
            first_t = s[i].t_ns;
        last_t = s[i].t_ns;
        last_w = s[i].weight_ns;
        hits[s[i].node]++;
        if (s[i].line > 0)
            tick_start[s[i].node + 1]++;
    }
    for (size_t i = 0; i < nn; i++)
        tick_start[i + 1] += tick_start[i];
    uint32_t *fill = calloc(nn ? nn : 1, sizeof *fill);
    if (!fill) {
        free(used), free(hits), free(child_start), free(child_list), free(tick_start), free(ticks);
        e->code = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return e->code;
    }
    for (size_t i = 0; i < ns; i++)
        if (s[i].thread == (uint32_t)th && s[i].line > 0)
            ticks[tick_start[s[i].node] + fill[s[i].node]++] = s[i].line;
    free(fill);
    for (size_t i = 0; i < nn; i++)
        if (tick_start[i + 1] - tick_start[i] > 1)
            qsort(ticks + tick_start[i], tick_start[i + 1] - tick_start[i], sizeof *ticks, line_cmp);

    fputs("{\"nodes\":[", out);
    bool first = true;
    for (size_t i = 0; i < nn; i++) {
        if (!used[i])
            continue;
        const struct prof_frame *f = &frames[nodes[i].frame];
        fputs(first ? "\n{\"id\":" : ",\n{\"id\":", out);
        first = false;
        json_u64(out, i + 1);
        putc(',', out);
        fmt_write_call_frame(out, p, f, true);
        fputs(",\"hitCount\":", out);
        json_u64(out, hits[i]);
        if (child_start[i + 1] > child_start[i]) {
            fputs(",\"children\":[", out);
            for (uint32_t c = child_start[i]; c < child_start[i + 1]; c++) {
                if (c > child_start[i])
                    putc(',', out);
                json_u64(out, child_list[c] + 1);
            }
            putc(']', out);
        }
        if (tick_start[i + 1] > tick_start[i]) {
            fputs(",\"positionTicks\":[", out);
            for (uint32_t tk = tick_start[i], j; tk < tick_start[i + 1]; tk = j) {
                for (j = tk; j < tick_start[i + 1] && ticks[j] == ticks[tk]; j++)
                    ;
                fputs(tk == tick_start[i] ? "{\"line\":" : ",{\"line\":", out);
                json_i64(out, ticks[tk]);
                fputs(",\"ticks\":", out);
                json_u64(out, j - tk);
                putc('}', out);
            }
            putc(']', out);
        }
        putc('}', out);
    }
    uint64_t start = p->meta.start_ns ? p->meta.start_ns : first_t;
    uint64_t end = p->meta.end_ns > last_t ? p->meta.end_ns : last_t + last_w;
    if (nthread && start > first_t)
        start = first_t;
    /* DevTools' Performance panel draws nothing of a profile whose startTime is 0 (a diff's
     * change starts there): such a profile starts at 1 µs; the deltas are relative anyway. */
    uint64_t origin = us(start) ? 0 : 1;
    fputs("],\n\"startTime\":", out);
    json_u64(out, us(start) + origin);
    fputs(",\"endTime\":", out);
    json_u64(out, us(end) + origin);
    fputs(",\n\"samples\":[", out);
    size_t k = 0;
    for (size_t i = 0; i < ns; i++)
        if (s[i].thread == (uint32_t)th) {
            if (k++)
                putc(',', out);
            json_u64(out, s[i].node + 1);
        }
    fputs("],\n\"timeDeltas\":[", out);
    uint64_t prev = us(start);
    k = 0;
    for (size_t i = 0; i < ns; i++)
        if (s[i].thread == (uint32_t)th) {
            if (k++)
                putc(',', out);
            uint64_t t = us(s[i].t_ns);
            json_u64(out, t - prev);
            prev = t;
        }
    fputs("],\n\"$mrprof\":{\"version\":1,\"mode\":", out);
    json_str(out, p->meta.mode == PROFILE_CPU ? "cpu" : "wall");
    fputs(",\"hz\":", out);
    json_u64(out, p->meta.hz);
    fputs(",\"signals\":", out);
    json_u64(out, p->meta.signals);
    fputs(",\"dropped\":", out);
    json_u64(out, p->meta.dropped);
    fputs(",\"truncated\":", out);
    json_u64(out, p->meta.truncated);
    fputs(",\"tool\":", out);
    json_str(out, p->meta.tool);
    if (p->meta.pid > 0) {
        fputs(",\"pid\":", out);
        json_i64(out, p->meta.pid);
    }
    if (p->meta.wall_start_ns) {
        fputs(",\"wallStartNs\":", out);
        json_u64(out, p->meta.wall_start_ns);
    }
    if (profile_nthreads(p) > 0) {
        fputs(",\"thread\":", out);
        json_str(out, profile_str(p, profile_threads(p)[th].name));
    }
    fputs(",\"threads\":", out);
    json_u64(out, profile_nthreads(p));
    fputs(",\"weights\":[", out);
    k = 0;
    for (size_t i = 0; i < ns; i++)
        if (s[i].thread == (uint32_t)th) {
            if (k++)
                putc(',', out);
            json_u64(out, s[i].weight_ns);
        }
    fputs("]}}\n", out);
    free(used), free(hits), free(child_start), free(child_list), free(tick_start), free(ticks);
    return 0;
}

/* --- reader --------------------------------------------------------------------------------- */

struct idmap {
    int64_t id;
    uint32_t index;
};

static int
idmap_cmp(const void *a, const void *b)
{
    const struct idmap *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int
find_index(const struct idmap *m, size_t n, int64_t id)
{
    struct idmap k = {id, 0};
    const struct idmap *r = bsearch(&k, m, n, sizeof *m, idmap_cmp);
    return r ? (int)r->index : -1;
}

#define bad(e, name, ...) fmt__bad(e, name, "a .cpuprofile", __VA_ARGS__)

static int
frame_kind_of(const char *fn)
{
    if (fn[0] == '(' && fn[strlen(fn) - 1] == ')')
        return FRAME_PSEUDO;
    if (strncmp(fn, "block in ", 9) == 0)
        return FRAME_BLOCK;
    return FRAME_RUBY;
}

uint32_t
fmt__frame_of(struct profile *p, const struct json_val *cf, int line_base)
{
    const char *fname = json_str_or(json_get(cf, "functionName"), "");
    const char *furl = json_str_or(json_get(cf, "url"), "");
    double ln = json_num(json_get(cf, "lineNumber"), -1);
    int line = ln - line_base >= 0 ? (int)ln - line_base + 1 : 0;
    if (!*fname)
        fname = "(anonymous)";
    return profile_frame_intern(p, fname, furl, line, frame_kind_of(fname));
}

/* Sorts samples [base, end) by time and weighs each by the gap to the next (DevTools' rule);
 * the last lasts until end_ns, or the mean interval when end_ns says nothing. */
static int
by_time(const void *a, const void *b)
{
    const struct prof_sample *x = a, *y = b;
    return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
}

void
fmt__weigh_by_gaps(struct profile *p, size_t base, uint64_t end_ns)
{
    size_t n = p->samples.len - base;
    if (n == 0)
        return;
    struct prof_sample *s = (struct prof_sample *)p->samples.data + base;
    bool sorted = true;
    for (size_t k = 1; k < n && sorted; k++)
        sorted = s[k - 1].t_ns <= s[k].t_ns;
    if (!sorted)
        qsort(s, n, sizeof *s, by_time);
    for (size_t k = 0; k + 1 < n; k++)
        s[k].weight_ns = s[k + 1].t_ns - s[k].t_ns;
    uint64_t last = s[n - 1].t_ns;
    uint64_t mean = n > 1 ? (last - s[0].t_ns) / (uint64_t)(n - 1) : 1000000;
    s[n - 1].weight_ns = end_ns > last && end_ns - last < 10 * mean + 1 ? end_ns - last : mean;
}

struct line_tick {
    uint32_t node;
    int32_t line;
    uint32_t ticks, seq; /* seq keeps the file's order within a node */
};

static int
line_tick_cmp(const void *a, const void *b)
{
    const struct line_tick *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void
assign_lines(struct profile *p, const struct json_val **items, const uint32_t *model, int nn, size_t base)
{
    size_t n = 0, cap = 0;
    struct line_tick *lt = NULL;
    for (int i = 0; i < nn; i++) {
        const struct json_val *pt = json_get(items[i], "positionTicks");
        JSON_EACH(t, pt) {
            const struct json_val *l = json_get(t, "line");
            const struct json_val *k = json_get(t, "ticks");
            if (!json_is_num(l) || !json_is_num(k) || k->num < 1)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                struct line_tick *bigger = realloc(lt, cap * sizeof *lt);
                if (!bigger) {
                    free(lt);
                    return;
                }
                lt = bigger;
            }
            lt[n] = (struct line_tick){model[i], (int32_t)l->num, (uint32_t)k->num,
                                       (uint32_t)n};
            n++;
        }
    }
    if (!n) {
        free(lt);
        return;
    }
    qsort(lt, n, sizeof *lt, line_tick_cmp);
    size_t nnodes = profile_nnodes(p);
    uint32_t *first = malloc(nnodes * sizeof *first);
    if (!first) {
        free(lt);
        return;
    }
    for (size_t i = 0; i < nnodes; i++)
        first[i] = UINT32_MAX;
    for (size_t i = n; i-- > 0;)
        first[lt[i].node] = (uint32_t)i;
    struct prof_sample *s = p->samples.data;
    for (size_t i = base; i < p->samples.len; i++) {
        uint32_t c = first[s[i].node];
        while (c != UINT32_MAX && c < n && lt[c].node == s[i].node && lt[c].ticks == 0)
            c++;
        if (c == UINT32_MAX || c >= n || lt[c].node != s[i].node)
            continue;
        s[i].line = lt[c].line;
        lt[c].ticks--;
        first[s[i].node] = c;
    }
    free(first);
    free(lt);
}

/* Fills p from a parsed Profiler.Profile object. */
int
fmt__cpuprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                          const char *thread_name, int64_t tid, struct fmt_err *e)
{
    const struct json_val *jnodes = json_get(root, "nodes");
    const struct json_val *jsamples = json_get(root, "samples");
    const struct json_val *jdeltas = json_get(root, "timeDeltas");
    const struct json_val *jstart = json_get(root, "startTime");
    const struct json_val *jend = json_get(root, "endTime");
    if (!json_is_arr(jnodes))
        return bad(e, name, "it has no \"nodes\" array");
    int nn = (int)json_len(jnodes);
    if (nn <= 0)
        return bad(e, name, "\"nodes\" is empty (a profile has at least its (root) node)");
    struct idmap *map = malloc((size_t)nn * sizeof *map);
    int *parent = malloc((size_t)nn * sizeof *parent);
    uint32_t *frame = malloc((size_t)nn * sizeof *frame);
    uint32_t *model = malloc((size_t)nn * sizeof *model);
    int *order = malloc((size_t)nn * sizeof *order);
    const struct json_val **items = malloc((size_t)nn * sizeof *items);
    int *dense = NULL; /* node id -> index, when the ids are small */
    int rc = 0;
    if (!map || !parent || !frame || !model || !order || !items) {
        rc = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "%s: out of memory", name);
        e->code = rc;
        goto done;
    }
    int i = 0;
    JSON_EACH(jn, jnodes) {
        const struct json_val *jid = json_get(jn, "id");
        const struct json_val *cf = json_get(jn, "callFrame");
        if (!json_is_num(jid) || !json_is_obj(cf)) {
            rc = bad(e, name, "nodes[%d] lacks a numeric \"id\" or a \"callFrame\" object", i);
            goto done;
        }
        frame[i] = fmt__frame_of(p, cf, 0);
        map[i] = (struct idmap){(int64_t)jid->num, (uint32_t)i};
        parent[i] = -1;
        items[i] = jn;
        i++;
    }
    qsort(map, (size_t)nn, sizeof *map, idmap_cmp);
    for (int k = 1; k < nn; k++)
        if (map[k].id == map[k - 1].id) {
            rc = bad(e, name, "two nodes share the id %lld", (long long)map[k].id);
            goto done;
        }
    /* Parents: from "parent" where given, else from the parents' "children" lists. */
    for (i = 0; i < nn; i++) {
        const struct json_val *jp = json_get(items[i], "parent");
        if (json_is_num(jp)) {
            int pi = find_index(map, (size_t)nn, (int64_t)jp->num);
            if (pi < 0) {
                rc = bad(e, name, "nodes[%d] names parent %lld, which does not exist", i, (long long)jp->num);
                goto done;
            }
            parent[i] = pi;
        }
        const struct json_val *kids = json_get(items[i], "children");
        JSON_EACH(kid, kids) {
            int ci = json_is_num(kid) ? find_index(map, (size_t)nn, (int64_t)kid->num) : -1;
            if (ci < 0) {
                rc = bad(e, name, "nodes[%d] lists a child that does not exist", i);
                goto done;
            }
            if (parent[ci] >= 0 && parent[ci] != i) {
                rc = bad(e, name, "nodes[%d] has two parents", ci);
                goto done;
            }
            parent[ci] = i;
        }
    }
    /* Breadth-first from the roots, so every parent gets its model node before its children;
     * nodes never reached sit on a cycle. */
    int head = 0, tail = 0;
    for (i = 0; i < nn; i++)
        model[i] = UINT32_MAX;
    for (i = 0; i < nn; i++)
        if (parent[i] < 0) {
            model[i] = frame[i] == p->f_root ? 0 : profile_node(p, 0, frame[i]);
            order[tail++] = i;
        }
    /* Children lists by index for the walk. */
    size_t unn = (size_t)(unsigned)nn;
    int *cstart = calloc(unn + 1, sizeof *cstart), *clist = malloc(unn * sizeof *clist);
    int *cfill = calloc(unn, sizeof *cfill);
    if (!cstart || !clist || !cfill) {
        free(cstart), free(clist), free(cfill);
        rc = e->code = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "%s: out of memory", name);
        goto done;
    }
    for (i = 0; i < nn; i++)
        if (parent[i] >= 0)
            cstart[parent[i] + 1]++;
    for (i = 0; i < nn; i++)
        cstart[i + 1] += cstart[i];
    for (i = 0; i < nn; i++)
        if (parent[i] >= 0)
            clist[cstart[parent[i]] + cfill[parent[i]]++] = i;
    while (head < tail) {
        int n = order[head++];
        for (int c = cstart[n]; c < cstart[n + 1]; c++) {
            int ch = clist[c];
            if (model[ch] != UINT32_MAX)
                continue;
            model[ch] = profile_node(p, model[n], frame[ch]);
            order[tail++] = ch;
        }
    }
    free(cstart), free(clist), free(cfill);
    if (tail < nn) {
        rc = bad(e, name, "its node tree has a cycle (a node is its own ancestor)");
        goto done;
    }

    uint32_t th = profile_add_thread(p, tid, thread_name);
    int nsamp = json_is_arr(jsamples) ? (int)json_len(jsamples) : 0;
    if (nsamp > 0 && !json_is_arr(jdeltas)) {
        rc = bad(e, name, "it has \"samples\" but no \"timeDeltas\"");
        goto done;
    }
    if (nsamp != (json_is_arr(jdeltas) ? (int)json_len(jdeltas) : 0)) {
        rc = bad(e, name, "\"samples\" has %d entries and \"timeDeltas\" %d", nsamp, (int)json_len(jdeltas));
        goto done;
    }
    double start_us = json_is_num(jstart) ? jstart->num : 0;
    double end_us = json_is_num(jend) ? jend->num : 0;
    const struct json_val *meta = json_get(root, "$mrprof");
    const struct json_val *jweights = meta ? json_get(meta, "weights") : NULL;
    if ((int)json_len(jweights) != nsamp)
        jweights = NULL;
    /* V8 numbers nodes 1..n: a direct table then replaces the binary search per sample. */
    int64_t max_id = map[nn - 1].id;
    if (map[0].id >= 0 && max_id < 4 * (int64_t)nn + 64)
        dense = malloc((size_t)(max_id + 1) * sizeof *dense);
    if (dense) {
        for (int64_t k = 0; k <= max_id; k++)
            dense[k] = -1;
        for (int k = 0; k < nn; k++)
            dense[map[k].id] = (int)map[k].index;
    }
    size_t base = profile_nsamples(p);
    double t = start_us;
    const struct json_val *js = json_first(jsamples), *jd = json_first(jdeltas);
    const struct json_val *jw = json_first(jweights);
    for (int k = 0; k < nsamp; k++, js += js->size, jd += jd->size) {
        if (!json_is_num(js) || !json_is_num(jd)) {
            rc = bad(e, name, "samples[%d] or timeDeltas[%d] is not a number", k, k);
            goto done;
        }
        if (jd->num < 0) {
            rc = bad(e, name, "timeDeltas[%d] is negative (%g µs)", k, jd->num);
            goto done;
        }
        int64_t sid = (int64_t)js->num;
        int idx = dense ? (sid >= 0 && sid <= max_id ? dense[sid] : -1) : find_index(map, (size_t)nn, sid);
        if (idx < 0) {
            rc = bad(e, name, "samples[%d] names node %lld, which does not exist", k, (long long)js->num);
            goto done;
        }
        t += jd->num;
        uint64_t w = 0;
        if (jw) {
            w = json_is_num(jw) && jw->num > 0 ? (uint64_t)jw->num : 0;
            jw += jw->size;
        }
        profile_add_sample(p, th, model[idx], 0, (uint64_t)(t * 1000.0), w);
    }
    /* positionTicks say how many of a node's samples were on each line; hand the lines out to
     * that node's samples in order, so that per-line aggregation works on files read back. */
    assign_lines(p, items, model, nn, base);
    /* Without recorded weights a sample lasts until the next one (DevTools' rule); the last
     * lasts until endTime, or the mean interval when endTime says nothing. */
    if (!jweights)
        fmt__weigh_by_gaps(p, base, (uint64_t)(end_us * 1000.0));
    if (!p->meta.start_ns || (uint64_t)(start_us * 1000.0) < p->meta.start_ns)
        p->meta.start_ns = (uint64_t)(start_us * 1000.0);
    if ((uint64_t)(end_us * 1000.0) > p->meta.end_ns)
        p->meta.end_ns = (uint64_t)(end_us * 1000.0);
    if (meta) {
        const struct json_val *m = json_get(meta, "mode");
        const struct json_val *hz = json_get(meta, "hz");
        const struct json_val *sig = json_get(meta, "signals");
        const struct json_val *dr = json_get(meta, "dropped");
        const struct json_val *tr = json_get(meta, "truncated");
        const struct json_val *tool = json_get(meta, "tool");
        p->meta.mode = json_is_str(m) && strcmp(m->str, "cpu") == 0 ? PROFILE_CPU : PROFILE_WALL;
        p->meta.hz = json_is_num(hz) ? (uint32_t)hz->num : 0;
        p->meta.signals = json_is_num(sig) ? (uint64_t)sig->num : 0;
        p->meta.dropped = json_is_num(dr) ? (uint64_t)dr->num : 0;
        p->meta.truncated = json_is_num(tr) ? (uint64_t)tr->num : 0;
        if (json_is_str(tool))
            snprintf(p->meta.tool, sizeof p->meta.tool, "%s", tool->str);
        p->meta.wall_start_ns = (uint64_t)json_num(json_get(meta, "wallStartNs"), 0);
        double pid = json_num(json_get(meta, "pid"), 0);
        p->meta.pid = pid >= 1 && pid <= 4194304 ? (int64_t)pid : 0; /* Linux's pid_max at most */
    } else {
        p->meta.mode = PROFILE_WALL;
        snprintf(p->meta.tool, sizeof p->meta.tool, "DevTools/Node");
    }
done:
    free(map), free(parent), free(frame), free(model), free(order), free(items), free(dense);
    return rc;
}

/* --- the "head" tree of the legacy .cpuprofile and of .heapprofile ---------------------------- */

static int
head_cmp(const void *a, const void *b)
{
    const struct fmt_head_node *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int
fmt__walk_head(struct profile *p, const struct json_val *head, const char *name, const char *kind,
               struct fmt_head_tree *t, struct fmt_err *e)
{
    memset(t, 0, sizeof *t);
    if (!json_is_obj(head))
        return fmt__bad(e, name, kind, "\"head\" is not an object");
    /* Depth-first with an explicit stack of (JSON node, model parent). */
    struct item { const struct json_val *j; uint32_t parent; } *stack = NULL;
    size_t depth = 0, cap = 0;
    int rc = 0;
    stack = malloc(64 * sizeof *stack), cap = 64;
    if (!stack)
        goto oom;
    stack[depth++] = (struct item){head, UINT32_MAX};
    while (depth) {
        struct item it = stack[--depth];
        if (!json_is_obj(it.j)) {
            rc = fmt__bad(e, name, kind, "a \"children\" entry is not a node object");
            goto out;
        }
        const struct json_val *cf = json_get(it.j, "callFrame");
        /* Nodes without a callFrame carry its fields themselves, lines counted from 1. */
        uint32_t frame = cf ? fmt__frame_of(p, cf, 0) : fmt__frame_of(p, it.j, 1);
        uint32_t model = it.parent == UINT32_MAX
                             ? (frame == p->f_root ? 0 : profile_node(p, 0, frame))
                             : profile_node(p, it.parent, frame);
        if (t->n == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 256;
            struct fmt_head_node *bigger = realloc(t->nodes, nc * sizeof *bigger);
            if (!bigger)
                goto oom;
            t->nodes = bigger, t->cap = nc;
        }
        t->nodes[t->n++] = (struct fmt_head_node){
            (int64_t)json_num(json_get(it.j, "id"), -1 - (double)t->n), model,
            json_num(json_get(it.j, "hitCount"), 0), json_num(json_get(it.j, "selfSize"), 0)};
        const struct json_val *kids = json_get(it.j, "children");
        if (kids && !json_is_arr(kids)) {
            rc = fmt__bad(e, name, kind, "a node's \"children\" is not an array");
            goto out;
        }
        JSON_EACH(k, kids) {
            if (depth == cap) {
                struct item *bigger = realloc(stack, cap * 2 * sizeof *stack);
                if (!bigger)
                    goto oom;
                stack = bigger, cap *= 2;
            }
            stack[depth++] = (struct item){k, model};
        }
    }
    qsort(t->nodes, t->n, sizeof *t->nodes, head_cmp);
    for (size_t k = 1; k < t->n; k++)
        if (t->nodes[k].id == t->nodes[k - 1].id) {
            rc = fmt__bad(e, name, kind, "two nodes share the id %lld", (long long)t->nodes[k].id);
            goto out;
        }
    goto out;
oom:
    e->code = rc = -ENOMEM;
    snprintf(e->msg, sizeof e->msg, "%s: out of memory", name);
out:
    free(stack);
    if (rc)
        free(t->nodes), memset(t, 0, sizeof *t);
    return rc;
}

const struct fmt_head_node *
fmt__head_find(const struct fmt_head_tree *t, int64_t id)
{
    struct fmt_head_node k = {.id = id};
    return bsearch(&k, t->nodes, t->n, sizeof *t->nodes, head_cmp);
}

/*
 * The legacy form (Chrome before 2016, node-inspector, v8-profiler): the tree as "head" with
 * nested "children", node fields without a callFrame (lineNumber from 1), "samples" with
 * absolute "timestamps" in µs, and startTime/endTime in seconds (or µs). Without samples the
 * nodes' hitCounts spread over the profile's duration.
 */
int
fmt__legacy_cpuprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                                 struct fmt_err *e)
{
    const char *kind = "a legacy .cpuprofile (a \"head\" tree)";
    struct fmt_head_tree t;
    int rc = fmt__walk_head(p, json_get(root, "head"), name, kind, &t, e);
    if (rc)
        return rc;
    const struct json_val *js = json_get(root, "samples"), *jt = json_get(root, "timestamps");
    double start = json_num(json_get(root, "startTime"), 0), end = json_num(json_get(root, "endTime"), start);
    size_t ns = json_len(js);
    bool stamped = json_len(jt) == ns && ns > 0;
    double ts0 = stamped ? json_num(json_first(jt), 0) : 0;
    /* Seconds or µs? Seconds when that puts startTime nearer the first timestamp, or (without
     * timestamps) when the numbers only make sense as seconds. */
    double scale = stamped ? (fabs(start * 1e6 - ts0) < fabs(start - ts0) ? 1e6 : 1.0)
                           : (end - start < 86400 && start < 2e9 ? 1e6 : 1.0);
    uint64_t start_ns = (uint64_t)(start * scale * 1000.0), end_ns = (uint64_t)(end * scale * 1000.0);
    uint32_t th = profile_add_thread(p, 0, "main");
    size_t base = profile_nsamples(p);
    if (ns > 0) {
        double step = ns > 1 && end > start ? (end - start) * scale / (double)ns : 1000.0;
        size_t k = 0;
        const struct json_val *tv = json_first(jt);
        JSON_EACH(sv, js) {
            const struct fmt_head_node *n = json_is_num(sv) ? fmt__head_find(&t, (int64_t)sv->num) : NULL;
            if (!n) {
                rc = fmt__bad(e, name, kind, "samples[%zu] names a node that does not exist", k);
                goto out;
            }
            double us = stamped ? json_num(tv, 0) : start * scale + step * (double)k;
            if (us < 0) {
                rc = fmt__bad(e, name, kind, "timestamps[%zu] is negative", k);
                goto out;
            }
            profile_add_sample(p, th, n->model, 0, (uint64_t)(us * 1000.0), 0);
            if (tv)
                tv += tv->size;
            k++;
        }
        fmt__weigh_by_gaps(p, base, end_ns);
    } else {
        double hits = 0;
        for (size_t k = 0; k < t.n; k++)
            hits += t.nodes[k].hits > 0 ? t.nodes[k].hits : 0;
        uint64_t each = hits > 0 && end_ns > start_ns ? (uint64_t)((double)(end_ns - start_ns) / hits) : 1000000;
        for (size_t k = 0; k < t.n; k++)
            if (t.nodes[k].hits >= 1)
                profile_add_sample(p, th, t.nodes[k].model, 0, start_ns, each * (uint64_t)t.nodes[k].hits);
    }
    p->meta.mode = PROFILE_WALL;
    p->meta.start_ns = start_ns;
    p->meta.end_ns = end_ns > start_ns ? end_ns : 0;
    snprintf(p->meta.tool, sizeof p->meta.tool, "DevTools (legacy)");
out:
    free(t.nodes);
    return rc;
}
