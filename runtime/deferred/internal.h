/*
 * internal.h — what the files of Deferred share: the pool, its workers, tasks and registrations,
 * and the calls between the files. Only the files of runtime/deferred/ include it.
 *
 * Deferred, the C half: a block's bytecode run on a pool of worker threads.
 *
 * Each worker thread owns an mrb_state for its whole life (opening one costs ~0.4 ms, more than
 * a task). A task travels as bytes: the block's irep as mrb_dump_irep writes it (with debug info,
 * so the worker's backtraces name the script's file and lines) and its arguments encoded by
 * copy.c. The worker loads the irep as a proc whose self is its own top-level object, calls it,
 * and encodes the result, or the exception as {class, message, backtrace}. Finished tasks go
 * back on a list the main loop drains when a uv_async_t wakes it, so every Ruby callback runs
 * on the main thread. The async handle is referenced while tasks are pending: the process does
 * not end before they settle.
 *
 * Before a block is shipped it is checked: it must not read or write the outer method's local
 * variables (GETUPVAR/SETUPVAR reaching above the block), self's instance or class variables,
 * nor use yield, super, return or break, which all mean something only where it was written.
 *
 * Code that workers need is registered with Deferred.load(file) or Deferred.setup { }; every
 * worker runs each registration once, in order, before its next task, so workers started later
 * catch up. The promise API (then, rescue, value, all...) is Ruby: runtime/prelude/deferred.rb.
 *
 * Locking: one mutex guards the queue, the finished list, the registrations and the workers'
 * busy flags. Each mrb_state is touched only by its own thread.
 *
 * The profiler sees the workers through the runtime's hooks (struct rt_hooks, copied into the
 * pool when the workers start): their VMs' allocator, a task's begin and end, a VM's close.
 *
 * The files:
 *   checker.c   the bytecode checker: may this block run in another VM? and its dump
 *   worker.c    a worker thread: its VM, its allocator, running registrations and tasks
 *   pool.c      the main thread's side of the pool: starting the workers, taking finished
 *               tasks back (the async callback), registrations, stopping and freeing
 *   bindings.c  the Ruby class Deferred, and the module's entry points
 */
#ifndef MRPROF_DEFERRED_INTERNAL_H
#define MRPROF_DEFERRED_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <mruby.h>
#include <uv.h>

#include "runtime/copy.h"
#include "runtime/rt.h"

#define MAX_WORKERS 256
#define MAX_WAIT_DEPTH 64 /* Deferred#value inside a callback run by another #value ... */

enum task_kind {
    TASK_CALL, /* Deferred.new: the block called with the argument Array's elements */
    TASK_MAP,  /* a chunk of Deferred.map: the block called on each item of the Array */
};

struct task {
    struct task *next;
    mrb_int id;
    mrb_int group; /* what Deferred#cancel removes together: the task's id, or its map's */
    enum task_kind kind;
    mrb_int nitems;       /* TASK_MAP: the items in the chunk */
    struct copy_buf code; /* the block's irep */
    struct copy_buf args; /* the argument Array (TASK_MAP: the items), encoded */
    bool ok;
    mrb_int fail_index;     /* TASK_MAP, failed: the item (in the chunk) that raised, or -1 */
    uint64_t run_ns;        /* the worker's time in the block (TASK_MAP: over every item) */
    uint64_t submit_ns;     /* CLOCK_MONOTONIC when queued (main thread) */
    bool worker_was_idle;   /* a worker was waiting when it was queued: a clean round trip */
    struct copy_buf result; /* the value (TASK_MAP: the Array of results), or the error Hash */
};

enum setup_kind { SETUP_SOURCE, SETUP_IREP };

struct setup {
    struct setup *next;
    enum setup_kind kind;
    char *name; /* a file name, or "Deferred.setup at FILE:LINE" */
    struct copy_buf bytes;
};

struct worker {
    struct deferred_pool *pool;
    size_t heap_used;     /* bytes this worker's VM holds (its own thread only) */
    size_t heap_after_gc; /* heap_used after the last full GC (or the VM's opening) */
    size_t heap_limit;    /* 0: none */
    bool in_reserve;      /* mruby raised NoMemoryError: allocating from the reserve */
    pthread_t thread;
    bool started;
    bool busy;                  /* under the pool mutex: running a task */
    volatile sig_atomic_t idle; /* waiting for work (read by the profiler's handler) */
    /* Under the pool mutex, for Deferred.stats: time in tasks, tasks and items run. */
    uint64_t busy_ns, ntasks, nitems;
    char name[32];
};

struct deferred_pool {
    struct rt *rt;
    /* The runtime's hooks (the profiler's), copied before the workers start: they read them,
     * and an abandoned pool outlives the runtime. */
    struct rt_hooks hooks;
    pthread_mutex_t mu;
    pthread_cond_t work;
    struct task *queue, **queue_tail; /* waiting for a worker */
    struct task *done, **done_tail;   /* finished, for the main loop */
    struct setup *setups, **setups_tail;
    size_t nsetups;
    size_t nqueued; /* tasks in the queue */
    int nidle;      /* workers waiting for a task */
    bool stopping;
    bool abandoned;    /* exit() while workers were busy: the pool outlives the runtime */
    int nworkers;      /* 0 until the first task starts the pool */
    int size;          /* wanted: Deferred.pool_size, mrun --workers, or the number of cores */
    size_t heap_limit; /* Deferred.heap_limit: bytes per worker VM, 0 for none */
    struct worker *workers;

    /* Main thread only. */
    uv_async_t async;
    mrb_int next_id;
    size_t pending;          /* submitted and not settled yet */
    size_t payload_since_gc; /* argument and result bytes copied since the last full GC */
    mrb_value tasks;         /* Hash id => Deferred (or a map's runner), rooted */
    int wait_depth;
    uint64_t nsubmitted, ndone, ncancelled; /* tasks, for Deferred.stats */
    /* The cost of a round trip through the pool beyond the block's own time (copies, queue,
     * wake-up of the worker and of the loop): a moving average over tasks queued while a
     * worker was idle, seeded with DEFAULT_ROUND_TRIP_NS. Deferred.map's scheduler reads it. */
    uint64_t round_trip_ns;
    uint64_t nround_trips; /* samples in round_trip_ns */
};

/* The estimate before tasks have measured one. On the 2-core test machine under a load of ~8,
 * Deferred.new(1) { |x| x }.value took 43-52 us end to end from Ruby, of which the pool's
 * part (what note_round_trip measures) settled at ~28 us; a run squeezed by other processes
 * measured 250 us. */
#define DEFAULT_ROUND_TRIP_NS 60000u

/* --- checker.c ------------------------------------------------------------------------------ */

/* Raises ArgumentError unless the block blk can run in another VM. `what` names the call. */
void deferred__check_block(mrb_state *mrb, mrb_value blk, const char *what);
/* mrb_dump_irep of blk's irep into a malloc'd buffer *out; raises. */
void deferred__dump_block(mrb_state *mrb, mrb_value blk, struct copy_buf *out);
/* Where a block was written: "file:line", or "(unknown)". */
void deferred__block_site(mrb_state *mrb, const struct mrb_irep *irep, char *buf, size_t len);

/* CLOCK_MONOTONIC now, in ns. */
uint64_t deferred__now_ns(void);

/* --- worker.c ------------------------------------------------------------------------------- */

/* A worker thread's body (arg: its struct worker). */
void *deferred__worker_main(void *arg);
void deferred__task_free(struct task *t);

/* --- pool.c --------------------------------------------------------------------------------- */

/* A new pool for rt, its async handle initialised (unreferenced). Aborts when out of memory. */
struct deferred_pool *deferred__pool_new(struct rt *rt);
/* The pool's size: Deferred.pool_size=, else mrun --workers, else the number of cores. */
int deferred__pool_wanted_size(const struct deferred_pool *pl);
/* Starts the worker threads on first use; raises when not even one starts. */
void deferred__pool_start(mrb_state *mrb, struct deferred_pool *pl);
/* Queues a registration (takes bytes) for every worker to run before its next task. */
void deferred__add_setup(struct deferred_pool *pl, enum setup_kind kind, const char *name,
                         struct copy_buf bytes);
/* At exit (the module's stop): stops the workers, waiting for the idle ones, and frees the
 * tasks; the async handle is closed afterwards with the loop's other handles. */
void deferred__pool_stop(struct rt *rt);
/* Then (the module's free): frees the pool, unless busy workers still use it. */
void deferred__pool_release(struct rt *rt);
/* Queues a task (takes code, encodes args; raises on an uncopyable argument) whose outcome
 * goes to receiver: __settle_remote(ok, value) for TASK_CALL, __settle_chunk(id, ok, value,
 * fail_index, run_ns) for TASK_MAP. group 0 means the task's own id. Returns the task's id. */
mrb_int deferred__submit(mrb_state *mrb, struct deferred_pool *pl, mrb_value receiver,
                         enum task_kind kind, struct copy_buf code, mrb_value args, mrb_int group);
/* Removes the queued tasks of group (not the running ones); returns how many. */
mrb_int deferred__cancel_group(struct deferred_pool *pl, mrb_int group);

#endif
