/*
 * internal.h — the sampler's own structs and the calls between its files. The runtime and the
 * live agent use sampler.h; only the files of profiler/sampler/ include this (as libuv keeps
 * src/unix/internal.h apart from uv.h).
 *
 * The sampling profiler: timer signal -> raw stack in a ring -> frames and samples.
 *
 * Three steps, three places:
 *
 * 1. The signal handler (on the profiled thread, async-signal-safe only). A per-thread POSIX
 *    timer on CLOCK_MONOTONIC (CPU-time timers tick at 250 Hz on this kernel whatever is asked)
 *    fires at absolute deadlines spaced by the interval times U(0.5, 1.5), so the mean rate is
 *    exactly the one requested and periodic work does not alias with the sampler (+/-10 % was
 *    too little: a loop whose period was near 1 ms drifted through its phases so slowly that a
 *    method's share at 1 kHz swung from 14 % to 44 % between runs of the same script). The
 *    handler reads the thread's CPU clock (to weigh the sample in CPU mode), the loop state and
 *    the GC flag, then walks mruby's call-info stacks (every fiber context, leaf first) and
 *    copies four raw words per frame into a single-producer ring of 64-bit words: the code
 *    pointer (irep or C function), the class pointer, mid | kind, and the file symbol and first
 *    line read from the irep's debug info (O(1): entry 0 of its line table) while the irep is
 *    certainly alive; the top frame's current line is looked up too. No malloc, no locks, no
 *    stdio, no mruby call. A full ring drops the sample and counts it.
 *
 * 2. The drain (collector thread every 10 ms, or the VM thread at a safe point; serialised by
 *    the session lock). It maps raw frames to model frames through a hash on the raw words and
 *    appends trie nodes and samples. It never dereferences an irep: an `eval`'d irep is often
 *    freed before the drain runs (a crash seen at 10 kHz when it did). Until step 3 a new frame
 *    is named "?".
 *
 * 3. Naming (the VM's own thread at a safe point, and at detach/stop). Symbols and class names
 *    can only be read there safely (mrb_sym_name shares a buffer, mrb_class_name may allocate).
 *
 * The raw key includes the file symbol and first line, so a freed irep whose address is reused
 * by other code does not inherit the old frame's name. An irep with debug info is known by them
 * and not by its address: a Deferred worker loads each task's block anew, and keyed by address
 * every task's block became one more frame (and one more top-level entry) of the same function.
 *
 * Weights. The deadlines are a schedule that does not depend on what the thread does (a late
 * signal steps over the deadlines it missed, see arm_next), and a sample stands for the time
 * from its deadline to the next: the thread could not change what it was doing while it did
 * not run, so the state at the signal is the state at the deadline. In wall mode that is the
 * weight. In CPU mode a sample taken while the thread waits (the loop's poll, a worker waiting
 * for a task) weighs 0, and one taken while it runs weighs the time from the signal to the
 * next deadline (the lateness is time off the CPU). A running thread whose signal came more
 * than PROF_LATE_NS after its deadline gives no sample: the thread was off the CPU at that
 * deadline (on it, the signal arrives within tens of µs; off it, after the wait for a CPU,
 * milliseconds), so the deadline saw no CPU work. Counting it charged every preemption to the
 * code that was preempted, and on a loaded machine long CPU-bound stretches took the share of
 * the short bursts around them (a job spinning 0.5 ms every 2 ms: 78.6 % for a true 73.2 %).
 * When the thread retires, its CPU clock is
 * shared out: the CPU time measured inside the loop's waits (prof_wait_begin/end) to its idle
 * samples, the rest to its running samples in proportion to their weights. The old rule, "the
 * CPU time since the previous sample, charged to the stack at this one", charged a burst of
 * work to the idle sample that followed it: a timer callback spinning 0.5 ms every 2 ms came
 * out 85 % idle. pprof's CPU profiles (a SIGPROF per period of CPU used) and py-spy's (samples
 * of threads found running) count only what was on the CPU, as this does.
 *
 * The files, one job each:
 *   signal.c    step 1: the signal handler and the pure reads it makes (the stack walk, irep
 *               debug info, the timer's next deadline); async-signal-safe code only
 *   naming.c    steps 2 and 3: raw frames -> model frames (the drain), and naming them on
 *               the VM's own thread
 *   session.c   the session: start, attach, follow, detach, safe points, the collector
 *               thread, stop (and the CPU-mode weights when a thread retires)
 *   alloc.c     memory: the allocation sampler (prof_heap_note, prof_allocf)
 *   counters.c  memory: GC and process counters
 *   memhook.c   the wrapped mrb_obj_alloc and mrb_method_search_vm
 *   live.c      the live agent (sampler.h only)
 *
 * Ownership: a session owns its profile until prof_stop hands it over, its raw frames and its
 * list of threads (all under s->lock). A struct prof_thread belongs to its own thread: it is
 * freed there (prof_detach, prof_follow), and its ring is freed when it retires.
 *
 * Out of memory: profiler/base/err.h's policy (return -ENOMEM, never abort) holds for the
 * model, the formats and the viewer. The sampler lives inside mrun, where mruby itself aborts
 * when its allocator fails; the drain's own tables (the raw-frame index, the raw frames) abort
 * the same way, because a drain that dropped frames would name samples untruly. prof_start
 * refuses with "out of memory" when the profile cannot be made; a live-set insert that cannot
 * grow drops that block from the heap profile (alloc.c). The signal handler allocates nothing.
 * Hash tables: the raw-frame index is profiler/base/hash.h's; the allocation sampler's live set
 * (alloc.c) is its own, because blocks leave it when freed and the id table has no deletion.
 */
#ifndef MRPROF_SAMPLER_INTERNAL_H
#define MRPROF_SAMPLER_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>
#include <sys/types.h>
#include <mruby.h>

#include "profiler/base/hash.h"
#include "profiler/sampler/sampler.h"

#define PROF_MAX_DEPTH 512         /* frames kept per sample; deeper stacks are truncated */
#define PROF_RING_WORDS (1u << 20) /* 8 MiB ring per thread */
#define PROF_FRAME_WORDS 4

#define RING_MASK (PROF_RING_WORDS - 1)
#define HDR_WORDS 3
#define REC_MAGIC 0x5EC0u

/* Record flags. */
/* A signal this late after its deadline found the thread off the CPU at the deadline (see
 * "Weights"). Measured on a 2-core VM under load: on the CPU the delay is 40-50 µs (p90 under
 * 100 µs); off it, over 1 ms for nearly all. */
#define PROF_LATE_NS 500000u

#define F_POLLING 1u
#define F_GC 2u
#define F_TRUNCATED 4u
/* Bits 8-15 of the flags: the thread's blocked mark (wall mode; 0: none), see prof_block_mark.
 * The drain makes it the pseudo frame "(blocked: NAME)", the sample's leaf. */
#define F_BLOCK_SHIFT 8u
#define F_BLOCK_MASK 0xff00u

/* Raw frame kinds. */
/* RAW_ENTER: a method call not yet (or no longer) running, named by looking its mid up from
 * cls, else from the receiver's class held in the code word (see check_leaf). */
enum raw_kind { RAW_METHOD = 1, RAW_BLOCK, RAW_MAIN, RAW_TOP, RAW_CFUNC, RAW_ENTER };

struct raw_frame {
    mrb_state *mrb;
    uintptr_t code, cls;
    uint32_t mid;
    uint8_t kind;
    uint32_t file_sym; /* 0 when unknown */
    int32_t fn_line;
    uint32_t frame; /* model frame id */
    bool named;
};

struct prof_thread {
    /* Set before the timer is armed, read-only afterwards. */
    mrb_state *mrb;
    pid_t tid;
    uint32_t model_thread;                   /* thread index in the profile */
    const volatile sig_atomic_t *loop_state; /* 1 while the loop polls (NULL: no loop) */
    const volatile sig_atomic_t *main_done;  /* 1 once the main script returned */
    struct prof_session *session;
    timer_t timer;
    _Atomic bool timer_armed;
    /* A new sampling interval asked from another thread (the stall watchdog, stall.c), taken
     * by the handler when it arms the next deadline; 0: none asked. */
    _Atomic uint64_t interval_want; /* cleared (by any thread) before the thread is retired */
    _Atomic int in_handler;         /* 1 while the signal handler runs on this thread */

    /* The ring: written only by this thread's signal handler (head), read by one drainer at a
     * time (tail). Each index is published with a release store. */
    uint64_t *ring;
    _Atomic uint64_t head, tail;

    /* Flags the handler reads; written by this thread outside the handler. */
    volatile sig_atomic_t in_gc;
    /* The VM stack or call-info array the allocator is moving (prof_allocf), 0 when none: from
     * the realloc until mruby points c->stbase / c->cibase at the new block, the frames and
     * registers the handler would read are in freed memory (see prof__moving). */
    volatile uintptr_t moving;
    /* After a call-info array moved: its new block [moved_lo, moved_hi). cipush stores the new
     * c->cibase before it points c->ci into it: until then c->ci still points into the old
     * block, and a walk from it down to the new base would cross unrelated memory. */
    volatile uintptr_t moved_lo, moved_hi;

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
    int64_t heap_until; /* bytes to allocate before the next sample */
    uint64_t heap_rng;
    uintptr_t *live_keys; /* sampled blocks still live: address -> allocation index */
    size_t *live_vals, live_cap, live_n;
    size_t *pending, npending, cap_pending; /* frees met while this thread held the lock */
    double heap_in_use;                     /* estimated bytes of the live sampled blocks */
    _Atomic uint64_t heap_bytes, heap_count, heap_frees;
    uint32_t counter_countdown;
    uint64_t next_counter_ns, gc_cycles;

    struct prof_thread *next; /* session's list, under the session lock */
};

struct prof_session {
    pthread_mutex_t lock; /* guards profile, raw frames, the thread list */
    struct profile *profile;
    enum prof_mode mode;
    unsigned hz;
    uint64_t interval_ns, start_ns;
    struct prof_thread *threads;

    struct raw_frame *raws;
    size_t nraws, capraws;
    struct mp_hash raw_index; /* ids into raws */
    uint32_t unnamed;         /* string id of "?" */

    /* The frame of "(blocked: NAME)" for each mark value, 0 until first met (under lock). */
    uint32_t block_frame[PROF_MAX_BLOCK];

    pthread_t collector;
    bool collector_started;
    _Atomic int stopping;
    bool stopped;     /* under lock: prof_stop ran; the profile belongs to its caller now */
    _Atomic int refs; /* prof_stop's own + one per attached thread; freed at zero */
    _Atomic uint64_t heap_interval; /* mean bytes between allocation samples; 0: off */
};

/*
 * Thread-local state. Defined in session.c and naming.c and read by the hot paths of the other
 * files (the signal handler, the allocation hook), so they are declared with the local-exec
 * model, as a variable defined in the same file would be: one %fs-relative load, no GOT. (mrun,
 * the tests and the fuzz targets are executables; a shared library would need initial-exec.)
 */
#define PROF_TLS __thread __attribute__((tls_model("local-exec")))
/* The profiled thread of the calling thread, or NULL. Read by the allocation hook. */
extern PROF_TLS struct prof_thread *prof__tls;

/* What t's VM is moving now (prof_allocf marks the block; mruby's stack_extend and cipush
 * then realloc it, fix their pointers and only then store the new base): PROF_MOVING_STACK, the
 * current context's VM stack (the registers the handler would read are in freed memory: a
 * crash seen under load, check_leaf reading a receiver realloc had freed); PROF_MOVING_CI, its
 * call-info array (every frame is in freed memory, or c->ci is not in the new block yet); 0,
 * neither. The handler drops a sample
 * taken while either moves (counted as dropped; a stack move is short, and its frames could be
 * walked without the leaf check, but dropping is the simpler rule). Pure reads:
 * async-signal-safe. */
enum { PROF_MOVING_STACK = 1, PROF_MOVING_CI = 2 };
static inline int
prof__moving(const struct prof_thread *t, const mrb_state *mrb)
{
    uintptr_t m = t->moving;
    const struct mrb_context *c = mrb->c;
    if (!m || !c)
        return 0;
    if (m == (uintptr_t)c->cibase)
        return PROF_MOVING_CI;
    if (m == (uintptr_t)c->stbase)
        return PROF_MOVING_STACK;
    if (t->moved_lo == (uintptr_t)c->cibase &&
        ((uintptr_t)c->ci < t->moved_lo || (uintptr_t)c->ci >= t->moved_hi))
        return PROF_MOVING_CI;
    return 0;
}
/* Where this thread's blocked mark is (prof_block_mark), or NULL; read by the handler. */
extern PROF_TLS const volatile sig_atomic_t *prof__block_mark;
/* The wait names (prof_set_block_names): set once, before sessions start. */
extern const char *const *prof__block_names;
extern unsigned prof__nblock_names;
/* True while this thread names frames (under the session lock): naming allocates, and the
 * allocation hook must not try to name (and lock) again. */
extern PROF_TLS bool prof__naming;

/* --- clocks --------------------------------------------------------------------------------- */

static inline uint64_t
clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
next_rand(uint64_t *s)
{
    /* xorshift64*: async-signal-safe, per thread. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* --- signal.c: the handler, and the pure reads it makes ------------------------------------- */

/* The SIGPROF handler (installed by prof_start). */
void prof__on_signal(int sig, siginfo_t *si, void *uc);
/* Arms t's timer for its next deadline after now (prof_attach; the handler re-arms itself). */
void prof__arm_next(struct prof_thread *t, uint64_t now);
/* The number of frames of mrb's call-info stacks, capped at PROF_MAX_DEPTH (see signal.c). */
uint32_t prof__stack_depth(mrb_state *mrb, bool *truncated);
/* Copies up to depth frames of t's VM stacks as raw words into dst (see signal.c). */
uint32_t prof__walk_stack(const struct prof_thread *t, bool skip_base, uint32_t depth,
                          uint64_t *dst, uint64_t pos, uint64_t mask, int32_t *top_line);
/* The file symbol and first line of an irep (see signal.c). */
void prof__irep_origin(const struct mrb_irep *irep, uint32_t *file_sym, int32_t *line);

/* --- naming.c: raw frames -> model frames, names ------------------------------------------- */

/* Interns the symbols the handler's leaf check compares with (t->known), on t's VM thread. */
void prof__intern_known(struct prof_thread *t);
/* The stack-trie node of a raw stack of n frames at words[pos & mask] (leaf first), with the
 * record's flags. Caller holds the session lock. */
uint32_t prof__stack_node(struct prof_session *s, struct prof_thread *t, const uint64_t *words,
                          uint64_t pos, uint64_t mask, uint32_t n, uint32_t flags);
/* Drains one thread's ring into the profile. Caller holds the session lock. */
void prof__drain_thread(struct prof_session *s, struct prof_thread *t);
/* Names every unnamed frame of mrb. Runs on mrb's own thread; caller holds the session lock. */
void prof__name_frames(struct prof_session *s, mrb_state *mrb);
/* t has frames to name (set by a drain) / has named them. */
void prof__want_names(struct prof_thread *t);
void prof__names_done(struct prof_thread *t);

/* Names the frames a drain found, from mrb_obj_alloc and mrb_method_search_vm (memhook.c) on
 * the thread's own VM: an allocation is a point where the VM may run Ruby-visible work (it may
 * even collect), and so is a method lookup (the VM may allocate right after it: method_missing,
 * keyword hashes). prof__names_pending counts the threads with frames to name. */
void prof__name_at_alloc(struct prof_thread *t);
/* Whether this thread is naming frames now, holding its session's lock: the mrb_obj_alloc wrap
 * must not raise (take a pending Ctrl-C) then, or the longjmp would leave the lock held and the
 * profile's stop would wait for it forever. */
bool prof__naming_now(void);
extern _Atomic int prof__names_pending;

/* --- alloc.c, counters.c: memory ------------------------------------------------------------ */

/* Marks the frees t met while it held the session lock. Caller holds the lock. */
void prof__flush_pending(struct prof_session *s, struct prof_thread *t);
/* GC and process counters (RSS, live objects, heap pages, GC cycles, bytes allocated and in
 * use), recorded at most every 20 ms while memory is profiled; from the allocation hook and
 * the safe point, on the thread's own VM. */
void prof__counters_tick(struct prof_thread *t);

#endif
