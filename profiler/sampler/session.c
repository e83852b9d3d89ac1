/*
 * session.c — the sampling session: start, the threads that attach, follow and detach, safe
 * points, the collector thread, and stop.
 *
 * One session at a time per process (g_session). It owns the profile until prof_stop hands it
 * to the caller, and a reference count keeps it alive for the stubs of threads still attached
 * when it stopped (Deferred workers); each thread's struct prof_thread is freed by that thread.
 * A thread that retires is drained one last time and, in CPU mode, its CPU clock is shared out
 * over its samples (see "Weights" in internal.h).
 */
#include "profiler/sampler/internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "profiler/model/profile.h"

PROF_TLS struct prof_thread *prof__tls;
PROF_TLS const volatile sig_atomic_t *prof__block_mark;
const char *const *prof__block_names;
unsigned prof__nblock_names;

void
prof_set_block_names(const char *const *names, unsigned n)
{
    prof__block_names = names;
    prof__nblock_names = n < PROF_MAX_BLOCK ? n : PROF_MAX_BLOCK;
}

void
prof_block_mark(const volatile sig_atomic_t *mark)
{
    prof__block_mark = mark;
}

static struct prof_session *g_session;
/* Guards g_session for readers on other threads (the live agent): taken before a session's
 * lock, never after it. */
static pthread_mutex_t g_session_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_generation;
static struct sigaction g_old_action;

/* --- the collector thread ------------------------------------------------------------------- */

static void *
collector_main(void *arg)
{
    struct prof_session *s = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (!atomic_load(&s->stopping)) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&s->lock);
        for (struct prof_thread *t = s->threads; t; t = t->next)
            prof__drain_thread(s, t);
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

/* --- the session ---------------------------------------------------------------------------- */

struct prof_session *
prof_current(void)
{
    return g_session;
}

struct prof_session *
prof_start(enum prof_mode mode, unsigned hz, struct mp_err *e)
{
    if (g_session) {
        mp_errf(e, -EBUSY, "the profiler is already running");
        return NULL;
    }
    if (hz > 10000) {
        mp_errf(e, -EINVAL, "sampling rate %u Hz is out of range (1 to 10000)", hz);
        return NULL;
    }
    struct prof_session *s = calloc(1, sizeof *s);
    if (!s) {
        mp_err_oom(e, NULL);
        return NULL;
    }
    s->profile = profile_new();
    if (!s->profile) {
        free(s);
        mp_err_oom(e, NULL);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->refs, 1);
    s->mode = mode;
    s->hz = hz;
    s->interval_ns = hz ? 1000000000u / hz : 0;
    s->start_ns = clock_ns(CLOCK_MONOTONIC);
    s->unnamed = profile_intern(s->profile, "?");
    s->profile->meta.mode = mode == PROF_MODE_CPU ? PROFILE_CPU : PROFILE_WALL;
    s->profile->meta.hz = hz;
    s->profile->meta.start_ns = s->start_ns;
    s->profile->meta.wall_start_ns = clock_ns(CLOCK_REALTIME);
    snprintf(s->profile->meta.tool, sizeof s->profile->meta.tool, "mrun");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = prof__on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, &g_old_action) != 0) {
        int en = errno;
        mp_errf(e, -en, "cannot install the SIGPROF handler: %s", strerror(en));
        profile_free(s->profile);
        free(s);
        return NULL;
    }
    /* Rings need a drain; a memory-only session (hz 0) has none, and no second thread: glibc's
     * malloc takes its locks once a process has one (measured: +5 % CPU on alloc.rb). */
    if (hz && pthread_create(&s->collector, NULL, collector_main, s) == 0)
        s->collector_started = true;
    pthread_mutex_lock(&g_session_mutex);
    g_session = s;
    g_generation++;
    pthread_mutex_unlock(&g_session_mutex);
    return s;
}

int
prof_attach(struct prof_session *s, mrb_state *mrb, const char *name,
            const volatile sig_atomic_t *loop_state, const volatile sig_atomic_t *main_done)
{
    struct prof_thread *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->ring = malloc(PROF_RING_WORDS * sizeof(uint64_t));
    if (!t->ring) {
        free(t);
        return -ENOMEM;
    }
    t->mrb = mrb;
    prof__intern_known(t);
    t->tid = (pid_t)syscall(SYS_gettid);
    t->loop_state = loop_state;
    t->main_done = main_done;
    t->session = s;
    t->mode = s->mode;
    t->interval_ns = s->interval_ns;
    t->rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)t->tid << 17) ^ clock_ns(CLOCK_MONOTONIC);
    t->last_wall_ns = clock_ns(CLOCK_MONOTONIC);
    t->last_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    t->last_deadline = t->last_wall_ns;

    t->heap_rng = t->rng ^ 0xD1B54A32D192ED03ULL;
    t->counter_countdown = 4096;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = t->tid;
    t->has_timer = s->hz > 0;
    if (t->has_timer && timer_create(CLOCK_MONOTONIC, &sev, &t->timer) != 0) {
        int e = errno;
        free(t->ring);
        free(t);
        return -e;
    }
    pthread_mutex_lock(&s->lock);
    t->model_thread = profile_add_thread(s->profile, t->tid, name);
    t->first_sample = s->profile->samples.len;
    t->next = s->threads;
    s->threads = t;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&s->lock);

    prof__tls = t;
    if (t->has_timer) {
        atomic_store(&t->timer_armed, true);
        prof__arm_next(t, t->last_wall_ns);
    }
    return 0;
}

static void
session_release(struct prof_session *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->raws);
    mp_hash_free(&s->raw_index);
    free(s);
}

/* The calling thread's stub of a stopped session: free it and the thread's hold on s. */
static void
release_stub(struct prof_thread *t)
{
    struct prof_session *s = t->session;
    prof__names_done(t);
    prof__tls = NULL;
    free(t->live_keys);
    free(t->live_vals);
    free(t->pending);
    free(t);
    session_release(s);
}

void
prof_follow(mrb_state *mrb, const char *name, const volatile sig_atomic_t *idle)
{
    struct prof_thread *t = prof__tls;
    if (t && t->mrb == mrb) {
        prof_safe_point(mrb); /* names frames, or releases the stub of a stopped session */
        if (prof__tls)
            return;
    }
    /* Such a thread's base frame is the C call into its task, not code: leave it out. */
    static const volatile sig_atomic_t skip_base = 1;
    pthread_mutex_lock(&g_session_mutex); /* prof_stop clears g_session under it first */
    if (g_session)
        prof_attach(g_session, mrb, name, idle, &skip_base);
    pthread_mutex_unlock(&g_session_mutex);
}

static struct prof_thread *
unlink_thread(struct prof_session *s, mrb_state *mrb)
{
    for (struct prof_thread **pp = &s->threads; *pp; pp = &(*pp)->next)
        if ((*pp)->mrb == mrb) {
            struct prof_thread *t = *pp;
            *pp = t->next;
            return t;
        }
    return NULL;
}

void
prof_safe_point(mrb_state *mrb)
{
    struct prof_thread *t = prof__tls;
    if (!t || t->mrb != mrb)
        return;
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    if (s->stopped) {
        pthread_mutex_unlock(&s->lock);
        release_stub(t);
        return;
    }
    prof__drain_thread(s, t);
    prof__flush_pending(s, t);
    prof__name_frames(s, mrb);
    pthread_mutex_unlock(&s->lock);
    prof__counters_tick(t);
}

void
prof_wait_begin(mrb_state *mrb)
{
    struct prof_thread *t = prof__tls;
    if (t && t->mrb == mrb && t->mode == PROF_MODE_CPU)
        t->wait_cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

void
prof_wait_end(mrb_state *mrb)
{
    struct prof_thread *t = prof__tls;
    if (t && t->mrb == mrb && t->mode == PROF_MODE_CPU && t->wait_cpu_start) {
        /* Atomic: prof_stop may retire a followed thread (a Worker) while its loop waits. */
        __atomic_fetch_add(&t->wait_cpu_sum, clock_ns(CLOCK_THREAD_CPUTIME_ID) - t->wait_cpu_start,
                           __ATOMIC_RELAXED);
        t->wait_cpu_start = 0;
    }
}

/* CPU mode, when t retires (caller holds the session lock; t's handler no longer runs): the
 * CPU time t's clock measured is shared out. The part measured inside the loop's waits goes
 * to its "(idle)" samples in equal parts; the rest to its running samples in proportion to
 * their weights (the running time each stands for, see "Weights"). */
static void
scale_to_cpu(struct prof_session *s, const struct prof_thread *t)
{
    if (t->mode != PROF_MODE_CPU)
        return;
    struct profile *p = s->profile;
    struct prof_sample *smp = p->samples.data;
    const struct prof_node *nodes = p->nodes.data;
    size_t nidle = 0, nrun = 0;
    for (size_t i = t->first_sample; i < p->samples.len; i++)
        if (smp[i].thread == t->model_thread) {
            if (nodes[smp[i].node].frame == p->f_idle)
                nidle++;
            else
                nrun++;
        }
    uint64_t wait_sum = __atomic_load_n(&t->wait_cpu_sum, __ATOMIC_RELAXED);
    uint64_t wait_cpu = nidle && wait_sum < t->cpu_sum ? wait_sum : 0;
    uint64_t run_cpu = t->cpu_sum - wait_cpu;
    double f = t->weight_sum ? (double)run_cpu / (double)t->weight_sum : 0;
    for (size_t i = t->first_sample; i < p->samples.len; i++) {
        if (smp[i].thread != t->model_thread)
            continue;
        if (nodes[smp[i].node].frame == p->f_idle)
            smp[i].weight_ns = wait_cpu / nidle;
        else if (t->weight_sum)
            smp[i].weight_ns = (uint64_t)((double)smp[i].weight_ns * f + 0.5);
        else /* running samples of weight 0 (a signal just before the deadline): equal shares */
            smp[i].weight_ns = run_cpu / nrun;
    }
}

/* Stops sampling t, drains what is left and adds its counters to the profile. Caller holds
 * the session lock and has unlinked t. t itself is freed by its own thread. */
static void
retire_thread(struct prof_session *s, struct prof_thread *t)
{
    /* Disarm first, then wait out a handler running on t's thread right now (see prof__on_signal):
     * after that no handler touches the ring. */
    atomic_store(&t->timer_armed, false);
    if (t->has_timer)
        timer_delete(t->timer);
    while (atomic_load(&t->in_handler))
        sched_yield();
    prof__drain_thread(s, t);
    scale_to_cpu(s, t);
    struct profile_meta *m = &s->profile->meta;
    m->signals += atomic_load(&t->signals);
    m->dropped += atomic_load(&t->dropped);
    m->truncated += atomic_load(&t->truncated);
    m->heap.alloc_bytes += atomic_load_explicit(&t->heap_bytes, memory_order_relaxed);
    m->heap.alloc_count += atomic_load_explicit(&t->heap_count, memory_order_relaxed);
    m->heap.free_count += atomic_load_explicit(&t->heap_frees, memory_order_relaxed);
    free(t->ring);
    t->ring = NULL;
}

void
prof_detach(mrb_state *mrb)
{
    struct prof_thread *t = prof__tls;
    if (!t || t->mrb != mrb)
        return;
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    if (!s->stopped) {
        unlink_thread(s, mrb);
        retire_thread(s, t);
        prof__name_frames(s, mrb); /* on mrb's own thread: the only place names can be read */
    }
    pthread_mutex_unlock(&s->lock);
    release_stub(t);
}

bool
prof_read_profile(void (*fn)(const struct profile *p, uint64_t generation, void *arg), void *arg)
{
    pthread_mutex_lock(&g_session_mutex);
    struct prof_session *s = g_session;
    if (s) {
        pthread_mutex_lock(&s->lock);
        s->profile->meta.end_ns = clock_ns(CLOCK_MONOTONIC);
        fn(s->profile, g_generation, arg);
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&g_session_mutex);
    return s != NULL;
}

uint64_t
prof_now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

void
prof_span(mrb_state *mrb, const char *name, uint64_t start_ns, uint64_t end_ns)
{
    struct prof_thread *t = prof__tls;
    if (!t || t->mrb != mrb)
        return;
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    if (!s->stopped)
        profile_add_span(s->profile, t->model_thread, name, start_ns,
                         end_ns > start_ns ? end_ns - start_ns : 0);
    pthread_mutex_unlock(&s->lock);
}

void
prof_counters(mrb_state *mrb, const char *const *names, const double *values, size_t n,
              uint64_t t_ns)
{
    struct prof_thread *t = prof__tls;
    if (!t || t->mrb != mrb)
        return;
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < n && !s->stopped; i++)
        profile_add_counter(s->profile, names[i], t_ns, values[i]);
    pthread_mutex_unlock(&s->lock);
}

double
prof_elapsed(const struct prof_session *s)
{
    return (double)(clock_ns(CLOCK_MONOTONIC) - s->start_ns) / 1e9;
}

struct profile *
prof_stop(struct prof_session *s)
{
    if (prof__tls && prof__tls->session == s)
        prof_detach(prof__tls->mrb);
    pthread_mutex_lock(&g_session_mutex); /* no reader or follower gets s past this */
    g_session = NULL;
    pthread_mutex_unlock(&g_session_mutex);
    atomic_store(&s->stopping, 1);
    if (s->collector_started)
        pthread_join(s->collector, NULL);
    pthread_mutex_lock(&s->lock);
    /* Threads still attached (Deferred workers, perhaps in the middle of a task) keep their
     * samples so far; frames they have not named keep the "?" name. Their stubs are freed by
     * their own threads (prof_follow, prof_detach). */
    s->stopped = true;
    while (s->threads) {
        struct prof_thread *t = s->threads;
        s->threads = t->next;
        retire_thread(s, t);
    }
    struct profile *p = s->profile;
    s->profile = NULL;
    p->meta.heap.interval = atomic_load(&s->heap_interval);
    pthread_mutex_unlock(&s->lock);
    /* SIG_DFL is not put back: a SIGPROF still queued for a thread (its timer fired while it
     * was off the CPU) would end the process. Kernels before 6.13 (Debian 12's 6.1) keep such a
     * signal queued after timer_delete and valgrind holds it too: the profiled program died
     * with status 155 at a Profiler.stop. The handler stays and, with no armed timer, does
     * nothing; unlike SIG_IGN it is reset by exec, so children still start with SIG_DFL. */
    if ((g_old_action.sa_flags & SA_SIGINFO) || g_old_action.sa_handler != SIG_DFL)
        sigaction(SIGPROF, &g_old_action, NULL);
    p->meta.end_ns = clock_ns(CLOCK_MONOTONIC);
    profile_sort_samples(p); /* threads interleave in the sample table */
    session_release(s);
    return p;
}
