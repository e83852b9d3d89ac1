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
    uint32_t *child_start = calloc(nn + 1, sizeof *child_start);
    uint32_t *child_list = calloc(nn ? nn : 1, sizeof *child_list);
    /* positionTicks: each node's sampled lines, bucketed by node (counting sort) and sorted
     * within the node, so equal lines are runs. tick_start is CSR offsets like child_start. */
    uint32_t *tick_start = calloc(nn + 1, sizeof *tick_start);
    int32_t *ticks = malloc((ns ? ns : 1) * sizeof *ticks);
    if (!used || !hits || !child_start || !child_list || !tick_start || !ticks) {
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
    /* Children in CSR form: count, prefix-sum, fill. */
    for (size_t i = 1; i < nn; i++)
        if (used[i])
            child_start[nodes[i].parent + 1]++;
    for (size_t i = 0; i < nn; i++)
        child_start[i + 1] += child_start[i];
    uint32_t *fill = calloc(nn ? nn : 1, sizeof *fill);
    if (!fill) {
        free(used), free(hits), free(child_start), free(child_list), free(tick_start), free(ticks);
        e->code = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return e->code;
    }
    for (size_t i = 1; i < nn; i++)
        if (used[i]) {
            uint32_t par = nodes[i].parent;
            child_list[child_start[par] + fill[par]++] = (uint32_t)i;
        }
    memset(fill, 0, (nn ? nn : 1) * sizeof *fill);
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
    fputs("],\n\"startTime\":", out);
    json_u64(out, us(start));
    fputs(",\"endTime\":", out);
    json_u64(out, us(end));
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

static int
bad(struct fmt_err *e, const char *name, const char *what)
{
    e->code = -EINVAL;
    snprintf(e->msg, sizeof e->msg, "%s: looks like a .cpuprofile, but %s", name, what);
    return e->code;
}

static int
frame_kind_of(const char *fn)
{
    if (fn[0] == '(' && fn[strlen(fn) - 1] == ')')
        return FRAME_PSEUDO;
    if (strncmp(fn, "block in ", 9) == 0)
        return FRAME_BLOCK;
    return FRAME_RUBY;
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
assign_lines(struct profile *p, const cJSON **items, const uint32_t *model, int nn, size_t base)
{
    size_t n = 0, cap = 0;
    struct line_tick *lt = NULL;
    for (int i = 0; i < nn; i++) {
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(items[i], "positionTicks"), *t;
        cJSON_ArrayForEach(t, pt)
        {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(t, "line");
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "ticks");
            if (!cJSON_IsNumber(l) || !cJSON_IsNumber(k) || k->valuedouble < 1)
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
            lt[n] = (struct line_tick){model[i], (int32_t)l->valuedouble, (uint32_t)k->valuedouble,
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
fmt__cpuprofile_read_json(struct profile *p, const cJSON *root, const char *name,
                          const char *thread_name, int64_t tid, struct fmt_err *e)
{
    const cJSON *jnodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    const cJSON *jsamples = cJSON_GetObjectItemCaseSensitive(root, "samples");
    const cJSON *jdeltas = cJSON_GetObjectItemCaseSensitive(root, "timeDeltas");
    const cJSON *jstart = cJSON_GetObjectItemCaseSensitive(root, "startTime");
    const cJSON *jend = cJSON_GetObjectItemCaseSensitive(root, "endTime");
    if (!cJSON_IsArray(jnodes))
        return bad(e, name, "it has no \"nodes\" array");
    int nn = cJSON_GetArraySize(jnodes);
    if (nn <= 0)
        return bad(e, name, "\"nodes\" is empty (a profile has at least its (root) node)");
    struct idmap *map = malloc((size_t)nn * sizeof *map);
    int *parent = malloc((size_t)nn * sizeof *parent);
    uint32_t *frame = malloc((size_t)nn * sizeof *frame);
    uint32_t *model = malloc((size_t)nn * sizeof *model);
    int *order = malloc((size_t)nn * sizeof *order);
    const cJSON **items = malloc((size_t)nn * sizeof *items);
    int rc = 0;
    if (!map || !parent || !frame || !model || !order || !items) {
        rc = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "%s: out of memory", name);
        e->code = rc;
        goto done;
    }
    int i = 0;
    const cJSON *jn;
    cJSON_ArrayForEach(jn, jnodes)
    {
        const cJSON *jid = cJSON_GetObjectItemCaseSensitive(jn, "id");
        const cJSON *cf = cJSON_GetObjectItemCaseSensitive(jn, "callFrame");
        char what[160];
        if (!cJSON_IsNumber(jid) || !cJSON_IsObject(cf)) {
            snprintf(what, sizeof what, "nodes[%d] lacks a numeric \"id\" or a \"callFrame\" object", i);
            rc = bad(e, name, what);
            goto done;
        }
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(cf, "functionName");
        const cJSON *url = cJSON_GetObjectItemCaseSensitive(cf, "url");
        const cJSON *ln = cJSON_GetObjectItemCaseSensitive(cf, "lineNumber");
        const char *fname = cJSON_IsString(fn) ? fn->valuestring : "";
        const char *furl = cJSON_IsString(url) ? url->valuestring : "";
        int line = cJSON_IsNumber(ln) && ln->valuedouble >= 0 ? (int)ln->valuedouble + 1 : 0;
        if (!*fname)
            fname = *furl ? "(anonymous)" : "(anonymous)";
        frame[i] = profile_frame_intern(p, fname, furl, line, frame_kind_of(fname));
        map[i] = (struct idmap){(int64_t)jid->valuedouble, (uint32_t)i};
        parent[i] = -1;
        items[i] = jn;
        i++;
    }
    qsort(map, (size_t)nn, sizeof *map, idmap_cmp);
    for (int k = 1; k < nn; k++)
        if (map[k].id == map[k - 1].id) {
            char what[128];
            snprintf(what, sizeof what, "two nodes share the id %lld", (long long)map[k].id);
            rc = bad(e, name, what);
            goto done;
        }
    /* Parents: from "parent" where given, else from the parents' "children" lists. */
    for (i = 0; i < nn; i++) {
        const cJSON *jp = cJSON_GetObjectItemCaseSensitive(items[i], "parent");
        if (cJSON_IsNumber(jp)) {
            int pi = find_index(map, (size_t)nn, (int64_t)jp->valuedouble);
            if (pi < 0) {
                char what[160];
                snprintf(what, sizeof what, "nodes[%d] names parent %lld, which does not exist", i,
                         (long long)jp->valuedouble);
                rc = bad(e, name, what);
                goto done;
            }
            parent[i] = pi;
        }
        const cJSON *kids = cJSON_GetObjectItemCaseSensitive(items[i], "children");
        const cJSON *kid;
        cJSON_ArrayForEach(kid, kids)
        {
            int ci = cJSON_IsNumber(kid) ? find_index(map, (size_t)nn, (int64_t)kid->valuedouble) : -1;
            if (ci < 0) {
                char what[160];
                snprintf(what, sizeof what, "nodes[%d] lists a child that does not exist", i);
                rc = bad(e, name, what);
                goto done;
            }
            if (parent[ci] >= 0 && parent[ci] != i) {
                char what[160];
                snprintf(what, sizeof what, "nodes[%d] has two parents", ci);
                rc = bad(e, name, what);
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
    int nsamp = cJSON_IsArray(jsamples) ? cJSON_GetArraySize(jsamples) : 0;
    if (nsamp > 0 && !cJSON_IsArray(jdeltas))
        { rc = bad(e, name, "it has \"samples\" but no \"timeDeltas\""); goto done; }
    if (nsamp != (cJSON_IsArray(jdeltas) ? cJSON_GetArraySize(jdeltas) : 0)) {
        char what[160];
        snprintf(what, sizeof what, "\"samples\" has %d entries and \"timeDeltas\" %d", nsamp,
                 cJSON_GetArraySize(jdeltas));
        rc = bad(e, name, what);
        goto done;
    }
    double start_us = cJSON_IsNumber(jstart) ? jstart->valuedouble : 0;
    double end_us = cJSON_IsNumber(jend) ? jend->valuedouble : 0;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "$mrprof");
    const cJSON *jweights = meta ? cJSON_GetObjectItemCaseSensitive(meta, "weights") : NULL;
    if (cJSON_GetArraySize(jweights) != nsamp)
        jweights = NULL;
    size_t base = profile_nsamples(p);
    double t = start_us;
    const cJSON *js = jsamples ? jsamples->child : NULL, *jd = jdeltas ? jdeltas->child : NULL;
    const cJSON *jw = jweights ? jweights->child : NULL;
    for (int k = 0; k < nsamp; k++, js = js->next, jd = jd->next) {
        if (!cJSON_IsNumber(js) || !cJSON_IsNumber(jd)) {
            char what[96];
            snprintf(what, sizeof what, "samples[%d] or timeDeltas[%d] is not a number", k, k);
            rc = bad(e, name, what);
            goto done;
        }
        if (jd->valuedouble < 0) {
            char what[128];
            snprintf(what, sizeof what, "timeDeltas[%d] is negative (%g µs)", k, jd->valuedouble);
            rc = bad(e, name, what);
            goto done;
        }
        int idx = find_index(map, (size_t)nn, (int64_t)js->valuedouble);
        if (idx < 0) {
            char what[160];
            snprintf(what, sizeof what, "samples[%d] names node %lld, which does not exist", k,
                     (long long)js->valuedouble);
            rc = bad(e, name, what);
            goto done;
        }
        t += jd->valuedouble;
        uint64_t w = 0;
        if (jw) {
            w = cJSON_IsNumber(jw) && jw->valuedouble > 0 ? (uint64_t)jw->valuedouble : 0;
            jw = jw->next;
        }
        profile_add_sample(p, th, model[idx], 0, (uint64_t)(t * 1000.0), w);
    }
    /* positionTicks say how many of a node's samples were on each line; hand the lines out to
     * that node's samples in order, so that per-line aggregation works on files read back. */
    assign_lines(p, items, model, nn, base);
    /* Without recorded weights a sample lasts until the next one (DevTools' rule); the last
     * lasts until endTime, or the mean interval when endTime says nothing. */
    if (!jweights && nsamp > 0) {
        struct prof_sample *s = (struct prof_sample *)p->samples.data + base;
        for (int k = 0; k + 1 < nsamp; k++)
            s[k].weight_ns = s[k + 1].t_ns - s[k].t_ns;
        uint64_t last = s[nsamp - 1].t_ns;
        uint64_t mean = nsamp > 1 ? (last - s[0].t_ns) / (uint64_t)(nsamp - 1) : 1000000;
        uint64_t endns = (uint64_t)(end_us * 1000.0);
        s[nsamp - 1].weight_ns = endns > last && endns - last < 10 * mean + 1 ? endns - last : mean;
    }
    if (!p->meta.start_ns || (uint64_t)(start_us * 1000.0) < p->meta.start_ns)
        p->meta.start_ns = (uint64_t)(start_us * 1000.0);
    if ((uint64_t)(end_us * 1000.0) > p->meta.end_ns)
        p->meta.end_ns = (uint64_t)(end_us * 1000.0);
    if (meta) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(meta, "mode");
        const cJSON *hz = cJSON_GetObjectItemCaseSensitive(meta, "hz");
        const cJSON *sig = cJSON_GetObjectItemCaseSensitive(meta, "signals");
        const cJSON *dr = cJSON_GetObjectItemCaseSensitive(meta, "dropped");
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(meta, "truncated");
        const cJSON *tool = cJSON_GetObjectItemCaseSensitive(meta, "tool");
        p->meta.mode = cJSON_IsString(m) && strcmp(m->valuestring, "cpu") == 0 ? PROFILE_CPU : PROFILE_WALL;
        p->meta.hz = cJSON_IsNumber(hz) ? (uint32_t)hz->valuedouble : 0;
        p->meta.signals = cJSON_IsNumber(sig) ? (uint64_t)sig->valuedouble : 0;
        p->meta.dropped = cJSON_IsNumber(dr) ? (uint64_t)dr->valuedouble : 0;
        p->meta.truncated = cJSON_IsNumber(tr) ? (uint64_t)tr->valuedouble : 0;
        if (cJSON_IsString(tool))
            snprintf(p->meta.tool, sizeof p->meta.tool, "%s", tool->valuestring);
    } else {
        p->meta.mode = PROFILE_WALL;
        snprintf(p->meta.tool, sizeof p->meta.tool, "DevTools/Node");
    }
done:
    free(map), free(parent), free(frame), free(model), free(order), free(items);
    return rc;
}
