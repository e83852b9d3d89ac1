/*
 * trace.c — Trace Event JSON (object form) with one track per thread, for three consumers:
 *
 *  - DevTools Performance panel: a `Profile` event and `ProfileChunk` events per thread (nodes
 *    with `parent`, `samples` and `timeDeltas` of equal length in each chunk). DevTools merges
 *    samples only into a thread that has ordinary events too, so each thread also gets one `X`
 *    event spanning its profile. No `TracingStartedInBrowser` (without a frame it makes DevTools
 *    drop the process).
 *  - Perfetto UI and chrome://tracing ignore ProfileChunk in JSON; they get perfectly nested
 *    `X` slices built from consecutive samples (category "mrprof.stack"), on a companion track
 *    per thread named "<thread> (stacks)" (tid + STACKS_TID). They are kept off the thread's own
 *    track because DevTools would treat them as ordinary events there and cut its JS flame chart
 *    at every slice boundary.
 *  - Spans (Deferred tasks, ...) as `X` events and counters as `C` events.
 * Both representations live in the same file, so one file opens everywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

#define CHUNK_SAMPLES 10000
#define PID 1
#define STACKS_TID 1000000000 /* companion-track tid = thread tid + this */

static uint64_t
us(uint64_t ns)
{
    return ns / 1000;
}

static void
event_head(FILE *out, bool *first, const char *ph, const char *name, int64_t tid, uint64_t ts)
{
    fputs(*first ? "\n{\"ph\":\"" : ",\n{\"ph\":\"", out);
    *first = false;
    fputs(ph, out);
    fputs("\",\"name\":", out);
    json_str(out, name);
    fputs(",\"pid\":1,\"tid\":", out);
    json_i64(out, tid);
    fputs(",\"ts\":", out);
    json_u64(out, ts);
    /* Chrome's category for metadata; speedscope takes a trace for a Chrome one only when its
     * first event has a "cat", so every event carries one. */
    if (ph[0] == 'M')
        fputs(",\"cat\":\"__metadata\"", out);
}

static void
write_profile_events(const struct profile *p, FILE *out, bool *first, uint32_t th, int64_t tid,
                     const uint8_t *used, uint64_t start_us)
{
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);
    size_t nn = profile_nnodes(p), ns = profile_nsamples(p);
    char id[32];
    snprintf(id, sizeof id, "0x%x", th + 1);

    event_head(out, first, "P", "Profile", tid, start_us);
    fputs(",\"cat\":\"disabled-by-default-v8.cpu_profiler\",\"id\":\"", out);
    fputs(id, out);
    fputs("\",\"args\":{\"data\":{\"startTime\":", out);
    json_u64(out, start_us);
    fputs("}}}", out);

    size_t i = 0;
    bool nodes_done = false;
    uint64_t prev = start_us;
    while (i < ns) {
        size_t begin = i, count = 0;
        uint64_t chunk_ts = prev;
        event_head(out, first, "P", "ProfileChunk", tid, chunk_ts);
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
            nodes_done = true;
        }
        fputs("],\"samples\":[", out);
        for (; i < ns && count < CHUNK_SAMPLES; i++) {
            if (s[i].thread != th)
                continue;
            if (count++)
                putc(',', out);
            json_u64(out, s[i].node + 1);
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
        fputs("]}}}", out);
    }
}

/* Perfetto: nested X slices from consecutive samples of one thread. */
static void
write_slices(const struct profile *p, FILE *out, bool *first, uint32_t th, int64_t tid,
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
            event_head(out, first, "X", profile_str(p, f->name), tid, open_ts[depth]);
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

int
trace_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o, struct fmt_err *e)
{
    (void)o;
    bool first = true;
    const struct prof_sample *s = profile_samples(p);
    uint64_t interval_ns = p->meta.hz ? 1000000000u / p->meta.hz : 1000000;
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", out);
    event_head(out, &first, "M", "process_name", 0, 0);
    fputs(",\"args\":{\"name\":", out);
    json_str(out, p->meta.tool[0] ? p->meta.tool : "mrun");
    fputs("}}", out);
    for (size_t th = 0; th < profile_nthreads(p); th++) {
        const struct prof_thread_info *ti = &profile_threads(p)[th];
        int64_t tid = ti->tid ? ti->tid : (int64_t)th + 1;
        event_head(out, &first, "M", "thread_name", tid, 0);
        fputs(",\"args\":{\"name\":", out);
        json_str(out, profile_str(p, ti->name));
        fputs("}}", out);
        event_head(out, &first, "M", "thread_sort_index", tid, 0);
        fputs(",\"args\":{\"sort_index\":", out);
        json_u64(out, 2 * th);
        fputs("}}", out);

        uint64_t lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < profile_nsamples(p); i++)
            if (s[i].thread == th) {
                if (s[i].t_ns < lo)
                    lo = s[i].t_ns;
                hi = s[i].t_ns + interval_ns;
            }
        if (lo == UINT64_MAX)
            continue;
        uint64_t start_us = us(p->meta.start_ns && p->meta.start_ns < lo ? p->meta.start_ns : lo);
        event_head(out, &first, "X", "mrprof thread", tid, start_us);
        fputs(",\"cat\":\"mrprof\",\"dur\":", out);
        json_u64(out, us(hi) - start_us);
        putc('}', out);
        uint8_t *used = fmt_used_nodes(p, (int)th);
        if (!used) {
            snprintf(e->msg, sizeof e->msg, "out of memory");
            return e->code = -12;
        }
        write_profile_events(p, out, &first, (uint32_t)th, tid, used, start_us);
        free(used);
        int64_t stacks_tid = tid + STACKS_TID;
        event_head(out, &first, "M", "thread_name", stacks_tid, 0);
        fputs(",\"args\":{\"name\":", out);
        char name[256];
        snprintf(name, sizeof name, "%s (stacks)", profile_str(p, ti->name));
        json_str(out, name);
        fputs("}}", out);
        event_head(out, &first, "M", "thread_sort_index", stacks_tid, 0);
        fputs(",\"args\":{\"sort_index\":", out);
        json_u64(out, 2 * th + 1);
        fputs("}}", out);
        write_slices(p, out, &first, (uint32_t)th, stacks_tid, interval_ns);
    }
    for (size_t i = 0; i < p->spans.len; i++) {
        const struct prof_span *sp = &profile_spans(p)[i];
        const struct prof_thread_info *ti = sp->thread < profile_nthreads(p) ? &profile_threads(p)[sp->thread] : NULL;
        event_head(out, &first, "X", profile_str(p, sp->name), ti ? ti->tid : 0, us(sp->start_ns));
        fputs(",\"cat\":\"mrprof.span\",\"dur\":", out);
        json_u64(out, us(sp->dur_ns));
        putc('}', out);
    }
    for (size_t i = 0; i < p->counters.len; i++) {
        const struct prof_counter *c = &profile_counters(p)[i];
        event_head(out, &first, "C", profile_str(p, c->name), 0, us(c->t_ns));
        fprintf(out, ",\"cat\":\"mrprof.counter\",\"args\":{\"value\":%.17g}}", c->value);
    }
    fputs("\n]}\n", out);
    return 0;
}
