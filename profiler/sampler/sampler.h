/*
 * sampler.h — the sampling side of the profiler (knows mruby, fills the profile model).
 *
 * One profiled thread per VM (the main runtime, each Deferred worker). A
 * per-thread CLOCK_MONOTONIC timer sends that thread a signal; the handler copies the mruby
 * call-info stack as raw words into the thread's ring buffer and returns. A drain step (on the
 * collector thread, and on the VM's own thread at safe points) turns ring records into frames,
 * stack-trie nodes and samples; names that need the VM (symbols, class names) are filled in on
 * the VM's thread at safe points and when profiling stops.
 *
 * This header is the sampler's public API (the runtime's profiling module, the live agent). Its
 * structs and the calls between its files are in profiler/sampler/internal.h; how the parts
 * fit is told there.
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

#include "profiler/base/err.h"

struct profile;
struct profile_heap_meta;
struct prof_session;

enum prof_mode { PROF_MODE_CPU = 0, PROF_MODE_WALL = 1 };

/* Set from a signal handler when the process should stop (Ctrl-C); the allocation hook of a
 * profiled thread then calls prof_interrupt_hook, which may raise (memhook.c). */
extern volatile sig_atomic_t prof_interrupt_pending;
extern void (*prof_interrupt_hook)(mrb_state *mrb);
/* Non-zero while some VM of the process has an interrupt pending that is not Ctrl-C's (a Worker
 * being terminated: runtime/worker.c). Every allocation and method lookup of every VM then calls
 * prof_vm_interrupt_hook(mrb), which raises when the interrupt is mrb's; a hot loop in Ruby
 * calls methods or allocates, so it is stoppable. One relaxed load otherwise. */
extern atomic_int prof_vm_interrupts;
extern void (*prof_vm_interrupt_hook)(mrb_state *mrb);

/*
 * The session API. One session at a time per process.
 *
 * prof_start() begins a session (rate hz, 1..10000; 0: no CPU sampling, for memory alone) and its
 * collector thread; nothing is sampled until a thread attaches. prof_attach() must be called on the
 * VM's own thread: it arms a timer that signals only that thread. prof_safe_point() drains this
 * thread's samples and names new frames; call it where the VM is between instructions (the runtime
 * calls it once per loop iteration). prof_detach() (on the same thread) stops sampling it and names
 * its frames. prof_stop() ends the session and returns the profile, which the caller then owns;
 * every thread must have detached, except the caller's own, which prof_stop detaches.
 * prof_start() returns NULL with e filled on failure (-EBUSY: a session is running; -EINVAL: hz
 * out of range; -ENOMEM; the -errno of sigaction).
 */
struct prof_session *prof_start(enum prof_mode mode, unsigned hz, struct mp_err *e);
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
/* Adds n counter readings at t_ns (CLOCK_MONOTONIC) to the session mrb's thread is profiled
 * in (the loop-health counters); a no-op when it is not profiled. */
void prof_counters(mrb_state *mrb, const char *const *names, const double *values, size_t n,
                   uint64_t t_ns);
/* Around the event loop's wait for events, on the VM's thread: in CPU mode, the CPU time
 * the thread spends in the wait (the kernel's poll, waking up) is measured and charged to
 * "(idle)". A thread-local load when the thread is not profiled. */
void prof_wait_begin(mrb_state *mrb);
void prof_wait_end(mrb_state *mrb);
/*
 * Wait states (wall mode). A thread held by a synchronous call (sleep, a file read, a child
 * process) says so with its blocked mark: a sig_atomic_t of its own (thread-local in the
 * runtime) that holds 0, or k while the call waits, names[k] naming the wait. A sample taken
 * then gets the pseudo frame "(blocked: names[k])" as its leaf, under the stack that made the
 * call; the mark wins over the loop's polling state (Deferred#value's wait polls the loop).
 * CPU mode ignores the mark. prof_set_block_names() sets the names for the process (static
 * strings, n of them, names[0] unused; at most PROF_MAX_BLOCK) before a session starts;
 * prof_block_mark() tells the profiler where the calling thread's mark is (call it on that
 * thread, before or while it is profiled; kept for the thread's life).
 */
#define PROF_MAX_BLOCK 64
void prof_set_block_names(const char *const *names, unsigned n);
void prof_block_mark(const volatile sig_atomic_t *mark);
/* CLOCK_MONOTONIC now, in ns: the clock spans are measured with. */
uint64_t prof_now_ns(void);

/*
 * Memory. prof_set_heap_interval() turns allocation sampling on for every thread of s (a mean
 * of interval bytes between samples, drawn from an exponential distribution) or off (0).
 * prof_heap_note() is the allocator's hook: call it after each allocation, reallocation or
 * free made by mrb's allocator, with the block passed in (old, 0 for a new one), the block
 * returned (new, NULL for a free or a failed realloc) and the size asked for. It is a
 * thread-local load when this thread is not profiled. prof_allocf is a VM allocator
 * (mrb_allocf): realloc/free plus the hook; the profiling module gives it to the runtime as
 * rt_hooks.allocf.
 */
#define PROF_HEAP_DEFAULT_INTERVAL (512u * 1024u) /* Node's --heap-prof and Go's default */
void prof_set_heap_interval(struct prof_session *s, uint64_t interval);
uint64_t prof_heap_interval(const struct prof_session *s);
unsigned prof_session_hz(const struct prof_session *s); /* 0: memory only */
void prof_heap_note(mrb_state *mrb, uintptr_t old, void *new, size_t size);
void *prof_allocf(mrb_state *mrb, void *p, size_t size, void *ud);
/* Whole-session memory totals so far, into *m (threads still attached included). */
void prof_heap_totals(struct prof_session *s, struct profile_heap_meta *m);

/* Seconds since the session started (for Profiler.stop_profiling). */
double prof_elapsed(const struct prof_session *s);

/* For the live agent (profiler/sampler/live.c), on any thread: calls fn with the running
 * session's profile while it is drained into, under the session lock, and with the session's
 * generation (a number that changes when a new session starts). Returns false when none runs. */
bool prof_read_profile(void (*fn)(const struct profile *p, uint64_t generation, void *arg),
                       void *arg);

#endif
