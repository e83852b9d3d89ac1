/*
 * worker.c — a Deferred worker thread. It owns an mrb_state for its whole life (replaced after
 * it ran out of memory), takes tasks from the pool's queue, runs the registrations it has not
 * run yet, then the task's block with its arguments, and puts the encoded result (or error) on
 * the finished list for the main loop. Only this thread touches its VM.
 */
#include "runtime/deferred/internal.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/compile.h>
#include <mruby/irep.h>
#include <mruby/dump.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/variable.h>

/* Kernel#exit in a worker: the C exit() of the stock gem would end the whole process. */
static mrb_value
worker_exit(mrb_state *mrb, mrb_value self)
{
    mrb_raise(mrb, E_NOTIMP_ERROR,
              "exit cannot be called in a Deferred block (it runs on a worker thread): "
              "return a value, or raise to reject the Deferred");
    return mrb_nil_value();
}

/*
 * The workers' allocator: malloc, counting what the VM holds, so that Deferred.heap_limit can
 * refuse an allocation. mruby answers a refused allocation by collecting garbage and trying
 * again, then raises NoMemoryError, which rejects the task; the worker then replaces its VM.
 *
 * Unwinding from that NoMemoryError allocates too (a block's captured locals are copied off
 * the VM stack as its frames pop; the error is described), and mruby 3.1 is not safe against a
 * second refusal there: it escapes the handler that is unwinding, which left a VM that freed
 * an invalid pointer when closed, or leaked. So once mruby has raised (it sets
 * gc.out_of_memory first), the worker has a reserve of HEAP_RESERVE(limit) above the limit until
 * the task ends and its VM is replaced.
 *
 * What it allows goes to the runtime's allocator hook (the memory profiler's: realloc and free
 * plus its note), or to realloc and free.
 */
#define HEAP_RESERVE(limit) (((size_t)1 << 20) + (limit) / 8)

static void *
base_alloc(const struct worker *w, mrb_state *mrb, void *p, size_t size)
{
    mrb_allocf f = w->pool->hooks.allocf;
    if (f)
        return f(mrb, p, size, NULL);
    if (size == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, size);
}

static void *
worker_allocf(mrb_state *mrb, void *p, size_t size, void *ud)
{
    struct worker *w = ud;
    size_t old = p ? malloc_usable_size(p) : 0;
    if (size == 0) {
        base_alloc(w, mrb, p, 0);
        w->heap_used -= old;
        return NULL;
    }
    if (mrb && mrb->gc.out_of_memory)
        w->in_reserve = true;
    size_t limit = w->heap_limit + (w->in_reserve ? HEAP_RESERVE(w->heap_limit) : 0);
    if (w->heap_limit && size > old && w->heap_used - old + size > limit)
        return NULL;
    void *q = base_alloc(w, mrb, p, size);
    if (q)
        w->heap_used = w->heap_used - old + malloc_usable_size(q);
    return q;
}

static mrb_state *
worker_open(struct worker *w)
{
    w->heap_used = 0;
    w->in_reserve = false;
    mrb_state *mrb = mrb_open_allocf(worker_allocf, w);
    if (!mrb)
        return NULL;
    mrb->ud = NULL; /* not a runtime: rt_from_mrb() is NULL in workers */
    mrb_define_method(mrb, mrb->kernel_module, "exit", worker_exit, MRB_ARGS_ANY());
    mrb_define_method(mrb, mrb->kernel_module, "exit!", worker_exit, MRB_ARGS_ANY());
    /* The modules' worker-safe halves (JSON, Regexp, core methods) and the VM prelude. */
    if (!rt_vm_init(mrb)) {
        mrb_close(mrb);
        return NULL;
    }
    w->heap_after_gc = w->heap_used;
    return mrb;
}

/*
 * mruby starts a GC step after a number of new objects, whatever their size: a task that takes
 * or returns a 20 MB String makes a handful of objects, so dead payloads pile up (ten 50 MB round
 * trips held 1.9 GB). Between tasks the worker therefore collects in full once its heap has
 * grown by as much as it held after the last collection, and by at least GC_MIN_GROWTH, as Go's
 * GOGC=100 does: the heap stays within about twice what the tasks keep alive (plus the payloads
 * in flight), and a worker of small tasks never pays for it.
 */
#define GC_MIN_GROWTH ((size_t)16 << 20)

static void
collect_if_grown(struct worker *w, mrb_state *mrb)
{
    size_t growth = w->heap_after_gc > GC_MIN_GROWTH ? w->heap_after_gc : GC_MIN_GROWTH;
    if (w->heap_used - w->heap_after_gc <= growth || w->heap_used < w->heap_after_gc)
        return;
    mrb_full_gc(mrb);
    w->heap_after_gc = w->heap_used;
}

static mrb_value
make_error_hash(mrb_state *mrb, const char *cls, mrb_value msg, mrb_value bt)
{
    mrb_value h = mrb_hash_new(mrb);
    mrb_hash_set(mrb, h, mrb_str_new_lit(mrb, "class"), mrb_str_new_cstr(mrb, cls));
    mrb_hash_set(mrb, h, mrb_str_new_lit(mrb, "message"), msg);
    mrb_hash_set(mrb, h, mrb_str_new_lit(mrb, "backtrace"), bt);
    return h;
}

/* The task failed with error Hash h ({class, message, backtrace}). */
static void
store_error(mrb_state *mrb, struct task *t, mrb_value h)
{
    struct mp_err err;
    t->ok = false;
    t->result.len = 0;
    if (copy_encode(mrb, h, "error", &t->result, &err) != COPY_OK &&
        !copy_encode_error(&t->result, "NoMemoryError", "out of memory while copying the error"))
        t->result.len = 0; /* decoded as nil: the main side reports an unknown failure */
}

static mrb_value
describe_exc_body(mrb_state *mrb, void *ud)
{
    mrb_value exc = *(mrb_value *)ud;
    mrb_value msg = mrb_funcall(mrb, exc, "message", 0);
    if (!mrb_string_p(msg))
        msg = mrb_str_new_lit(mrb, "");
    const char *cls = mrb_obj_classname(mrb, exc);
    if (strcmp(cls, "NoMethodError") == 0 || strcmp(cls, "NameError") == 0) {
        msg = mrb_str_dup(mrb, msg);
        mrb_str_cat_lit(mrb, msg,
                        " (in a Deferred worker's VM, where your program's methods "
                        "and constants exist only if Deferred.load or Deferred.setup "
                        "defined them)");
    }
    mrb_value bt = mrb_funcall(mrb, exc, "backtrace", 0);
    mrb_value lines = mrb_ary_new(mrb);
    /* The last frame is the worker's own base frame (the C call into the block): stale, it
     * names the last top-level code this VM ran ("(unknown):0", or the VM prelude's last
     * file, e.g. "runtime/prelude/vm/uri.rb:45"). Drop it, and any other unknown frame. */
    mrb_int nbt = mrb_array_p(bt) ? RARRAY_LEN(bt) - 1 : 0;
    for (mrb_int i = 0; i < nbt; i++) {
        mrb_value line = RARRAY_PTR(bt)[i];
        if (mrb_string_p(line) && strncmp(RSTRING_PTR(line), "(unknown)", 9) != 0)
            mrb_ary_push(mrb, lines, line);
    }
    return make_error_hash(mrb, cls, msg, lines);
}

/* Encodes an exception raised in the worker as the task's error. */
static void
fail_with_exception(mrb_state *mrb, struct task *t, mrb_value exc)
{
    mrb_bool failed = FALSE;
    mrb->exc = NULL;
    mrb_value h = mrb_protect_error(mrb, describe_exc_body, &exc, &failed);
    if (failed) { /* #message or #backtrace raised: say what we know */
        mrb->exc = NULL;
        h = make_error_hash(mrb, mrb_obj_classname(mrb, exc),
                            mrb_str_new_lit(mrb, "(the exception's message raised)"),
                            mrb_ary_new(mrb));
    }
    store_error(mrb, t, h);
}

static void
fail_with(mrb_state *mrb, struct task *t, const char *cls, const char *msg)
{
    int ai = mrb_gc_arena_save(mrb);
    store_error(mrb, t, make_error_hash(mrb, cls, mrb_str_new_cstr(mrb, msg), mrb_ary_new(mrb)));
    mrb_gc_arena_restore(mrb, ai);
}

struct run_args {
    struct task *task;
    struct RProc *proc;
    const struct setup *setup;
    mrb_int index; /* TASK_MAP: the item being run */
};

/* A chunk of Deferred.map: the block on each item, in order; the Array of the results. */
static mrb_value
run_map_body(mrb_state *mrb, struct run_args *ra, mrb_value items)
{
    mrb_int n = mrb_array_p(items) ? RARRAY_LEN(items) : 0;
    mrb_value out = mrb_ary_new_capa(mrb, n);
    int ai = mrb_gc_arena_save(mrb);
    for (ra->index = 0; ra->index < n; ra->index++) {
        mrb_value item = RARRAY_PTR(items)[ra->index];
        mrb_value v = mrb_yield_with_class(mrb, mrb_obj_value(ra->proc), 1, &item,
                                           mrb_top_self(mrb), mrb->object_class);
        mrb_ary_push(mrb, out, v);
        mrb_gc_arena_restore(mrb, ai);
    }
    return out;
}

static mrb_value
run_block_body(mrb_state *mrb, void *ud)
{
    struct run_args *ra = ud;
    mrb_value args = copy_decode(mrb, ra->task->args.data, ra->task->args.len);
    if (ra->task->kind == TASK_MAP)
        return run_map_body(mrb, ra, args);
    mrb_int argc = mrb_array_p(args) ? RARRAY_LEN(args) : 0;
    return mrb_yield_with_class(mrb, mrb_obj_value(ra->proc), argc, argc ? RARRAY_PTR(args) : NULL,
                                mrb_top_self(mrb), mrb->object_class);
}

static mrb_value
run_setup_body(mrb_state *mrb, void *ud)
{
    struct run_args *ra = ud;
    const struct setup *s = ra->setup;
    if (s->kind == SETUP_SOURCE) {
        mrbc_context *cxt = mrbc_context_new(mrb);
        mrbc_filename(mrb, cxt, s->name);
        mrb_value v = mrb_load_nstring_cxt(mrb, (const char *)s->bytes.data, s->bytes.len, cxt);
        mrbc_context_free(mrb, cxt);
        if (mrb->exc)
            mrb_exc_raise(mrb, mrb_obj_value(mrb->exc));
        return v;
    }
    return mrb_yield_with_class(mrb, mrb_obj_value(ra->proc), 0, NULL, mrb_top_self(mrb),
                                mrb->object_class);
}

/* Loads dumped bytecode as a proc whose self and target class are the worker's top level. */
static struct RProc *
load_proc(mrb_state *mrb, const struct copy_buf *code)
{
    mrb_irep *irep = mrb_read_irep_buf(mrb, code->data, code->len);
    if (!irep)
        return NULL;
    struct RProc *proc = mrb_proc_new(mrb, irep);
    mrb_irep_decref(mrb, irep);
    MRB_PROC_SET_TARGET_CLASS(proc, mrb->object_class);
    return proc;
}

/* Runs the registrations this worker has not run yet. Returns false (and fails t) when one
 * raised: the task cannot trust its environment. Each runs once per worker either way. */
static bool
apply_setups(struct deferred_pool *pl, mrb_state *mrb, size_t *applied, struct task *t)
{
    pthread_mutex_lock(&pl->mu);
    size_t n = pl->nsetups;
    struct setup *s = pl->setups;
    pthread_mutex_unlock(&pl->mu);
    /* Entries are appended under the mutex and never change: the first n are safe to read. */
    bool ok = true;
    for (size_t i = 0; i < n; i++, s = s->next) {
        if (i < *applied)
            continue;
        *applied = i + 1;
        if (!ok)
            continue;
        int ai = mrb_gc_arena_save(mrb);
        struct run_args ra = {.task = t, .setup = s};
        if (s->kind == SETUP_IREP && !(ra.proc = load_proc(mrb, &s->bytes))) {
            fail_with(mrb, t, "RuntimeError", "cannot load the bytecode of a Deferred.setup block");
            ok = false;
        } else {
            mrb_bool failed = FALSE;
            mrb_value r = mrb_protect_error(mrb, run_setup_body, &ra, &failed);
            if (failed) {
                fail_with_exception(mrb, t, r);
                ok = false;
            }
        }
        mrb_gc_arena_restore(mrb, ai);
    }
    return ok;
}

static mrb_value
flush_body(mrb_state *mrb, void *ud)
{
    mrb_value out = mrb_gv_get(mrb, mrb_intern_lit(mrb, "$stdout"));
    if (mrb_respond_to(mrb, out, mrb_intern_lit(mrb, "flush")))
        mrb_funcall(mrb, out, "flush", 0);
    return mrb_nil_value();
}

static bool
is_nomem(mrb_state *mrb, mrb_value exc)
{
    return mrb_obj_ptr(exc) == (struct RObject *)mrb->nomem_err ||
           strcmp(mrb_obj_classname(mrb, exc), "NoMemoryError") == 0;
}

struct task_run {
    struct deferred_pool *pl;
    size_t *applied;
    struct task *t;
    bool nomem; /* the VM ran out of memory on the way */
};

static mrb_value
run_task_body(mrb_state *mrb, void *ud)
{
    struct task_run *tr = ud;
    struct task *t = tr->t;
    if (!apply_setups(tr->pl, mrb, tr->applied, t))
        return mrb_nil_value();
    struct run_args ra = {.task = t, .proc = load_proc(mrb, &t->code), .index = -1};
    if (!ra.proc) {
        fail_with(mrb, t, "RuntimeError", "cannot load the Deferred block's bytecode");
        return mrb_nil_value();
    }
    mrb_bool failed = FALSE;
    uint64_t start = deferred__now_ns();
    mrb_value v = mrb_protect_error(mrb, run_block_body, &ra, &failed);
    t->run_ns = deferred__now_ns() - start;
    struct mp_err err;
    enum copy_error rc;
    if (failed) {
        if (t->kind == TASK_MAP)
            t->fail_index = ra.index;
        tr->nomem = is_nomem(mrb, v);
        fail_with_exception(mrb, t, v);
    } else if ((rc = copy_encode(mrb, v, "result", &t->result, &err)) != COPY_OK) {
        fail_with(mrb, t,
                  rc == COPY_CYCLE   ? "ArgumentError"
                  : rc == COPY_NOMEM ? "NoMemoryError"
                                     : "TypeError",
                  err.msg);
    } else {
        t->ok = true;
    }
    return mrb_nil_value();
}

/* Runs t; returns true when the VM ran out of memory on the way. */
static bool
run_task(struct deferred_pool *pl, mrb_state *mrb, size_t *applied, struct task *t)
{
    if (!mrb) {
        t->ok = false; /* no VM: the result stays empty and the main side says so */
        return false;
    }
    int ai = mrb_gc_arena_save(mrb);
    /* The block runs under its own protection; this outer one catches what can still raise
     * around it: an allocation past Deferred.heap_limit while the error is described. The VM
     * cannot be trusted with more Ruby then, so the error is written without it. */
    struct task_run tr = {pl, applied, t, false};
    mrb_bool raised = FALSE;
    mrb_value exc = mrb_protect_error(mrb, run_task_body, &tr, &raised);
    if (raised) {
        bool nomem = is_nomem(mrb, exc);
        t->ok = false;
        copy_encode_error(&t->result, nomem ? "NoMemoryError" : mrb_obj_classname(mrb, exc),
                          nomem ? "out of memory (Deferred.heap_limit) while reporting the task's "
                                  "outcome"
                                : "raised while reporting the task's outcome");
        tr.nomem = true; /* interrupted half-way: the worker starts a new VM */
    }
    mrb_bool failed = FALSE;
    mrb_protect_error(mrb, flush_body, NULL, &failed);
    mrb->exc = NULL;
    mrb_gc_arena_restore(mrb, ai);
    return tr.nomem;
}

void
deferred__task_free(struct task *t)
{
    copy_buf_free(&t->code);
    copy_buf_free(&t->args);
    copy_buf_free(&t->result);
    free(t);
}

/* CLOCK_MONOTONIC now, in ns: the clock of rt_hooks' vm_task_end. */
uint64_t
deferred__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *
deferred__worker_main(void *arg)
{
    struct worker *w = arg;
    struct deferred_pool *pl = w->pool;
    const struct rt_hooks *hooks = &pl->hooks;
    /* Process signals (Ctrl-C, SIGTERM, SIGPIPE...) are the main thread's; only the profiler's
     * timer signal, aimed at this thread, is let through. */
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    w->heap_limit = pl->heap_limit; /* set before the pool started; fixed since */
    mrb_state *mrb = worker_open(w);
    size_t applied = 0;
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        pl->nidle++;
        while (!pl->queue && !pl->stopping) {
            w->idle = 1;
            pthread_cond_wait(&pl->work, &pl->mu);
        }
        pl->nidle--;
        if (pl->stopping) {
            pthread_mutex_unlock(&pl->mu);
            break;
        }
        struct task *t = pl->queue;
        pl->queue = t->next;
        if (!pl->queue)
            pl->queue_tail = &pl->queue;
        pl->nqueued--;
        t->next = NULL;
        w->busy = true;
        w->idle = 0;
        pthread_mutex_unlock(&pl->mu);

        if (mrb && hooks->vm_task_begin)
            hooks->vm_task_begin(mrb, w->name, &w->idle);
        uint64_t start = deferred__now_ns();
        bool out_of_memory = run_task(pl, mrb, &applied, t) || w->in_reserve;
        uint64_t end = deferred__now_ns();
        if (mrb && hooks->vm_task_end) { /* the task as a slice on this worker's track */
            char label[96], batch[48] = "";
            if (t->kind == TASK_MAP)
                snprintf(batch, sizeof batch, " (map, %ld item%s)", (long)t->nitems,
                         t->nitems == 1 ? "" : "s");
            snprintf(label, sizeof label, "Deferred task %ld%s%s", (long)t->id, batch,
                     t->ok ? "" : " (rejected)");
            hooks->vm_task_end(mrb, label, start, end);
        }
        if (out_of_memory) {
            /* A VM that ran out of memory may be half-way through anything: start afresh
             * (the registrations run again before the next task). */
            if (hooks->vm_close)
                hooks->vm_close(mrb);
            mrb_close(mrb);
            mrb = worker_open(w);
            applied = 0;
        } else if (mrb) {
            collect_if_grown(w, mrb);
        }

        pthread_mutex_lock(&pl->mu);
        w->busy = false;
        w->busy_ns += end - start;
        w->ntasks++;
        w->nitems += t->kind == TASK_MAP ? (uint64_t)t->nitems : 1;
        bool stopping = pl->stopping;
        if (!stopping) {
            *pl->done_tail = t;
            pl->done_tail = &t->next;
        }
        pthread_mutex_unlock(&pl->mu);
        if (stopping) { /* exit() while this task ran: nobody waits for it */
            deferred__task_free(t);
            break;
        }
        uv_async_send(&pl->async);
    }
    if (mrb) {
        if (hooks->vm_close)
            hooks->vm_close(mrb);
        mrb_close(mrb);
    }
    return NULL;
}
