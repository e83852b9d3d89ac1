/*
 * alloc.c — memory: the allocation sampler. prof_heap_note is the VMs' allocator hook (through
 * prof_allocf, or a worker's allocator); it samples allocations on the thread that makes them
 * and keeps that thread's set of sampled blocks still live.
 */
#include "profiler/sampler/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mruby/gc.h>

#include "profiler/model/profile.h"

/* --- memory: the allocation sampler --------------------------------------------------------- */

/*
 * Which bytes get sampled: a Poisson process over the bytes allocated, as tcmalloc, Go and V8
 * do. The gap to the next sample is drawn from an exponential distribution of mean `interval`
 * bytes; an allocation that crosses it is sampled. A block of s bytes is then sampled with
 * probability P = 1 - exp(-s / interval) whatever the others are, so the sample stands for
 * s / P bytes and 1 / P allocations: unbiased estimates, which profile_heap_view scales so that
 * they add up to the totals counted exactly here.
 */

void
prof_set_heap_interval(struct prof_session *s, uint64_t interval)
{
    atomic_store(&s->heap_interval, interval);
}

uint64_t
prof_heap_interval(const struct prof_session *s)
{
    return atomic_load(&((struct prof_session *)s)->heap_interval);
}

unsigned
prof_session_hz(const struct prof_session *s)
{
    return s->hz;
}

static int64_t
next_gap(struct prof_thread *t, uint64_t interval)
{
    /* U in (0, 1]: 53 random bits, never 0 so that log() is finite. */
    double u = (double)((next_rand(&t->heap_rng) >> 11) + 1) / 9007199254740992.0;
    double gap = -log(u) * (double)interval;
    return gap < 1.0 ? 1 : gap > 1e15 ? (int64_t)1e15 : (int64_t)gap;
}

/* The live set: open addressing on the block's address, linear probing, deletion by shifting
 * back the entries after the hole (no tombstones). Only this thread touches it. */
static size_t
live_slot(const struct prof_thread *t, uintptr_t key)
{
    return (size_t)prof_mix64(key) & (t->live_cap - 1);
}

static bool
live_insert(struct prof_thread *t, uintptr_t key, size_t val)
{
    if ((t->live_n + 1) * 4 > t->live_cap * 3) {
        size_t cap = t->live_cap ? t->live_cap * 2 : 256;
        uintptr_t *keys = calloc(cap, sizeof *keys);
        size_t *vals = malloc(cap * sizeof *vals);
        if (!keys || !vals) {
            free(keys), free(vals);
            return false;
        }
        uintptr_t *old_keys = t->live_keys;
        size_t *old_vals = t->live_vals, old_cap = t->live_cap;
        t->live_keys = keys, t->live_vals = vals, t->live_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old_keys[i]) {
                size_t j = live_slot(t, old_keys[i]);
                while (keys[j])
                    j = (j + 1) & (cap - 1);
                keys[j] = old_keys[i], vals[j] = old_vals[i];
            }
        free(old_keys), free(old_vals);
    }
    size_t j = live_slot(t, key);
    while (t->live_keys[j] && t->live_keys[j] != key)
        j = (j + 1) & (t->live_cap - 1);
    t->live_n += !t->live_keys[j];
    t->live_keys[j] = key;
    t->live_vals[j] = val;
    return true;
}

/* Removes key; returns whether it was there, and its value in *val. */
static bool
live_remove(struct prof_thread *t, uintptr_t key, size_t *val)
{
    size_t mask = t->live_cap - 1, j = live_slot(t, key);
    while (t->live_keys[j] != key) {
        if (!t->live_keys[j])
            return false;
        j = (j + 1) & mask;
    }
    *val = t->live_vals[j];
    t->live_n--;
    for (size_t k = (j + 1) & mask; t->live_keys[k]; k = (k + 1) & mask) {
        size_t home = live_slot(t, t->live_keys[k]);
        /* Move k into the hole at j unless its home lies cyclically in (j, k]. */
        if (((k - home) & mask) >= ((k - j) & mask)) {
            t->live_keys[j] = t->live_keys[k], t->live_vals[j] = t->live_vals[k];
            j = k;
        }
    }
    t->live_keys[j] = 0;
    return true;
}

/* Marks allocation idx freed. Caller holds the session lock. */
static void
mark_freed(struct prof_session *s, struct prof_thread *t, size_t idx, uint64_t now)
{
    if (s->stopped || idx >= s->profile->allocs.len)
        return;
    struct prof_alloc *a = &((struct prof_alloc *)s->profile->allocs.data)[idx];
    a->freed_ns = now;
    t->heap_in_use -= a->bytes;
}

/* Frees this thread met while it held the session lock (naming frames may allocate and so
 * collect garbage): marked at the next chance. Caller holds the lock. */
void
prof__flush_pending(struct prof_session *s, struct prof_thread *t)
{
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    for (size_t i = 0; i < t->npending; i++)
        mark_freed(s, t, t->pending[i], now);
    t->npending = 0;
}

static void
note_free(struct prof_thread *t, uintptr_t block)
{
    size_t idx;
    if (!live_remove(t, block, &idx))
        return;
    struct prof_session *s = t->session;
    if (prof__naming) { /* this thread holds the session lock */
        if (t->npending == t->cap_pending) {
            size_t cap = t->cap_pending ? t->cap_pending * 2 : 64;
            size_t *pend = realloc(t->pending, cap * sizeof *pend);
            if (!pend)
                return; /* the block stays "live" in the profile: out of memory anyway */
            t->pending = pend, t->cap_pending = cap;
        }
        t->pending[t->npending++] = idx;
        return;
    }
    pthread_mutex_lock(&s->lock);
    prof__flush_pending(s, t);
    mark_freed(s, t, idx, clock_ns(CLOCK_MONOTONIC));
    pthread_mutex_unlock(&s->lock);
}

static void
take_alloc_sample(struct prof_thread *t, void *block, size_t size, uint64_t interval)
{
    double p = -expm1(-(double)size / (double)interval); /* 1 - exp(-size / interval) */
    double bytes = (double)size / p, count = 1.0 / p;
    uint64_t words[PROF_MAX_DEPTH * PROF_FRAME_WORDS];
    bool truncated;
    uint32_t depth = prof__stack_depth(t->mrb, &truncated);
    int32_t line;
    uint32_t n =
        prof__walk_stack(t, t->main_done && *t->main_done, depth, words, 0, UINT64_MAX, &line);
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    if (s->stopped) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    prof__flush_pending(s, t);
    size_t raws_before = s->nraws;
    uint32_t node = prof__stack_node(s, t, words, 0, UINT64_MAX, n, 0);
    size_t idx = profile_add_alloc(s->profile, t->model_thread, node, clock_ns(CLOCK_MONOTONIC),
                                   size, bytes, count);
    bool new_frames = s->nraws != raws_before;
    pthread_mutex_unlock(&s->lock);
    if (new_frames)
        prof__want_names(t);
    if (live_insert(t, (uintptr_t)block, idx))
        t->heap_in_use += bytes;
}

static inline void
add_relaxed(_Atomic uint64_t *c, uint64_t v)
{
    /* One writer (this thread): a load and a store, no locked instruction. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

void
prof_heap_note(mrb_state *mrb, uintptr_t old, void *new, size_t size)
{
    struct prof_thread *t = prof__tls;
    if (__builtin_expect(t == NULL || t->mrb != mrb, 1))
        return;
    uint64_t interval = atomic_load_explicit(&t->session->heap_interval, memory_order_relaxed);
    bool old_gone = old && (size == 0 || new != NULL);
    if (old_gone && t->live_n)
        note_free(t, old);
    if (!interval)
        return;
    if (old_gone)
        add_relaxed(&t->heap_frees, 1);
    if (!new || size == 0)
        return;
    add_relaxed(&t->heap_bytes, size);
    add_relaxed(&t->heap_count, 1);
    if (t->heap_until == 0)
        t->heap_until = next_gap(t, interval); /* the first allocation since sampling began */
    t->heap_until -= (int64_t)size;
    if (__builtin_expect(t->heap_until > 0, 1))
        return;
    if (prof__naming || mrb->gc.iterating || prof__moving(t, mrb))
        return; /* holding the lock, inside GC, or the stack or call-info array is moving
                   (its pointers are stale): the next allocation is sampled instead */
    while (t->heap_until <= 0)
        t->heap_until += next_gap(t, interval);
    take_alloc_sample(t, new, size, interval);
}

void *
prof_allocf(mrb_state *mrb, void *p, size_t size, void *ud)
{
    (void)ud;
    uintptr_t old = (uintptr_t)p; /* the address alone: the hook never reads the block */
    /* Moving the current stack or call-info array: the handler must not walk until mruby has
     * stored the new base (prof__moving). The mark of a previous move is cleared here: mruby
     * allocates nothing between that realloc and storing the new base, so it is complete. */
    struct prof_thread *t = prof__tls;
    bool ours = t && t->mrb == mrb;
    size_t ci_bytes = 0; /* the call-info array's size before it grows */
    if (ours) {
        uintptr_t m = 0;
        if (p && mrb->c && (p == (void *)mrb->c->stbase || p == (void *)mrb->c->cibase))
            m = old;
        if (p && mrb->c && p == (void *)mrb->c->cibase)
            ci_bytes = (size_t)((char *)mrb->c->ciend - (char *)mrb->c->cibase);
        t->moving = m;
        t->moved_lo = t->moved_hi = 0;
        atomic_signal_fence(memory_order_seq_cst);
    }
    if (size == 0) {
        free(p);
        prof_heap_note(mrb, old, NULL, 0);
        return NULL;
    }
    void *q = realloc(p, size);
    /* cipush moves c->ci into the grown part before it writes the slot, so the handler reads
     * a slot nobody wrote: realloc leaves it as whatever the heap held, and its pointers led
     * the walk into the wild (a crash at 10 kHz on a deep call in a new Fiber). Zeroed, such
     * a slot reads as a C function with no code yet, which check_leaf and naming handle. */
    if (q && ci_bytes && size > ci_bytes)
        memset((char *)q + ci_bytes, 0, size - ci_bytes);
    if (q && ci_bytes) {
        t->moved_hi = (uintptr_t)q + size;
        t->moved_lo = (uintptr_t)q;
        atomic_signal_fence(memory_order_seq_cst);
    }
    if (q == p && ours) {
        atomic_signal_fence(memory_order_seq_cst);
        t->moving = 0; /* grown in place: nothing moved */
    }
    prof_heap_note(mrb, old, q, size);
    return q;
}

void
prof_heap_totals(struct prof_session *s, struct profile_heap_meta *m)
{
    pthread_mutex_lock(&s->lock);
    *m = s->profile ? s->profile->meta.heap : (struct profile_heap_meta){0};
    for (struct prof_thread *t = s->threads; t; t = t->next) {
        m->alloc_bytes += atomic_load_explicit(&t->heap_bytes, memory_order_relaxed);
        m->alloc_count += atomic_load_explicit(&t->heap_count, memory_order_relaxed);
        m->free_count += atomic_load_explicit(&t->heap_frees, memory_order_relaxed);
    }
    m->interval = atomic_load(&s->heap_interval);
    pthread_mutex_unlock(&s->lock);
}
