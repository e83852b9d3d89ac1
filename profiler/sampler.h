/*
 * sampler.h — the sampling side of the profiler (knows mruby, fills the profile model).
 *
 * One struct prof_thread per profiled VM thread (the main runtime, each Deferred worker). A
 * per-thread CLOCK_MONOTONIC timer sends that thread a signal; the handler copies the mruby
 * call-info stack as raw words into the thread's ring buffer and returns. A drain step (on the
 * collector thread, and on the VM's own thread at safe points) turns ring records into frames,
 * stack-trie nodes and samples; names that need the VM (symbols, class names) are filled in on
 * the VM's thread at safe points and when profiling stops.
 */
#ifndef MRPROF_SAMPLER_H
#define MRPROF_SAMPLER_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include <mruby.h>

struct profile;
struct prof_session;

#define PROF_MAX_DEPTH 512      /* frames kept per sample; deeper stacks are truncated */
#define PROF_RING_WORDS (1u << 20) /* 8 MiB ring per thread */
#define PROF_FRAME_WORDS 3

enum prof_mode { PROF_MODE_CPU = 0, PROF_MODE_WALL = 1 };

struct prof_thread {
    /* Set before the timer is armed, read-only afterwards. */
    mrb_state *mrb;
    pid_t tid;
    uint32_t model_thread;                   /* thread index in the profile */
    const volatile sig_atomic_t *loop_state; /* 1 while the loop polls (NULL: no loop) */
    const volatile sig_atomic_t *main_done;  /* 1 once the main script returned */
    struct prof_session *session;
    timer_t timer;
    bool timer_armed;

    /* The ring: written only by this thread's signal handler (head), read by one drainer at a
     * time (tail). Each index is published with a release store. */
    uint64_t *ring;
    _Atomic uint64_t head, tail;

    /* Flags the handler reads; written by this thread outside the handler. */
    volatile sig_atomic_t in_gc;

    /* Handler-private state. */
    uint64_t last_wall_ns, last_cpu_ns, rng, interval_ns;

    /* Counters written by the handler (relaxed), read anywhere. */
    _Atomic uint64_t signals, recorded, dropped, truncated;

    struct prof_thread *next; /* session's list, under the session lock */
};

/* The profiled thread of the calling thread, or NULL. Read by the allocation hook. */
extern __thread struct prof_thread *prof__tls;

#endif
