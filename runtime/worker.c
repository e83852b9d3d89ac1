/*
 * worker.c — Worker threads: each one a thread with its own mruby VM, its own libuv loop and the
 * whole runtime (timers, Net, HTTP, TLS, FS, child processes, Deferred...), as Node's
 * worker_threads. The Ruby half is runtime/prelude/worker.rb.
 *
 * A Worker's thread makes its runtime with rt_new_worker (the main runtime's init, less the
 * main_only modules: signal handlers and the profiler's session are the process's), loads the
 * script, runs its loop until it is empty, and ends. Parent and Worker share one `struct wk`:
 * two message queues under a mutex, one uv_async_t in each loop to wake the reader, and the
 * Worker's outcome (its error, its exit code). Messages cross as the copier's bytes
 * (runtime/copy.h), encoded on the sender's thread and decoded on the receiver's.
 *
 * Lifetime. The parent's Worker object is rooted and its async handle referenced (the parent's
 * loop stays alive) from Worker.new until the :exit event; the thread is joined right before
 * that event. The shared struct is freed when both the parent's async handle has closed and the
 * Ruby object has been collected. A parent runtime that ends first (exit(), an uncaught error)
 * terminates and joins its Workers in its stop function.
 *
 * terminate sets a flag the Worker's VM checks at every allocation and method lookup
 * (prof_vm_interrupt_hook, profiler/sampler/memhook.c), and wakes its loop: a busy loop raises
 * Worker::Terminated there, a waiting loop stops at once. The Worker then exits with code 1.
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "profiler/sampler/sampler.h"
#include "runtime/copy.h"
#include "runtime/rt.h"

struct wmsg {
    struct wmsg *next;
    struct copy_buf buf;
};

struct wqueue {
    struct wmsg *head, **tail;
};

struct wk {
    pthread_mutex_t mu;
    struct wqueue to_child, to_parent; /* under mu */
    uv_async_t *child_async;           /* under mu: NULL until the Worker's loop is up and after */
    bool child_gone;                   /* under mu: the Worker's loop has closed */
    bool has_error;                    /* under mu: error holds the encoded {class, message...} */
    struct copy_buf error;
    bool exited; /* under mu: exit_code is final, the thread is about to return */
    int exit_code;
    atomic_int terminate; /* the parent asked the Worker to stop */
    int rearm;            /* Worker's thread: checks to let pass after raising Worker::Terminated */

    /* Set before the thread starts, then read-only. */
    char *path;
    struct copy_buf data;
    int id;
    char name[32]; /* "Worker 1": the thread's track in a profile */
    struct rt_hooks parent_hooks;

    /* The parent's side (its thread only). */
    struct rt *parent;
    pthread_t thread;
    bool started, joined;
    uv_async_t parent_async; /* in the parent's loop; data = this */
    bool async_open;
    int refs;             /* the Ruby object + the open async handle */
    mrb_value self;       /* the parent's Worker object (rooted while it runs) */
    struct wk *next_live; /* the parent thread's list of Workers still running */

    /* The Worker's side (its thread only). */
    struct rt *rt;
    uv_async_t child_async_h;
    bool listening; /* a :message listener: the loop stays alive */
};

static atomic_int worker_ids;
/* The Workers this thread's runtime started and has not seen exit (one runtime per thread). */
static __thread struct wk *live_list;

static void
wq_init(struct wqueue *q)
{
    q->head = NULL;
    q->tail = &q->head;
}

static void
wq_free(struct wqueue *q)
{
    struct wmsg *m = q->head;
    while (m) {
        struct wmsg *next = m->next;
        copy_buf_free(&m->buf);
        free(m);
        m = next;
    }
    wq_init(q);
}

static void
wk_unref(struct wk *w)
{
    if (--w->refs > 0)
        return;
    wq_free(&w->to_child);
    wq_free(&w->to_parent);
    copy_buf_free(&w->error);
    copy_buf_free(&w->data);
    free(w->path);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static void
wk_dfree(mrb_state *mrb, void *p)
{
    (void)mrb;
    if (p)
        wk_unref(p);
}

static const struct mrb_data_type wk_type = {"Worker", wk_dfree};

static struct RClass *
error_class(mrb_state *mrb)
{
    return mrb_class_get_under(mrb, mrb_class_get(mrb, "Worker"), "Error");
}

/* Encodes v into a new message; raises TypeError (or ArgumentError for a cycle) naming where. */
static struct wmsg *
encode_msg(mrb_state *mrb, mrb_value v, const char *root)
{
    struct wmsg *m = calloc(1, sizeof *m);
    if (!m)
        mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
    struct mp_err err;
    enum copy_error rc = copy_encode(mrb, v, root, &m->buf, &err);
    if (rc != COPY_OK) {
        copy_buf_free(&m->buf); /* empty, but its memory may have been reserved */
        free(m);
        mrb_raise(mrb,
                  rc == COPY_CYCLE   ? E_ARGUMENT_ERROR
                  : rc == COPY_NOMEM ? mrb_class_get(mrb, "NoMemoryError")
                                     : E_TYPE_ERROR,
                  err.msg);
    }
    return m;
}

static void
wq_push(struct wqueue *q, struct wmsg *m)
{
    m->next = NULL;
    *q->tail = m;
    q->tail = &m->next;
}

/* Takes the whole queue (under the mutex); the caller frees each message. */
static struct wmsg *
wq_take(struct wk *w, struct wqueue *q)
{
    pthread_mutex_lock(&w->mu);
    struct wmsg *m = q->head;
    wq_init(q);
    pthread_mutex_unlock(&w->mu);
    return m;
}

/* Delivers the messages of list to recv.method(obj) one by one, in order; stops delivering when
 * the runtime exits (the rest are dropped) and frees all of them. */
static void
deliver(struct rt *rt, struct wmsg *m, mrb_value recv, mrb_sym method)
{
    mrb_state *mrb = rt->mrb;
    while (m) {
        struct wmsg *next = m->next;
        if (!rt->exiting) {
            int ai = mrb_gc_arena_save(mrb);
            mrb_value v = copy_decode(mrb, m->buf.data, m->buf.len);
            rt_call(rt, recv, method, 1, &v);
            mrb_gc_arena_restore(mrb, ai);
        }
        copy_buf_free(&m->buf);
        free(m);
        m = next;
    }
}

/* --- the Worker's thread ------------------------------------------------------------------------
 */

static struct wk *
current_wk(mrb_state *mrb)
{
    struct rt *rt = rt_from_mrb(mrb);
    return rt ? rt->worker : NULL;
}

/*
 * prof_vm_interrupt_hook: raises Worker::Terminated in the VM of a Worker being terminated, at
 * allocations and method calls until the runtime takes it (rt->exiting): a `rescue Exception`
 * in a loop cannot keep the Worker running. Making and raising the exception allocates (its
 * backtrace), which comes back here: after a raise, the next REARM checks pass, far more than
 * one raise makes and far fewer than a loop that rescued it makes before it would be stopped.
 * Only inside a protected call (mrb->jmp): the runtime's C code between callbacks is not
 * prepared for a raise.
 */
#define REARM 4096

static void
vm_interrupt(mrb_state *mrb)
{
    struct wk *w = current_wk(mrb);
    if (!w || !atomic_load(&w->terminate))
        return;
    if (w->rearm > 0) {
        w->rearm--;
        return;
    }
    if (!mrb->jmp || !w->rt || w->rt->exiting)
        return;
    w->rearm = REARM;
    struct RClass *c = mrb_class_get_under(mrb, mrb_class_get(mrb, "Worker"), "Terminated");
    mrb_exc_raise(mrb, mrb_exc_new_lit(mrb, c, "the Worker was terminated"));
}

static void
stop_terminated(struct rt *rt)
{
    rt->exit_code = 1;
    rt->exiting = true;
    uv_stop(&rt->loop);
}

static void
on_child_async(uv_async_t *h)
{
    struct wk *w = h->data;
    struct rt *rt = w->rt;
    if (atomic_load(&w->terminate)) {
        stop_terminated(rt);
        return;
    }
    if (!w->listening)
        return; /* messages wait for a :message listener, as on Node's parentPort */
    mrb_state *mrb = rt->mrb;
    mrb_value mod = mrb_obj_value(mrb_class_get(mrb, "Worker"));
    deliver(rt, wq_take(w, &w->to_child), mod, mrb_intern_lit(mrb, "__on_message"));
}

/* rt->on_uncaught: the exception becomes the parent's :error event. */
static mrb_value
describe_body(mrb_state *mrb, void *ud)
{
    mrb_value exc = *(mrb_value *)ud;
    mrb_value h = mrb_hash_new(mrb);
    mrb_value msg = mrb_funcall(mrb, exc, "message", 0);
    mrb_value bt = mrb_funcall(mrb, exc, "backtrace", 0);
    mrb_hash_set(mrb, h, mrb_str_new_lit(mrb, "class"),
                 mrb_str_new_cstr(mrb, mrb_obj_classname(mrb, exc)));
    mrb_hash_set(mrb, h, mrb_str_new_lit(mrb, "message"),
                 mrb_string_p(msg) ? msg : mrb_str_new_lit(mrb, ""));
    mrb_hash_set(mrb, h, mrb_str_new_lit(mrb, "backtrace"),
                 mrb_array_p(bt) ? bt : mrb_ary_new(mrb));
    return h;
}

static void
on_uncaught(struct rt *rt, mrb_value exc)
{
    struct wk *w = rt->worker;
    mrb_state *mrb = rt->mrb;
    struct RClass *term = mrb_class_get_under(mrb, mrb_class_get(mrb, "Worker"), "Terminated");
    if (mrb_obj_is_kind_of(mrb, exc, term))
        return; /* terminate: :exit 1 with no :error, as Node */
    int ai = mrb_gc_arena_save(mrb);
    mrb_bool failed = FALSE;
    mrb_value h = mrb_protect_error(mrb, describe_body, &exc, &failed);
    struct copy_buf buf = {0};
    struct mp_err err;
    if (failed || copy_encode(mrb, h, "error", &buf, &err) != COPY_OK) {
        copy_buf_free(&buf);
        if (!copy_encode_error(&buf, mrb_obj_classname(mrb, exc),
                               "(the Worker's exception could not be described)"))
            buf.len = 0;
    }
    mrb->exc = NULL;
    mrb_gc_arena_restore(mrb, ai);
    pthread_mutex_lock(&w->mu);
    if (!w->has_error && buf.len) {
        w->error = buf;
        w->has_error = true;
    } else {
        copy_buf_free(&buf);
    }
    pthread_mutex_unlock(&w->mu);
}

/* The safe point of a Worker's loop: the profiler follows this thread (joins a session that
 * started meanwhile, names its frames), idle while its loop polls. */
static void
child_safe_point(struct rt *rt, void *data)
{
    struct wk *w = data;
    if (w->parent_hooks.vm_task_begin)
        w->parent_hooks.vm_task_begin(rt->mrb, w->name, &rt->loop_state);
}

static void
tell_parent_exit(struct wk *w, int code)
{
    pthread_mutex_lock(&w->mu);
    w->exit_code = code;
    w->exited = true;
    uv_async_send(&w->parent_async);
    pthread_mutex_unlock(&w->mu);
}

static void *
worker_main(void *arg)
{
    struct wk *w = arg;
    /* Process signals are the main thread's (as for Deferred workers); only the profiler's
     * timer signal, aimed at this thread, is let through. */
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct rt_hooks hooks = w->parent_hooks;
    hooks.data = w;
    hooks.safe_point = child_safe_point;
    struct rt *rt = rt_new_worker(w, &hooks);
    if (!rt) {
        tell_parent_exit(w, 1);
        return NULL;
    }
    rt->on_uncaught = on_uncaught;
    w->rt = rt;
    mrb_state *mrb = rt->mrb;
    uv_async_init(&rt->loop, &w->child_async_h, on_child_async);
    w->child_async_h.data = w;
    uv_unref((uv_handle_t *)&w->child_async_h); /* until a :message listener (worker.rb) */
    pthread_mutex_lock(&w->mu);
    w->child_async = &w->child_async_h;
    uv_async_send(&w->child_async_h); /* messages posted before now, or a terminate */
    pthread_mutex_unlock(&w->mu);

    child_safe_point(rt, w); /* profiled from the first line */
    if (!atomic_load(&w->terminate)) {
        int ai = mrb_gc_arena_save(mrb);
        mrb_value args[2] = {mrb_str_new_cstr(mrb, w->path),
                             copy_decode(mrb, w->data.data, w->data.len)};
        rt_call(rt, mrb_obj_value(mrb_class_get(mrb, "Worker")), mrb_intern_lit(mrb, "__main"), 2,
                args);
        mrb_gc_arena_restore(mrb, ai);
        rt->main_done = 1;
        rt_run_loop(rt);
        rt_finish(rt);
    } else {
        rt->exit_code = 1;
    }
    if (atomic_load(&w->terminate) && rt->exit_code == 0)
        rt->exit_code = 1; /* terminated while its loop was ending */
    int code = rt->exit_code;

    pthread_mutex_lock(&w->mu);
    w->child_async = NULL;
    w->child_gone = true;
    pthread_mutex_unlock(&w->mu);
    if (hooks.vm_close)
        hooks.vm_close(mrb); /* the profiler lets go of this VM before it closes */
    w->rt = NULL;            /* no more interrupts (vm_interrupt) */
    rt_free(rt);             /* closes child_async_h with the loop's other handles */
    tell_parent_exit(w, code);
    return NULL;
}

/* --- the parent's side ----------------------------------------------------------------------- */

static void
live_remove(struct wk *w)
{
    for (struct wk **p = &live_list; *p; p = &(*p)->next_live)
        if (*p == w) {
            *p = w->next_live;
            return;
        }
}

static void
on_parent_close(uv_handle_t *h)
{
    wk_unref(h->data);
}

static void
join(struct wk *w)
{
    if (w->started && !w->joined) {
        pthread_join(w->thread, NULL);
        w->joined = true;
        if (atomic_load(&w->terminate))
            atomic_fetch_sub(&prof_vm_interrupts, 1);
    }
}

/* Asks the Worker's thread to stop (idempotent). */
static void
request_terminate(struct wk *w)
{
    if (atomic_exchange(&w->terminate, 1))
        return;
    atomic_fetch_add(&prof_vm_interrupts, 1);
    pthread_mutex_lock(&w->mu);
    if (w->child_async)
        uv_async_send(w->child_async);
    pthread_mutex_unlock(&w->mu);
}

static void
on_parent_async(uv_async_t *h)
{
    struct wk *w = h->data;
    struct rt *rt = w->parent;
    mrb_state *mrb = rt->mrb;
    mrb_value self = w->self;
    deliver(rt, wq_take(w, &w->to_parent), self, mrb_intern_lit(mrb, "__on_message"));
    pthread_mutex_lock(&w->mu);
    bool exited = w->exited;
    pthread_mutex_unlock(&w->mu);
    if (!exited)
        return; /* an error is told with the exit, after the last messages */
    join(w);
    /* The thread has ended: what it left is ours now. */
    bool has_error = w->has_error;
    struct copy_buf error = w->error;
    w->has_error = false;
    memset(&w->error, 0, sizeof w->error);
    /* Messages posted between the drain above and the exit. */
    deliver(rt, wq_take(w, &w->to_parent), self, mrb_intern_lit(mrb, "__on_message"));
    int ai = mrb_gc_arena_save(mrb);
    if (has_error) {
        mrb_value e = copy_decode(mrb, error.data, error.len);
        rt_call(rt, self, mrb_intern_lit(mrb, "__on_error"), 1, &e);
    }
    copy_buf_free(&error);
    mrb_value code = mrb_fixnum_value(w->exit_code);
    live_remove(w);
    w->async_open = false;
    uv_close((uv_handle_t *)&w->parent_async, on_parent_close);
    rt_call(rt, self, mrb_intern_lit(mrb, "__on_exit"), 1, &code);
    rt_unroot(rt, self);
    mrb_gc_arena_restore(mrb, ai);
}

static struct wk *
get_wk(mrb_state *mrb, mrb_value self)
{
    struct wk *w = DATA_GET_PTR(mrb, self, &wk_type, struct wk);
    if (!w)
        mrb_raise(mrb, E_RUNTIME_ERROR, "uninitialized Worker");
    return w;
}

/* Worker#__start(path, data): path absolute (worker.rb resolved it). */
static mrb_value
wk_start(mrb_state *mrb, mrb_value self)
{
    struct rt *rt = rt_from_mrb(mrb);
    if (!rt)
        mrb_raise(mrb, E_RUNTIME_ERROR,
                  "Worker needs an event loop (a Deferred block cannot start one)");
    char *path;
    mrb_value data;
    mrb_get_args(mrb, "zo", &path, &data);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_RUNTIME_ERROR, "the Worker is already started");
    struct wmsg *d = encode_msg(mrb, data, "data"); /* raises before anything is allocated */
    struct wk *w = calloc(1, sizeof *w);
    char *p = strdup(path);
    if (!w || !p) {
        free(w);
        free(p);
        copy_buf_free(&d->buf);
        free(d);
        mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
    }
    w->data = d->buf;
    free(d);
    w->path = p;
    pthread_mutex_init(&w->mu, NULL);
    wq_init(&w->to_child);
    wq_init(&w->to_parent);
    w->id = atomic_fetch_add(&worker_ids, 1) + 1;
    snprintf(w->name, sizeof w->name, "Worker %d", w->id);
    w->parent_hooks = rt->hooks;
    if (rt->worker) /* a Worker's Worker: the observer's own hooks, not the Worker's */
        w->parent_hooks = ((struct wk *)rt->worker)->parent_hooks;
    w->parent = rt;
    w->self = self;
    w->refs = 1; /* the Ruby object */
    DATA_TYPE(self) = &wk_type;
    DATA_PTR(self) = w;
    int err = uv_async_init(&rt->loop, &w->parent_async, on_parent_async);
    if (err)
        rt_raise_uv(mrb, err, "uv_async_init");
    w->parent_async.data = w;
    w->async_open = true;
    w->refs++;
    err = pthread_create(&w->thread, NULL, worker_main, w);
    if (err) {
        w->async_open = false;
        uv_close((uv_handle_t *)&w->parent_async, on_parent_close);
        rt_raise_uv(mrb, -err, "pthread_create");
    }
    w->started = true;
    w->next_live = live_list;
    live_list = w;
    rt_root(rt, self);
    return mrb_fixnum_value(w->id);
}

/* Worker#post_message(obj) */
static mrb_value
wk_post(mrb_state *mrb, mrb_value self)
{
    struct wk *w = get_wk(mrb, self);
    mrb_value v = mrb_get_arg1(mrb);
    struct wmsg *m = encode_msg(mrb, v, "message");
    pthread_mutex_lock(&w->mu);
    if (w->child_gone || atomic_load(&w->terminate)) {
        pthread_mutex_unlock(&w->mu);
        copy_buf_free(&m->buf);
        free(m);
        return mrb_false_value(); /* as Node: a message to a Worker that ended is dropped */
    }
    wq_push(&w->to_child, m);
    if (w->child_async)
        uv_async_send(w->child_async);
    pthread_mutex_unlock(&w->mu);
    return mrb_true_value();
}

/* Worker#__terminate */
static mrb_value
wk_terminate(mrb_state *mrb, mrb_value self)
{
    struct wk *w = get_wk(mrb, self);
    if (w->started && !w->joined)
        request_terminate(w);
    return self;
}

/* Worker#__ref(bool): whether this Worker keeps the parent's loop alive. */
static mrb_value
wk_ref(mrb_state *mrb, mrb_value self)
{
    struct wk *w = get_wk(mrb, self);
    mrb_bool on;
    mrb_get_args(mrb, "b", &on);
    if (w->async_open) {
        if (on)
            uv_ref((uv_handle_t *)&w->parent_async);
        else
            uv_unref((uv_handle_t *)&w->parent_async);
    }
    return self;
}

/* Worker.__post(obj): from inside a Worker to its parent. */
static mrb_value
wk_s_post(mrb_state *mrb, mrb_value self)
{
    struct wk *w = current_wk(mrb);
    mrb_value v = mrb_get_arg1(mrb);
    if (!w)
        mrb_raise(mrb, E_RUNTIME_ERROR,
                  "Worker.post_message is for the code of a Worker (this is the main thread: call "
                  "post_message on a Worker object)");
    struct wmsg *m = encode_msg(mrb, v, "message");
    pthread_mutex_lock(&w->mu);
    wq_push(&w->to_parent, m);
    uv_async_send(&w->parent_async);
    pthread_mutex_unlock(&w->mu);
    return mrb_true_value();
}

/* Worker.__listen(bool): a :message listener keeps the Worker's loop alive. */
static mrb_value
wk_s_listen(mrb_state *mrb, mrb_value self)
{
    struct wk *w = current_wk(mrb);
    mrb_bool on;
    mrb_get_args(mrb, "b", &on);
    if (!w)
        mrb_raise(mrb, E_RUNTIME_ERROR,
                  "Worker.on(:message) is for the code of a Worker (this is the main thread: "
                  "call on(:message) on a Worker object)");
    if (on && !w->listening) {
        uv_ref((uv_handle_t *)&w->child_async_h);
        uv_async_send(&w->child_async_h); /* the messages that waited for a listener */
    } else if (!on && w->listening) {
        uv_unref((uv_handle_t *)&w->child_async_h);
    }
    w->listening = on;
    return mrb_nil_value();
}

/* Worker.main? */
static mrb_value
wk_s_main_p(mrb_state *mrb, mrb_value self)
{
    return mrb_bool_value(current_wk(mrb) == NULL);
}

/* Worker.thread_id: 0 on the main thread, else the Worker's number (Node's threadId). */
static mrb_value
wk_s_thread_id(mrb_state *mrb, mrb_value self)
{
    struct wk *w = current_wk(mrb);
    return mrb_fixnum_value(w ? w->id : 0);
}

/* Process.__signal_start in a Worker: signals are the process's, handled on the main thread. */
static mrb_value
worker_no_signals(mrb_state *mrb, mrb_value self)
{
    mrb_raise(mrb, E_NOTIMP_ERROR,
              "Process.on(signal) is for the main thread: signals go to the process, whose main "
              "thread handles them (post_message to the Worker from there)");
    return mrb_nil_value();
}

static void
worker_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    if (!rt->worker) /* the main runtime's, before any Worker's thread starts */
        prof_vm_interrupt_hook = vm_interrupt;
    struct RClass *c = mrb_define_class(mrb, "Worker", mrb->object_class);
    MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
    struct RClass *err = mrb_define_class_under(mrb, c, "Error", mrb->eStandardError_class);
    (void)err;
    mrb_define_class_under(mrb, c, "Terminated", mrb_class_get(mrb, "Exception"));
    mrb_define_method(mrb, c, "__start", wk_start, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, c, "post_message", wk_post, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, c, "__terminate", wk_terminate, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "__ref", wk_ref, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "__post", wk_s_post, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "__listen", wk_s_listen, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "main?", wk_s_main_p, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, c, "thread_id", wk_s_thread_id, MRB_ARGS_NONE());
    if (rt->worker) {
        struct RClass *p = mrb_module_get(mrb, "Process");
        mrb_define_module_function(mrb, p, "__signal_start", worker_no_signals, MRB_ARGS_ANY());
        mrb_define_module_function(mrb, p, "__signal_stop", worker_no_signals, MRB_ARGS_ANY());
    }
    (void)error_class;
}

/* Before the loop's handles close (exit() or an uncaught error while Workers run): terminate
 * each Worker still running and wait for its thread. */
static void
worker_stop(struct rt *rt)
{
    for (struct wk *w = live_list; w; w = w->next_live)
        request_terminate(w);
    while (live_list) {
        struct wk *w = live_list;
        live_list = w->next_live;
        join(w);
        if (w->async_open) {
            w->async_open = false;
            uv_close((uv_handle_t *)&w->parent_async, on_parent_close);
        }
        rt_unroot(rt, w->self);
    }
}

const struct rt_module rt_module_worker = {
    .name = "worker",
    .init = worker_init,
    .stop = worker_stop,
};
