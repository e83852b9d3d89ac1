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
struct profile_heap_meta;
struct prof_session;

#define PROF_MAX_DEPTH 512      /* frames kept per sample; deeper stacks are truncated */
#define PROF_RING_WORDS (1u << 20) /* 8 MiB ring per thread */
#define PROF_FRAME_WORDS 4

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
    _Atomic bool timer_armed;  /* cleared (by any thread) before the thread is retired */
    _Atomic int in_handler;    /* 1 while the signal handler runs on this thread */

    /* The ring: written only by this thread's signal handler (head), read by one drainer at a
     * time (tail). Each index is published with a release store. */
    uint64_t *ring;
    _Atomic uint64_t head, tail;

    /* Flags the handler reads; written by this thread outside the handler. */
    volatile sig_atomic_t in_gc;

    /* Set by a drain that met frames not named yet; the allocation hook then names them on
     * this thread (a CPU-bound script may not reach the loop's safe point for a long time). */
    _Atomic int name_wanted;

    /* Symbols the handler compares with (see check_leaf), interned at attach. */
#define PROF_KNOWN_SYMS 13
    uint32_t known[PROF_KNOWN_SYMS];

    /* Handler-private state. */
    int mode; /* enum prof_mode */
    uint64_t last_wall_ns, last_cpu_ns, last_deadline, rng, interval_ns;
    /* CPU mode: the thread's CPU time over every interval, and the weights recorded (running
     * time at the ticks); read when the thread retires, to scale the one to the other. */
    uint64_t cpu_sum, weight_sum;
    /* The CPU time spent inside the loop's waits (prof_wait_begin/end), on this thread only. */
    uint64_t wait_cpu_start, wait_cpu_sum;
    size_t first_sample; /* the profile's sample count when the thread attached */

    /* Counters written by the handler (relaxed), read anywhere. */
    _Atomic uint64_t signals, recorded, dropped, truncated;

    bool has_timer; /* false in a memory-only session (hz 0) */

    /* The allocation sampler (prof_heap_note), used on this thread only, except the totals
     * (one writer, read by prof_stop). */
    int64_t heap_until;        /* bytes to allocate before the next sample */
    uint64_t heap_rng;
    uintptr_t *live_keys;      /* sampled blocks still live: address -> allocation index */
    size_t *live_vals, live_cap, live_n;
    size_t *pending, npending, cap_pending; /* frees met while this thread held the lock */
    double heap_in_use;        /* estimated bytes of the live sampled blocks */
    _Atomic uint64_t heap_bytes, heap_count, heap_frees;
    uint32_t counter_countdown;
    uint64_t next_counter_ns, gc_cycles;

    struct prof_thread *next; /* session's list, under the session lock */
};

/* The profiled thread of the calling thread, or NULL. Read by the allocation hook. */
extern __thread struct prof_thread *prof__tls;

/* Set from a signal handler when the process should stop (Ctrl-C); the allocation hook of a
 * profiled thread then calls prof_interrupt_hook, which may raise (memhook.c). */
extern volatile sig_atomic_t prof_interrupt_pending;
extern void (*prof_interrupt_hook)(mrb_state *mrb);

/*
 * The session API. One session at a time per process.
 *
 * prof_start() begins a session (rate hz, 1..10000; 0: no CPU sampling, for memory alone) and its collector thread; nothing is sampled
 * until a thread attaches. prof_attach() must be called on the VM's own thread: it arms a timer
 * that signals only that thread. prof_safe_point() drains this thread's samples and names new
 * frames; call it where the VM is between instructions (the runtime calls it once per loop
 * iteration). prof_detach() (on the same thread) stops sampling it and names its frames.
 * prof_stop() ends the session and returns the profile, which the caller then owns; every
 * thread must have detached, except the caller's own, which prof_stop detaches.
 */
struct prof_session *prof_start(enum prof_mode mode, unsigned hz, char *err, size_t errlen);
/* For threads that come and go on their own (Deferred workers): call at the thread's safe
 * points on its own VM. Joins the running session (as thread `name`, idle while *idle is
 * non-zero), names this thread's frames, and lets go of a session that stopped meanwhile.
 * prof_stop does not wait for such threads: it takes what they sampled so far and leaves
 * them a stub that this call (or prof_detach) frees. */
void prof_follow(mrb_state *mrb, const char *name, const volatile sig_atomic_t *idle);
struct prof_session *prof_current(void);
int prof_attach(struct prof_session *s, mrb_state *mrb, const char *name,
                const volatile sig_atomic_t *loop_state, const volatile sig_atomic_t *main_done);
void prof_detach(mrb_state *mrb); /* also lets go of a stopped session's stub */
void prof_safe_point(mrb_state *mrb);
struct profile *prof_stop(struct prof_session *s);
/* prof_stop returns the profile; threads still attached on other VMs are cut off (see
 * prof_follow). */
/* Records a span (a Deferred task, ...) on the calling thread's track, when it is profiled;
 * start_ns and end_ns are CLOCK_MONOTONIC. A no-op otherwise. */
void prof_span(mrb_state *mrb, const char *name, uint64_t start_ns, uint64_t end_ns);
/* Around the event loop's wait for events, on the VM's thread: in CPU mode, the CPU time
 * the thread spends in the wait (the kernel's poll, waking up) is measured and charged to
 * "(idle)". A thread-local load when the thread is not profiled. */
void prof_wait_begin(mrb_state *mrb);
void prof_wait_end(mrb_state *mrb);
/* CLOCK_MONOTONIC now, in ns: the clock spans are measured with. */
uint64_t prof_now_ns(void);

/*
 * Memory. prof_set_heap_interval() turns allocation sampling on for every thread of s (a mean
 * of interval bytes between samples, drawn from an exponential distribution) or off (0).
 * prof_heap_note() is the allocator's hook: call it after each allocation, reallocation or
 * free made by mrb's allocator, with the block passed in (old, 0 for a new one), the block
 * returned (new, NULL for a free or a failed realloc) and the size asked for. It is a
 * thread-local load when this thread is not profiled. prof_allocf is an allocator for
 * mrb_open_allocf: realloc/free plus the hook.
 */
#define PROF_HEAP_DEFAULT_INTERVAL (512u * 1024u) /* Node's --heap-prof and Go's default */
void prof_set_heap_interval(struct prof_session *s, uint64_t interval);
uint64_t prof_heap_interval(const struct prof_session *s);
unsigned prof_session_hz(const struct prof_session *s); /* 0: memory only */
void prof_heap_note(mrb_state *mrb, uintptr_t old, void *new, size_t size);
void *prof_allocf(mrb_state *mrb, void *p, size_t size, void *ud);
/* GC and process counters (RSS, live objects, heap pages, GC cycles, bytes allocated and in
 * use), recorded at most every 20 ms while memory is profiled; from the allocation hook and
 * the safe point, on the thread's own VM. */
void prof_counters_tick(struct prof_thread *t);
/* Whole-session memory totals so far, into *m (threads still attached included). */
void prof_heap_totals(struct prof_session *s, struct profile_heap_meta *m);

/* Seconds since the session started (for Profiler.stop_profiling). */
double prof_elapsed(const struct prof_session *s);

/* For the live agent (profiler/live.c), on any thread: calls fn with the running session's
 * profile while it is drained into, under the session lock, and with the session's generation
 * (a number that changes when a new session starts). Returns false when none runs. */
bool prof_read_profile(void (*fn)(const struct profile *p, uint64_t generation, void *arg),
                       void *arg);

/* Names the frames a drain found, from mrb_obj_alloc and mrb_method_search_vm (memhook.c) on
 * the thread's own VM: an allocation is a point where the VM may run Ruby-visible work (it may
 * even collect), and so is a method lookup (the VM may allocate right after it: method_missing,
 * keyword hashes). prof_names_pending counts the threads with frames to name. */
void prof_name_at_alloc(struct prof_thread *t);
/* Whether this thread is naming frames now, holding its session's lock: the mrb_obj_alloc wrap
 * must not raise (take a pending Ctrl-C) then, or the longjmp would leave the lock held and the
 * profile's stop would wait for it forever. */
bool prof_naming_now(void);
extern _Atomic int prof_names_pending;

#endif
