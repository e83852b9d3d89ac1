/*
 * profiling.h — the runtime's side of the profiler: the Profiler module for scripts and the
 * --cpu-prof flags of mrun.
 */
#ifndef MRPROF_RT_PROFILING_H
#define MRPROF_RT_PROFILING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiler/sampler/sampler.h"
#include "runtime/rt.h"

/* The names of the loop-health counters a profile gets (one reading per second). */
#define RT_PROF_LOOP_COUNTERS 5
extern const char *const rt_prof_loop_counters[RT_PROF_LOOP_COUNTERS];

struct rt_prof_opts {
    bool cpu_prof;         /* --cpu-prof: profile the whole run, write at exit */
    unsigned hz;           /* --prof-hz (default 1000) */
    enum prof_mode mode;   /* --prof-mode (default cpu) */
    const char *out;       /* --prof-out: file or directory (default: Node-style name in cwd) */
    const char *format;    /* --prof-format (default: from out's extension, else cpuprofile) */
    bool idle;             /* --prof-idle: keep (idle) in folded stacks, speedscope and pprof */
    bool live;             /* --prof-live: serve the growing profile to viewers */
    const char *live_addr; /* its address (NULL: a private Unix socket) */
    bool live_wait;        /* --prof-live-wait: wait for a viewer before running the script */
    bool heap_prof;        /* --heap-prof: sample allocations, write a .heapprofile at exit */
    bool heap_all;         /* --heap-prof-all: every allocation, not only the live blocks */
    unsigned long long heap_interval; /* --heap-prof-interval (0: the default) */
    const char *heap_out;             /* --heap-prof-out: file or directory */
    unsigned long long stall_ms;      /* --prof-stall MS: the stall recorder (0: off) */
    const char *stall_dir;            /* its directory (--prof-out; NULL: ./stalls.<pid>/) */
};

/*
 * In a cluster worker (MRUN_CLUSTER_WORKER=id, runtime/cluster.c; the worker inherits the
 * primary's argv, hence its profiling flags): its files must not land on the primary's. A file
 * path (--prof-out, --heap-prof-out) gets ".worker-<id>.<pid>" before its extension
 * (out.cpuprofile → out.worker-1.12345.cpuprofile; a directory or the default name already
 * has the pid in the file name); the stall directory gets it appended; --prof-live serves at
 * unix:PATH.worker-<id>.<pid>, at tcp:HOST:0 (the port printed on stderr) or at its own
 * private socket, and never waits for a viewer. The profiles name the process "cluster worker
 * <id>" (struct profile_meta's process_name).
 */
void rt_prof_cluster_worker(struct rt_prof_opts *o, long id);
/* A cluster primary started worker id as pid: its profile is merged at exit (Trace Event). */
void rt_prof_cluster_spawned(long id, long pid);

/* Starts whole-run profiling for --cpu-prof, --heap-prof and --prof-live. Returns 0, or prints why
 * and returns -1. */
int rt_prof_begin(struct rt *rt, const struct rt_prof_opts *o);
/* The loop ran dry: a Ctrl-C or SIGTERM caught by the profiler's handler and not yet taken
 * (it came as the last handle closed: a cluster primary re-raises its workers' signal as its
 * last act) is taken now, as the loop would have (status 128 + the signal, one line). */
void rt_prof_loop_ended(struct rt *rt);
/* Stops whole-run profiling, hands the final profile and exit_status to live viewers, and
 * writes the file (--cpu-prof). Returns 0, or prints why and returns -1. */
int rt_prof_finish(struct rt *rt, const struct rt_prof_opts *o, int exit_status);

/*
 * The inspector's Profiler and HeapProfiler domains (runtime/inspector.c), on the main VM's
 * thread. The same sampler and writers as --cpu-prof and --heap-prof: a CPU profile is the
 * .cpuprofile JSON of the main thread (a DevTools Profile), a heap profile the .heapprofile JSON
 * of the live sampled blocks (a SamplingHeapProfile). Errors fill err (a sentence) and return -1
 * or NULL; returned strings are malloc'd, the caller frees them.
 */
/* CPU profiles are shared by the CDP sessions (the main target's, each NodeWorker session's):
 * user is the session's key. The first start starts the sampler (at hz; *started then true),
 * later ones join it; stop returns the Profile of thread tid (0: the main VM's; else a Deferred
 * or Worker thread's OS id) since that user's own start, and the last stop stops the sampler. */
int rt_prof_cdp_start(struct rt *rt, uint64_t user, unsigned hz, bool *started, char *err,
                      size_t errlen);
char *rt_prof_cdp_stop(struct rt *rt, uint64_t user, int64_t tid, size_t *len, char *err,
                       size_t errlen);
int rt_prof_cdp_heap_start(struct rt *rt, uint64_t interval, char *err, size_t errlen);
/* stop: stopSampling (else getSamplingProfile: the profile so far, sampling goes on). */
char *rt_prof_cdp_heap_profile(struct rt *rt, bool stop, size_t *len, char *err, size_t errlen);
bool rt_prof_cdp_running(bool heap); /* CPU: some CDP session profiles */

/* Attach on demand (runtime/attach.c): the signal `mrprof top/record --pid` sends, and
 * --no-attach (set before rt_new; MRUN_NO_ATTACH=1 does the same). */
#define RT_ATTACH_SIGNAL SIGUSR2
extern bool rt_no_attach;

#endif
