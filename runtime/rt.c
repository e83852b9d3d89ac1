/*
 * rt.c — the runtime core: VM and loop lifetime, running scripts, calling Ruby from C.
 *
 * Every entry from C into Ruby (the main script, a timer, a socket event) goes through one
 * protected call with the GC arena saved and restored around it, so that neither an exception
 * nor the temporaries of a million callbacks escape. An uncaught exception is printed and stops
 * the loop with exit status 1, as Node does; `exit(n)` raises SystemExit, which unwinds the
 * script (running its `ensure` clauses) and stops the loop with status n.
 *
 * This file knows mruby and libuv, nothing of the profiler: the profiler observes the loop
 * through rt->loop_state and rt->hooks, which the profiling module installs. Nor does it know
 * the modules (timers, Net, Deferred...): it runs the table of runtime/modules.c.
 */
#include "runtime/rt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/compile.h>
#include <mruby/irep.h>
#include <mruby/debug.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "profiler/base/fileio.h"

__thread volatile sig_atomic_t rt_blocked;

const char *const rt_block_names[RT_BLOCK_COUNT] = {"",
#define RT_BLOCK_NAME(e, name) name,
                                                    RT_BLOCK_REASONS(RT_BLOCK_NAME)
#undef RT_BLOCK_NAME
};

extern const uint8_t mrun_prelude[];
extern const uint8_t mrun_vm_prelude[];

bool
rt_vm_init(mrb_state *mrb)
{
    for (const struct rt_module *const *m = rt_modules; *m; m++)
        if ((*m)->vm_init)
            (*m)->vm_init(mrb);
    mrb_load_irep(mrb, mrun_vm_prelude);
    return mrb->exc == NULL;
}

struct rt *
rt_from_mrb(mrb_state *mrb)
{
    return (struct rt *)mrb->ud;
}

/* --- roots ---------------------------------------------------------------------------------- */

void
rt_root(struct rt *rt, mrb_value obj)
{
    if (mrb_immediate_p(obj))
        return;
    mrb_hash_set(rt->mrb, rt->roots, mrb_fixnum_value(mrb_obj_id(obj)), obj);
}

void
rt_unroot(struct rt *rt, mrb_value obj)
{
    if (mrb_immediate_p(obj))
        return;
    mrb_hash_delete_key(rt->mrb, rt->roots, mrb_fixnum_value(mrb_obj_id(obj)));
}

/* --- owned handles -------------------------------------------------------------------------- */

void *
rt_owned_new(struct rt *rt, size_t size)
{
    struct rt_owned *o = calloc(1, size);
    if (!o) {
        fprintf(stderr, "mrun: out of memory\n");
        abort();
    }
    o->refs = 2;
    o->rt = rt;
    o->self = mrb_nil_value();
    return o;
}

static void
owned_release(struct rt_owned *o)
{
    if (--o->refs == 0)
        free(o);
}

static void
owned_closed(uv_handle_t *h)
{
    struct rt_owned *o = (struct rt_owned *)h;
    if (o->on_close)
        o->on_close(o);
    owned_release(o);
}

void
rt_owned_adopt(struct rt_owned *o)
{
    o->u.handle.data = o;
}

void
rt_owned_close(struct rt_owned *o)
{
    /* A handle that was never initialised (type 0) has nothing to close. */
    if (o->u.handle.type == UV_UNKNOWN_HANDLE) {
        if (o->refs == 2)
            o->refs = 1;
        return;
    }
    if (!uv_is_closing(&o->u.handle))
        uv_close(&o->u.handle, owned_closed);
}

void
rt_owned_dfree(mrb_state *mrb, void *p)
{
    struct rt_owned *o = p;
    if (!o)
        return;
    o->self = mrb_nil_value();
    rt_owned_close(o);
    owned_release(o);
}

/* --- errors --------------------------------------------------------------------------------- */

static struct RClass *
system_exit_class(mrb_state *mrb)
{
    return mrb_class_get(mrb, "SystemExit");
}

void
rt_report_exception(mrb_state *mrb, mrb_value exc)
{
    struct rt *rt = rt_from_mrb(mrb);
    int ai = mrb_gc_arena_save(mrb);
    mrb_value msg = mrb_funcall(mrb, exc, "message", 0);
    mrb_value bt = mrb_funcall(mrb, exc, "backtrace", 0);
    if (mrb->exc) { /* a broken #message or #backtrace: report what we can */
        mrb->exc = NULL;
        msg = mrb_str_new_lit(mrb, "(message unavailable)");
        bt = mrb_nil_value();
    }
    const char *cls = mrb_obj_classname(mrb, exc);
    mrb_int n = mrb_array_p(bt) ? RARRAY_LEN(bt) : 0;
    /* In a callback the bottom frame is the finished main script's stale base frame (it names
     * the script's last line): it is not a caller, so leave it out. */
    if (rt && rt->main_done && n > 1)
        n--;

    fflush(stdout);
    if (n > 0 && mrb_string_p(RARRAY_PTR(bt)[0]))
        fprintf(stderr, "%s: ", RSTRING_CSTR(mrb, RARRAY_PTR(bt)[0]));
    else
        fprintf(stderr, "mrun: ");
    if (mrb_string_p(msg) && RSTRING_LEN(msg) > 0)
        fprintf(stderr, "%.*s (%s)\n", (int)RSTRING_LEN(msg), RSTRING_PTR(msg), cls);
    else
        fprintf(stderr, "unhandled exception (%s)\n", cls);
    for (mrb_int i = 1; i < n; i++) {
        mrb_value line = RARRAY_PTR(bt)[i];
        if (mrb_string_p(line))
            fprintf(stderr, "\tfrom %.*s\n", (int)RSTRING_LEN(line), RSTRING_PTR(line));
    }
    fflush(stderr);
    mrb_gc_arena_restore(mrb, ai);
}

/* Handles an exception that reached the runtime: SystemExit sets the status quietly, anything
 * else is reported. Either way the loop stops. */
void
rt_uncaught(struct rt *rt, mrb_value exc)
{
    mrb_state *mrb = rt->mrb;
    if (mrb_obj_is_kind_of(mrb, exc, system_exit_class(mrb))) {
        mrb_value st = mrb_iv_get(mrb, exc, mrb_intern_lit(mrb, "@status"));
        rt->exit_code = mrb_integer_p(st) ? (int)(mrb_integer(st) & 0xff) : 0;
    } else if (mrb_obj_is_kind_of(mrb, exc, mrb_class_get(mrb, "SignalException"))) {
        /* Ctrl-C or SIGTERM: the shell's convention, 128 + the signal number, and one line. */
        mrb_value no = mrb_iv_get(mrb, exc, mrb_intern_lit(mrb, "@signo"));
        int signo = mrb_integer_p(no) ? (int)mrb_integer(no) : SIGTERM;
        /* SIGPIPE (stdout's reader went away: kernel.c) stops quietly, as a shell's pipeline. */
        if (signo != SIGPIPE) {
            fflush(stdout);
            fprintf(stderr, "mrun: stopped by %s\n",
                    signo == SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM");
        }
        rt->exit_code = 128 + (signo & 0x7f);
    } else {
        if (rt->on_uncaught)
            rt->on_uncaught(rt, exc); /* a Worker's: the parent's :error event */
        else
            rt_report_exception(mrb, exc);
        rt->exit_code = RT_EXIT_SCRIPT_ERROR;
    }
    rt->exiting = true;
    uv_stop(&rt->loop);
}

mrb_value
rt_uv_error_new(mrb_state *mrb, struct RClass *cls, int err, const char *syscall, const char *path,
                const char *dest)
{
    mrb_value msg = mrb_format(mrb, "%s: %s, %s", uv_err_name(err), uv_strerror(err), syscall);
    if (path) {
        mrb_str_cat_lit(mrb, msg, " '");
        mrb_str_cat_cstr(mrb, msg, path);
        mrb_str_cat_lit(mrb, msg, "'");
    }
    if (dest) {
        mrb_str_cat_lit(mrb, msg, " -> '");
        mrb_str_cat_cstr(mrb, msg, dest);
        mrb_str_cat_lit(mrb, msg, "'");
    }
    mrb_value exc = mrb_exc_new_str(mrb, cls, msg);
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@code"), mrb_str_new_cstr(mrb, uv_err_name(err)));
    /* libuv's codes are negative errno values on Unix; Ruby's errno is the positive one. */
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@errno"), mrb_fixnum_value(-err));
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@syscall"), mrb_str_new_cstr(mrb, syscall));
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@path"),
               path ? mrb_str_new_cstr(mrb, path) : mrb_nil_value());
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@dest"),
               dest ? mrb_str_new_cstr(mrb, dest) : mrb_nil_value());
    return exc;
}

mrb_noreturn void
rt_raise_uv(mrb_state *mrb, int err, const char *syscall)
{
    mrb_exc_raise(
        mrb, rt_uv_error_new(mrb, mrb_class_get(mrb, "SystemCallError"), err, syscall, NULL, NULL));
}

/* --- calling Ruby from C -------------------------------------------------------------------- */

struct call_args {
    mrb_value recv;
    mrb_sym method;
    mrb_int argc;
    const mrb_value *argv;
};

static mrb_value
call_body(mrb_state *mrb, void *ud)
{
    struct call_args *a = ud;
    return mrb_funcall_argv(mrb, a->recv, a->method, a->argc, a->argv);
}

bool
rt_call(struct rt *rt, mrb_value recv, mrb_sym method, mrb_int argc, const mrb_value *argv)
{
    mrb_state *mrb = rt->mrb;
    if (rt->exiting)
        return false;
    /* Whatever called us, the loop is not waiting now (see wait_for_events). */
    rt->loop_state = RT_LOOP_RUNNING;
    rt__health_call(rt, true);
    int ai = mrb_gc_arena_save(mrb);
    struct call_args a = {recv, method, argc, argv};
    mrb_bool failed = FALSE;
    /* The Ruby called runs, whatever wait called it (see RT_BLOCK_REASONS). */
    sig_atomic_t blocked;
    RT_BLOCK_BEGIN(blocked, RT_BLOCK_NONE);
    mrb_value r = mrb_protect_error(mrb, call_body, &a, &failed);
    RT_BLOCK_END(blocked);
    rt__health_call(rt, false);
    if (failed)
        rt_uncaught(rt, r);
    mrb_gc_arena_restore(mrb, ai);
    return !failed;
}

/* --- the loop ------------------------------------------------------------------------------- */

/*
 * Where the loop waits, and only there, the loop state says "polling" (the profiler's idle).
 * libuv gives no hook around its poll, and it runs every I/O callback inside its poll phase, so
 * marking from the prepare to the check handle would count socket handlers as idle. Instead the
 * prepare handle does the waiting itself, on the loop's backend fd (the way libuv documents for
 * embedding a loop: uv_backend_fd, uv_backend_timeout), with the state set around that one
 * system call; libuv's own poll that follows finds the events ready and does not block. The
 * loop's clock is brought up to date after the wait, so that a timer that fell due meanwhile
 * makes libuv's poll timeout 0 instead of waiting the same delay a second time.
 *
 * libuv 1.44 registers a watcher started since its last poll (a socket just accepted, a write
 * that must wait) only inside its own poll; until then the backend fd cannot report it, and
 * uv_backend_timeout does not account for it (1.45 does). Then libuv must poll itself: the
 * state is set to polling before it, and the first call into Ruby (rt_call) or the check handle
 * sets it back, so only runtime C work between the end of that poll and the first callback can
 * pass for idle. Ruby that such C work runs directly (an accepted connection's Net::Socket.new)
 * does not: the signal handler takes Ruby frames on the stack without a wait mark as running.
 */
static bool
watchers_pending(const uv_loop_t *loop)
{
    return loop->watcher_queue[0] != (void *)&loop->watcher_queue; /* libuv's QUEUE_EMPTY */
}

static void
wait_for_events(struct rt *rt)
{
    uv_loop_t *loop = &rt->loop;
    if (watchers_pending(loop)) {
        rt->loop_state = RT_LOOP_POLLING;
        return;
    }
    int timeout = uv_backend_timeout(loop);
    if (timeout == 0)
        return;
    struct pollfd pfd = {.fd = uv_backend_fd(loop), .events = POLLIN};
    if (rt->hooks.wait_begin)
        rt->hooks.wait_begin(rt, rt->hooks.data);
    rt__health_wait(rt, true);
    rt->loop_state = RT_LOOP_POLLING;
    /* The profiler's signal interrupts poll (never restarted, whatever SA_RESTART says): wait
     * again for what is left of the timeout. */
    while (poll(&pfd, 1, timeout) < 0 && errno == EINTR) {
        uv_update_time(loop);
        if ((timeout = uv_backend_timeout(loop)) == 0)
            break;
    }
    rt->loop_state = RT_LOOP_RUNNING;
    rt__health_wait(rt, false);
    if (rt->hooks.wait_end)
        rt->hooks.wait_end(rt, rt->hooks.data);
    uv_update_time(loop);
}

static void
on_prepare(uv_prepare_t *h)
{
    struct rt *rt = h->data;
    rt__health_poll_entry(rt);
    if (rt->hooks.safe_point)
        rt->hooks.safe_point(rt, rt->hooks.data);
    wait_for_events(rt);
}

/* Runs from the check handle, outside any rt_call: the new queue it allocates lands in the GC
 * arena, so the arena is saved and restored here too, or every batch (and each Immediate and
 * block in it) would stay protected for the life of the process. */
static void
run_immediates(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    /* Immediates queued while these run wait for the next iteration, as in Node. */
    mrb_value batch = rt->immediates;
    if (RARRAY_LEN(batch) == 0)
        return;
    int ai = mrb_gc_arena_save(mrb);
    rt_unroot(rt, batch);
    rt->immediates = mrb_ary_new(mrb);
    rt_root(rt, rt->immediates);
    rt_root(rt, batch); /* keep the batch alive while it runs */
    for (mrb_int i = 0; i < RARRAY_LEN(batch) && !rt->exiting; i++)
        rt_call(rt, RARRAY_PTR(batch)[i], rt->sym_fire, 0, NULL);
    rt_unroot(rt, batch);
    if (RARRAY_LEN(rt->immediates) == 0)
        uv_idle_stop(&rt->idle);
    mrb_gc_arena_restore(mrb, ai);
}

static void
on_check(uv_check_t *h)
{
    struct rt *rt = h->data;
    rt->loop_state = RT_LOOP_RUNNING;
    run_immediates(rt);
}

/* The check handle serves two purposes: mark the end of polling (always) and run immediates.
 * It must not keep the loop alive on its own, so it is unref'd; the idle handle (active only
 * while immediates are pending) is what keeps the loop alive and poll non-blocking. */
static void
on_idle(uv_idle_t *h)
{
    (void)h; /* Only here so that poll does not block while immediates wait. */
}

static mrb_value
immediate_enqueue(mrb_state *mrb, mrb_value self)
{
    struct rt *rt = rt_from_mrb(mrb);
    mrb_value entry;
    mrb_get_args(mrb, "o", &entry);
    mrb_ary_push(mrb, rt->immediates, entry);
    uv_idle_start(&rt->idle, on_idle);
    return entry;
}

int
rt_run_loop(struct rt *rt)
{
    if (rt->exiting)
        return rt->exit_code;
    rt->loop_running = true;
    rt->health.busy_start_ns = rt_now_ns(); /* the main script is not the loop's lag */
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    rt->loop_running = false;
    rt->loop_state = RT_LOOP_RUNNING;
    return rt->exit_code;
}

/* --- running scripts ------------------------------------------------------------------------ */

void
rt_parse_error_text(const struct mrb_parser_state *p, const char *filename, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%d:%d: %s", filename, p->error_buffer[0].lineno,
             p->error_buffer[0].column, p->error_buffer[0].message);
}

/* Parses and runs source text. Syntax errors are reported as `file:line:col: message`. */
static int
run_source(struct rt *rt, const char *src, size_t len, const char *filename)
{
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrbc_context *cxt = mrbc_context_new(mrb);
    mrbc_filename(mrb, cxt, filename);
    cxt->capture_errors = TRUE;
    /* While the parser runs, the VM's base frame still names the prelude: a sample taken now
     * must not be charged to it (it goes to "(program)"). */
    rt->main_done = 1;
    struct mrb_parser_state *p = mrb_parse_nstring(mrb, src, len, cxt);
    rt_rewrite_defined(mrb, p, src, len);
    rt->main_done = 0;
    if (!p) {
        fprintf(stderr, "mrun: %s: out of memory while parsing\n", filename);
        mrbc_context_free(mrb, cxt);
        return rt->exit_code = RT_EXIT_SCRIPT_ERROR;
    }
    if (p->nerr > 0) {
        char msg[4800];
        rt_parse_error_text(p, filename, msg, sizeof msg);
        fprintf(stderr, "%s (SyntaxError)\n", msg);
        mrb_parser_free(p);
        mrbc_context_free(mrb, cxt);
        return rt->exit_code = RT_EXIT_SCRIPT_ERROR;
    }
    mrb_value v = mrb_load_exec(mrb, p, cxt); /* frees p */
    (void)v;
    mrbc_context_free(mrb, cxt);
    if (mrb->exc) {
        mrb_value exc = mrb_obj_value(mrb->exc);
        mrb->exc = NULL;
        rt_uncaught(rt, exc);
    }
    mrb_gc_arena_restore(mrb, ai);
    return rt->exit_code;
}

int
rt_run_main_string(struct rt *rt, const char *code, const char *filename)
{
    int r = run_source(rt, code, strlen(code), filename);
    rt->main_done = 1;
    return r;
}

int
rt_run_main_file(struct rt *rt, const char *path)
{
    size_t len;
    struct mp_err err;
    char *src = fio_read_file(path, &len, &err);
    if (!src) {
        fprintf(stderr, "mrun: %s\n", err.msg);
        return rt->exit_code = RT_EXIT_USAGE;
    }
    int r = run_source(rt, src, len, path);
    free(src);
    rt->main_done = 1;
    return r;
}

/* --- caller introspection ------------------------------------------------------------------- */

const char *
rt_caller_file(mrb_state *mrb, int up)
{
    /* mrb->c->ci is the running C function's frame; ci[-1-up] is a Ruby caller. */
    const mrb_callinfo *ci = mrb->c->ci - 1 - up;
    for (; ci >= mrb->c->cibase; ci--) {
        const struct RProc *proc = ci->proc;
        if (!proc || MRB_PROC_CFUNC_P(proc))
            continue;
        const mrb_irep *irep = proc->body.irep;
        ptrdiff_t pc = ci->pc ? ci->pc - irep->iseq - 1 : 0;
        const char *f = mrb_debug_get_filename(mrb, irep, pc < 0 ? 0 : pc);
        if (f)
            return f;
    }
    return NULL;
}

/* --- lifetime ------------------------------------------------------------------------------- */

bool
rt_module_enabled(const struct rt *rt, const struct rt_module *m)
{
    return !(rt->worker && m->main_only);
}

static struct rt *
rt_open(int argc, char **argv, void *worker, const struct rt_hooks *hooks)
{
    struct rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->argc = argc;
    rt->argv = argv;
    rt->worker = worker;
    if (hooks)
        rt->hooks = *hooks;
    rt->mrb = mrb_open(); /* malloc; the allocator hook, if any, takes over below */
    if (!rt->mrb) {
        fprintf(stderr, "mrun: cannot open the mruby VM (out of memory)\n");
        free(rt);
        return NULL;
    }
    mrb_state *mrb = rt->mrb;
    mrb->ud = rt;
    int err = uv_loop_init(&rt->loop);
    if (err) {
        fprintf(stderr, "mrun: cannot create the event loop: %s\n", uv_strerror(err));
        mrb_close(mrb);
        free(rt);
        return NULL;
    }
    rt->loop.data = rt;
    rt->roots = mrb_hash_new(mrb);
    mrb_gc_register(mrb, rt->roots);
    rt->immediates = mrb_ary_new(mrb);
    rt_root(rt, rt->immediates);
    rt->sym_fire = mrb_intern_lit(mrb, "__fire");
    rt__health_init(rt);

    uv_prepare_init(&rt->loop, &rt->prepare);
    rt->prepare.data = rt;
    uv_prepare_start(&rt->prepare, on_prepare);
    uv_unref((uv_handle_t *)&rt->prepare);
    uv_check_init(&rt->loop, &rt->check);
    rt->check.data = rt;
    uv_check_start(&rt->check, on_check);
    uv_unref((uv_handle_t *)&rt->check);
    uv_idle_init(&rt->loop, &rt->idle);
    rt->idle.data = rt;

    struct RClass *k = mrb->kernel_module;
    mrb_define_method(mrb, k, "__immediate_enqueue", immediate_enqueue, MRB_ARGS_REQ(1));

    if (!rt_vm_init(mrb)) {
        rt_report_exception(mrb, mrb_obj_value(mrb->exc));
        fprintf(stderr, "mrun: the built-in VM prelude failed to load (a bug in mrun)\n");
        rt_free(rt);
        return NULL;
    }
    for (const struct rt_module *const *m = rt_modules; *m; m++)
        if ((*m)->init && rt_module_enabled(rt, *m))
            (*m)->init(rt);
    /* The memory profiler's allocator (realloc and free, as mruby's default, plus its hook)
     * from now on: before any Ruby code runs, so it sees every allocation scripts make. */
    if (rt->hooks.allocf)
        mrb->allocf = rt->hooks.allocf;
    mrb_load_irep(mrb, mrun_prelude);
    if (mrb->exc) {
        rt_report_exception(mrb, mrb_obj_value(mrb->exc));
        fprintf(stderr, "mrun: the built-in prelude failed to load (a bug in mrun)\n");
        rt_free(rt);
        return NULL;
    }
    return rt;
}

struct rt *
rt_new(int argc, char **argv)
{
    return rt_open(argc, argv, NULL, NULL);
}

struct rt *
rt_new_worker(void *worker, const struct rt_hooks *hooks)
{
    return rt_open(0, NULL, worker, hooks);
}

void
rt_finish(struct rt *rt)
{
    for (const struct rt_module *const *m = rt_modules; *m; m++)
        if ((*m)->finish && rt_module_enabled(rt, *m))
            (*m)->finish(rt);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h->data == h) /* an owned handle (rt_owned_adopt): it frees itself once closed */
        rt_owned_close((struct rt_owned *)h);
    else
        uv_close(h, NULL);
}

void
rt_free(struct rt *rt)
{
    if (!rt)
        return;
    /* Close every handle still open and let their close callbacks run; no Ruby runs now. */
    rt->exiting = true;
    for (const struct rt_module *const *m = rt_modules; *m; m++)
        if ((*m)->stop && rt_module_enabled(rt, *m))
            (*m)->stop(rt);
    uv_walk(&rt->loop, close_walk, NULL);
    rt->loop.stop_flag = 0; /* an exit() before the loop ever ran left it set */
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    int err = uv_loop_close(&rt->loop);
    if (err)
        fprintf(stderr, "mrun: event loop not fully closed at exit: %s\n", uv_strerror(err));
    for (const struct rt_module *const *m = rt_modules; *m; m++)
        if ((*m)->free && rt_module_enabled(rt, *m))
            (*m)->free(rt);
    mrb_gc_unregister(rt->mrb, rt->roots);
    mrb_close(rt->mrb);
    free(rt);
}
