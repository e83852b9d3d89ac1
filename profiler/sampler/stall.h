/*
 * stall.h — the stall recorder (mrun --prof-stall MS): a low-rate wall-clock ring of recent
 * samples kept at all times, and a watchdog thread that, when the loop has been held by one
 * callback for more than MS, raises the sampling rate for the rest of that callback; when the
 * callback ends, one .cpuprofile per stall is written to a directory, with an index
 * (docs/formats.md, "Stall directories") and a one-line log on stderr.
 *
 * The runtime's profiling module drives it (runtime/profiling.c): the loop's thread tells it
 * where the loop stands through three atomics of the runtime's loop health (struct rt_health,
 * runtime/rt.h), passed as pointers, so that the sampler includes nothing of the runtime.
 */
#ifndef MRPROF_SAMPLER_STALL_H
#define MRPROF_SAMPLER_STALL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <mruby.h>

#include "profiler/base/err.h"

#define PROF_STALL_RING_HZ 50     /* the ring's rate, always on */
#define PROF_STALL_HZ 1000        /* the rate for the rest of a stalled callback */
#define PROF_STALL_RING_MS 2000   /* how much of the past the ring keeps */
#define PROF_STALL_BEFORE_MS 1000 /* how much of it a stall's profile shows before the stall */

struct prof_stall_opts {
    uint64_t threshold_ms;    /* a callback that holds the loop longer is a stall */
    const char *dir;          /* where the profiles go (NULL: ./stalls.<pid>/) */
    bool quiet;               /* no log line on stderr */
    const char *process_name; /* the profiles' profile_meta.process_name (NULL: none) */
    /* The loop's state (struct rt_health): since when the running callback holds the loop (0:
     * none), a number changed at each transition, and the flag the watchdog raises. */
    _Atomic uint64_t *held_since_ns;
    _Atomic uint64_t *held_seq;
    _Atomic int *stall_flag;
};

/* Starts the wall-clock session at the ring rate on mrb's thread (the loop's) and the
 * watchdog. Returns 0, or -1 with e filled. */
int prof_stall_start(mrb_state *mrb, const struct prof_stall_opts *o, struct mp_err *e);
/* On the loop's thread, when the watchdog's flag is up and the loop passes a transition: seq is
 * the transition number that ends at now_ns; seq_start_ns when it began. */
void prof_stall_mark(mrb_state *mrb, uint64_t seq, uint64_t now_ns, uint64_t seq_start_ns);
/* On the loop's thread, when a transition ends a period held since since_ns for longer than the
 * threshold and the flag is down: the watchdog did not see it in time (starved by the machine's
 * load). Decided as prof_stall_mark decides (less the run-queue wait), from the ring's samples. */
void prof_stall_check(mrb_state *mrb, uint64_t seq, uint64_t since_ns, uint64_t now_ns);
/* On the loop's thread once per iteration: writes a stall that ended, trims the ring. */
void prof_stall_safe_point(mrb_state *mrb);
/* At exit, on the loop's thread: a stall still running ends now and is written; the watchdog
 * stops; the session ends. Prints a summary when nothing stalled. Returns the stalls written. */
int prof_stall_finish(mrb_state *mrb);
bool prof_stall_running(void);

#endif
