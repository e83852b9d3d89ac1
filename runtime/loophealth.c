/*
 * loophealth.c — loop health, measured always: the loop's lag (p50, p99, max), the callbacks
 * run and the longest one, per window of one second, and Process.loop_stats for scripts.
 *
 * What is measured, and from which timestamps, is told at struct rt_health (rt.h). The cost is
 * two clock reads per callback (rt_call) and one per loop iteration, plus a histogram bump;
 * tests/bench/loophealth.sh measures it. The percentiles come from a log-linear histogram of
 * the window's lags (16 buckets per power of two: a value is known to within 1/16, 6 %), the
 * maximum exactly.
 *
 * The watchdog of the stall recorder (profiler/sampler/stall.c) reads held_since_ns and
 * held_seq from its own thread; they are written here, on the loop's thread, at every
 * transition: a callback begins (held since now), ends (held since now by the callback it was
 * nested in, or not held), a nested loop starts or stops waiting.
 */
#include <string.h>
#include <time.h>

#include <mruby.h>
#include <mruby/hash.h>

#include "runtime/rt.h"

#define WINDOW_NS 1000000000ull

/* tests/bench/loophealth.sh builds mrun with -DMRPROF_NO_LOOP_HEALTH to measure what loop health
 * costs: the three calls rt.c makes then return at once (and the stall recorder sees nothing). */
#ifdef MRPROF_NO_LOOP_HEALTH
#define OFF_SWITCH() return
#else
#define OFF_SWITCH() (void)0
#endif
#define SUB_BITS 4
#define SUB (1u << SUB_BITS)

uint64_t
rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Buckets over microseconds: 0..15 exact, then 16 per power of two. */
static unsigned
bucket_of(uint64_t ns)
{
    uint64_t us = ns / 1000;
    if (us < SUB)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us); /* >= SUB_BITS */
    unsigned b = SUB + (e - SUB_BITS) * SUB + (unsigned)((us >> (e - SUB_BITS)) & (SUB - 1));
    return b < RT_LAG_BUCKETS ? b : RT_LAG_BUCKETS - 1;
}

/* The middle of bucket b, in ns. */
static uint64_t
bucket_mid_ns(unsigned b)
{
    if (b < SUB)
        return (uint64_t)b * 1000 + 500;
    unsigned e = (b - SUB) / SUB + SUB_BITS, sub = (b - SUB) % SUB;
    uint64_t lo = ((uint64_t)(SUB + sub)) << (e - SUB_BITS);
    uint64_t width = 1ull << (e - SUB_BITS);
    return (lo * 1000) + width * 500;
}

static uint64_t
percentile(const struct rt_health *h, uint64_t n, double q, uint64_t max)
{
    if (n == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)n + 0.999999), seen = 0;
    if (rank == 0)
        rank = 1;
    for (unsigned b = 0; b < RT_LAG_BUCKETS; b++) {
        seen += h->hist[b];
        if (seen >= rank) {
            uint64_t v = bucket_mid_ns(b);
            return v > max ? max : v;
        }
    }
    return max;
}

/* The current window's figures so far, ending at now. */
static void
summarise(const struct rt_health *h, uint64_t now, struct rt_loop_window *w)
{
    *w = h->cur;
    w->end_ns = now;
    w->lag_p50_ns = percentile(h, w->iterations, 0.50, w->lag_max_ns);
    w->lag_p99_ns = percentile(h, w->iterations, 0.99, w->lag_max_ns);
}

static void
close_window(struct rt *rt, uint64_t now)
{
    struct rt_health *h = &rt->health;
    summarise(h, now, &h->last);
    h->have_last = true;
    if (rt->hooks.loop_window)
        rt->hooks.loop_window(rt, rt->hooks.data, &h->last);
    memset(&h->cur, 0, sizeof h->cur);
    memset(h->hist, 0, sizeof h->hist);
    h->cur.start_ns = now;
}

void
rt__health_init(struct rt *rt)
{
    struct rt_health *h = &rt->health;
    uint64_t now = rt_now_ns();
    h->busy_start_ns = now;
    h->cur.start_ns = now;
    atomic_init(&h->held_since_ns, 0);
    atomic_init(&h->held_seq, 0);
    atomic_init(&h->stall_flag, 0);
}

/* One transition for the watchdog: held since `since` (0: not held). */
static inline void
mark(struct rt *rt, uint64_t now, uint64_t since)
{
    struct rt_health *h = &rt->health;
    uint64_t held = atomic_load_explicit(&h->held_since_ns, memory_order_relaxed);
    if (atomic_load_explicit(&h->stall_flag, memory_order_acquire)) {
        if (rt->hooks.stall_mark)
            rt->hooks.stall_mark(rt, rt->hooks.data,
                                 atomic_load_explicit(&h->held_seq, memory_order_relaxed), now,
                                 h->mark_ns);
    } else if (h->stall_check_ns && held && now - held > h->stall_check_ns &&
               rt->hooks.stall_check) {
        rt->hooks.stall_check(rt, rt->hooks.data,
                              atomic_load_explicit(&h->held_seq, memory_order_relaxed), held, now);
    }
    h->mark_ns = now;
    atomic_store_explicit(&h->held_since_ns, since, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->held_seq, 1, memory_order_release);
}

void
rt__health_poll_entry(struct rt *rt)
{
    OFF_SWITCH();
    struct rt_health *h = &rt->health;
    uint64_t now = rt_now_ns();
    uint64_t lag = now - h->busy_start_ns;
    h->busy_start_ns = now; /* an iteration that does not wait: from here */
    h->hist[bucket_of(lag)]++;
    h->cur.iterations++;
    h->total_iterations++;
    if (lag > h->cur.lag_max_ns)
        h->cur.lag_max_ns = lag;
    if (lag > h->peak_lag_ns)
        h->peak_lag_ns = lag;
    if (now - h->cur.start_ns >= WINDOW_NS)
        close_window(rt, now);
}

void
rt__health_wait(struct rt *rt, bool begin)
{
    OFF_SWITCH();
    struct rt_health *h = &rt->health;
    uint64_t now = rt_now_ns();
    if (!begin)
        h->busy_start_ns = now;
    /* Only a nested loop (Deferred#value's) waits inside a callback: not held while it waits. */
    if (h->depth > 0)
        mark(rt, now, begin ? 0 : now);
}

void
rt__health_call(struct rt *rt, bool begin)
{
    OFF_SWITCH();
    struct rt_health *h = &rt->health;
    uint64_t now = rt_now_ns();
    if (begin) {
        if (h->depth++ == 0)
            h->call_start_ns = now;
        h->cur.callbacks++;
        h->total_callbacks++;
        mark(rt, now, now);
        return;
    }
    if (--h->depth == 0) {
        uint64_t d = now - h->call_start_ns;
        if (d > h->cur.longest_callback_ns)
            h->cur.longest_callback_ns = d;
        if (d > h->peak_callback_ns)
            h->peak_callback_ns = d;
    }
    mark(rt, now, h->depth > 0 ? now : 0);
}

void
rt_health_flush(struct rt *rt)
{
    struct rt_health *h = &rt->health;
    if (h->cur.iterations || h->cur.callbacks)
        close_window(rt, rt_now_ns());
}

void
rt_health_window(struct rt *rt, struct rt_loop_window *w)
{
    struct rt_health *h = &rt->health;
    if (h->have_last)
        *w = h->last;
    else
        summarise(h, rt_now_ns(), w);
}

/* --- Process.loop_stats ---------------------------------------------------------------------- */

static void
set(mrb_state *mrb, mrb_value hash, const char *key, mrb_value v)
{
    mrb_hash_set(mrb, hash, mrb_symbol_value(mrb_intern_cstr(mrb, key)), v);
}

static mrb_value
ms(mrb_state *mrb, uint64_t ns)
{
    return mrb_float_value(mrb, (double)ns / 1e6);
}

static mrb_value
process_loop_stats(mrb_state *mrb, mrb_value self)
{
    (void)self;
    struct rt *rt = rt_from_mrb(mrb);
    struct rt_loop_window w;
    rt_health_window(rt, &w);
    const struct rt_health *h = &rt->health;
    mrb_value r = mrb_hash_new_capa(mrb, 12);
    set(mrb, r, "lag_p50_ms", ms(mrb, w.lag_p50_ns));
    set(mrb, r, "lag_p99_ms", ms(mrb, w.lag_p99_ns));
    set(mrb, r, "lag_max_ms", ms(mrb, w.lag_max_ns));
    set(mrb, r, "callbacks", mrb_int_value(mrb, (mrb_int)w.callbacks));
    set(mrb, r, "longest_callback_ms", ms(mrb, w.longest_callback_ns));
    set(mrb, r, "iterations", mrb_int_value(mrb, (mrb_int)w.iterations));
    set(mrb, r, "window_ms", ms(mrb, w.end_ns - w.start_ns));
    set(mrb, r, "total_callbacks", mrb_int_value(mrb, (mrb_int)h->total_callbacks));
    set(mrb, r, "total_iterations", mrb_int_value(mrb, (mrb_int)h->total_iterations));
    set(mrb, r, "peak_lag_ms", ms(mrb, h->peak_lag_ns));
    set(mrb, r, "peak_callback_ms", ms(mrb, h->peak_callback_ns));
    return r;
}

static void
loophealth_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    struct RClass *p = mrb_module_get(mrb, "Process");
    mrb_define_module_function(mrb, p, "loop_stats", process_loop_stats, MRB_ARGS_NONE());
}

const struct rt_module rt_module_loophealth = {.name = "loophealth", .init = loophealth_init};
