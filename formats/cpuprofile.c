/*
 * cpuprofile.c — the DevTools `Profiler.Profile` JSON (.cpuprofile): writer and reader.
 *
 * Shape: {nodes: [{id, callFrame: {functionName, scriptId, url, lineNumber, columnNumber},
 * hitCount, children, positionTicks}], startTime, endTime, samples: [node id], timeDeltas: [µs]}.
 * One thread per file (DevTools' own rule). Line numbers are 0-based in the file, 1-based in
 * the model. mrun adds a "$mrprof" object (ignored by DevTools and speedscope) carrying the mode,
 * the requested rate, the sampler's counters and, in CPU mode, each sample's CPU weight; without
 * it (Node, Chrome) a sample weighs the time until the next sample, as DevTools computes it.
 * In CPU mode the timeDeltas are the CPU weights end to end and a last (root) sample at endTime
 * ("$mrprof".endSample) ends the real last one for DevTools; mrprof's reader drops that mark.
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
                 struct mp_err *e)
{
    int th = fmt_pick_thread(p, o);
    size_t nn = profile_nnodes(p), ns = profile_nsamples(p);
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);
    uint8_t *used = profile_used_nodes(p, th);
    uint32_t *hits = calloc(nn, sizeof *hits);
    uint32_t *child_start = NULL, *child_list = NULL;
    /* positionTicks: each node's sampled lines, bucketed by node (counting sort) and sorted
     * within the node, so equal lines are runs. tick_start is CSR offsets like child_start. */
    uint32_t *tick_start = calloc(nn + 1, sizeof *tick_start);
    int32_t *ticks = malloc((ns ? ns : 1) * sizeof *ticks);
    if (!used || !hits || profile_children(p, used, &child_start, &child_list) != 0 ||
        !tick_start || !ticks) {
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
            qsort(ticks + tick_start[i], tick_start[i + 1] - tick_start[i], sizeof *ticks,
                  line_cmp);

    uint64_t start = p->meta.start_ns ? p->meta.start_ns : first_t;
    uint64_t end = p->meta.end_ns > last_t ? p->meta.end_ns : last_t + last_w;
    if (nthread && start > first_t)
        start = first_t;
    /* DevTools' Performance panel draws nothing of a profile whose startTime is 0 (a diff's
     * change starts there): such a profile starts at 1 µs; the deltas are relative anyway. */
    uint64_t origin = us(start) ? 0 : 1;
    /* CPU mode: DevTools weighs a sample by the time to the next one (timeDeltas) and knows
     * nothing of "$mrprof".weights, so the deltas it reads are the samples' CPU weights laid end
     * to end from startTime (a sample lasts its weight until the next), endTime their end: it
     * then shows the CPU time and shares mrprof shows. The recording's own clock (wall times)
     * goes to "$mrprof" for mrprof's reader. */
    uint64_t total_w = 0;
    for (size_t i = 0; p->meta.mode == PROFILE_CPU && i < ns; i++)
        if (s[i].thread == (uint32_t)th)
            total_w += s[i].weight_ns;
    /* (A thread that used no CPU keeps the wall axis: an empty CPU axis DevTools cannot draw.) */
    bool cpu_axis = p->meta.mode == PROFILE_CPU && us(total_w) > 0;
    /* DevTools ignores endTime for the last sample: CPUProfileDataModel.normalizeTimestamps
     * gives it the mean interval, (last - first) / (n - 1), and the Bottom-up table clips that
     * to endTime. A last sample heavier than the mean lost the difference (fib.rb under load:
     * DevTools fib 68 %, mrprof 75 %). So the CPU axis ends with one more sample, of the (root)
     * node (DevTools draws no call for it) at endTime, weight 0: the real last sample then lasts
     * its weight, and the mark's own mean interval falls past endTime. "$mrprof".endSample says
     * the mark is there; mrprof's reader drops it. */
    bool end_mark = cpu_axis && used[0];
    if (end_mark)
        hits[0]++;

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
    fputs("],\n\"startTime\":", out);
    json_u64(out, us(start) + origin);
    fputs(",\"endTime\":", out);
    json_u64(out, (cpu_axis ? us(start) + us(total_w) : us(end)) + origin);
    fputs(",\n\"samples\":[", out);
    size_t k = 0;
    for (size_t i = 0; i < ns; i++)
        if (s[i].thread == (uint32_t)th) {
            if (k++)
                putc(',', out);
            json_u64(out, s[i].node + 1);
        }
    if (end_mark)
        fputs(",1", out); /* the (root) node: node 0 is written as id 1 */
    fputs("],\n\"timeDeltas\":[", out);
    if (cpu_axis) {
        uint64_t cum = 0, prev = 0; /* ns of CPU before the sample; its µs written before */
        k = 0;
        for (size_t i = 0; i < ns; i++)
            if (s[i].thread == (uint32_t)th) {
                if (k++)
                    putc(',', out);
                json_u64(out, us(cum) - prev);
                prev = us(cum);
                cum += s[i].weight_ns;
            }
        if (end_mark) {
            putc(',', out);
            json_u64(out, us(cum) - prev);
        }
        fputs("],\n\"$mrprof\":{\"version\":1,\"wallStartTime\":", out);
        json_u64(out, us(start) + origin);
        fputs(",\"wallEndTime\":", out);
        json_u64(out, us(end) + origin);
        fputs(",\"wallTimeDeltas\":[", out);
    }
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
    if (end_mark) {
        putc(',', out);
        json_u64(out, us(end) - prev);
    }
    if (cpu_axis)
        fputs(end_mark ? "],\"endSample\":1," : "],", out);
    else
        fputs("],\n\"$mrprof\":{\"version\":1,", out);
    fmt__put_sampler_meta(out, p);
    fputs(",\"tool\":", out);
    json_str(out, p->meta.tool);
    fmt__put_pid(out, p);
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
    if (end_mark)
        fputs(",0", out);
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

/* A frame with no script and no line is native code (mrun writes its C methods so, as V8 its
 * builtins): the memory view and MemoryProfile#top name an allocation site by the Ruby frame
 * above it, which needs the difference. */
static int
frame_kind_of(const char *fn, const char *url, double line)
{
    if (fn[0] == '(' && fn[strlen(fn) - 1] == ')')
        return FRAME_PSEUDO;
    if (strncmp(fn, "block in ", 9) == 0)
        return FRAME_BLOCK;
    if (!*url && line < 0)
        return FRAME_CFUNC;
    return FRAME_RUBY;
}

uint32_t
fmt__frame_of(struct profile *p, const struct json_val *cf, int line_base)
{
    const char *fname = json_str_or(json_get(cf, "functionName"), "");
    const char *furl = json_str_or(json_get(cf, "url"), "");
    /* A line outside 1 .. INT32_MAX (after the base) is unknown, as DevTools shows none. */
    double raw = json_num(json_get(cf, "lineNumber"), -1);
    int32_t line = fmt__line(raw - line_base + 1);
    if (!*fname)
        fname = "(anonymous)";
    return profile_frame_intern(p, fname, furl, line, frame_kind_of(fname, furl, raw));
}

/* Sorts samples [base, end) by time and weighs each by the gap to the next (DevTools' rule);
 * the last lasts until end_ns, or the mean interval when end_ns says nothing. */
struct time_key {
    uint64_t t;
    size_t at;
};

static int
by_time(const void *a, const void *b)
{
    const struct time_key *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/* A stable sort by time (DevTools sorts with JavaScript's stable sort: samples at one time
 * keep their order). Left unsorted when out of memory. */
static void
sort_by_time(struct prof_sample *s, size_t n)
{
    struct time_key *k = malloc(n * sizeof *k);
    struct prof_sample *copy = malloc(n * sizeof *copy);
    if (k && copy) {
        for (size_t i = 0; i < n; i++)
            k[i] = (struct time_key){s[i].t_ns, i};
        qsort(k, n, sizeof *k, by_time);
        memcpy(copy, s, n * sizeof *s);
        for (size_t i = 0; i < n; i++)
            s[i] = copy[k[i].at];
    }
    free(k), free(copy);
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
        sort_by_time(s, n);
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
assign_lines(struct profile *p, const struct json_val **items, const uint32_t *model, int nn,
             size_t base)
{
    size_t n = 0, cap = 0;
    struct line_tick *lt = NULL;
    for (int i = 0; i < nn; i++) {
        const struct json_val *pt = json_get(items[i], "positionTicks");
        JSON_EACH(t, pt)
        {
            const struct json_val *l = json_get(t, "line");
            const struct json_val *k = json_get(t, "ticks");
            int32_t ln = json_is_num(l) ? fmt__line(l->num) : 0;
            if (!ln || !json_is_num(k) || k->num < 1)
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
            lt[n] = (struct line_tick){model[i], ln, (uint32_t)fmt__clamp_u64(k->num, UINT32_MAX),
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
                          const char *thread_name, int64_t tid, struct mp_err *e)
{
    const struct json_val *jnodes = json_get(root, "nodes");
    const struct json_val *jsamples = json_get(root, "samples");
    const struct json_val *jdeltas = json_get(root, "timeDeltas");
    const struct json_val *jstart = json_get(root, "startTime");
    const struct json_val *jend = json_get(root, "endTime");
    /* mrun's CPU-mode file: timeDeltas are the CPU weights end to end (for DevTools); the
     * recording's own times are in "$mrprof". */
    const struct json_val *jwall = json_get(json_get(root, "$mrprof"), "wallTimeDeltas");
    if (json_is_arr(jwall) && json_is_arr(jsamples) && json_len(jwall) == json_len(jsamples)) {
        jdeltas = jwall;
        jstart = json_get(json_get(root, "$mrprof"), "wallStartTime");
        jend = json_get(json_get(root, "$mrprof"), "wallEndTime");
    }
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
    JSON_EACH(jn, jnodes)
    {
        const struct json_val *jid = json_get(jn, "id");
        const struct json_val *cf = json_get(jn, "callFrame");
        int64_t id;
        if (!json_is_num(jid) || !json_is_obj(cf)) {
            rc = bad(e, name, "nodes[%d] lacks a numeric \"id\" or a \"callFrame\" object", i);
            goto done;
        }
        if (!fmt__to_i64(jid->num, INT64_MIN, INT64_MAX, &id)) {
            rc = bad(e, name, "nodes[%d].id (%g) is not an integer mrprof can hold", i, jid->num);
            goto done;
        }
        frame[i] = fmt__frame_of(p, cf, 0);
        map[i] = (struct idmap){id, (uint32_t)i};
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
            int64_t pid;
            int pi = fmt__to_i64(jp->num, INT64_MIN, INT64_MAX, &pid)
                         ? find_index(map, (size_t)nn, pid)
                         : -1;
            if (pi < 0) {
                rc = bad(e, name, "nodes[%d] names parent %g, which does not exist", i, jp->num);
                goto done;
            }
            parent[i] = pi;
        }
        const struct json_val *kids = json_get(items[i], "children");
        JSON_EACH(kid, kids)
        {
            int64_t cid;
            int ci = json_is_num(kid) && fmt__to_i64(kid->num, INT64_MIN, INT64_MAX, &cid)
                         ? find_index(map, (size_t)nn, cid)
                         : -1;
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
        rc = bad(e, name, "\"samples\" has %d entries and \"timeDeltas\" %d", nsamp,
                 (int)json_len(jdeltas));
        goto done;
    }
    double start_us = json_is_num(jstart) ? jstart->num : 0;
    double end_us = json_is_num(jend) ? jend->num : 0;
    uint64_t start_ns, end_ns;
    if (!fmt__us_to_ns(start_us, &start_ns) || !fmt__us_to_ns(end_us, &end_ns)) {
        rc = bad(e, name, "\"startTime\" %g or \"endTime\" %g µs is negative or beyond 2^62 ns",
                 start_us, end_us);
        goto done;
    }
    const struct json_val *meta = json_get(root, "$mrprof");
    const struct json_val *jweights = meta ? json_get(meta, "weights") : NULL;
    if ((int)json_len(jweights) != nsamp)
        jweights = NULL;
    /* mrun's CPU axis ends with a (root) sample at endTime that only ends the sample before it
     * for DevTools (see the writer): no sample of the recording. */
    bool end_mark = nsamp > 0 && json_num(json_get(meta, "endSample"), 0) == 1;
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
        int64_t sid;
        int idx = -1;
        if (fmt__to_i64(js->num, INT64_MIN, INT64_MAX, &sid))
            idx = dense ? (sid >= 0 && sid <= max_id ? dense[sid] : -1)
                        : find_index(map, (size_t)nn, sid);
        if (idx < 0) {
            rc = bad(e, name, "samples[%d] names node %g, which does not exist", k, js->num);
            goto done;
        }
        if (end_mark && k == nsamp - 1 && model[idx] == 0)
            break;
        /* Chrome and Node write negative deltas (samples of one profile out of order); DevTools'
         * CPUProfileDataModel sums them as they are and then sorts the samples by time, which
         * fmt__weigh_by_gaps (or, with recorded weights, the final sort) does here. */
        t += jd->num;
        uint64_t t_ns, w = 0;
        if (!fmt__us_to_ns(t, &t_ns)) {
            rc = bad(e, name, "timeDeltas[%d] puts the sample at %g µs, %s", k, t,
                     t < 0 ? "a negative time" : "beyond 2^62 ns");
            goto done;
        }
        if (jw) {
            if (json_is_num(jw) && jw->num > 0 && !fmt__to_ns(jw->num, &w)) {
                rc = bad(e, name, "\"$mrprof\" weights[%d] (%g ns) is beyond 2^62 ns", k, jw->num);
                goto done;
            }
            jw += jw->size;
        }
        profile_add_sample(p, th, model[idx], 0, t_ns, w);
    }
    /* positionTicks say how many of a node's samples were on each line; hand the lines out to
     * that node's samples in order, so that per-line aggregation works on files read back. */
    assign_lines(p, items, model, nn, base);
    /* Without recorded weights a sample lasts until the next one (DevTools' rule); the last
     * lasts until endTime, or the mean interval when endTime says nothing. */
    if (!jweights)
        fmt__weigh_by_gaps(p, base, end_ns);
    if (!p->meta.start_ns || start_ns < p->meta.start_ns)
        p->meta.start_ns = start_ns;
    if (end_ns > p->meta.end_ns)
        p->meta.end_ns = end_ns;
    if (meta) {
        const struct json_val *tool = json_get(meta, "tool");
        p->meta.mode = PROFILE_WALL;
        fmt__get_sampler_meta(p, meta);
        if (json_is_str(tool))
            snprintf(p->meta.tool, sizeof p->meta.tool, "%s", tool->str);
        p->meta.wall_start_ns =
            fmt__clamp_u64(json_num(json_get(meta, "wallStartNs"), 0), UINT64_MAX);
        fmt__get_pid(p, meta);
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
               struct fmt_head_tree *t, struct mp_err *e)
{
    memset(t, 0, sizeof *t);
    if (!json_is_obj(head))
        return fmt__bad(e, name, kind, "\"head\" is not an object");
    /* Depth-first with an explicit stack of (JSON node, model parent). */
    struct item {
        const struct json_val *j;
        uint32_t parent;
    } *stack = NULL;
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
        /* A node without an id gets a negative one of its own (ids in files are positive). */
        const struct json_val *jid = json_get(it.j, "id");
        int64_t id = -1 - (int64_t)t->n;
        if (jid && !(json_is_num(jid) && fmt__to_i64(jid->num, 0, INT64_MAX, &id))) {
            rc = fmt__bad(e, name, kind, "a node's \"id\" is not an integer from 0 to 2^63");
            goto out;
        }
        double hits = json_num(json_get(it.j, "hitCount"), 0),
               self = json_num(json_get(it.j, "selfSize"), 0);
        if (!(hits >= 0 && hits < 4294967296.0) || !(self >= 0 && self < (double)FMT_MAX_NS)) {
            rc = fmt__bad(e, name, kind,
                          "node %lld's \"hitCount\" or \"selfSize\" is negative or too large",
                          (long long)id);
            goto out;
        }
        t->nodes[t->n++] = (struct fmt_head_node){id, model, hits, self};
        const struct json_val *kids = json_get(it.j, "children");
        if (kids && !json_is_arr(kids)) {
            rc = fmt__bad(e, name, kind, "a node's \"children\" is not an array");
            goto out;
        }
        JSON_EACH(k, kids)
        {
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
                                 struct mp_err *e)
{
    const char *kind = "a legacy .cpuprofile (a \"head\" tree)";
    struct fmt_head_tree t;
    int rc = fmt__walk_head(p, json_get(root, "head"), name, kind, &t, e);
    if (rc)
        return rc;
    const struct json_val *js = json_get(root, "samples"), *jt = json_get(root, "timestamps");
    double start = json_num(json_get(root, "startTime"), 0),
           end = json_num(json_get(root, "endTime"), start);
    size_t ns = json_len(js);
    if (jt && (!json_is_arr(jt) || json_len(jt) != ns)) {
        rc = fmt__bad(e, name, kind,
                      "\"timestamps\" has %zu entries and \"samples\" %zu: one per sample",
                      json_len(jt), ns);
        goto out;
    }
    bool stamped = jt && ns > 0;
    double ts0 = stamped ? json_num(json_first(jt), 0) : 0;
    /* Seconds or µs? Seconds when that puts startTime nearer the first timestamp, or (without
     * timestamps) when the numbers only make sense as seconds. */
    double scale = stamped ? (fabs(start * 1e6 - ts0) < fabs(start - ts0) ? 1e6 : 1.0)
                           : (end - start < 86400 && start < 2e9 ? 1e6 : 1.0);
    uint64_t start_ns, end_ns;
    if (!fmt__us_to_ns(start * scale, &start_ns) || !fmt__us_to_ns(end * scale, &end_ns)) {
        rc = fmt__bad(e, name, kind, "\"startTime\" %g or \"endTime\" %g is negative or too large",
                      start, end);
        goto out;
    }
    uint32_t th = profile_add_thread(p, 0, "main");
    size_t base = profile_nsamples(p);
    if (ns > 0) {
        double step = ns > 1 && end > start ? (end - start) * scale / (double)ns : 1000.0;
        size_t k = 0;
        const struct json_val *tv = stamped ? json_first(jt) : NULL; /* only when one per sample */
        JSON_EACH(sv, js)
        {
            int64_t sid;
            const struct fmt_head_node *n =
                json_is_num(sv) && fmt__to_i64(sv->num, INT64_MIN, INT64_MAX, &sid)
                    ? fmt__head_find(&t, sid)
                    : NULL;
            if (!n) {
                rc = fmt__bad(e, name, kind, "samples[%zu] names a node that does not exist", k);
                goto out;
            }
            double us = stamped ? json_num(tv, 0) : start * scale + step * (double)k;
            uint64_t t_ns;
            if (!fmt__us_to_ns(us, &t_ns)) {
                rc = fmt__bad(e, name, kind, "timestamps[%zu] (%g µs) is negative or too large", k,
                              us);
                goto out;
            }
            profile_add_sample(p, th, n->model, 0, t_ns, 0);
            if (tv)
                tv += tv->size;
            k++;
        }
        fmt__weigh_by_gaps(p, base, end_ns);
    } else {
        double hits = 0;
        for (size_t k = 0; k < t.n; k++)
            hits += t.nodes[k].hits > 0 ? t.nodes[k].hits : 0;
        /* Each node's share of the duration (1 ms per hit without one); hits are below 2^32 and
         * the duration below 2^62 ns, so the product fits. */
        double each = hits > 0 && end_ns > start_ns ? (double)(end_ns - start_ns) / hits : 1e6;
        for (size_t k = 0; k < t.n; k++)
            if (t.nodes[k].hits >= 1)
                profile_add_sample(p, th, t.nodes[k].model, 0, start_ns,
                                   fmt__clamp_u64(each * t.nodes[k].hits, FMT_MAX_NS));
    }
    p->meta.mode = PROFILE_WALL;
    p->meta.start_ns = start_ns;
    p->meta.end_ns = end_ns > start_ns ? end_ns : 0;
    snprintf(p->meta.tool, sizeof p->meta.tool, "DevTools (legacy)");
out:
    free(t.nodes);
    return rc;
}
