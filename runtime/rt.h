/*
 * rt.h — the mrun runtime core: one mruby VM driven by one libuv loop.
 *
 * A `struct rt` owns an mrb_state and a uv_loop_t. Scripts schedule work (timers, immediates,
 * sockets, Deferred results) and the process ends when the loop has nothing left, as in Node.
 * Every call from C into Ruby goes through rt_call(), which saves the GC arena, catches the
 * exception, and turns an uncaught one into a report on stderr and exit status 1.
 *
 * Ownership: rt_new() returns a runtime the caller frees with rt_free(). Ruby values that C code
 * keeps (callbacks, objects behind libuv handles) are rooted with rt_root() and released with
 * rt_unroot(); a rooted object is never collected.
 */
#ifndef MRPROF_RT_H
#define MRPROF_RT_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <mruby.h>
#include <uv.h>

/* Process exit codes of mrun (documented in `mrun --help` and docs/cli.md). */
enum rt_exit {
    RT_EXIT_OK = 0,
    RT_EXIT_SCRIPT_ERROR = 1, /* uncaught exception or syntax error in the script */
    RT_EXIT_USAGE = 2,        /* bad command line, missing or unreadable script file */
};

/* What the loop is doing; read by the profiler's signal handler, hence sig_atomic_t. */
enum rt_loop_state {
    RT_LOOP_RUNNING = 0, /* running Ruby or runtime C code */
    RT_LOOP_POLLING = 1, /* waiting in the poll phase for I/O or timers */
};

/*
 * Wait states: what synchronous call holds the calling thread now, for the profiler's wall mode
 * ("(blocked: NAME)" under the stack that made the call, instead of the time passing for the
 * call's own C method). Each thread has its own mark (thread-local), set by the blocking code
 * right around the wait (RT_BLOCK_BEGIN saves the old mark, RT_BLOCK_END restores it: one store
 * each) and read by the profiler's signal handler on the same thread, hence sig_atomic_t.
 * rt_call clears the mark for the Ruby it runs (a callback run inside Deferred#value's wait is
 * running, not blocked) and restores it after. X(ENUM, NAME): NAME is what the profile shows.
 */
#define RT_BLOCK_REASONS(X)                                                                        \
    X(SLEEP, "sleep")             /* Kernel#sleep */                                               \
    X(FILE, "file system")        /* FS.*_sync: libuv's fs calls on the calling thread */          \
    X(CHILD, "child process")     /* Kernel#system and backticks: the child's output, exit */      \
    X(DEFERRED, "Deferred#value") /* Deferred#value's wait (the loop runs nested meanwhile) */

enum rt_block {
    RT_BLOCK_NONE = 0,
#define RT_BLOCK_ENUM(e, name) RT_BLOCK_##e,
    RT_BLOCK_REASONS(RT_BLOCK_ENUM)
#undef RT_BLOCK_ENUM
        RT_BLOCK_COUNT /* one past the last reason */
};

/* The calling thread's mark (enum rt_block). */
extern __thread volatile sig_atomic_t rt_blocked;
/* rt_block_names[k] is the NAME of reason k (rt_block_names[0] is ""). */
extern const char *const rt_block_names[RT_BLOCK_COUNT];

/* Around a wait that holds the thread: RT_BLOCK_BEGIN(saved, RT_BLOCK_SLEEP); wait;
 * RT_BLOCK_END(saved); with nothing in between that may raise (the mark would stay set). */
#define RT_BLOCK_BEGIN(saved, reason) ((saved) = rt_blocked, rt_blocked = (reason))
#define RT_BLOCK_END(saved) (rt_blocked = (saved))

struct rt;

/*
 * Loop health (runtime/loophealth.c): measured always, from timestamps the loop takes anyway
 * (the prepare handle, where the loop goes to wait, and rt_call, through which every callback
 * enters Ruby); no hook runs per Ruby method call. One window is one second of the loop's time
 * (closed at the first loop iteration after the second has passed, so a window may be longer
 * when the loop was waiting or held).
 *
 * Lag: the busy time of one loop iteration, from the moment the loop stopped waiting for events
 * (or, in an iteration that did not wait, from the previous poll entry) to the next poll entry.
 * An event that arrives just after the loop stopped waiting is seen only when it polls again:
 * the lag is the longest delay such an event can suffer. (Node's monitorEventLoopDelay samples
 * a timer's lateness instead, which needs a timer that wakes the loop; the two agree on a
 * stall: a 300 ms callback is a 300 ms lag in both.)
 */
#define RT_LAG_BUCKETS 720
struct rt_loop_window {
    uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC */
    uint64_t iterations;       /* loop iterations that ended in the window (lag samples) */
    uint64_t callbacks;        /* rt_call entries: callbacks run */
    uint64_t lag_p50_ns, lag_p99_ns, lag_max_ns;
    uint64_t longest_callback_ns; /* the longest outermost callback that ended in the window */
};
struct rt_health {
    uint64_t busy_start_ns; /* when the loop last stopped waiting (or last polled) */
    uint64_t call_start_ns; /* the outermost callback's start */
    int depth;              /* rt_call nesting */
    struct rt_loop_window cur, last;
    bool have_last;
    uint32_t hist[RT_LAG_BUCKETS]; /* the current window's lags, log-linear buckets */
    uint64_t total_callbacks, total_iterations, peak_lag_ns, peak_callback_ns;
    /* For the stall watchdog (another thread): since when the loop is held by the callback
     * running now (0: no callback runs, or a nested loop waits), and a number that changes at
     * every such transition. stall_flag is set by the watchdog; the loop's thread then calls
     * hooks.stall_mark at its next transition. mark_ns: when the current transition number
     * began (the loop's thread only). */
    uint64_t mark_ns;
    /* The stall threshold (0: no stall recorder), the loop's thread only: a transition that
     * ends a period held longer calls hooks.stall_check when the watchdog did not flag it (a
     * watchdog starved by the machine's load sees nothing in time). */
    uint64_t stall_check_ns;
    _Atomic uint64_t held_since_ns;
    _Atomic uint64_t held_seq;
    _Atomic int stall_flag;
};

/*
 * Hooks for whoever observes the runtime (the profiler, installed by the profiling module:
 * runtime/profiling.c); all optional. The runtime core and the other modules reach the
 * profiler only through these: they include nothing of profiler/. Set by a module's init, then
 * read-only (worker threads read them too).
 */
struct rt_hooks {
    void *data;
    void (*safe_point)(struct rt *rt, void *data); /* once per loop iteration */
    /* Around the loop's wait for events (the poll), on the loop's thread. */
    void (*wait_begin)(struct rt *rt, void *data);
    void (*wait_end)(struct rt *rt, void *data);
    /* The allocator of the runtime's VMs (NULL: malloc). The main VM switches to it once the
     * modules are initialised (before any Ruby runs; it must free what malloc allocated), and
     * a Deferred worker's allocator passes what it allows on to it. */
    mrb_allocf allocf;
    /* A VM on another thread (a Deferred worker), called on that thread: before each task
     * (name: the thread's name; *idle is non-zero while the thread waits for work), after
     * it (label: the task's, start_ns and end_ns on CLOCK_MONOTONIC), and before the VM is
     * closed. */
    void (*vm_task_begin)(mrb_state *mrb, const char *name, const volatile sig_atomic_t *idle);
    void (*vm_task_end)(mrb_state *mrb, const char *label, uint64_t start_ns, uint64_t end_ns);
    void (*vm_close)(mrb_state *mrb);
    /* A loop-health window closed (on the loop's thread; see struct rt_health). */
    void (*loop_window)(struct rt *rt, void *data, const struct rt_loop_window *w);
    /* The stall watchdog flagged the loop (health.stall_flag): called on the loop's thread at
     * the next transition (a callback begins or ends, a wait begins), with the transition number
     * that ends now (health.held_seq before it changes), the time, and when that number began. */
    void (*stall_mark)(struct rt *rt, void *data, uint64_t seq, uint64_t now_ns,
                       uint64_t seq_start_ns);
    /* A transition ends a period the loop was held longer than health.stall_check_ns, and the
     * watchdog had not flagged it: the transition number that ends, since when it held, now. */
    void (*stall_check)(struct rt *rt, void *data, uint64_t seq, uint64_t since_ns,
                        uint64_t now_ns);
};

struct rt {
    mrb_state *mrb;
    uv_loop_t loop;
    volatile sig_atomic_t loop_state; /* enum rt_loop_state */
    volatile sig_atomic_t main_done;  /* the main script has returned; callbacks run now */
    int exit_code;
    bool exiting;      /* exit() was called or an exception went uncaught: stop the loop */
    bool loop_running; /* inside rt_run_loop(); handles may be started */
    struct rt_hooks hooks;
    int argc; /* the script's arguments (ARGV), as rt_new got them */
    char **argv;
    struct deferred_pool *deferred; /* runtime/deferred/ */
    int deferred_workers;           /* mrun --workers N (0: the number of cores) */
    /* Non-NULL in the runtime of a Worker's thread (runtime/worker.c): then the main_only
     * modules are left out, and an uncaught exception goes to on_uncaught instead of stderr. */
    void *worker;
    void (*on_uncaught)(struct rt *rt, mrb_value exc);

    /* private */
    mrb_value roots;      /* Hash object_id => object: what C code keeps alive */
    mrb_value immediates; /* Array of pending set_immediate entries */
    uv_prepare_t prepare; /* the safe point, then waits for events (the only "polling") */
    uv_check_t check;     /* runs immediates */
    uv_idle_t idle;       /* keeps poll from blocking while immediates are pending */
    mrb_sym sym_fire;
    struct rt_health health; /* runtime/loophealth.c */
};

/* The console hook: while mrun --inspect has a client (runtime/inspector.c), what the main VM's
 * puts/print/p write (type "log") and warn writes ("warning") is also handed to it, on the main
 * VM's thread. NULL otherwise (one load per write). */
extern void (*rt_console_hook)(struct rt *rt, const char *type, const char *s, size_t len);

/* Creates a runtime with its VM, its loop and the prelude loaded. argv becomes ARGV.
 * Returns NULL (and prints why) when the VM cannot be opened. */
struct rt *rt_new(int argc, char **argv);
/* The runtime of a Worker's thread (runtime/worker.c), made on that thread: as rt_new with no
 * ARGV, rt->worker = worker, the observer's hooks given (the main runtime's, installed by the
 * profiling module, which is main_only), and the main_only modules left out. */
struct rt *rt_new_worker(void *worker, const struct rt_hooks *hooks);
/* Closes every handle, runs the loop until they are closed, closes the VM, frees rt. */
void rt_free(struct rt *rt);
/* The runtime that owns mrb. */
struct rt *rt_from_mrb(mrb_state *mrb);

/* Compiles and runs a file or a string as the main script (once per runtime). Syntax errors print
 * `file:line: message` and exceptions print a report; both set rt->exit_code to 1. Returns
 * rt->exit_code. */
int rt_run_main_file(struct rt *rt, const char *path);
int rt_run_main_string(struct rt *rt, const char *code, const char *filename);
/* Writes the parser's first error as `file:line:col: message` (how mrun reports syntax errors). */
struct mrb_parser_state;
void rt_parse_error_text(const struct mrb_parser_state *p, const char *filename, char *buf,
                         size_t len);
/* Gives mruby 3.1 CRuby's `defined?`: rewrites each defined?(expr) of a parsed tree (p may be
 * NULL or have errors: then nothing happens) before code generation (runtime/defined.c). */
void rt_rewrite_defined(mrb_state *mrb, struct mrb_parser_state *p, const char *src, size_t len);
/* Runs the loop until it has nothing left to do or the script asked to exit. */
int rt_run_loop(struct rt *rt);

/* Calls recv.method(*argv) from C (a libuv callback). An exception is reported as uncaught
 * and stops the loop; SystemExit sets the exit code. Returns false when it raised. */
bool rt_call(struct rt *rt, mrb_value recv, mrb_sym method, mrb_int argc, const mrb_value *argv);

/* An exception reached the runtime: SystemExit sets the exit status quietly, SignalException
 * sets 128 + signo with one line, anything else is reported with status 1. The loop stops. */
void rt_uncaught(struct rt *rt, mrb_value exc);

/* Keeps obj alive until rt_unroot(). Idempotent. */
void rt_root(struct rt *rt, mrb_value obj);
void rt_unroot(struct rt *rt, mrb_value obj);

/* Prints an uncaught exception the way Ruby does: `file:line: message (Class)`, then each
 * backtrace frame on a line of its own. */
void rt_report_exception(mrb_state *mrb, mrb_value exc);

/*
 * A SystemCallError (or a subclass: cls, e.g. FS::Error) for a libuv error code, the one builder
 * of such errors: @code "ENOENT" (uv_err_name), @errno 2 (positive, as Ruby's), @syscall,
 * @path and @dest (nil when NULL), and Node's message "ENOENT: no such file or directory, open
 * '/x'" (with " -> '/y'" for a dest). Returns the exception; the caller raises it or passes it on.
 */
mrb_value rt_uv_error_new(mrb_state *mrb, struct RClass *cls, int err, const char *syscall,
                          const char *path, const char *dest);
/* Raises rt_uv_error_new(SystemCallError, err, syscall) with no path. */
mrb_noreturn void rt_raise_uv(mrb_state *mrb, int err, const char *syscall);

/* The file name of the Ruby frame `up` levels above the current C function (0 = its caller),
 * or NULL when it has no debug info. Pure read of the irep's debug info. */
const char *rt_caller_file(mrb_state *mrb, int up);

/*
 * A libuv handle owned by a Ruby object. The memory is freed when both the handle has been
 * closed (its close callback ran) and the Ruby object has been collected, whichever is last:
 * libuv may still touch the handle until its close callback, and the Ruby object may still
 * point at it until the GC frees it.
 */
struct rt_owned {
    union {
        uv_handle_t handle;
        uv_timer_t timer;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_udp_t udp;
    } u;
    int refs; /* 2 at birth: one for the Ruby object, one for the open handle */
    struct rt *rt;
    mrb_value self;                       /* the owning Ruby object (not a root; see rt_root) */
    void (*on_close)(struct rt_owned *o); /* optional, before the memory may be freed */
};

/* Allocates size bytes (>= sizeof(struct rt_owned)) zeroed, with refs = 2. */
void *rt_owned_new(struct rt *rt, size_t size);
/* Marks the handle as owned; call right after its uv_*_init succeeded. (Its data field points
 * at itself, which is how shutdown tells owned handles from others.) */
void rt_owned_adopt(struct rt_owned *o);
/* Closes the handle if it is not closing yet; safe to call more than once. */
void rt_owned_close(struct rt_owned *o);
/* The mrb_data_type free function for owned handles: closes and drops the Ruby reference. */
void rt_owned_dfree(mrb_state *mrb, void *p);

/*
 * Runtime modules (timers, Kernel's C half, Net, Deferred, the Profiler...), each one file that
 * defines a `const struct rt_module rt_module_NAME` and one row of the table in
 * runtime/modules.c (as mruby's gem_init.c lists each gem's initialiser). Every function is
 * called in the table's order:
 *   vm_init every VM, the main one and each Deferred worker's, on that VM's thread, before the
 *           VM prelude (the files of runtime/prelude/vm/) loads: the pieces that need no loop and
 * no struct rt (JSON, Regexp, core methods), so tasks on the pool have them too init    rt_new,
 * once, after the VM and the loop are open, every vm_init has run, and before the prelude loads
 * (the Ruby halves in runtime/prelude/ call the C methods init defines) finish  rt_finish, after
 * the loop ran dry (not after an uncaught error or exit()) stop    rt_free, before the loop's
 * handles are closed (e.g. join threads that use them) free    rt_free, after the loop is closed,
 * before the VM is Every function is optional (NULL).
 */
struct rt_module {
    const char *name;
    /* Only in the main runtime, not in a Worker's (runtime/worker.c): what is process-wide
     * (signal handlers, the profiler's session and Ctrl-C). vm_init still runs everywhere. */
    bool main_only;
    void (*vm_init)(mrb_state *mrb);
    void (*init)(struct rt *rt);
    void (*finish)(struct rt *rt);
    void (*stop)(struct rt *rt);
    void (*free)(struct rt *rt);
};

/* main's argv as it came (before option parsing), which a cluster worker is started with
 * (runtime/cluster.c; the vector is copied); without it the workers get /proc/self/cmdline's. */
void rt_cluster_set_argv(int argc, char **argv);

/* The table, NULL-terminated (runtime/modules.c). */
extern const struct rt_module *const rt_modules[];

/* Makes a fresh VM a runtime VM: every module's vm_init, then the VM prelude. Returns false
 * with the exception in mrb->exc when the prelude raised (a bug in mrun). The main VM and each
 * Deferred worker's VM go through it. */
bool rt_vm_init(mrb_state *mrb);

/* Whether module m runs its init, finish, stop and free in rt. */
bool rt_module_enabled(const struct rt *rt, const struct rt_module *m);

/* Loop health (runtime/loophealth.c), called by rt.c on the loop's thread. */
uint64_t rt_now_ns(void); /* CLOCK_MONOTONIC */
void rt__health_init(struct rt *rt);
void rt__health_poll_entry(struct rt *rt);       /* the prepare handle, before any wait */
void rt__health_wait(struct rt *rt, bool begin); /* around the wait itself */
void rt__health_call(struct rt *rt, bool begin); /* around rt_call */
/* Closes the current window now (at exit, before a profile is written). */
void rt_health_flush(struct rt *rt);
/* The last closed window, else the current one so far. */
void rt_health_window(struct rt *rt, struct rt_loop_window *w);

/* After the loop ran dry: each module's finish (Deferred reports the rejections nobody
 * handled, status 1, as Node). */
void rt_finish(struct rt *rt);

#endif
