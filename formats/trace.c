/*
 * trace.c — Trace Event JSON (object form), one track per thread, in two flavours:
 *
 *  - `trace`, for the DevTools Performance panel (the default): per thread a `Profile` event
 *    and `ProfileChunk` events (nodes with `parent`, `samples` and `timeDeltas` of equal length
 *    in each chunk), which DevTools turns into its JS flame chart and Bottom-up table itself.
 *    DevTools keeps a thread only if it has an ordinary event too: each thread gets two instant
 *    events (`I`, "mrprof: profiling started" / "stopped") at the ends of the recording, which
 *    also set the time axis; no slice, so nothing is drawn above the samples. A sample whose leaf
 *    is (idle), (program) or (garbage collector) is written as a sample of that pseudo frame
 *    directly under (root), as V8 writes them: DevTools recognises them only there (it leaves
 *    idle and program time out of the flame chart and hangs GC under the stack before it); the
 *    sample's own node (the call it waited in) is kept for mrprof in "$mrprof".samples.
 *  - `perfetto`, for Perfetto UI and chrome://tracing, which ignore ProfileChunk in JSON: the
 *    same profile events, plus perfectly nested `X` slices built from consecutive samples
 *    (category "mrprof.stack") on each thread's own track.
 * Both: the recording process's pid (1 when the source did not say), thread names and sort
 * order as metadata, spans (Deferred tasks, ...) as `X` events, counters as `C` events. No
 * `TracingStartedInBrowser` (without a frame it makes DevTools drop the process).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/internal.h"

#define CHUNK_SAMPLES 10000

enum trace_for { FOR_DEVTOOLS, FOR_PERFETTO };

static uint64_t
us(uint64_t ns)
{
    return ns / 1000;
}

static void
event_head(FILE *out, bool *first, const char *ph, const char *name, int64_t pid, int64_t tid,
           uint64_t ts)
{
    fputs(*first ? "\n{\"ph\":\"" : ",\n{\"ph\":\"", out);
    *first = false;
    fputs(ph, out);
    fputs("\",\"name\":", out);
    json_str(out, name);
    fputs(",\"pid\":", out);
    json_i64(out, pid);
    fputs(",\"tid\":", out);
    json_i64(out, tid);
    fputs(",\"ts\":", out);
    json_u64(out, ts);
    /* Chrome's category for metadata; speedscope takes a trace for a Chrome one only when its
     * first event has a "cat", so every event carries one. */
    if (ph[0] == 'M')
        fputs(",\"cat\":\"__metadata\"", out);
}

/* The pseudo frames DevTools recognises only as children of (root), and the node ids written
 * for them there: the trie's own node under the root when it has one (DevTools takes only the
 * first of two such nodes, and would show the other as a function), else one after every real
 * node's. */
struct hoist {
    uint32_t frame[3];
    uint64_t id[3];
    bool needed[3];
};

static void
hoist_init(struct hoist *h, const struct profile *p)
{
    *h = (struct hoist){.frame = {p->f_idle, p->f_program, p->f_gc}};
    for (int k = 0; k < 3; k++)
        h->id[k] = profile_nnodes(p) + 1 + (uint64_t)k;
    for (size_t n = 1; n < profile_nnodes(p); n++)
        for (int k = 0; k < 3; k++)
            if (profile_nodes(p)[n].parent == 0 && profile_nodes(p)[n].frame == h->frame[k])
                h->id[k] = n + 1;
}

/* The node id a sample of node n is written with. */
static uint64_t
hoisted_id(const struct hoist *h, const struct profile *p, uint32_t n)
{
    const struct prof_node *node = &profile_nodes(p)[n];
    if (h && node->parent != 0)
        for (int k = 0; k < 3; k++)
            if (node->frame == h->frame[k])
                return h->id[k];
    return (uint64_t)n + 1;
}

static void
write_profile_events(const struct profile *p, FILE *out, bool *first, uint32_t th, int64_t pid,
                     int64_t tid, const uint8_t *used, uint64_t start_us, const struct hoist *h)
{
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);
    size_t nn = profile_nnodes(p), ns = profile_nsamples(p);
    char id[32];
    snprintf(id, sizeof id, "0x%x", th + 1);

    event_head(out, first, "P", "Profile", pid, tid, start_us);
    fputs(",\"cat\":\"disabled-by-default-v8.cpu_profiler\",\"id\":\"", out);
    fputs(id, out);
    fputs("\",\"args\":{\"data\":{\"startTime\":", out);
    json_u64(out, start_us);
    fputs("}}}", out);

    size_t i = 0;
    bool nodes_done = false;
    uint64_t prev = start_us;
    /* At least one chunk, which carries the nodes: a profile of 0 samples is still a profile. */
    do {
        size_t begin = i, count = 0;
        uint64_t chunk_ts = prev;
        event_head(out, first, "P", "ProfileChunk", pid, tid, chunk_ts);
        fputs(",\"cat\":\"disabled-by-default-v8.cpu_profiler\",\"id\":\"", out);
        fputs(id, out);
        fputs("\",\"args\":{\"data\":{\"cpuProfile\":{\"nodes\":[", out);
        if (!nodes_done) {
            bool f = true;
            for (size_t n = 0; n < nn; n++) {
                if (!used[n])
                    continue;
                const struct prof_frame *fr = &frames[nodes[n].frame];
                fputs(f ? "{\"id\":" : ",{\"id\":", out);
                f = false;
                json_u64(out, n + 1);
                putc(',', out);
                fmt_write_call_frame(out, p, fr, false);
                if (n) {
                    fputs(",\"parent\":", out);
                    json_u64(out, nodes[n].parent + 1);
                }
                putc('}', out);
            }
            for (int k = 0; h && k < 3; k++) {
                if (!h->needed[k] || (h->id[k] <= nn && used[h->id[k] - 1]))
                    continue; /* not sampled, or declared above */
                fputs(",{\"id\":", out);
                json_u64(out, h->id[k]);
                putc(',', out);
                fmt_write_call_frame(out, p, &frames[h->frame[k]], false);
                fputs(",\"parent\":1}", out);
            }
            nodes_done = true;
        }
        fputs("],\"samples\":[", out);
        bool moved = false; /* a sample of this chunk written under a hoisted node */
        for (; i < ns && count < CHUNK_SAMPLES; i++) {
            if (s[i].thread != th)
                continue;
            if (count++)
                putc(',', out);
            uint64_t wid = hoisted_id(h, p, s[i].node);
            moved |= wid != (uint64_t)s[i].node + 1;
            json_u64(out, wid);
        }
        fputs("]},\"timeDeltas\":[", out);
        size_t k = 0;
        for (size_t j = begin; j < i; j++) {
            if (s[j].thread != th)
                continue;
            if (k++)
                putc(',', out);
            uint64_t t = us(s[j].t_ns);
            json_u64(out, t - prev);
            prev = t;
        }
        putc(']', out);
        /* V8's per-sample source lines, and (read back by mrprof only) mrun's CPU weights and
         * the samples' own nodes where pseudo frames were moved under (root). */
        fputs(",\"lines\":[", out);
        k = 0;
        for (size_t j = begin; j < i; j++)
            if (s[j].thread == th) {
                if (k++)
                    putc(',', out);
                json_i64(out, s[j].line);
            }
        putc(']', out);
        if (p->meta.mode == PROFILE_CPU || moved) {
            fputs(",\"$mrprof\":{", out);
            if (p->meta.mode == PROFILE_CPU) {
                fputs("\"mode\":\"cpu\",\"weights\":[", out);
                k = 0;
                for (size_t j = begin; j < i; j++)
                    if (s[j].thread == th) {
                        if (k++)
                            putc(',', out);
                        json_u64(out, s[j].weight_ns);
                    }
                putc(']', out);
            }
            if (moved) {
                fputs(p->meta.mode == PROFILE_CPU ? ",\"samples\":[" : "\"samples\":[", out);
                k = 0;
                for (size_t j = begin; j < i; j++)
                    if (s[j].thread == th) {
                        if (k++)
                            putc(',', out);
                        json_u64(out, (uint64_t)s[j].node + 1);
                    }
                putc(']', out);
            }
            putc('}', out);
        }
        fputs("}}}", out);
    } while (i < ns);
}

/* Perfetto: nested X slices from consecutive samples of one thread. */
static void
write_slices(const struct profile *p, FILE *out, bool *first, uint32_t th, int64_t pid, int64_t tid,
             uint64_t last_len_ns)
{
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);
    uint32_t open_node[1024];
    uint64_t open_ts[1024];
    uint32_t path[1024];
    int depth = 0;
    uint64_t t_end = 0;
    for (size_t i = 0; i <= profile_nsamples(p); i++) {
        int plen = 0;
        uint64_t t;
        if (i < profile_nsamples(p)) {
            if (s[i].thread != th)
                continue;
            for (uint32_t n = s[i].node; n != 0 && plen < 1024; n = nodes[n].parent)
                path[plen++] = n;
            t = us(s[i].t_ns);
            t_end = us(s[i].t_ns + last_len_ns);
        } else {
            t = t_end; /* close everything after the last sample */
        }
        /* path is leaf-first; the common prefix is counted from the root. */
        int common = 0;
        while (common < depth && common < plen && open_node[common] == path[plen - 1 - common])
            common++;
        while (depth > common) {
            depth--;
            const struct prof_frame *f = &frames[nodes[open_node[depth]].frame];
            event_head(out, first, "X", profile_str(p, f->name), pid, tid, open_ts[depth]);
            fputs(",\"cat\":\"mrprof.stack\",\"dur\":", out);
            json_u64(out, t > open_ts[depth] ? t - open_ts[depth] : 0);
            putc('}', out);
        }
        for (int k = common; k < plen; k++) {
            open_node[depth] = path[plen - 1 - k];
            open_ts[depth] = t;
            depth++;
        }
    }
}

static void
instant(FILE *out, bool *first, const char *name, int64_t pid, int64_t tid, uint64_t ts)
{
    event_head(out, first, "I", name, pid, tid, ts);
    fputs(",\"cat\":\"mrprof\",\"s\":\"t\"}", out);
}

/* The pid a thread of process k is written under: the process's own (main: the profile's). */
static int64_t
process_pid(const struct profile *p, uint32_t k, int64_t main_pid)
{
    int64_t pid = k ? profile_process_pid(p, k) : main_pid;
    return pid > 0 ? pid : main_pid + k;
}

static int
write_trace(const struct profile *p, FILE *out, enum trace_for who, struct mp_err *e)
{
    bool first = true;
    const struct prof_sample *s = profile_samples(p);
    uint64_t interval_ns = p->meta.hz ? 1000000000u / p->meta.hz : 1000000;
    int64_t pid = p->meta.pid > 0 ? p->meta.pid : 1;
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", out);
    event_head(out, &first, "M", "process_name", pid, 0, 0);
    fputs(",\"args\":{\"name\":", out);
    /* The process's name (a cluster worker's), else the tool's; the tool then rides in
     * "$mrprof" (read back below). */
    json_str(out, p->meta.process_name[0] ? p->meta.process_name
                  : p->meta.tool[0]       ? p->meta.tool
                                          : "mrun");
    /* What the sampler was asked and did, read back by mrprof (DevTools reads args.name). */
    fputs(",\"$mrprof\":{\"version\":1,", out);
    if (p->meta.process_name[0]) {
        fputs("\"tool\":", out);
        json_str(out, p->meta.tool[0] ? p->meta.tool : "mrun");
        putc(',', out);
    }
    fmt__put_sampler_meta(out, p);
    fputs("}}}", out);
    /* The other processes of a cluster: one process_name each (and a sort order: primary
     * first), their threads under their own pid below. */
    for (uint32_t k = 1; k < profile_nprocesses(p); k++) {
        int64_t kpid = process_pid(p, k, pid);
        event_head(out, &first, "M", "process_name", kpid, 0, 0);
        fputs(",\"args\":{\"name\":", out);
        json_str(out, profile_process_name(p, k));
        fputs("}}", out);
        event_head(out, &first, "M", "process_sort_index", kpid, 0, 0);
        fputs(",\"args\":{\"sort_index\":", out);
        json_u64(out, k);
        fputs("}}", out);
    }
    int64_t main_pid = pid;
    for (size_t th = 0; th < profile_nthreads(p); th++) {
        const struct prof_thread_info *ti = &profile_threads(p)[th];
        int64_t tid = ti->tid ? ti->tid : (int64_t)th + 1;
        pid = process_pid(p, ti->process, main_pid);
        event_head(out, &first, "M", "thread_name", pid, tid, 0);
        fputs(",\"args\":{\"name\":", out);
        json_str(out, profile_str(p, ti->name));
        fputs("}}", out);
        event_head(out, &first, "M", "thread_sort_index", pid, tid, 0);
        fputs(",\"args\":{\"sort_index\":", out);
        json_u64(out, th);
        fputs("}}", out);

        struct hoist h;
        hoist_init(&h, p);
        uint64_t lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < profile_nsamples(p); i++)
            if (s[i].thread == th) {
                if (s[i].t_ns < lo)
                    lo = s[i].t_ns;
                hi = s[i].t_ns + interval_ns;
                uint64_t wid = hoisted_id(&h, p, s[i].node);
                for (int k = 0; k < 3; k++)
                    h.needed[k] |= wid == h.id[k];
            }
        if (lo == UINT64_MAX && (th > 0 || profile_nsamples(p) > 0))
            continue;
        if (lo == UINT64_MAX) /* no samples at all: the main thread's empty profile */
            lo = hi = p->meta.start_ns;
        uint64_t start_us = us(p->meta.start_ns && p->meta.start_ns < lo ? p->meta.start_ns : lo);
        uint64_t end_us = us(p->meta.end_ns > hi ? p->meta.end_ns : hi);
        if (who == FOR_DEVTOOLS)
            instant(out, &first, "mrprof: profiling started", pid, tid, start_us);
        uint8_t *used = profile_used_nodes(p, (int)th);
        if (!used) {
            return mp_err_oom(e, NULL);
        }
        write_profile_events(p, out, &first, (uint32_t)th, pid, tid, used, start_us,
                             who == FOR_DEVTOOLS ? &h : NULL);
        free(used);
        if (who == FOR_DEVTOOLS)
            instant(out, &first, "mrprof: profiling stopped", pid, tid, end_us);
        else
            write_slices(p, out, &first, (uint32_t)th, pid, tid, interval_ns);
    }
    pid = main_pid;
    for (size_t i = 0; i < p->spans.len; i++) {
        const struct prof_span *sp = &profile_spans(p)[i];
        const struct prof_thread_info *ti =
            sp->thread < profile_nthreads(p) ? &profile_threads(p)[sp->thread] : NULL;
        event_head(out, &first, "X", profile_str(p, sp->name),
                   ti ? process_pid(p, ti->process, main_pid) : pid, ti ? ti->tid : 0,
                   us(sp->start_ns));
        fputs(",\"cat\":\"mrprof.span\",\"dur\":", out);
        json_u64(out, us(sp->dur_ns));
        putc('}', out);
    }
    for (size_t i = 0; i < p->counters.len; i++) {
        const struct prof_counter *c = &profile_counters(p)[i];
        event_head(out, &first, "C", profile_str(p, c->name), pid, 0, us(c->t_ns));
        fprintf(out, ",\"cat\":\"mrprof.counter\",\"args\":{\"value\":%.17g}}", c->value);
    }
    fputs("\n]}\n", out);
    return 0;
}

int
trace_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o, struct mp_err *e)
{
    (void)o;
    return write_trace(p, out, FOR_DEVTOOLS, e);
}

int
perfetto_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o, struct mp_err *e)
{
    (void)o;
    return write_trace(p, out, FOR_PERFETTO, e);
}

/* --- reader --------------------------------------------------------------------------------- */

/* One profiled thread: a `Profile` event and its `ProfileChunk`s, matched by (pid, id). */
struct tprofile {
    double pid;
    char id[64];
    int64_t tid;
    bool tid_from_profile;
    double start_us;
    bool has_start;
    size_t *chunks; /* indices of the chunk events */
    size_t nchunks;
};

struct tnode {
    int64_t id, parent; /* parent -1: none */
    uint32_t frame, model;
};

static int
tnode_cmp(const void *a, const void *b)
{
    const struct tnode *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static struct tnode *
tnode_find(struct tnode *n, size_t count, int64_t id)
{
    struct tnode k = {.id = id};
    return count ? bsearch(&k, n, count, sizeof *n, tnode_cmp) : NULL; /* never bsearch(NULL) */
}

static const char *
event_id(const struct json_val *ev, char *buf, size_t len)
{
    const struct json_val *id = json_get(ev, "id");
    if (json_is_str(id))
        return id->str;
    if (json_is_num(id)) {
        snprintf(buf, len, "%.0f", id->num);
        return buf;
    }
    return "";
}

static const char *
thread_name(const struct json_val *events, double pid, int64_t tid, char *buf, size_t len)
{
    JSON_EACH(ev, events)
    {
        if (strcmp(json_str_or(json_get(ev, "name"), ""), "thread_name") != 0 ||
            json_num(json_get(ev, "pid"), -1) != pid ||
            fmt__i64_or(json_get(ev, "tid"), INT64_MIN, INT64_MAX, -1) != tid)
            continue;
        const char *n = json_str_or(json_get(json_get(ev, "args"), "name"), NULL);
        if (n)
            return n;
    }
    snprintf(buf, len, "pid %.0f tid %lld", pid, (long long)tid);
    return buf;
}

#define TRACE_KIND "a Trace Event file"

/* Resolves every node's model node: parents first; a parent no chunk declared makes the node a
 * child of the root (V8 sometimes leaves the parent in a chunk that was dropped). */
static int
resolve_nodes(struct profile *p, struct tnode *n, size_t count, const char *name, struct mp_err *e)
{
    size_t *chain = malloc((count + 1) * sizeof *chain);
    if (!chain)
        return e->code = -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        size_t depth = 0, at = i;
        /* Climb to a resolved ancestor or a root, remembering the way. */
        while (n[at].model == UINT32_MAX) {
            if (depth > count) {
                free(chain);
                return fmt__bad(e, name, TRACE_KIND,
                                "the nodes of a profile form a cycle (node %lld)",
                                (long long)n[i].id);
            }
            chain[depth++] = at;
            struct tnode *par = n[at].parent >= 0 ? tnode_find(n, count, n[at].parent) : NULL;
            if (!par)
                break;
            at = (size_t)(par - n);
        }
        /* Walk back down, parents first. */
        while (depth) {
            struct tnode *t = &n[chain[--depth]];
            if (t->model != UINT32_MAX)
                continue;
            struct tnode *par = t->parent >= 0 ? tnode_find(n, count, t->parent) : NULL;
            uint32_t pm = par ? par->model : 0;
            t->model = !par && t->frame == p->f_root ? 0 : profile_node(p, pm, t->frame);
        }
    }
    free(chain);
    return 0;
}

/* The process of a thread under pid: 0 for the first profile's pid (the profile's own), else the
 * process of that pid (added on first use, named by its process_name event). */
static uint32_t
process_of_pid(struct profile *p, const struct json_val *events, double pid, double main_pid)
{
    if (pid == main_pid)
        return 0;
    for (uint32_t k = 1; k < profile_nprocesses(p); k++)
        if ((double)profile_process_pid(p, k) == pid)
            return k;
    const char *pname = "";
    JSON_EACH(ev, events)
    {
        if (strcmp(json_str_or(json_get(ev, "name"), ""), "process_name") == 0 &&
            json_num(json_get(ev, "pid"), -1) == pid) {
            pname = json_str_or(json_get(json_get(ev, "args"), "name"), "");
            break;
        }
    }
    int64_t ipid = 0;
    fmt__to_i64(pid, INT64_MIN, INT64_MAX, &ipid);
    return profile_add_process(p, ipid, pname);
}

static int
read_profile(struct profile *p, const struct json_val *events, const struct json_val *ev0,
             const struct tprofile *tp, double main_pid, const char *name, struct mp_err *e)
{
    /* Every node of every chunk, deduplicated by id. */
    size_t nn = 0, cap = 0;
    struct tnode *nodes = NULL;
    int rc = 0;
    for (size_t c = 0; c < tp->nchunks; c++) {
        const struct json_val *data = json_get(json_get(&ev0[tp->chunks[c]], "args"), "data");
        JSON_EACH(jn, json_get(json_get(data, "cpuProfile"), "nodes"))
        {
            const struct json_val *id = json_get(jn, "id"), *jp = json_get(jn, "parent");
            int64_t nid, parent = -1;
            if (!json_is_num(id) || !fmt__to_i64(id->num, 0, INT64_MAX, &nid)) {
                rc = fmt__bad(e, name, TRACE_KIND,
                              "a ProfileChunk node lacks an \"id\" from 0 to 2^63");
                goto out;
            }
            if (jp && !(json_is_num(jp) && fmt__to_i64(jp->num, 0, INT64_MAX, &parent))) {
                rc = fmt__bad(e, name, TRACE_KIND,
                              "ProfileChunk node %lld's \"parent\" is not an id", (long long)nid);
                goto out;
            }
            if (nn == cap) {
                cap = cap ? cap * 2 : 256;
                struct tnode *bigger = realloc(nodes, cap * sizeof *bigger);
                if (!bigger) {
                    rc = e->code = -ENOMEM;
                    goto out;
                }
                nodes = bigger;
            }
            nodes[nn++] = (struct tnode){
                nid, parent, fmt__frame_of(p, json_get(jn, "callFrame"), 0), UINT32_MAX};
        }
    }
    if (nn) /* never qsort(NULL) */
        qsort(nodes, nn, sizeof *nodes, tnode_cmp);
    size_t w = 0;
    for (size_t i = 0; i < nn; i++)
        if (!w || nodes[w - 1].id != nodes[i].id)
            nodes[w++] = nodes[i];
    nn = w;
    if ((rc = resolve_nodes(p, nodes, nn, name, e)) != 0)
        goto out;

    char buf[64];
    uint32_t th =
        profile_add_thread(p, tp->tid, thread_name(events, tp->pid, tp->tid, buf, sizeof buf));
    uint32_t proc = process_of_pid(p, events, tp->pid, main_pid);
    if (!p->oom)
        ((struct prof_thread_info *)p->threads.data)[th].process = proc;
    size_t base = profile_nsamples(p);
    double t = tp->start_us;
    bool weighed = true;
    uint32_t missing = UINT32_MAX;
    for (size_t c = 0; c < tp->nchunks; c++) {
        const struct json_val *data = json_get(json_get(&ev0[tp->chunks[c]], "args"), "data");
        const struct json_val *js = json_get(json_get(data, "cpuProfile"), "samples");
        /* mrprof's own trace: the samples' own nodes where pseudo frames were moved under (root) */
        const struct json_val *own = json_get(json_get(data, "$mrprof"), "samples");
        if (json_len(own) == json_len(js))
            js = own;
        const struct json_val *jd = json_get(data, "timeDeltas"), *jl = json_get(data, "lines");
        const struct json_val *jw = json_get(json_get(data, "$mrprof"), "weights");
        size_t ns = json_len(js);
        if (json_len(jd) < ns) {
            rc = fmt__bad(e, name, TRACE_KIND, "a ProfileChunk has %zu samples but %zu timeDeltas",
                          ns, json_len(jd));
            goto out;
        }
        if (json_len(jl) != ns)
            jl = NULL;
        if (json_len(jw) != ns)
            jw = NULL, weighed = false;
        const struct json_val *d = json_first(jd), *l = json_first(jl), *wv = json_first(jw);
        JSON_EACH(sv, js)
        {
            t += json_num(d, 0);
            struct tnode *n = tnode_find(nodes, nn, fmt__i64_or(sv, 0, INT64_MAX, -1));
            uint32_t model;
            if (n) {
                model = n->model;
            } else {
                /* A sample of a node no chunk declared: kept, under one visible pseudo frame. */
                if (missing == UINT32_MAX)
                    missing = profile_node(p, 0,
                                           profile_frame_intern(p, "(node missing from the trace)",
                                                                "", 0, FRAME_PSEUDO));
                model = missing;
            }
            int32_t line = l ? fmt__line(json_num(l, 0)) : 0;
            uint64_t wt = 0, t_ns = 0;
            if (wv && json_num(wv, 0) > 0 && !fmt__to_ns(json_num(wv, 0), &wt)) {
                rc = fmt__bad(e, name, TRACE_KIND,
                              "a ProfileChunk's weight %g ns is beyond 2^62 ns", json_num(wv, 0));
                goto out;
            }
            /* Times before 0 count from 0 (the trace's clock origin is arbitrary anyway). */
            if (t > 0 && !fmt__us_to_ns(t, &t_ns)) {
                rc = fmt__bad(e, name, TRACE_KIND,
                              "a ProfileChunk puts a sample at %g µs, beyond 2^62 ns", t);
                goto out;
            }
            profile_add_sample(p, th, model, line, t_ns, wt);
            d += d->size;
            if (l)
                l += l->size;
            if (wv)
                wv += wv->size;
        }
    }
    if (!weighed)
        fmt__weigh_by_gaps(p, base, 0);
out:
    free(nodes);
    return rc;
}

static int
counter_cmp(const void *a, const void *b)
{
    const struct prof_counter *x = a, *y = b;
    return x->t_ns < y->t_ns ? -1 : x->t_ns > y->t_ns;
}

/*
 * The counters: every numeric argument of a `C` event is a reading at its ts. A series is named
 * by the event ("RSS bytes"), or "NAME KEY" when the argument is not called "value" (Perfetto's
 * rule for several series in one event). Sorted by time: the model keeps counters in time
 * order, whatever order the file lists them in.
 */
static void
read_counters(struct profile *p, const struct json_val *events)
{
    char series[300];
    JSON_EACH(ev, events)
    {
        const struct json_val *ph = json_get(ev, "ph");
        if (!json_is_str(ph) || strcmp(ph->str, "C") != 0)
            continue;
        double ts = json_num(json_get(ev, "ts"), -1);
        if (!(ts >= 0 && ts < 1.8e16)) /* microseconds that fit a uint64_t of nanoseconds */
            continue;
        const char *n = json_str_or(json_get(ev, "name"), "counter");
        JSON_EACH(arg, json_get(ev, "args"))
        {
            if (!json_is_num(arg) || !arg->key)
                continue;
            if (strcmp(arg->key, "value") == 0)
                snprintf(series, sizeof series, "%s", n);
            else
                snprintf(series, sizeof series, "%.140s %.140s", n, arg->key);
            profile_add_counter(p, series, (uint64_t)(ts * 1000.0), arg->num);
        }
    }
    if (p->counters.len > 1)
        qsort(p->counters.data, p->counters.len, sizeof(struct prof_counter), counter_cmp);
}

/* mrun's own traces: the sampler's rate, mode and counts from the process_name event's
 * "$mrprof" object (numbers out of range are ignored). */
static void
read_sampler_meta(struct profile *p, const struct json_val *events)
{
    JSON_EACH(ev, events)
    {
        if (strcmp(json_str_or(json_get(ev, "name"), ""), "process_name") != 0)
            continue;
        const struct json_val *args = json_get(ev, "args"), *m = json_get(args, "$mrprof");
        if (!json_is_obj(m))
            continue;
        /* With a processName, args.name is the process's and the tool is "$mrprof".tool. */
        const char *tool = json_get(m, "processName") ? json_str_or(json_get(m, "tool"), "")
                                                      : json_str_or(json_get(args, "name"), "");
        if (*tool)
            snprintf(p->meta.tool, sizeof p->meta.tool, "%s", tool);
        fmt__get_sampler_meta(p, m);
        return;
    }
}

int
fmt__trace_read_json(struct profile *p, const struct json_val *root, const char *name,
                     struct mp_err *e)
{
    const struct json_val *events = json_is_arr(root) ? root : json_get(root, "traceEvents");
    if (!json_is_arr(events))
        return fmt__bad(e, name, TRACE_KIND, "\"traceEvents\" is not an array");
    const struct json_val *ev0 = json_first(events);
    struct tprofile *tps = NULL;
    size_t ntp = 0;
    int rc = 0, found = 0;
    bool cpu_mode = false;
    char idbuf[32];
    /* Pass 1: the Profile and ProfileChunk events, grouped by (pid, id), in any order. */
    JSON_EACH(ev, events)
    {
        const char *n = json_str_or(json_get(ev, "name"), "");
        bool prof = strcmp(n, "Profile") == 0, chunk = strcmp(n, "ProfileChunk") == 0;
        if (!prof && !chunk)
            continue;
        double pid = json_num(json_get(ev, "pid"), 0);
        const char *id = event_id(ev, idbuf, sizeof idbuf);
        struct tprofile *tp = NULL;
        for (size_t k = 0; k < ntp && !tp; k++)
            if (tps[k].pid == pid && strncmp(tps[k].id, id, sizeof tps[k].id - 1) == 0)
                tp = &tps[k];
        if (!tp) {
            struct tprofile *bigger = realloc(tps, (ntp + 1) * sizeof *tps);
            if (!bigger)
                goto oom;
            tps = bigger;
            tp = &tps[ntp++];
            memset(tp, 0, sizeof *tp);
            tp->pid = pid;
            snprintf(tp->id, sizeof tp->id, "%s", id);
            tp->tid = fmt__i64_or(json_get(ev, "tid"), INT64_MIN, INT64_MAX, 0);
        }
        const struct json_val *data = json_get(json_get(ev, "args"), "data");
        if (prof) {
            tp->tid = fmt__i64_or(json_get(ev, "tid"), INT64_MIN, INT64_MAX, tp->tid);
            tp->tid_from_profile = true;
            double st = json_num(json_get(data, "startTime"), json_num(json_get(ev, "ts"), 0));
            tp->start_us = st, tp->has_start = true;
        } else if (data) { /* chunks with empty args carry nothing */
            if (!tp->has_start)
                tp->start_us = json_num(json_get(ev, "ts"), 0);
            size_t *bigger = realloc(tp->chunks, (tp->nchunks + 1) * sizeof *bigger);
            if (!bigger)
                goto oom;
            tp->chunks = bigger;
            tp->chunks[tp->nchunks++] = (size_t)(ev - ev0);
            if (strcmp(json_str_or(json_get(json_get(data, "$mrprof"), "mode"), ""), "cpu") == 0)
                cpu_mode = true;
        }
    }
    /* Pass 2: the profiles; then whole-profile `CpuProfile` events (older Chrome). */
    for (size_t k = 0; k < ntp && rc == 0; k++)
        if (tps[k].nchunks &&
            (rc = read_profile(p, events, ev0, &tps[k], tps[0].pid, name, e)) == 0)
            found++;
    JSON_EACH(ev, events)
    {
        if (rc || strcmp(json_str_or(json_get(ev, "name"), ""), "CpuProfile") != 0)
            continue;
        const struct json_val *cp = json_get(json_get(json_get(ev, "args"), "data"), "cpuProfile");
        if (!json_is_obj(cp))
            continue;
        char buf[64];
        int64_t tid = fmt__i64_or(json_get(ev, "tid"), INT64_MIN, INT64_MAX, 0);
        rc = fmt__cpuprofile_read_json(
            p, cp, name,
            thread_name(events, json_num(json_get(ev, "pid"), 0), tid, buf, sizeof buf), tid, e);
        found += rc == 0;
    }
    if (rc == 0 && found)
        read_counters(p, events);
    if (rc == 0 && !found)
        rc =
            fmt__bad(e, name, TRACE_KIND,
                     "it holds no CPU profile (no ProfileChunk or CpuProfile events with samples); "
                     "record with --trace-event-categories v8,disabled-by-default-v8.cpu_profiler");
    if (rc == 0) {
        p->meta.mode = cpu_mode ? PROFILE_CPU : PROFILE_WALL;
        if (ntp && tps[0].pid >= 1 && tps[0].pid <= 4194304) /* Linux's pid_max at most */
            p->meta.pid = (int64_t)tps[0].pid;
        if (strcmp(p->meta.tool, "mrprof") == 0) /* profile_new's default: no reader named it */
            snprintf(p->meta.tool, sizeof p->meta.tool, "%s",
                     cpu_mode ? "mrun" : "Chrome/Node trace");
        read_sampler_meta(p, events);
    }
    goto out;
oom:
    rc = e->code = -ENOMEM;
    snprintf(e->msg, sizeof e->msg, "%s: out of memory", name);
out:
    for (size_t k = 0; k < ntp; k++)
        free(tps[k].chunks);
    free(tps);
    return rc;
}
