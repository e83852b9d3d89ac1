/*
 * stall.c — the stall recorder (stall.h): the ring, the watchdog, one profile per stall.
 *
 * The ring is an ordinary wall-mode session of the sampler (session.c) at PROF_STALL_RING_HZ,
 * whose profile keeps only the last PROF_STALL_RING_MS of samples: at the loop's safe points
 * the older samples, counters and spans are dropped (the frames and the stack trie stay: they
 * grow with the code, not with time).
 *
 * The watchdog is a thread that wakes every threshold/4 (2 to 50 ms) and reads two atomics the
 * loop's thread writes at each transition (a callback begins or ends; struct rt_health): since
 * when the running callback holds the loop, and the transition's number. Held longer than the
 * threshold, with the number unchanged across its reads, is a stall: it notes the stall's start
 * and number, asks the main thread's sampler for PROF_STALL_HZ (the handler picks the new
 * interval up at its next signal, prof_thread.interval_want), and raises the runtime's flag
 * (release; the notes are read after an acquire of the flag). The loop's thread, at its next
 * transition, sees the flag and calls prof_stall_mark: the stall ended at that transition (or,
 * when the watchdog's reads raced with a transition, at the one after the stalled number), the
 * ring's rate comes back, the flag goes down. The profile is cut and written at the next safe
 * point, where the frames can be named: the samples of the main thread from
 * PROF_STALL_BEFORE_MS before the stall began to its end, so it holds what ran just before (at
 * the ring's rate) and the stall (at the ring's rate until the watchdog saw it, then at the
 * stall rate). The index (index.json) is rewritten after each stall, so a process killed later
 * leaves a directory that reads.
 *
 * A watchdog starved by the machine's load can sleep through a whole stall. So the loop's thread
 * checks too, at each transition, whether the period that ends was held over the threshold with
 * the flag down (struct rt_health's stall_check_ns, prof_stall_check): the same decision is
 * made from the watchdog's last readings, and the stall is written from the ring's samples
 * (detected at its end).
 *
 * Held is not the same as stalled on a loaded machine: a thread that is runnable but waits for a
 * CPU (preempted) holds the loop too, and a 2-core machine at load 17 showed 100 ms of that
 * inside callbacks that run for microseconds. The kernel counts that time per thread
 * (/proc/self/task/TID/schedstat, its second field: time spent waiting on a run queue); the
 * watchdog reads it at each wake-up, and a callback's held time less its run-queue wait (wait_in)
 * is what must pass the threshold, checked again when the callback ends. A stall's
 * index entry gives the run-queue wait it contains (runqueue_ms). A kernel without schedstat: no
 * correction.
 */
#include "profiler/sampler/stall.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "formats/formats.h"
#include "profiler/base/fileio.h"
#include "profiler/model/profile.h"
#include "profiler/sampler/internal.h"

#define MAX_PENDING 16
#define TOP_BEFORE 5

struct stall_frame {
    char *function, *file;
    int32_t line;
};

/* One stall written, as the index tells it. */
struct stall_rec {
    int n;
    char file[64];
    uint64_t start_unix_ns, length_ns, detected_ns; /* detected: after the stall began */
    uint64_t runq_ns; /* of the stall, waiting for a CPU (the machine's load) */
    size_t samples, stall_samples;
    struct stall_frame blocking, leaf, callback;
    char **stack; /* root first */
    size_t depth;
    struct {
        char *function;
        double ms;
    } before[TOP_BEFORE];
    int nbefore;
};

struct pending {
    uint64_t since, end, detected, runq;
    bool doubt; /* under the threshold less its run-queue wait: kept only if it blocked (decide) */
};

static struct {
    bool running;
    struct prof_stall_opts o;
    char dir[4096];
    bool dir_made;
    mrb_state *mrb;
    struct prof_thread *t; /* the loop's thread in the session */
    uint64_t ring_interval, stall_interval, threshold_ns;
    pthread_t watchdog;
    bool watchdog_started;
    _Atomic int stopping;
    /* The stall the watchdog saw: written by it before it raises the flag, read by the loop's
     * thread after it saw the flag, untouched by the watchdog until the flag is down. */
    uint64_t cur_seq, cur_since, cur_detected, cur_runq_base, cur_base_ns;
    int schedfd; /* the loop thread's /proc/self/task/TID/schedstat, -1: none */
    /* Ended, to be written at the next safe point (the loop's thread only). */
    struct pending pending[MAX_PENDING];
    int npending, lost, preempted;
    struct stall_rec *recs;
    size_t nrecs;
    uint64_t next_trim_ns, next_drain_ns;
    uint64_t checked_since; /* the last stall prof_stall_check decided (the loop's thread) */
} g;

/* The watchdog's last readings, for prof_stall_check on the loop's thread: the transition it saw
 * last and the run-queue reading before it began (base), and its latest reading (last). */
static pthread_mutex_t pub_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t seen_seq, runq_base, base_ns, runq_last, last_ns;
} pub;

bool
prof_stall_running(void)
{
    return g.running;
}

/* --- the watchdog ------------------------------------------------------------------------- */

/* The run-queue wait inside a callback that began at since: the wait counted since base (read at
 * base_ns, before the callback began) less what can have come before since (at most the time
 * from base_ns to since). A lower bound: a callback that was preempted is sometimes counted as
 * held by itself, one that worked is never counted as preempted. */
static uint64_t
wait_in(uint64_t runq, uint64_t base, uint64_t base_ns, uint64_t since)
{
    uint64_t d = runq > base ? runq - base : 0, pre = since > base_ns ? since - base_ns : 0;
    return d > pre ? d - pre : 0;
}

/* The loop thread's time waiting on a run queue so far (ns), or 0 without schedstat. */
static uint64_t
runq_ns(void)
{
    char buf[128];
    if (g.schedfd < 0)
        return 0;
    ssize_t n = pread(g.schedfd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    uint64_t run = 0, wait = 0;
    if (sscanf(buf, "%" SCNu64 " %" SCNu64, &run, &wait) != 2)
        return 0;
    return wait;
}

static void *
watchdog_main(void *arg)
{
    (void)arg;
    uint64_t period = g.threshold_ns / 4;
    if (period < 2000000)
        period = 2000000;
    if (period > 50000000)
        period = 50000000;
    struct timespec ts = {(time_t)(period / 1000000000u), (long)(period % 1000000000u)};
    uint64_t seen_seq = UINT64_MAX, runq_base = 0, runq_last = runq_ns();
    uint64_t base_ns = 0, last_ns = clock_ns(CLOCK_MONOTONIC);
    while (!atomic_load_explicit(&g.stopping, memory_order_acquire)) {
        nanosleep(&ts, NULL);
        if (atomic_load_explicit(g.o.stall_flag, memory_order_acquire))
            continue; /* a stall is being recorded */
        uint64_t seq = atomic_load_explicit(g.o.held_seq, memory_order_acquire);
        uint64_t since = atomic_load_explicit(g.o.held_since_ns, memory_order_relaxed);
        uint64_t runq = runq_ns(), now = clock_ns(CLOCK_MONOTONIC);
        /* A new callback (or none): its run-queue wait counts from the previous wake-up, which
         * was before it began (less what can have come before it: wait_in). Not from now: the
         * watchdog waits for a CPU too, and on a loaded machine its first look at a callback
         * can come 150 ms late, after the loop's thread waited as long (a false stall seen in
         * the bench). */
        if (seq != seen_seq) {
            seen_seq = seq;
            runq_base = runq_last;
            base_ns = last_ns;
        }
        runq_last = runq;
        last_ns = now;
        pthread_mutex_lock(&pub_mu);
        pub.seen_seq = seen_seq, pub.runq_base = runq_base, pub.base_ns = base_ns;
        pub.runq_last = runq_last, pub.last_ns = last_ns;
        pthread_mutex_unlock(&pub_mu);
        if (!since || now < since)
            continue;
        uint64_t held = now - since, waited = wait_in(runq, runq_base, base_ns, since);
        if (held <= g.threshold_ns || held - (waited < held ? waited : held) <= g.threshold_ns)
            continue;
        if (atomic_load_explicit(g.o.held_seq, memory_order_acquire) != seq)
            continue; /* the callback ended meanwhile */
        g.cur_seq = seq;
        g.cur_since = since;
        g.cur_detected = now;
        g.cur_runq_base = runq_base;
        g.cur_base_ns = base_ns;
        atomic_store_explicit(&g.t->interval_want, g.stall_interval, memory_order_relaxed);
        atomic_store_explicit(g.o.stall_flag, 1, memory_order_release);
    }
    return NULL;
}

/* A held period from since to end, seen by the watchdog at detected (end: not seen while it
 * ran): a stall to write unless the run-queue wait in it (counted from base, read at base_ns)
 * brings it under the threshold, and it did not block either. On the loop's thread:
 *
 * A thread blocked in a synchronous call (sleep, a file read) is woken by every sample the
 * sampler takes of it, and on a loaded machine each wake-up waits for a CPU: waits that do not
 * lengthen the call (its end is the clock's or the device's), but schedstat counts them. A 250 ms
 * sleep read 50-128 ms of run-queue wait at the lowest priority, and was dropped as preempted on
 * a loaded machine. So a period the wait brings under the threshold is decided at the safe
 * point, from its samples: a stall if its "(blocked: NAME)" samples alone pass the threshold. */
static void
decide(uint64_t since, uint64_t end, uint64_t detected, uint64_t base, uint64_t base_ns)
{
    /* The kernel adds a wait on the run queue to schedstat only when the thread gets the CPU
     * back, so the watchdog could not see a wait still going on: the decision is made here, on
     * the loop's thread (running, so every wait of the stall is counted). */
    uint64_t runq = runq_ns(), len = end - since;
    uint64_t waited = wait_in(runq, base, base_ns, since);
    if (waited > len)
        waited = len;
    bool doubt = len - waited <= g.threshold_ns;
    if (len <= g.threshold_ns)
        g.preempted++; /* held by the machine's load, not by the callback: no stall */
    else if (g.npending < MAX_PENDING)
        g.pending[g.npending++] = (struct pending){since, end, detected, waited, doubt};
    else if (doubt)
        g.preempted++;
    else
        g.lost++;
}

void
prof_stall_mark(mrb_state *mrb, uint64_t seq, uint64_t now_ns, uint64_t seq_start_ns)
{
    if (!g.running || mrb != g.mrb)
        return;
    /* The flag was seen with acquire (the runtime's mark): cur_* are the watchdog's. */
    uint64_t end = seq == g.cur_seq ? now_ns : seq_start_ns;
    if (end < g.cur_since)
        end = g.cur_since;
    /* prof_stall_check decided this one already (the watchdog flagged it just after the
     * transition that ended it read the flag down). */
    if (g.cur_since != g.checked_since)
        decide(g.cur_since, end, g.cur_detected, g.cur_runq_base, g.cur_base_ns);
    atomic_store_explicit(&g.t->interval_want, g.ring_interval, memory_order_relaxed);
    atomic_store_explicit(g.o.stall_flag, 0, memory_order_release);
}

void
prof_stall_check(mrb_state *mrb, uint64_t seq, uint64_t since_ns, uint64_t now_ns)
{
    if (!g.running || mrb != g.mrb || since_ns == g.checked_since)
        return;
    /* The run-queue wait counts from the watchdog's reading before the callback began: the one
     * it took when it first saw this transition, else its latest (it has not woken since). */
    pthread_mutex_lock(&pub_mu);
    bool seen = pub.seen_seq == seq;
    uint64_t base = seen ? pub.runq_base : pub.runq_last;
    uint64_t base_ns = seen ? pub.base_ns : pub.last_ns;
    pthread_mutex_unlock(&pub_mu);
    decide(since_ns, now_ns, now_ns, base, base_ns);
    g.checked_since = since_ns;
}

/* --- cutting and describing one stall ------------------------------------------------------ */

static char *
dupstr(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort(); /* the sampler's policy (internal.h): mrun aborts when memory runs out */
    return d;
}

static void
set_frame(struct stall_frame *sf, const struct profile *p, uint32_t frame)
{
    const struct prof_frame *f = &profile_frames(p)[frame];
    sf->function = dupstr(profile_str(p, f->name));
    sf->file = dupstr(profile_str(p, f->file));
    sf->line = f->line;
}

static bool
is_ruby(const struct prof_frame *f)
{
    return (f->kind == FRAME_RUBY || f->kind == FRAME_BLOCK) && f->file != 0;
}

/* The frame of p that weighs most in w (frames.len entries); UINT32_MAX when none. */
static uint32_t
heaviest(const double *w, size_t n)
{
    uint32_t best = UINT32_MAX;
    for (size_t i = 0; i < n; i++)
        if (w[i] > 0 && (best == UINT32_MAX || w[i] > w[best]))
            best = (uint32_t)i;
    return best;
}

/* Describes the stall [since, end] of p (the cut profile) into r. */
static void
describe(const struct profile *p, uint64_t since, uint64_t end, struct stall_rec *r)
{
    size_t nf = p->frames.len, nn = p->nodes.len;
    double *wblock = calloc(nf, sizeof *wblock), *wleaf = calloc(nf, sizeof *wleaf);
    double *wcb = calloc(nf, sizeof *wcb), *wbefore = calloc(nf, sizeof *wbefore);
    double *wnode = calloc(nn, sizeof *wnode);
    if (!wblock || !wleaf || !wcb || !wbefore || !wnode)
        abort();
    const struct prof_sample *s = profile_samples(p);
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    for (size_t i = 0; i < p->samples.len; i++) {
        double w = (double)s[i].weight_ns;
        uint32_t leaf = nodes[s[i].node].frame;
        if (s[i].t_ns < since) {
            wbefore[leaf] += w;
            continue;
        }
        if (s[i].t_ns > end)
            continue;
        r->stall_samples++;
        wleaf[leaf] += w;
        wnode[s[i].node] += w;
        bool found = false;
        uint32_t outer = UINT32_MAX, outer_user = UINT32_MAX;
        for (uint32_t n = s[i].node; n != 0; n = nodes[n].parent) {
            const struct prof_frame *f = &frames[nodes[n].frame];
            if (!found && is_ruby(f)) {
                wblock[nodes[n].frame] += w;
                found = true;
            }
            outer = nodes[n].frame;
            /* The callback: the outermost frame of the script's own code (the runtime's Ruby
             * half, compiled in, names its files "runtime/prelude/..."). */
            if (is_ruby(f) && strncmp(profile_str(p, f->file), "runtime/prelude/", 16) != 0)
                outer_user = nodes[n].frame;
        }
        if (!found)
            wblock[leaf] += w;
        if (outer_user != UINT32_MAX)
            wcb[outer_user] += w;
        else if (outer != UINT32_MAX)
            wcb[outer] += w;
    }
    uint32_t b = heaviest(wblock, nf), l = heaviest(wleaf, nf), c = heaviest(wcb, nf);
    set_frame(&r->blocking, p, b == UINT32_MAX ? p->f_program : b);
    set_frame(&r->leaf, p, l == UINT32_MAX ? p->f_program : l);
    set_frame(&r->callback, p, c == UINT32_MAX ? p->f_program : c);
    /* The stack: the node that weighs most, root first. */
    uint32_t top = 0;
    for (size_t i = 1; i < nn; i++)
        if (wnode[i] > wnode[top])
            top = (uint32_t)i;
    for (uint32_t n = top; n != 0; n = nodes[n].parent)
        r->depth++;
    r->stack = calloc(r->depth + 1, sizeof *r->stack);
    if (!r->stack)
        abort();
    size_t k = r->depth;
    for (uint32_t n = top; n != 0; n = nodes[n].parent) {
        const struct prof_frame *f = &frames[nodes[n].frame];
        char buf[1024];
        if (f->file)
            snprintf(buf, sizeof buf, "%s (%s:%d)", profile_str(p, f->name),
                     profile_str(p, f->file), (int)f->line);
        else
            snprintf(buf, sizeof buf, "%s", profile_str(p, f->name));
        r->stack[--k] = dupstr(buf);
    }
    /* What ran just before: the heaviest leaves of the ring's part. */
    for (r->nbefore = 0; r->nbefore < TOP_BEFORE; r->nbefore++) {
        uint32_t f = heaviest(wbefore, nf);
        if (f == UINT32_MAX)
            break;
        r->before[r->nbefore].function = dupstr(profile_str(p, frames[f].name));
        r->before[r->nbefore].ms = wbefore[f] / 1e6;
        wbefore[f] = 0;
    }
    free(wblock), free(wleaf), free(wcb), free(wbefore), free(wnode);
}

/* The main thread's samples of the ring in [from, to], as a profile of their own. Caller holds
 * the session lock. */
static struct profile *
cut(struct prof_session *s, uint64_t from, uint64_t to)
{
    const struct profile *src = s->profile;
    struct profile *p = profile_new();
    uint32_t *nmap = malloc((src->nodes.len + 1) * sizeof *nmap);
    if (!p || !nmap || profile_graft(p, src, NULL, nmap) != 0) {
        free(nmap), profile_free(p);
        return NULL;
    }
    const struct prof_thread_info *ti = &profile_threads(src)[g.t->model_thread];
    uint32_t th = profile_add_thread(p, ti->tid, profile_str(src, ti->name));
    const struct prof_sample *smp = profile_samples(src);
    uint64_t first = 0, last = 0;
    for (size_t i = 0; i < src->samples.len; i++) {
        if (smp[i].thread != g.t->model_thread || smp[i].t_ns < from || smp[i].t_ns > to)
            continue;
        profile_add_sample(p, th, nmap[smp[i].node], smp[i].line, smp[i].t_ns, smp[i].weight_ns);
        if (!first || smp[i].t_ns < first)
            first = smp[i].t_ns;
        if (smp[i].t_ns > last)
            last = smp[i].t_ns;
    }
    free(nmap);
    p->meta.mode = PROFILE_WALL;
    p->meta.hz = PROF_STALL_HZ;
    p->meta.start_ns = first ? first : from;
    p->meta.end_ns = last > to ? last : to;
    p->meta.wall_start_ns = src->meta.wall_start_ns
                                ? src->meta.wall_start_ns + (p->meta.start_ns - src->meta.start_ns)
                                : 0;
    p->meta.pid = getpid();
    snprintf(p->meta.tool, sizeof p->meta.tool, "mrun --prof-stall");
    snprintf(p->meta.process_name, sizeof p->meta.process_name, "%s",
             g.o.process_name ? g.o.process_name : "");
    return p;
}

/* --- the directory and its index ------------------------------------------------------------ */

static int
make_dir(struct mp_err *e)
{
    if (g.dir_made)
        return 0;
    if (mkdir(g.dir, 0777) != 0 && errno != EEXIST) {
        mp_errf(e, -errno, "cannot create the stall directory %s: %s", g.dir, strerror(errno));
        return -1;
    }
    g.dir_made = true;
    return 0;
}

static void
frame_json(FILE *out, const char *key, const struct stall_frame *f)
{
    fprintf(out, "\"%s\":{\"function\":", key);
    json_str(out, f->function);
    fputs(",\"file\":", out);
    json_str(out, f->file);
    fprintf(out, ",\"line\":%d}", (int)f->line);
}

static int
write_index(struct mp_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.json", g.dir);
    struct fio_atomic a;
    if (fio_begin(&a, path, e) != 0)
        return -1;
    FILE *out = a.fp;
    fprintf(out,
            "{\"format\":\"mrprof-stalls\",\"version\":1,\"pid\":%ld,\"threshold_ms\":%llu,"
            "\"ring_hz\":%d,\"stall_hz\":%d,\"before_ms\":%d,\"lost\":%d,\"preempted\":%d,"
            "\"stalls\":[",
            (long)getpid(), (unsigned long long)g.o.threshold_ms, PROF_STALL_RING_HZ, PROF_STALL_HZ,
            PROF_STALL_BEFORE_MS, g.lost, g.preempted);
    for (size_t i = 0; i < g.nrecs; i++) {
        const struct stall_rec *r = &g.recs[i];
        fprintf(out, "%s\n{\"n\":%d,\"profile\":", i ? "," : "", r->n);
        json_str(out, r->file);
        fprintf(out,
                ",\"start_unix_ms\":%.3f,\"length_ms\":%.3f,\"detected_after_ms\":%.3f,"
                "\"runqueue_ms\":%.3f,\"samples\":%zu,\"stall_samples\":%zu,",
                (double)r->start_unix_ns / 1e6, (double)r->length_ns / 1e6,
                (double)r->detected_ns / 1e6, (double)r->runq_ns / 1e6, r->samples,
                r->stall_samples);
        frame_json(out, "blocking", &r->blocking);
        fputc(',', out);
        frame_json(out, "leaf", &r->leaf);
        fputc(',', out);
        frame_json(out, "callback", &r->callback);
        fputs(",\"stack\":[", out);
        for (size_t k = 0; k < r->depth; k++) {
            if (k)
                fputc(',', out);
            json_str(out, r->stack[k]);
        }
        fputs("],\"before\":[", out);
        for (int k = 0; k < r->nbefore; k++) {
            fprintf(out, "%s{\"function\":", k ? "," : "");
            json_str(out, r->before[k].function);
            fprintf(out, ",\"ms\":%.3f}", r->before[k].ms);
        }
        fputs("]}", out);
    }
    fputs("\n]}\n", out);
    return fio_commit(&a, e) == 0 ? 0 : -1;
}

/* The wall time of p's samples in [since, end] taken while the thread was blocked in a
 * synchronous call (their leaf is a "(blocked: NAME)" wait state). */
static uint64_t
blocked_ns(const struct profile *p, uint64_t since, uint64_t end)
{
    const struct prof_sample *s = profile_samples(p);
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    uint64_t sum = 0;
    for (size_t i = 0; i < p->samples.len; i++) {
        if (s[i].t_ns < since || s[i].t_ns > end)
            continue;
        const struct prof_frame *f = &frames[nodes[s[i].node].frame];
        if (f->kind == FRAME_PSEUDO && profile_blocked_name(profile_str(p, f->name)))
            sum += s[i].weight_ns;
    }
    return sum;
}

/* Cuts, describes and writes one ended stall. */
static void
write_stall(const struct pending *st)
{
    struct prof_session *s = g.t->session;
    uint64_t before = (uint64_t)PROF_STALL_BEFORE_MS * 1000000u;
    uint64_t from = st->since > before ? st->since - before : 0;
    pthread_mutex_lock(&s->lock);
    struct profile *p = s->stopped ? NULL : cut(s, from, st->end);
    uint64_t wall0 = s->profile->meta.wall_start_ns, mono0 = s->profile->meta.start_ns;
    pthread_mutex_unlock(&s->lock);
    struct mp_err e = {0};
    if (!p) {
        fprintf(stderr, "mrun: --prof-stall: cannot cut the stall's profile: out of memory\n");
        return;
    }
    if (st->doubt && blocked_ns(p, st->since, st->end) <= g.threshold_ns) {
        profile_free(p); /* held by the machine's load, not by the callback (decide) */
        g.preempted++;
        return;
    }
    struct stall_rec *grown = realloc(g.recs, (g.nrecs + 1) * sizeof *g.recs);
    if (!grown)
        abort();
    g.recs = grown;
    struct stall_rec *r = &g.recs[g.nrecs];
    memset(r, 0, sizeof *r);
    r->n = (int)g.nrecs + 1;
    snprintf(r->file, sizeof r->file, "stall-%d.cpuprofile", r->n);
    r->start_unix_ns = wall0 ? wall0 + (st->since - mono0) : 0;
    r->length_ns = st->end - st->since;
    r->detected_ns = st->detected - st->since;
    r->runq_ns = st->runq;
    r->samples = p->samples.len;
    describe(p, st->since, st->end, r);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", g.dir, r->file);
    struct fmt_write_opts wo = {.thread = -1};
    int rc = make_dir(&e);
    if (rc == 0)
        rc = fmt_write_path(p, path, fmt_by_name("cpuprofile"), &wo, &e);
    profile_free(p);
    g.nrecs++;
    if (rc == 0)
        rc = write_index(&e);
    if (rc != 0) {
        fprintf(stderr, "mrun: --prof-stall: %s\n", e.msg);
        return;
    }
    char runq[80] = "";
    if (r->runq_ns * 10 > r->length_ns) /* over 10 %: say so */
        snprintf(runq, sizeof runq, " (%.1f ms of it waiting for a CPU)", (double)r->runq_ns / 1e6);
    if (!g.o.quiet)
        fprintf(stderr, "mrun: stall %d: the loop was held %.1f ms%s by %s (%s:%d) in %s; %s\n",
                r->n, (double)r->length_ns / 1e6, runq, r->blocking.function, r->blocking.file,
                (int)r->blocking.line, r->callback.function, path);
}

/* --- the ring ------------------------------------------------------------------------------- */

/* Drops what is older than cutoff from p: samples, counters, spans. */
static void
trim(struct profile *p, uint64_t cutoff)
{
    struct prof_sample *s = p->samples.data;
    size_t k = 0;
    for (size_t i = 0; i < p->samples.len; i++)
        if (s[i].t_ns >= cutoff)
            s[k++] = s[i];
    p->samples.len = k;
    struct prof_counter *c = p->counters.data;
    k = 0;
    for (size_t i = 0; i < p->counters.len; i++)
        if (c[i].t_ns >= cutoff)
            c[k++] = c[i];
    p->counters.len = k;
    struct prof_span *sp = p->spans.data;
    k = 0;
    for (size_t i = 0; i < p->spans.len; i++)
        if (sp[i].start_ns + sp[i].dur_ns >= cutoff)
            sp[k++] = sp[i];
    p->spans.len = k;
}

void
prof_stall_safe_point(mrb_state *mrb)
{
    if (!g.running || mrb != g.mrb)
        return;
    if (g.npending) {
        prof_safe_point(mrb); /* drain and name what the stall sampled */
        for (int i = 0; i < g.npending; i++)
            write_stall(&g.pending[i]);
        g.npending = 0;
    }
    /* The session's own safe point (drain, name, the memory counters) at most every 10 ms, as
     * the collector thread drains: at every loop iteration its lock and drain cost 15 % of a
     * loop that runs nothing but empty callbacks (500 000 immediates). */
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    if (now >= g.next_drain_ns) {
        prof_safe_point(mrb);
        g.next_drain_ns = now + 10000000u;
    }
    if (now < g.next_trim_ns || atomic_load_explicit(g.o.stall_flag, memory_order_acquire))
        return;
    g.next_trim_ns = now + 250000000u; /* 4 times a second: the ring holds 2 to 2.25 s */
    uint64_t ring = (uint64_t)PROF_STALL_RING_MS * 1000000u;
    if (now < ring)
        return;
    struct prof_session *s = g.t->session;
    pthread_mutex_lock(&s->lock);
    if (!s->stopped)
        trim(s->profile, now - ring);
    pthread_mutex_unlock(&s->lock);
}

int
prof_stall_start(mrb_state *mrb, const struct prof_stall_opts *o, struct mp_err *e)
{
    struct prof_thread *t = prof__tls;
    if (!t || t->mrb != mrb) {
        mp_errf(e, -EINVAL, "the stall recorder needs the loop's thread profiled");
        return -1;
    }
    memset(&g, 0, sizeof g);
    g.o = *o;
    g.mrb = mrb;
    g.t = t;
    g.ring_interval = 1000000000u / PROF_STALL_RING_HZ;
    g.stall_interval = 1000000000u / PROF_STALL_HZ;
    g.threshold_ns = o->threshold_ms * 1000000u;
    if (o->dir)
        snprintf(g.dir, sizeof g.dir, "%s", o->dir);
    else
        snprintf(g.dir, sizeof g.dir, "stalls.%ld", (long)getpid());
    size_t n = strlen(g.dir);
    while (n > 1 && g.dir[n - 1] == '/')
        g.dir[--n] = 0;
    atomic_init(&g.stopping, 0);
    char sp[64];
    snprintf(sp, sizeof sp, "/proc/self/task/%ld/schedstat", (long)t->tid);
    g.schedfd = open(sp, O_RDONLY | O_CLOEXEC);
    pthread_mutex_lock(&pub_mu);
    pub.seen_seq = UINT64_MAX, pub.runq_base = pub.base_ns = 0;
    pub.runq_last = runq_ns(), pub.last_ns = clock_ns(CLOCK_MONOTONIC);
    pthread_mutex_unlock(&pub_mu);
    /* The watchdog takes no signal (a script's SIGINT handler, the sampler's SIGPROF go to the
     * loop's thread): it starts with every signal blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&g.watchdog, NULL, watchdog_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        mp_errf(e, -rc, "cannot start the stall watchdog: %s", strerror(rc));
        if (g.schedfd >= 0)
            close(g.schedfd);
        return -1;
    }
    g.watchdog_started = true;
    g.running = true;
    return 0;
}

static void
free_frame(struct stall_frame *f)
{
    free(f->function), free(f->file);
}

int
prof_stall_finish(mrb_state *mrb)
{
    if (!g.running || mrb != g.mrb)
        return 0;
    atomic_store_explicit(&g.stopping, 1, memory_order_release);
    if (g.watchdog_started)
        pthread_join(g.watchdog, NULL);
    /* A stall still running (the process ends inside it) ends now. */
    if (atomic_load_explicit(g.o.stall_flag, memory_order_acquire))
        prof_stall_mark(mrb, g.cur_seq, clock_ns(CLOCK_MONOTONIC), 0);
    prof_stall_safe_point(mrb);
    g.running = false;
    if (g.schedfd >= 0)
        close(g.schedfd);
    g.schedfd = -1;
    int written = (int)g.nrecs;
    char pre[120] = "";
    if (g.preempted)
        snprintf(pre, sizeof pre, " (%d held longer only while waiting for a CPU: not counted)",
                 g.preempted);
    if (!g.o.quiet && written == 0)
        fprintf(stderr, "mrun: no stall: the loop was never held over %llu ms by one callback%s\n",
                (unsigned long long)g.o.threshold_ms, pre);
    else if (!g.o.quiet)
        fprintf(stderr, "mrun: %d stall%s recorded in %s (mrprof report %s)%s\n", written,
                written == 1 ? "" : "s", g.dir, g.dir, pre);
    for (size_t i = 0; i < g.nrecs; i++) {
        struct stall_rec *r = &g.recs[i];
        free_frame(&r->blocking), free_frame(&r->leaf), free_frame(&r->callback);
        for (size_t k = 0; k < r->depth; k++)
            free(r->stack[k]);
        free(r->stack);
        for (int k = 0; k < r->nbefore; k++)
            free(r->before[k].function);
    }
    free(g.recs);
    g.recs = NULL;
    g.nrecs = 0;
    return written;
}
