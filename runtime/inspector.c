/*
 * inspector.c — `mrun --inspect`: the Chrome DevTools Protocol (CDP) for DevTools and CDP clients.
 *
 * Two threads, two loops, as the live agent (profiler/sampler/live.c):
 *   - the inspector's thread runs its own libuv loop (all signals blocked): it listens on TCP,
 *     answers HTTP (/json/version, /json/list, /json) with net/http_parser.c, upgrades
 *     ws://HOST:PORT/<uuid> to a WebSocket (net/ws.c), parses each command with formats/json.c
 *     and answers every one it can alone (enable/disable, setSamplingInterval, what DevTools
 *     sends on connect, unknown methods);
 *   - commands that need the VM (Runtime.evaluate, Profiler.start/stop, HeapProfiler's sampling)
 *     become jobs on a queue; a uv_async on the main loop (unreferenced: it keeps no script
 *     alive) runs them at the loop's next turn, the VM's safe point, and hands the answers back
 *     through the inspector loop's own uv_async. The main VM never waits for a client.
 * A job not answered within its timeout (Runtime.evaluate's `timeout` parameter, else 10 s) gets
 * an error answer from the inspector's thread; an evaluation still running then is interrupted
 * at its next allocation or method call (the runtime's VM interrupt, as Worker#terminate), and
 * its late result is dropped. What the main VM writes with puts/print/p and warn goes to the
 * clients that enabled Runtime as Runtime.consoleAPICalled (a bounded queue: when clients do not
 * keep up, messages are dropped and counted, the script is not slowed).
 *
 * Safety, as Node's inspector: the Host header must be an IP literal or localhost (DNS
 * rebinding), the WebSocket path is a random UUID (getrandom), the address is loopback unless
 * --inspect-public is given (with a warning). Bounds: 32 connections, a message of 16 MiB from a
 * client (close 1009 beyond, refused at the frame header), 64 MiB queued to a client that does
 * not read (then it is dropped).
 */
#include "runtime/inspector.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>

#include <mruby.h>
#include <mruby/class.h>
#include <mruby/compile.h>
#include <mruby/error.h>
#include <mruby/string.h>
#include <mruby/variable.h>
#include <uv.h>

#include "formats/formats.h"
#include "formats/json.h"
#include "net/http_parser.h"
#include "net/ws.h"
#include "profiler/base/version.h"
#include "profiler/sampler/sampler.h"
#include "runtime/profiling.h"

#define INSP_MAX_CLIENTS 32
#define INSP_WRITE_LIMIT (64u << 20)  /* bytes queued to one client before it is dropped */
#define INSP_CONSOLE_LIMIT (1u << 20) /* console text waiting for the inspector's thread */
#define INSP_JOB_TIMEOUT_MS 10000     /* a job the main VM has not answered by then: an error */
#define INSP_TICK_MS 50
#define INSP_HTTP_IDLE_MS 10000 /* an HTTP connection that never finishes its request */

enum job_kind {
    J_EVAL,
    J_PROF_START,
    J_PROF_STOP,
    J_HEAP_START,
    J_HEAP_STOP,
    J_HEAP_GET,
    J_GC,
};

/* A command for the main VM. Made by the inspector's thread, run and answered by the main one,
 * sent (or dropped) by the inspector's thread: one owner at a time, handed over under mu. */
struct job {
    struct job *next;
    uint64_t seq;    /* the waiter's key */
    uint64_t client; /* 0: nobody waits for the answer */
    uint64_t wsess;  /* the NodeWorker session it came from (0: the main target's) */
    uint64_t user;   /* J_PROF_*: the profiler's user (rt_prof_cdp_start) */
    int64_t tid;     /* J_PROF_STOP: the thread profiled (0: the main VM's) */
    int64_t id;      /* the command's id */
    enum job_kind kind;
    char *expr;        /* J_EVAL */
    bool by_value;     /* J_EVAL: returnByValue */
    unsigned hz;       /* J_PROF_START */
    uint64_t interval; /* J_HEAP_START */
    char *reply;       /* the whole answer, a JSON text */
    size_t reply_len;
};

/* The inspector's thread's record of a job it waits for (its timeout). */
struct waiter {
    uint64_t seq, client, wsess, deadline_ms;
    int64_t id;
    bool eval;
};

/* A NodeWorker session: one client's view of one Deferred or Worker thread (a target of its
 * own in DevTools), its CDP messages carried by NodeWorker.sendMessageToWorker and
 * receivedMessageFromWorker. */
struct wsess {
    struct wsess *next;
    uint64_t id;        /* sessionId, unique in the process */
    uint64_t worker_id; /* workerId: the thread's entry in the registry */
    int64_t tid;
    char name[32];
    bool runtime_enabled, prof_on;
    unsigned hz;
};

struct client {
    uv_tcp_t tcp;
    struct insp *in;
    struct client *next;
    uint64_t id;
    uint64_t since_ms;
    struct hp_parser hp;
    struct ws_parser ws;
    bool ws_mode, closing, runtime_enabled, close_after_write, got_head;
    bool prof_on;    /* its Profiler.start was sent and not stopped */
    bool nw_enabled; /* NodeWorker.enable: it is told of the threads */
    unsigned hz;     /* Profiler.setSamplingInterval */
    struct wsess *sessions;
    struct wsess *cur; /* the NodeWorker session whose command is being dispatched (NULL: none) */
    size_t queued;
    char rbuf[65536];
};

struct console_msg {
    struct console_msg *next;
    const char *type;
    double ts;
    size_t len;
    char text[];
};

struct insp {
    struct rt *rt;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wake;
    uv_timer_t tick, deadline;
    uv_tcp_t server;
    char host[64]; /* as bound, for URLs when a request has no Host header */
    int port;
    char uuid[37];
    char title[512], url[1100];
    FILE *log; /* MRUN_INSPECT_LOG: the methods received, one per line */
    struct client *clients;
    int nclients;
    uint64_t next_client, next_seq;
    struct waiter *waiters;
    size_t nwaiters, capwaiters;
    uint64_t heap_owner; /* the client whose HeapProfiler runs (stopped when it leaves) */
    uint64_t next_wsess;

    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cond;
    struct job *pending, **pending_tail; /* for the main VM */
    struct job *done, **done_tail;       /* answers for the inspector's thread */
    struct console_msg *console, **console_tail;
    size_t console_bytes;
    uint64_t console_dropped;
    bool finishing, waiting, run_now;

    atomic_int ws_clients;              /* WebSocket clients attached (the console hook reads it) */
    atomic_uint_fast64_t running;       /* the seq of the evaluation the main VM runs, 0: none */
    atomic_uint_fast64_t interrupt_seq; /* an evaluation to interrupt (timed out) */
};

/* Read by every VM's thread in vm_interrupt (a Worker's too), hence atomic. */
static _Atomic(struct insp *) g_insp;
static mrb_state *g_main_mrb;   /* set before any other thread runs, never cleared */
static uv_async_t g_main_async; /* on the main loop; static: closed by rt_free's walk */
static void (*g_prev_vm_interrupt)(mrb_state *mrb);

/*
 * The threads beside the main VM (Deferred workers, Workers, their own Deferred workers): the
 * NodeWorker domain's targets. A thread enters when it first runs Ruby under the runtime's hooks
 * (rt_hooks.vm_task_begin: a Deferred task, a Worker's loop turn) and leaves when it closes its VM
 * (vm_close); the inspector wraps both hooks before the script runs, so every pool and Worker
 * copies the wrappers. The registry is the process's and never freed: an abandoned pool may
 * outlive the runtime. Threads that start or end while the inspector runs are queued as events
 * for its thread.
 */
struct insp_thread {
    struct insp_thread *next;
    uint64_t id;
    int64_t tid;
    char name[32];
    const volatile sig_atomic_t *idle;
    /* Set when a CDP profile starts while the thread runs Ruby (busy): it joins the sampler at
     * its next method call or allocation (prof_vm_interrupt_hook), though it is in the middle of
     * a long task. A thread that waits (for a task, in its loop's poll) is not asked: it joins at
     * its next task or loop turn anyway, and a join it never took would cost every VM's method
     * calls a function call until the profile stops. */
    atomic_int join_wanted;
    atomic_int busy; /* between a task's begin and end, or outside a Worker loop's poll */
};

struct thread_event {
    struct thread_event *next;
    bool attached;
    uint64_t id;
    int64_t tid;
    char name[32];
};

static pthread_mutex_t g_threads_mu = PTHREAD_MUTEX_INITIALIZER;
static struct insp_thread *g_threads;                                 /* under g_threads_mu */
static uint64_t g_thread_ids;                                         /* under g_threads_mu */
static struct thread_event *g_tevents, **g_tevents_tail = &g_tevents; /* under g_threads_mu */
static uv_async_t *g_tnotify; /* under g_threads_mu: the inspector's wake-up while it runs */
static __thread struct insp_thread *tls_thread;
static void (*g_prev_task_begin)(mrb_state *mrb, const char *name,
                                 const volatile sig_atomic_t *idle);
static void (*g_prev_vm_close)(mrb_state *mrb);
static void (*g_prev_task_end)(mrb_state *mrb, const char *label, uint64_t start_ns,
                               uint64_t end_ns);
static void (*g_prev_wait_begin)(struct rt *rt, void *data);
static void (*g_prev_wait_end)(struct rt *rt, void *data);

/* The calling thread no longer runs Ruby: a join it was asked for is withdrawn (it joins at its
 * next task or loop turn). */
static void
thread_idle(struct insp_thread *t)
{
    atomic_store(&t->busy, 0);
    if (atomic_exchange(&t->join_wanted, 0))
        atomic_fetch_sub(&prof_vm_interrupts, 1);
}

/* Under g_threads_mu. */
static void
thread_event(const struct insp_thread *t, bool attached)
{
    if (!g_tnotify)
        return;
    struct thread_event *e = calloc(1, sizeof *e);
    if (!e)
        return; /* that client does not hear of the thread */
    e->attached = attached;
    e->id = t->id;
    e->tid = t->tid;
    memcpy(e->name, t->name, sizeof e->name);
    *g_tevents_tail = e;
    g_tevents_tail = &e->next;
    uv_async_send(g_tnotify);
}

static void
insp_task_begin(mrb_state *mrb, const char *name, const volatile sig_atomic_t *idle)
{
    if (!tls_thread && (tls_thread = calloc(1, sizeof *tls_thread))) {
        struct insp_thread *t = tls_thread;
        t->tid = (int64_t)syscall(SYS_gettid);
        snprintf(t->name, sizeof t->name, "%s", name);
        t->idle = idle;
        atomic_store(&t->busy, 1);
        pthread_mutex_lock(&g_threads_mu);
        t->id = ++g_thread_ids;
        t->next = g_threads;
        g_threads = t;
        thread_event(t, true);
        pthread_mutex_unlock(&g_threads_mu);
    } else if (tls_thread)
        atomic_store(&tls_thread->busy, 1);
    if (g_prev_task_begin)
        g_prev_task_begin(mrb, name, idle);
}

static void
insp_task_end(mrb_state *mrb, const char *label, uint64_t start_ns, uint64_t end_ns)
{
    if (g_prev_task_end)
        g_prev_task_end(mrb, label, start_ns, end_ns);
    if (tls_thread)
        thread_idle(tls_thread);
}

/* Around a loop's poll (the main one's too: it has no registry entry). */
static void
insp_wait_begin(struct rt *rt, void *data)
{
    if (tls_thread)
        thread_idle(tls_thread);
    if (g_prev_wait_begin)
        g_prev_wait_begin(rt, data);
}

static void
insp_wait_end(struct rt *rt, void *data)
{
    if (g_prev_wait_end)
        g_prev_wait_end(rt, data);
    if (tls_thread)
        atomic_store(&tls_thread->busy, 1);
}

static void
insp_vm_close(mrb_state *mrb)
{
    if (g_prev_vm_close)
        g_prev_vm_close(mrb);
    struct insp_thread *t = tls_thread;
    if (!t)
        return;
    tls_thread = NULL;
    pthread_mutex_lock(&g_threads_mu);
    for (struct insp_thread **p = &g_threads; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    thread_event(t, false);
    pthread_mutex_unlock(&g_threads_mu);
    if (atomic_exchange(&t->join_wanted, 0))
        atomic_fetch_sub(&prof_vm_interrupts, 1);
    free(t);
}

/* A CDP profile started the sampler: every thread joins it now, not at its next task. */
static void
want_joins(void)
{
    pthread_mutex_lock(&g_threads_mu);
    for (struct insp_thread *t = g_threads; t; t = t->next)
        if (atomic_load(&t->busy) && !atomic_exchange(&t->join_wanted, 1))
            atomic_fetch_add(&prof_vm_interrupts, 1);
    pthread_mutex_unlock(&g_threads_mu);
}

/* The sampler stopped: joins not taken (a thread waiting for work) are withdrawn. */
static void
clear_joins(void)
{
    pthread_mutex_lock(&g_threads_mu);
    for (struct insp_thread *t = g_threads; t; t = t->next)
        if (atomic_exchange(&t->join_wanted, 0))
            atomic_fetch_sub(&prof_vm_interrupts, 1);
    pthread_mutex_unlock(&g_threads_mu);
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double
epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --- JSON output ---------------------------------------------------------------------------- */

/* A JSON string of s[0..len): escaped, and each byte that is not part of well-formed UTF-8
 * written as U+FFFD, so that a text frame is always valid UTF-8 whatever Ruby printed. */
static void
put_jstr(FILE *out, const char *s, size_t len)
{
    putc('"', out);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            if (n > 1 && i + n <= len && ws_utf8_valid(s + i, n)) {
                fwrite(s + i, 1, n, out);
                i += n;
            } else {
                fputs("\\ufffd", out);
                i++;
            }
            continue;
        }
        switch (c) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\u%04x", c);
            else
                putc(c, out);
        }
        i++;
    }
    putc('"', out);
}

static void
put_cstr(FILE *out, const char *s)
{
    put_jstr(out, s, strlen(s));
}

/* A memstream for one message. */
struct msg {
    char *buf;
    size_t len;
    FILE *f;
};

static bool
msg_open(struct msg *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    return m->f != NULL;
}

/* Closes the stream; returns the text (NULL when out of memory), which the caller frees. */
static char *
msg_close(struct msg *m, size_t *len)
{
    if (fclose(m->f) != 0) {
        free(m->buf);
        return NULL;
    }
    *len = m->len;
    return m->buf;
}

/* {"id":N,"error":{"code":C,"message":M}} */
static char *
error_reply(int64_t id, int code, const char *message, size_t *len)
{
    struct msg m;
    if (!msg_open(&m))
        return NULL;
    fprintf(m.f, "{\"id\":%lld,\"error\":{\"code\":%d,\"message\":", (long long)id, code);
    put_cstr(m.f, message);
    fputs("}}", m.f);
    return msg_close(&m, len);
}

/* --- the main VM's side: jobs ---------------------------------------------------------------- */

struct eval_body {
    struct mrb_parser_state *p;
    mrbc_context *cxt;
};

static mrb_value
eval_body(mrb_state *mrb, void *data)
{
    struct eval_body *b = data;
    return mrb_load_exec(mrb, b->p, b->cxt); /* frees p */
}

static mrb_value
inspect_body(mrb_state *mrb, void *data)
{
    return mrb_inspect(mrb, *(mrb_value *)data);
}

static mrb_value
to_json_body(mrb_state *mrb, void *data)
{
    struct RClass *json = mrb_module_get(mrb, "JSON");
    return mrb_funcall(mrb, mrb_obj_value(json), "generate", 1, *(mrb_value *)data);
}

/* v.inspect, or a note when inspect itself raised. */
static void
put_inspect(mrb_state *mrb, FILE *out, mrb_value v)
{
    mrb_bool failed = FALSE;
    mrb_value s = mrb_protect_error(mrb, inspect_body, &v, &failed);
    if (failed || !mrb_string_p(s)) {
        mrb->exc = NULL;
        put_cstr(out, "#<object whose inspect raised>");
        return;
    }
    size_t n = (size_t)RSTRING_LEN(s);
    put_jstr(out, RSTRING_PTR(s), n > 100000 ? 100000 : n);
}

/* A Ruby value as a CDP RemoteObject. */
static void
put_remote_object(mrb_state *mrb, FILE *out, mrb_value v, bool by_value)
{
    if (mrb_nil_p(v)) {
        fputs("{\"type\":\"object\",\"subtype\":\"null\",\"value\":null,\"description\":\"nil\"}",
              out);
    } else if (mrb_true_p(v) || mrb_false_p(v)) {
        fprintf(out, "{\"type\":\"boolean\",\"value\":%s,\"description\":\"%s\"}",
                mrb_true_p(v) ? "true" : "false", mrb_true_p(v) ? "true" : "false");
    } else if (mrb_integer_p(v)) {
        fprintf(out, "{\"type\":\"number\",\"value\":%lld,\"description\":\"%lld\"}",
                (long long)mrb_integer(v), (long long)mrb_integer(v));
    } else if (mrb_float_p(v)) {
        double d = mrb_float(v);
        if (isnan(d) || isinf(d)) {
            const char *u = isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
            fprintf(out,
                    "{\"type\":\"number\",\"unserializableValue\":\"%s\",\"description\":\"%s\"}",
                    u, u);
        } else {
            fprintf(out, "{\"type\":\"number\",\"value\":%.17g,\"description\":\"%.17g\"}", d, d);
        }
    } else if (mrb_string_p(v)) {
        fputs("{\"type\":\"string\",\"value\":", out);
        put_jstr(out, RSTRING_PTR(v), (size_t)RSTRING_LEN(v));
        putc('}', out);
    } else if (mrb_symbol_p(v)) {
        fputs("{\"type\":\"symbol\",\"description\":", out);
        put_inspect(mrb, out, v);
        putc('}', out);
    } else {
        const char *cname = mrb_obj_classname(mrb, v);
        fputs("{\"type\":\"object\"", out);
        if (mrb_array_p(v))
            fputs(",\"subtype\":\"array\"", out);
        else if (mrb_exception_p(v))
            fputs(",\"subtype\":\"error\"", out);
        fputs(",\"className\":", out);
        put_cstr(out, cname ? cname : "Object");
        fputs(",\"description\":", out);
        put_inspect(mrb, out, v);
        if (by_value) { /* returnByValue: the value as JSON, when JSON.generate takes it */
            mrb_bool failed = FALSE;
            mrb_value j = mrb_protect_error(mrb, to_json_body, &v, &failed);
            if (!failed && mrb_string_p(j)) {
                fputs(",\"value\":", out);
                fwrite(RSTRING_PTR(j), 1, (size_t)RSTRING_LEN(j), out);
            }
            mrb->exc = NULL;
        }
        putc('}', out);
    }
}

static mrb_value
message_body(mrb_state *mrb, void *data)
{
    return mrb_funcall(mrb, *(mrb_value *)data, "message", 0);
}

/* An exception as a RemoteObject of subtype error, described "Class: message" as V8 describes
 * "Error: message" (a message method that raises is not called twice). */
static void
put_error_object(mrb_state *mrb, FILE *out, mrb_value exc)
{
    const char *cname = mrb_obj_classname(mrb, exc);
    fputs("{\"type\":\"object\",\"subtype\":\"error\",\"className\":", out);
    put_cstr(out, cname);
    fputs(",\"description\":", out);
    mrb_bool failed = FALSE;
    mrb_value m = mrb_protect_error(mrb, message_body, &exc, &failed);
    mrb->exc = NULL;
    struct msg d;
    if (msg_open(&d)) {
        fprintf(d.f, "%s: ", cname);
        if (!failed && mrb_string_p(m))
            fwrite(RSTRING_PTR(m), 1, (size_t)RSTRING_LEN(m), d.f);
        size_t n;
        char *txt = msg_close(&d, &n);
        put_jstr(out, txt ? txt : "", txt ? n : 0);
        free(txt);
    } else {
        put_cstr(out, cname);
    }
    putc('}', out);
}

/* exceptionDetails for exception exc (or a syntax error's text, exc nil). */
static void
put_exception_details(mrb_state *mrb, FILE *out, mrb_value exc, const char *syntax)
{
    int line = 0;
    if (!mrb_nil_p(exc)) {
        mrb_value l = mrb_iv_get(mrb, exc, mrb_intern_lit(mrb, "line"));
        if (mrb_integer_p(l) && mrb_integer(l) > 0)
            line = (int)mrb_integer(l) - 1;
    }
    fprintf(out, "{\"exceptionId\":1,\"text\":\"Uncaught\",\"lineNumber\":%d,\"columnNumber\":0,",
            line);
    fputs("\"exception\":", out);
    if (syntax) {
        fputs("{\"type\":\"object\",\"subtype\":\"error\",\"className\":\"SyntaxError\","
              "\"description\":",
              out);
        put_cstr(out, syntax);
        putc('}', out);
    } else {
        put_error_object(mrb, out, exc);
    }
    putc('}', out);
}

static void
run_eval(struct insp *in, struct job *j, FILE *out)
{
    struct rt *rt = in->rt;
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrbc_context *cxt = mrbc_context_new(mrb);
    mrbc_filename(mrb, cxt, "(inspector)");
    cxt->capture_errors = TRUE;
    struct mrb_parser_state *p = mrb_parse_string(mrb, j->expr, cxt);
    fprintf(out, "{\"id\":%lld,\"result\":{\"result\":", (long long)j->id);
    if (!p || p->nerr > 0) {
        char text[4800];
        if (p)
            rt_parse_error_text(p, "(inspector)", text, sizeof text);
        else
            snprintf(text, sizeof text, "out of memory while parsing");
        if (p)
            mrb_parser_free(p);
        mrbc_context_free(mrb, cxt);
        fputs("{\"type\":\"object\",\"subtype\":\"error\",\"className\":\"SyntaxError\","
              "\"description\":",
              out);
        put_cstr(out, text);
        fputs("},\"exceptionDetails\":", out);
        put_exception_details(mrb, out, mrb_nil_value(), text);
        fputs("}}", out);
        mrb_gc_arena_restore(mrb, ai);
        return;
    }
    rt_rewrite_defined(mrb, p, j->expr, strlen(j->expr));
    struct eval_body b = {p, cxt};
    mrb_bool failed = FALSE;
    atomic_store(&in->running, j->seq);
    mrb_value v = mrb_protect_error(mrb, eval_body, &b, &failed);
    atomic_store(&in->running, 0);
    mrbc_context_free(mrb, cxt);
    mrb_value exc = mrb_nil_value();
    if (failed)
        exc = v;
    else if (mrb->exc)
        exc = mrb_obj_value(mrb->exc);
    mrb->exc = NULL;
    if (!mrb_nil_p(exc)) {
        put_error_object(mrb, out, exc);
        fputs(",\"exceptionDetails\":", out);
        put_exception_details(mrb, out, exc, NULL);
        /* exit in the console ends the program, as it would in the script */
        if (mrb_obj_is_kind_of(mrb, exc, mrb_class_get(mrb, "SystemExit")))
            rt_uncaught(rt, exc);
    } else {
        put_remote_object(mrb, out, v, j->by_value);
    }
    fputs("}}", out);
    mrb_gc_arena_restore(mrb, ai);
}

static void
run_job(struct insp *in, struct job *j)
{
    struct msg m;
    if (!msg_open(&m))
        return;
    char err[256] = "";
    char *json = NULL;
    size_t jlen = 0;
    switch (j->kind) {
    case J_EVAL:
        run_eval(in, j, m.f);
        break;
    case J_PROF_START: {
        bool started;
        if (rt_prof_cdp_start(in->rt, j->user, j->hz, &started, err, sizeof err) == 0)
            fprintf(m.f, "{\"id\":%lld,\"result\":{}}", (long long)j->id);
        if (started)
            want_joins();
        break;
    }
    case J_HEAP_START:
        if (rt_prof_cdp_heap_start(in->rt, j->interval, err, sizeof err) == 0)
            fprintf(m.f, "{\"id\":%lld,\"result\":{}}", (long long)j->id);
        break;
    case J_PROF_STOP:
    case J_HEAP_STOP:
    case J_HEAP_GET:
        json =
            j->kind == J_PROF_STOP
                ? rt_prof_cdp_stop(in->rt, j->user, j->tid, &jlen, err, sizeof err)
                : rt_prof_cdp_heap_profile(in->rt, j->kind == J_HEAP_STOP, &jlen, err, sizeof err);
        if (j->kind == J_PROF_STOP && !rt_prof_cdp_running(false))
            clear_joins();
        if (json) {
            fprintf(m.f, "{\"id\":%lld,\"result\":{\"profile\":", (long long)j->id);
            fwrite(json, 1, jlen, m.f);
            fputs("}}", m.f);
            free(json);
        }
        break;
    case J_GC:
        mrb_full_gc(in->rt->mrb);
        fprintf(m.f, "{\"id\":%lld,\"result\":{}}", (long long)j->id);
        break;
    }
    if (err[0]) { /* V8 answers its domains' refusals with the server error code */
        fclose(m.f);
        free(m.buf);
        j->reply = error_reply(j->id, -32000, err, &j->reply_len);
        return;
    }
    j->reply = msg_close(&m, &j->reply_len);
}

static void
free_job(struct job *j)
{
    free(j->expr);
    free(j->reply);
    free(j);
}

/* Runs the jobs waiting for the main VM and hands their answers back. */
static void
run_pending(struct insp *in)
{
    pthread_mutex_lock(&in->mu);
    struct job *list = in->pending;
    in->pending = NULL;
    in->pending_tail = &in->pending;
    pthread_mutex_unlock(&in->mu);
    while (list) {
        struct job *j = list;
        list = j->next;
        j->next = NULL;
        run_job(in, j);
        pthread_mutex_lock(&in->mu);
        *in->done_tail = j;
        in->done_tail = &j->next;
        pthread_mutex_unlock(&in->mu);
        uv_async_send(&in->wake);
    }
}

static void
on_main_async(uv_async_t *a)
{
    struct insp *in = a->data;
    if (in)
        run_pending(in);
}

/* prof_vm_interrupt_hook: an evaluation that timed out raises at its next allocation or method
 * call, once; anything else goes to the hook that was there before (Worker#terminate's). */
static void
vm_interrupt(mrb_state *mrb)
{
    struct insp_thread *t = tls_thread;
    if (t && atomic_exchange(&t->join_wanted, 0)) {
        atomic_fetch_sub(&prof_vm_interrupts, 1);
        if (g_prev_task_begin) /* the profiler's: prof_follow joins the running session */
            g_prev_task_begin(mrb, t->name, t->idle);
    }
    struct insp *in = mrb == g_main_mrb ? atomic_load(&g_insp) : NULL;
    uint64_t seq;
    if (in && (seq = atomic_load(&in->interrupt_seq)) != 0 && mrb->jmp &&
        atomic_load(&in->running) == seq) {
        atomic_store(&in->interrupt_seq, 0);
        atomic_fetch_sub(&prof_vm_interrupts, 1);
        mrb_raise(mrb, E_RUNTIME_ERROR,
                  "Runtime.evaluate timed out: the inspector interrupted this code");
    }
    if (g_prev_vm_interrupt)
        g_prev_vm_interrupt(mrb);
}

/* The console hook (rt.h), on the main VM's thread. */
static void
console_hook(struct rt *rt, const char *type, const char *s, size_t len)
{
    struct insp *in = atomic_load_explicit(&g_insp, memory_order_relaxed);
    if (!in || atomic_load_explicit(&in->ws_clients, memory_order_relaxed) == 0)
        return;
    if (len > 0 && s[len - 1] == '\n')
        len--; /* console.log's text has no line end */
    pthread_mutex_lock(&in->mu);
    if (in->console_bytes + len > INSP_CONSOLE_LIMIT) {
        in->console_dropped++;
        pthread_mutex_unlock(&in->mu);
        return;
    }
    struct console_msg *c = malloc(sizeof *c + len + 1);
    if (!c) {
        in->console_dropped++;
        pthread_mutex_unlock(&in->mu);
        return;
    }
    c->next = NULL;
    c->type = type;
    c->ts = epoch_ms();
    c->len = len;
    memcpy(c->text, s, len);
    c->text[len] = '\0';
    *in->console_tail = c;
    in->console_tail = &c->next;
    in->console_bytes += len;
    pthread_mutex_unlock(&in->mu);
    uv_async_send(&in->wake);
}

/* --- the inspector's thread: sending ---------------------------------------------------------- */

struct wreq {
    uv_write_t req;
    struct client *c;
    size_t len;
    bool close_after;
    char data[];
};

static void close_client(struct client *c);

static void
on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct client *c = w->c;
    c->queued -= w->len;
    bool close_after = w->close_after;
    free(w);
    if (status < 0 || close_after)
        close_client(c);
}

/* Queues bytes (a header, then a payload) to c. */
static void
send_raw(struct client *c, const void *head, size_t hlen, const void *body, size_t blen,
         bool close_after)
{
    if (c->closing)
        return;
    if (c->queued + hlen + blen > INSP_WRITE_LIMIT) { /* a client that does not read */
        close_client(c);
        return;
    }
    struct wreq *w = malloc(sizeof *w + hlen + blen);
    if (!w) {
        close_client(c);
        return;
    }
    memcpy(w->data, head, hlen);
    if (blen)
        memcpy(w->data + hlen, body, blen);
    w->c = c;
    w->len = hlen + blen;
    w->close_after = close_after;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
    c->queued += w->len;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        c->queued -= w->len;
        free(w);
        close_client(c);
    }
}

static void
send_frame(struct client *c, enum ws_opcode op, const char *data, size_t len, bool close_after)
{
    uint8_t h[10];
    size_t hl = ws_frame_header(h, op, len);
    send_raw(c, h, hl, data, len, close_after);
}

static void
send_text(struct client *c, const char *data, size_t len)
{
    send_frame(c, WS_OP_TEXT, data, len, false);
}

/* Sends the text message m (msg_open'd) to c and frees it. */
static void
send_msg(struct client *c, struct msg *m)
{
    size_t n;
    char *t = msg_close(m, &n);
    if (t)
        send_text(c, t, n);
    free(t);
}

/* A close frame with code and reason, then the connection closes (a client that misbehaved is
 * not waited for). */
static void
send_close(struct client *c, int code, const char *reason)
{
    char p[125];
    size_t n = ws_close_payload(p, code, reason);
    uv_read_stop((uv_stream_t *)&c->tcp);
    send_frame(c, WS_OP_CLOSE, p, n, true);
}

static struct client *
find_client(struct insp *in, uint64_t id)
{
    for (struct client *c = in->clients; c; c = c->next)
        if (c->id == id && !c->closing)
            return c;
    return NULL;
}

static struct wsess *
find_session(struct client *c, uint64_t id)
{
    for (struct wsess *ws = c->sessions; ws; ws = ws->next)
        if (ws->id == id)
            return ws;
    return NULL;
}

/* A message of NodeWorker session ws, as NodeWorker.receivedMessageFromWorker. */
static void
send_wrapped(struct client *c, const struct wsess *ws, const char *data, size_t len)
{
    struct msg m;
    if (!msg_open(&m))
        return;
    fprintf(m.f,
            "{\"method\":\"NodeWorker.receivedMessageFromWorker\",\"params\":{\"sessionId\":"
            "\"%llu\",\"message\":",
            (unsigned long long)ws->id);
    put_jstr(m.f, data, len);
    fprintf(m.f, ",\"workerId\":\"%llu\"}}", (unsigned long long)ws->worker_id);
    send_msg(c, &m);
}

/* To the session whose command is being dispatched: c's own, or a NodeWorker session's. */
static void
send_out(struct client *c, const char *data, size_t len)
{
    if (c->cur)
        send_wrapped(c, c->cur, data, len);
    else
        send_text(c, data, len);
}

/* An answer for session wsess of client (0: the client's own); dropped when either is gone. */
static void
send_reply(struct insp *in, uint64_t client, uint64_t wsess, const char *data, size_t len)
{
    struct client *c = find_client(in, client);
    if (!c || !c->ws_mode)
        return;
    if (!wsess) {
        send_text(c, data, len);
        return;
    }
    struct wsess *ws = find_session(c, wsess);
    if (ws)
        send_wrapped(c, ws, data, len);
}

static void
send_error(struct client *c, int64_t id, int code, const char *message)
{
    size_t n;
    char *r = error_reply(id, code, message, &n);
    if (r)
        send_out(c, r, n);
    free(r);
}

static void
send_error_to(struct insp *in, uint64_t client, uint64_t wsess, int64_t id, int code,
              const char *message)
{
    size_t n;
    char *r = error_reply(id, code, message, &n);
    if (r)
        send_reply(in, client, wsess, r, n);
    free(r);
}

/* --- the inspector's thread: jobs and their timeouts ------------------------------------------ */

static void
push_job(struct insp *in, struct job *j, uint64_t timeout_ms)
{
    j->seq = ++in->next_seq;
    if (j->client) {
        if (in->nwaiters == in->capwaiters) {
            size_t cap = in->capwaiters ? in->capwaiters * 2 : 16;
            struct waiter *w = realloc(in->waiters, cap * sizeof *w);
            if (!w) {
                send_error_to(in, j->client, j->wsess, j->id, -32000, "out of memory");
                free_job(j);
                return;
            }
            in->waiters = w;
            in->capwaiters = cap;
        }
        in->waiters[in->nwaiters++] = (struct waiter){
            j->seq, j->client, j->wsess, now_ms() + timeout_ms, j->id, j->kind == J_EVAL};
    }
    pthread_mutex_lock(&in->mu);
    *in->pending_tail = j;
    in->pending_tail = &j->next;
    pthread_cond_broadcast(&in->cond); /* --inspect-wait's main thread serves jobs too */
    pthread_mutex_unlock(&in->mu);
    uv_async_send(&g_main_async);
}

/* Removes the waiter of seq; false when there was none (it timed out and was answered). */
static bool
take_waiter(struct insp *in, uint64_t seq)
{
    for (size_t i = 0; i < in->nwaiters; i++)
        if (in->waiters[i].seq == seq) {
            in->waiters[i] = in->waiters[--in->nwaiters];
            return true;
        }
    return false;
}

static void
on_tick(uv_timer_t *t)
{
    struct insp *in = t->data;
    uint64_t now = now_ms();
    for (size_t i = 0; i < in->nwaiters;) {
        struct waiter w = in->waiters[i];
        if (now < w.deadline_ms) {
            i++;
            continue;
        }
        in->waiters[i] = in->waiters[--in->nwaiters];
        bool running = atomic_load(&in->running) == w.seq;
        if (w.eval && running && atomic_load(&in->interrupt_seq) == 0) {
            atomic_store(&in->interrupt_seq, w.seq);
            atomic_fetch_add(&prof_vm_interrupts, 1);
        }
        send_error_to(in, w.client, w.wsess, w.id, -32000,
                      running ? "Runtime.evaluate timed out: the code is still running in the "
                                "main VM; it is interrupted at its next method call or "
                                "allocation"
                              : "the main VM did not reach a safe point in time (a script that "
                                "does not return to the event loop)");
    }
    /* An interrupt the VM never took (the evaluation ended first) is withdrawn. */
    uint64_t seq = atomic_load(&in->interrupt_seq);
    if (seq && atomic_load(&in->running) != seq &&
        atomic_compare_exchange_strong(&in->interrupt_seq, &seq, 0))
        atomic_fetch_sub(&prof_vm_interrupts, 1);
    for (struct client *c = in->clients; c; c = c->next)
        if (!c->ws_mode && !c->closing && now - c->since_ms > INSP_HTTP_IDLE_MS)
            close_client(c);
}

static void
send_console(struct insp *in, const struct console_msg *m)
{
    struct msg s;
    if (!msg_open(&s))
        return;
    fputs("{\"method\":\"Runtime.consoleAPICalled\",\"params\":{\"type\":", s.f);
    put_cstr(s.f, m->type);
    fputs(",\"args\":[{\"type\":\"string\",\"value\":", s.f);
    put_jstr(s.f, m->text, m->len);
    fprintf(s.f,
            "}],\"executionContextId\":1,\"timestamp\":%.3f,\"stackTrace\":{\"callFrames\":[]}}}",
            m->ts);
    size_t n;
    char *txt = msg_close(&s, &n);
    if (!txt)
        return;
    for (struct client *c = in->clients; c; c = c->next)
        if (c->ws_mode && c->runtime_enabled && !c->closing)
            send_text(c, txt, n);
    free(txt);
}

static void close_all(uv_handle_t *h, void *arg);
static void thread_events(struct insp *in);

/* At exit, a client that does not take its close frame within a second is closed. */
static void
on_deadline(uv_timer_t *t)
{
    struct insp *in = t->data;
    for (struct client *c = in->clients; c; c = c->next)
        close_client(c);
    uv_close((uv_handle_t *)t, NULL);
}

static void
on_wake(uv_async_t *a)
{
    struct insp *in = a->data;
    pthread_mutex_lock(&in->mu);
    struct job *done = in->done;
    in->done = NULL;
    in->done_tail = &in->done;
    struct console_msg *cons = in->console;
    in->console = NULL;
    in->console_tail = &in->console;
    in->console_bytes = 0;
    bool finishing = in->finishing;
    pthread_mutex_unlock(&in->mu);
    while (done) {
        struct job *j = done;
        done = j->next;
        if (j->client && take_waiter(in, j->seq) && j->reply)
            send_reply(in, j->client, j->wsess, j->reply, j->reply_len);
        free_job(j);
    }
    while (cons) {
        struct console_msg *m = cons;
        cons = m->next;
        send_console(in, m);
        free(m);
    }
    if (!finishing)
        thread_events(in);
    if (finishing) {
        uv_close((uv_handle_t *)&in->tick, NULL);
        uv_close((uv_handle_t *)&in->wake, NULL);
        uv_close((uv_handle_t *)&in->server, NULL);
        for (struct client *c = in->clients; c; c = c->next)
            if (!c->closing) {
                if (c->ws_mode)
                    send_close(c, WS_CLOSE_GOING_AWAY, "the program ended");
                else
                    close_client(c);
            }
        uv_timer_start(&in->deadline, on_deadline, 1000, 0);
        uv_unref((uv_handle_t *)&in->deadline); /* ends early once every client is closed */
    }
}

/* --- the inspector's thread: CDP ---------------------------------------------------------------
 */

static void
reply_result(struct client *c, int64_t id, const char *result_json)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "{\"id\":%lld,\"result\":%s}", (long long)id, result_json);
    if (n > 0 && (size_t)n < sizeof buf)
        send_out(c, buf, (size_t)n);
}

/* Methods DevTools (and Node's own clients) send on connect that need nothing from us: an empty
 * result is the truthful answer (there is nothing to enable), and DevTools goes on. */
static const char *const harmless[] = {
    "Runtime.disable",
    "Runtime.releaseObjectGroup",
    "Runtime.releaseObject",
    "Runtime.setAsyncCallStackDepth",
    "Runtime.discardConsoleEntries",
    "Runtime.setCustomObjectFormatterEnabled",
    "Runtime.addBinding",
    "Runtime.setMaxCallStackSizeToCapture",
    "Debugger.disable",
    "Debugger.setPauseOnExceptions",
    "Debugger.setAsyncCallStackDepth",
    "Debugger.setBlackboxPatterns",
    "Debugger.setBreakpointsActive",
    "Debugger.setSkipAllPauses",
    "Profiler.enable",
    "Profiler.disable",
    "HeapProfiler.enable",
    "HeapProfiler.disable",
    "NodeRuntime.enable",
    "NodeRuntime.disable",
    "NodeRuntime.notifyWhenWaitingForDisconnect",
    "Target.setAutoAttach",
    "Target.setDiscoverTargets",
    "Log.enable",
    "Log.disable",
    "Network.enable",
    "Network.disable",
    "Network.setAttachDebugStack",
    "Network.setBlockedURLs",
    "Inspector.enable",
    NULL,
};

static bool
is_harmless(const char *method)
{
    for (const char *const *h = harmless; *h; h++)
        if (strcmp(*h, method) == 0)
            return true;
    return false;
}

/* MRUN_INSPECT_LOG: a method of a NodeWorker session is logged "worker:METHOD". */
static void
log_method(struct insp *in, bool worker, const char *method)
{
    if (in->log) {
        fprintf(in->log, "%s%s\n", worker ? "worker:" : "", method);
        fflush(in->log);
    }
}

static double
param_num(const struct json_val *params, const char *key, double dflt)
{
    return json_num(json_get(params, key), dflt);
}

static void
new_job(struct client *c, int64_t id, enum job_kind kind, struct job **out)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        send_error(c, id, -32000, "out of memory");
        *out = NULL;
        return;
    }
    j->client = c->id;
    j->wsess = c->cur ? c->cur->id : 0;
    j->id = id;
    j->kind = kind;
    *out = j;
}

/* What a NodeWorker session serves (the thread's own Profiler and what DevTools sends to any
 * target); the rest is the main VM's (Runtime.evaluate, HeapProfiler: the process's heap). */
static bool
worker_method(const char *method)
{
    static const char *const own[] = {
        "Runtime.enable",
        "Runtime.runIfWaitingForDebugger",
        "Runtime.getIsolateId",
        "Runtime.getHeapUsage",
        "Runtime.globalLexicalScopeNames",
        "Debugger.enable",
        "Profiler.setSamplingInterval",
        "Profiler.start",
        "Profiler.stop",
        NULL,
    };
    for (const char *const *m = own; *m; m++)
        if (strcmp(*m, method) == 0)
            return true;
    return is_harmless(method);
}

/* The profiler's user for session ws of c (rt_prof_cdp_start's key). */
static uint64_t
prof_user(const struct client *c, const struct wsess *ws)
{
    return ws ? (UINT64_C(1) << 63) | ws->id : c->id;
}

/* Stops the profile c's session ws (NULL: its own) left running: nobody would ever stop it. */
static void
stop_left_profile(struct client *c, struct wsess *ws)
{
    struct insp *in = c->in;
    bool *on = ws ? &ws->prof_on : &c->prof_on;
    if (!*on)
        return;
    *on = false;
    pthread_mutex_lock(&in->mu);
    bool finishing = in->finishing;
    pthread_mutex_unlock(&in->mu);
    struct job *j;
    if (finishing || !(j = calloc(1, sizeof *j)))
        return;
    j->kind = J_PROF_STOP;
    j->user = prof_user(c, ws);
    j->tid = ws ? ws->tid : 0;
    push_job(in, j, 0);
}

/* NodeWorker.attachedToWorker for thread id, unless c has a session for it already. */
static void
attach_session(struct client *c, uint64_t id, int64_t tid, const char *name)
{
    struct insp *in = c->in;
    for (struct wsess *ws = c->sessions; ws; ws = ws->next)
        if (ws->worker_id == id)
            return;
    struct wsess *ws = calloc(1, sizeof *ws);
    struct msg m;
    if (!ws || !msg_open(&m)) {
        free(ws);
        return;
    }
    ws->id = ++in->next_wsess;
    ws->worker_id = id;
    ws->tid = tid;
    ws->hz = 1000;
    snprintf(ws->name, sizeof ws->name, "%s", name);
    ws->next = c->sessions;
    c->sessions = ws;
    fprintf(m.f,
            "{\"method\":\"NodeWorker.attachedToWorker\",\"params\":{\"sessionId\":\"%llu\","
            "\"workerInfo\":{\"workerId\":\"%llu\",\"type\":\"worker\",\"title\":",
            (unsigned long long)ws->id, (unsigned long long)id);
    put_cstr(m.f, name);
    fputs(",\"url\":", m.f);
    put_cstr(m.f, in->url);
    fputs("},\"waitingForDebugger\":false}}", m.f);
    send_msg(c, &m);
}

/* Ends session ws of c (its profile stopped), with NodeWorker.detachedFromWorker if notify. */
static void
drop_session(struct client *c, struct wsess *ws, bool notify)
{
    stop_left_profile(c, ws);
    if (notify) {
        char t[160];
        int n = snprintf(t, sizeof t,
                         "{\"method\":\"NodeWorker.detachedFromWorker\",\"params\":{"
                         "\"sessionId\":\"%llu\"}}",
                         (unsigned long long)ws->id);
        send_text(c, t, (size_t)n);
    }
    for (struct wsess **p = &c->sessions; *p; p = &(*p)->next)
        if (*p == ws) {
            *p = ws->next;
            break;
        }
    if (c->cur == ws)
        c->cur = NULL;
    free(ws);
}

/* NodeWorker.enable: a session for each thread that runs now (later ones come as events). */
static void
attach_all(struct client *c)
{
    struct thread_event *list = NULL, **tail = &list;
    pthread_mutex_lock(&g_threads_mu);
    for (struct insp_thread *t = g_threads; t; t = t->next) {
        struct thread_event *e = calloc(1, sizeof *e);
        if (!e)
            break;
        e->id = t->id;
        e->tid = t->tid;
        memcpy(e->name, t->name, sizeof e->name);
        *tail = e;
        tail = &e->next;
    }
    pthread_mutex_unlock(&g_threads_mu);
    /* The registry is newest first: tell the oldest first, as they started. */
    struct thread_event *rev = NULL;
    while (list) {
        struct thread_event *e = list;
        list = e->next;
        e->next = rev;
        rev = e;
    }
    while (rev) {
        struct thread_event *e = rev;
        rev = e->next;
        attach_session(c, e->id, e->tid, e->name);
        free(e);
    }
}

/* Threads that started or ended: the clients that enabled NodeWorker hear of them. */
static void
thread_events(struct insp *in)
{
    pthread_mutex_lock(&g_threads_mu);
    struct thread_event *list = g_tevents;
    g_tevents = NULL;
    g_tevents_tail = &g_tevents;
    pthread_mutex_unlock(&g_threads_mu);
    while (list) {
        struct thread_event *e = list;
        list = e->next;
        for (struct client *c = in->clients; c; c = c->next) {
            if (!c->ws_mode || c->closing || !c->nw_enabled)
                continue;
            if (e->attached) {
                attach_session(c, e->id, e->tid, e->name);
                continue;
            }
            for (struct wsess *ws = c->sessions, *next; ws; ws = next) {
                next = ws->next;
                if (ws->worker_id == e->id)
                    drop_session(c, ws, true);
            }
        }
        free(e);
    }
}

/* A sessionId parameter ("12"): its session of c, or NULL after an error answer. */
static struct wsess *
session_param(struct client *c, int64_t id, const struct json_val *params)
{
    const struct json_val *sv = json_get(params, "sessionId");
    if (!json_is_str(sv)) {
        send_error(c, id, -32602, "Invalid parameters: sessionId: string value expected");
        return NULL;
    }
    char buf[32];
    char *end = NULL;
    unsigned long long n = 0;
    if (sv->len > 0 && sv->len < sizeof buf) {
        memcpy(buf, sv->str, sv->len);
        buf[sv->len] = '\0';
        if (buf[0] >= '0' && buf[0] <= '9')
            n = strtoull(buf, &end, 10);
    }
    struct wsess *ws = end && !*end ? find_session(c, n) : NULL;
    if (!ws)
        send_error(c, id, -32000, "No session with given id");
    return ws;
}

static void on_command(struct client *c, struct wsess *ws, char *text, size_t len);

static void
dispatch(struct client *c, int64_t id, const char *method, const struct json_val *params)
{
    struct insp *in = c->in;
    struct wsess *ws = c->cur;
    struct job *j = NULL;
    log_method(in, ws != NULL, method);
    if (ws && !worker_method(method)) {
        char msg[300];
        snprintf(msg, sizeof msg, "'%.250s' wasn't found", method);
        send_error(c, id, -32601, msg);
        return;
    }
    bool *prof_on = ws ? &ws->prof_on : &c->prof_on;
    unsigned *hz = ws ? &ws->hz : &c->hz;
    if (strcmp(method, "Runtime.enable") == 0) {
        struct msg m;
        if (msg_open(&m)) {
            char name[64], unique[80];
            if (ws) {
                snprintf(name, sizeof name, "%s", ws->name);
                snprintf(unique, sizeof unique, "%s-w%llu-1", in->uuid,
                         (unsigned long long)ws->worker_id);
            } else {
                snprintf(name, sizeof name, "mrun[%ld]", (long)getpid());
                snprintf(unique, sizeof unique, "%s-1", in->uuid);
            }
            fputs("{\"method\":\"Runtime.executionContextCreated\",\"params\":{\"context\":{"
                  "\"id\":1,\"origin\":\"\",\"name\":",
                  m.f);
            put_cstr(m.f, name);
            fprintf(m.f, ",\"uniqueId\":\"%s\",\"auxData\":{\"isDefault\":true}}}}", unique);
            size_t n;
            char *t = msg_close(&m, &n);
            if (t)
                send_out(c, t, n);
            free(t);
        }
        if (ws)
            ws->runtime_enabled = true;
        else
            c->runtime_enabled = true;
        reply_result(c, id, "{}");
    } else if (strcmp(method, "Runtime.runIfWaitingForDebugger") == 0) {
        if (!ws) { /* a thread never waits for a debugger (waitingForDebugger: false) */
            pthread_mutex_lock(&in->mu);
            in->run_now = true;
            pthread_cond_broadcast(&in->cond);
            pthread_mutex_unlock(&in->mu);
        }
        reply_result(c, id, "{}");
    } else if (strcmp(method, "Runtime.getIsolateId") == 0) {
        /* Each thread is an isolate of its own: DevTools' "JavaScript VM instance" list. */
        char r[128];
        if (ws)
            snprintf(r, sizeof r, "{\"id\":\"%s-w%llu\"}", in->uuid,
                     (unsigned long long)ws->worker_id);
        else
            snprintf(r, sizeof r, "{\"id\":\"%s\"}", in->uuid);
        reply_result(c, id, r);
    } else if (strcmp(method, "Runtime.getHeapUsage") == 0) {
        /* The VM's heap is the main thread's; the process's resident memory is what can be read
         * from here (DevTools shows it beside the target's name). */
        long pages = 0, resident = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (f) {
            if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
                pages = resident = 0;
            fclose(f);
        }
        char r[128];
        long psz = sysconf(_SC_PAGESIZE);
        snprintf(r, sizeof r, "{\"usedSize\":%ld,\"totalSize\":%ld}", resident * psz,
                 resident * psz);
        reply_result(c, id, r);
    } else if (strcmp(method, "Runtime.globalLexicalScopeNames") == 0) {
        reply_result(c, id, "{\"names\":[]}");
    } else if (strcmp(method, "Runtime.compileScript") == 0) {
        reply_result(c, id, "{}"); /* syntax is checked when it runs (Runtime.evaluate) */
    } else if (strcmp(method, "Debugger.enable") == 0) {
        char r[128];
        if (ws)
            snprintf(r, sizeof r, "{\"debuggerId\":\"%s-w%llu\"}", in->uuid,
                     (unsigned long long)ws->worker_id);
        else
            snprintf(r, sizeof r, "{\"debuggerId\":\"%s\"}", in->uuid);
        reply_result(c, id, r);
    } else if (strcmp(method, "Runtime.evaluate") == 0) {
        const struct json_val *e = json_get(params, "expression");
        if (!json_is_str(e)) {
            send_error(c, id, -32602, "Invalid parameters: expression: string value expected");
            return;
        }
        new_job(c, id, J_EVAL, &j);
        if (!j)
            return;
        if (!(j->expr = strndup(e->str, e->len))) {
            free_job(j);
            send_error(c, id, -32000, "out of memory");
            return;
        }
        const struct json_val *bv = json_get(params, "returnByValue");
        j->by_value = bv && bv->type == JSON_TRUE;
        double t = param_num(params, "timeout", INSP_JOB_TIMEOUT_MS);
        push_job(in, j, t >= 1 && t <= 3600000 ? (uint64_t)t : INSP_JOB_TIMEOUT_MS);
    } else if (strcmp(method, "Profiler.setSamplingInterval") == 0) {
        double us = param_num(params, "interval", -1);
        if (us <= 0) {
            send_error(c, id, -32602, "Invalid parameters: interval: positive integer expected");
            return;
        }
        if (*prof_on) {
            send_error(c, id, -32000, "Cannot change sampling interval when profiling.");
            return;
        }
        double f = 1e6 / us; /* the sampler's range: 1..10000 Hz (100 µs at the finest) */
        *hz = f > 10000 ? 10000 : f < 1 ? 1 : (unsigned)(f + 0.5);
        reply_result(c, id, "{}");
    } else if (strcmp(method, "Profiler.start") == 0) {
        new_job(c, id, J_PROF_START, &j);
        if (!j)
            return;
        j->hz = *hz;
        j->user = prof_user(c, ws);
        *prof_on = true;
        push_job(in, j, INSP_JOB_TIMEOUT_MS);
    } else if (strcmp(method, "Profiler.stop") == 0) {
        new_job(c, id, J_PROF_STOP, &j);
        if (!j)
            return;
        j->user = prof_user(c, ws);
        j->tid = ws ? ws->tid : 0;
        *prof_on = false;
        push_job(in, j, INSP_JOB_TIMEOUT_MS);
    } else if (strcmp(method, "HeapProfiler.startSampling") == 0) {
        new_job(c, id, J_HEAP_START, &j);
        if (!j)
            return;
        double iv = param_num(params, "samplingInterval", 32768); /* V8's default */
        j->interval = iv >= 1 && iv < 1e12 ? (uint64_t)iv : 32768;
        in->heap_owner = c->id;
        push_job(in, j, INSP_JOB_TIMEOUT_MS);
    } else if (strcmp(method, "HeapProfiler.stopSampling") == 0 ||
               strcmp(method, "HeapProfiler.getSamplingProfile") == 0) {
        new_job(c, id, method[13] == 's' ? J_HEAP_STOP : J_HEAP_GET, &j);
        if (j)
            push_job(in, j, INSP_JOB_TIMEOUT_MS);
    } else if (strcmp(method, "HeapProfiler.collectGarbage") == 0) {
        new_job(c, id, J_GC, &j);
        if (j)
            push_job(in, j, INSP_JOB_TIMEOUT_MS);
    } else if (!ws && strcmp(method, "NodeWorker.enable") == 0) {
        reply_result(c, id, "{}");
        c->nw_enabled = true;
        attach_all(c);
    } else if (!ws && strcmp(method, "NodeWorker.disable") == 0) {
        c->nw_enabled = false;
        while (c->sessions)
            drop_session(c, c->sessions, false);
        reply_result(c, id, "{}");
    } else if (!ws && strcmp(method, "NodeWorker.detach") == 0) {
        struct wsess *w = session_param(c, id, params);
        if (w) {
            drop_session(c, w, false);
            reply_result(c, id, "{}");
        }
    } else if (!ws && strcmp(method, "NodeWorker.sendMessageToWorker") == 0) {
        const struct json_val *mv = json_get(params, "message");
        if (!json_is_str(mv)) {
            send_error(c, id, -32602, "Invalid parameters: message: string value expected");
            return;
        }
        struct wsess *w = session_param(c, id, params);
        if (!w)
            return;
        char *inner = malloc(mv->len + 1); /* the parser works in its buffer */
        if (!inner) {
            send_error(c, id, -32000, "out of memory");
            return;
        }
        memcpy(inner, mv->str, mv->len);
        inner[mv->len] = '\0';
        reply_result(c, id, "{}"); /* as Node: the message is the worker's to answer */
        on_command(c, w, inner, mv->len);
        free(inner);
    } else if (is_harmless(method)) {
        reply_result(c, id, "{}");
    } else {
        char msg[300];
        snprintf(msg, sizeof msg, "'%.250s' wasn't found", method);
        send_error(c, id, -32601, msg);
    }
}

/* One text message from a client (ws NULL), or carried to NodeWorker session ws: a CDP command. */
static void
on_command(struct client *c, struct wsess *ws, char *text, size_t len)
{
    struct json_doc doc = {0};
    struct json_error err;
    struct json_opts o = {.flags = JSON_STRICT | JSON_EXACT_INTS, .max_depth = 64};
    struct wsess *outer = c->cur;
    c->cur = ws;
    if (json_parse_opts(text, len, &o, &doc, &err) != 0) {
        static const char bad[] =
            "{\"error\":{\"code\":-32700,\"message\":\"Message must be a valid JSON\"}}";
        send_out(c, bad, sizeof bad - 1);
        json_free(&doc);
        c->cur = outer;
        return;
    }
    const struct json_val *root = json_root(&doc);
    const struct json_val *idv = json_get(root, "id");
    const struct json_val *mv = json_get(root, "method");
    if (!json_is_obj(root) || !idv || idv->type != JSON_NUMBER || !(idv->flags & JSON_V_INT)) {
        static const char bad[] = "{\"error\":{\"code\":-32600,\"message\":\"Message must have "
                                  "integer 'id' property\"}}";
        send_out(c, bad, sizeof bad - 1);
    } else if (!json_is_str(mv)) {
        send_error(c, idv->i, -32600, "Message must have string 'method' property");
    } else {
        const struct json_val *params = json_get(root, "params");
        dispatch(c, idv->i, mv->str, json_is_obj(params) ? params : NULL);
    }
    json_free(&doc);
    c->cur = outer;
}

static int
ws_on_message(void *ud, enum ws_opcode op, const char *data, size_t len)
{
    struct client *c = ud;
    if (op != WS_OP_TEXT) {
        send_close(c, 1003, "CDP messages are text");
        return -1;
    }
    on_command(c, NULL, (char *)data, len);
    return c->closing ? -1 : 0;
}

static int
ws_on_ping(void *ud, const char *data, size_t len)
{
    send_frame(ud, WS_OP_PONG, data, len, false);
    return 0;
}

static int
ws_on_close(void *ud, int code, const char *reason, size_t len)
{
    struct client *c = ud;
    char p[125];
    size_t n = code == 1005 ? 0 : ws_close_payload(p, WS_CLOSE_NORMAL, "");
    uv_read_stop((uv_stream_t *)&c->tcp);
    send_frame(c, WS_OP_CLOSE, p, n, true); /* the close handshake's answer */
    return -1;
}

static const struct ws_callbacks ws_cb = {
    .on_message = ws_on_message,
    .on_ping = ws_on_ping,
    .on_close = ws_on_close,
};

/* --- the inspector's thread: HTTP --------------------------------------------------------------
 */

static bool
is_ip_literal(const char *h)
{
    unsigned char buf[16];
    if (h[0] == '[') {
        size_t n = strlen(h);
        if (n < 3 || h[n - 1] != ']' || n - 2 >= 64)
            return false;
        char v6[64];
        memcpy(v6, h + 1, n - 2);
        v6[n - 2] = '\0';
        return uv_inet_pton(AF_INET6, v6, buf) == 0;
    }
    return uv_inet_pton(AF_INET, h, buf) == 0;
}

/* Node's rule against DNS rebinding: the Host header (without its port) is an IP address or
 * localhost; an absent header is allowed (HTTP/1.0 clients). */
static bool
host_allowed(const char *host_port, size_t len, char *host, size_t cap)
{
    if (len >= cap)
        return false;
    memcpy(host, host_port, len);
    host[len] = '\0';
    char *colon = strrchr(host, ':');
    if (colon && (host[0] != '[' || colon > strchr(host, ']'))) {
        for (const char *d = colon + 1; *d; d++)
            if (*d < '0' || *d > '9')
                return false;
        *colon = '\0';
    }
    if (!host[0])
        return true;
    return is_ip_literal(host) || strcasecmp(host, "localhost") == 0;
}

static void
http_reply(struct client *c, int status, const char *reason, const char *ctype, const char *body)
{
    char head[512];
    size_t blen = strlen(body);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason, ctype, blen);
    uv_read_stop((uv_stream_t *)&c->tcp);
    send_raw(c, head, (size_t)n, body, blen, true);
}

static void
send_target_list(struct client *c, const char *host)
{
    struct insp *in = c->in;
    char addr[400];
    if (host[0])
        snprintf(addr, sizeof addr, "%s/%s", host, in->uuid);
    else
        snprintf(addr, sizeof addr, "%s%s%s:%d/%s", strchr(in->host, ':') ? "[" : "", in->host,
                 strchr(in->host, ':') ? "]" : "", in->port, in->uuid);
    struct msg m;
    if (!msg_open(&m))
        return;
    fputs("[ {\n  \"description\": \"mrun instance\",\n", m.f);
    fprintf(m.f,
            "  \"devtoolsFrontendUrl\": \"devtools://devtools/bundled/js_app.html?experiments=true"
            "&v8only=true&ws=%s\",\n",
            addr);
    fprintf(m.f,
            "  \"devtoolsFrontendUrlCompat\": \"devtools://devtools/bundled/inspector.html?"
            "experiments=true&v8only=true&ws=%s\",\n",
            addr);
    fputs("  \"faviconUrl\": \"https://nodejs.org/static/images/favicons/favicon.ico\",\n", m.f);
    fprintf(m.f, "  \"id\": \"%s\",\n  \"title\": ", in->uuid);
    put_cstr(m.f, in->title);
    fputs(",\n  \"type\": \"node\",\n  \"url\": ", m.f);
    put_cstr(m.f, in->url);
    fprintf(m.f, ",\n  \"webSocketDebuggerUrl\": \"ws://%s\"\n} ]\n", addr);
    size_t n;
    char *body = msg_close(&m, &n);
    if (body)
        http_reply(c, 200, "OK", "application/json; charset=UTF-8", body);
    free(body);
}

static int
on_http_head(void *ud, const struct hp_head *h)
{
    struct client *c = ud;
    struct insp *in = c->in;
    c->got_head = true;
    const char *host_v = "", *key = NULL, *upgrade = NULL, *version = NULL;
    size_t host_len = 0, key_len = 0, up_len = 0, ver_len = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct hp_header *x = &h->headers[i];
        if (hp_name_is(x, "host"))
            host_v = x->value, host_len = x->value_len;
        else if (hp_name_is(x, "sec-websocket-key"))
            key = x->value, key_len = x->value_len;
        else if (hp_name_is(x, "upgrade"))
            upgrade = x->value, up_len = x->value_len;
        else if (hp_name_is(x, "sec-websocket-version"))
            version = x->value, ver_len = x->value_len;
    }
    char host[300];
    if (!host_allowed(host_v, host_len, host, sizeof host)) {
        http_reply(c, 400, "Bad Request", "text/plain; charset=UTF-8",
                   "mrun --inspect: the Host header must be an IP address or localhost "
                   "(a protection against DNS rebinding)\n");
        return HP_PAUSE;
    }
    char target[256];
    size_t tl = h->target_len < sizeof target - 1 ? h->target_len : sizeof target - 1;
    memcpy(target, h->target, tl);
    target[tl] = '\0';
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    size_t plen = strlen(target);
    while (plen > 1 && target[plen - 1] == '/')
        target[--plen] = '\0';
    if (host_len && host_len < sizeof host)
        memcpy(host, host_v, host_len), host[host_len] = '\0';
    else
        host[0] = '\0';
    bool get = h->method_len == 3 && memcmp(h->method, "GET", 3) == 0;
    bool is_ws = upgrade && up_len == 9 && strncasecmp(upgrade, "websocket", 9) == 0;
    if (is_ws) {
        if (!get || target[0] != '/' || strcmp(target + 1, in->uuid) != 0) {
            http_reply(c, 400, "Bad Request", "text/plain; charset=UTF-8",
                       "mrun --inspect: no target at this path (see /json/list)\n");
            return HP_PAUSE;
        }
        if (!key || key_len < 16 || key_len > 64 || !version || ver_len != 2 ||
            memcmp(version, "13", 2) != 0) {
            http_reply(c, 400, "Bad Request", "text/plain; charset=UTF-8",
                       "mrun --inspect: a WebSocket upgrade needs Sec-WebSocket-Key and "
                       "Sec-WebSocket-Version: 13\n");
            return HP_PAUSE;
        }
        char accept[29];
        ws_accept_key(key, key_len, accept);
        char resp[256];
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                         accept);
        send_raw(c, resp, (size_t)n, NULL, 0, false);
        c->ws_mode = true;
        ws_init(&c->ws, 0);
        atomic_fetch_add(&in->ws_clients, 1);
        return HP_PAUSE;
    }
    if (!get) {
        http_reply(c, 405, "Method Not Allowed", "text/plain; charset=UTF-8",
                   "mrun --inspect: only GET\n");
    } else if (strcmp(target, "/json") == 0 || strcmp(target, "/json/list") == 0) {
        send_target_list(c, host);
    } else if (strcmp(target, "/json/version") == 0) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\n  \"Browser\": \"mrun/%s\",\n  \"Protocol-Version\": \"1.1\"\n}\n",
                 MRPROF_VERSION);
        http_reply(c, 200, "OK", "application/json; charset=UTF-8", body);
    } else if (strncmp(target, "/json/activate/", 15) == 0 && strcmp(target + 15, in->uuid) == 0) {
        http_reply(c, 200, "OK", "text/plain; charset=UTF-8", "Target activated");
    } else {
        http_reply(c, 404, "Not Found", "text/plain; charset=UTF-8",
                   "mrun --inspect: unknown path (/json/list, /json/version)\n");
    }
    return HP_PAUSE;
}

static const struct hp_callbacks http_cb = {.on_head = on_http_head};

/* --- the inspector's thread: connections ------------------------------------------------------ */

static void
on_client_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    struct insp *in = c->in;
    for (struct client **p = &in->clients; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    in->nclients--;
    while (c->sessions) {
        struct wsess *ws = c->sessions;
        c->sessions = ws->next;
        free(ws);
    }
    hp_free(&c->hp);
    if (c->ws_mode)
        ws_free(&c->ws);
    free(c);
}

static void
close_client(struct client *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct insp *in = c->in;
    if (c->ws_mode) {
        atomic_fetch_sub(&in->ws_clients, 1);
        /* What this client started and did not stop ends with it, as a DevTools session's does:
         * nobody else would ever stop it. */
        struct job *j;
        pthread_mutex_lock(&in->mu);
        bool finishing = in->finishing;
        pthread_mutex_unlock(&in->mu);
        stop_left_profile(c, NULL);
        for (struct wsess *ws = c->sessions; ws; ws = ws->next)
            stop_left_profile(c, ws);
        if (!finishing && in->heap_owner == c->id && (j = calloc(1, sizeof *j))) {
            j->kind = J_HEAP_STOP;
            push_job(in, j, 0);
        }
        if (in->heap_owner == c->id)
            in->heap_owner = 0;
    }
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct client *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void
feed_ws(struct client *c, const char *data, size_t len)
{
    size_t used = ws_feed(&c->ws, data, len, &ws_cb, c);
    (void)used;
    if (c->ws.close_code && !c->closing)
        send_close(c, c->ws.close_code, c->ws.error);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct client *c = s->data;
    if (n < 0) {
        close_client(c);
        return;
    }
    if (n == 0 || c->closing)
        return;
    if (c->ws_mode) {
        feed_ws(c, buf->base, (size_t)n);
        return;
    }
    size_t used = hp_feed(&c->hp, buf->base, (size_t)n, &http_cb, c);
    if (c->hp.error) {
        char body[200];
        snprintf(body, sizeof body, "mrun --inspect: %s\n", hp_error_message(&c->hp));
        int st = hp_status(&c->hp);
        http_reply(c, st ? st : 400, "Bad Request", "text/plain; charset=UTF-8", body);
        return;
    }
    if (c->ws_mode && !c->closing && used < (size_t)n) /* frames right after the upgrade */
        feed_ws(c, buf->base + used, (size_t)n - used);
}

static void
on_connection(uv_stream_t *server, int status)
{
    struct insp *in = server->data;
    if (status < 0)
        return;
    struct client *c = calloc(1, sizeof *c);
    if (!c || uv_tcp_init(&in->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->in = in;
    c->tcp.data = c;
    c->id = ++in->next_client;
    c->hz = 1000; /* V8's default interval, 1000 µs */
    c->since_ms = now_ms();
    struct hp_limits lim = {.max_line = 4096, .max_head = 16384, .max_headers = 64, .max_body = 0};
    hp_init(&c->hp, HP_REQUEST, &lim);
    c->next = in->clients;
    in->clients = c;
    in->nclients++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || in->nclients > INSP_MAX_CLIENTS) {
        close_client(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void
close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void
insp_main(void *arg)
{
    struct insp *in = arg;
    uv_run(&in->loop, UV_RUN_DEFAULT);
}

/* --- starting and stopping -------------------------------------------------------------------- */

/* Splits [HOST:]PORT (HOST alone, PORT alone, [v6]:PORT) into host and port. Returns 0 or -1 with
 * a message in err. */
static int
parse_addr(const char *spec, char *host, size_t cap, int *port, char *err, size_t errlen)
{
    snprintf(host, cap, "127.0.0.1");
    *port = 9229;
    if (!spec || !*spec)
        return 0;
    const char *p = NULL;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || (size_t)(end - spec - 1) >= cap || (end[1] && end[1] != ':')) {
            snprintf(err, errlen, "'%s' is not [HOST:]PORT", spec);
            return -1;
        }
        snprintf(host, cap, "%.*s", (int)(end - spec - 1), spec + 1);
        p = end[1] ? end + 2 : NULL;
    } else {
        const char *colon = strrchr(spec, ':');
        bool digits = spec[strspn(spec, "0123456789")] == '\0';
        if (colon && strchr(spec, ':') != colon) { /* a bare IPv6 address */
            snprintf(host, cap, "%s", spec);
        } else if (colon) {
            if ((size_t)(colon - spec) >= cap) {
                snprintf(err, errlen, "'%s': the host is too long", spec);
                return -1;
            }
            snprintf(host, cap, "%.*s", (int)(colon - spec), spec);
            p = colon + 1;
        } else if (digits) {
            p = spec;
        } else {
            snprintf(host, cap, "%s", spec);
        }
    }
    if (p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (!*p || *end || v < 0 || v > 65535) {
            snprintf(err, errlen, "the port must be 0..65535, not '%s'", p);
            return -1;
        }
        *port = (int)v;
    }
    if (strcasecmp(host, "localhost") == 0)
        snprintf(host, cap, "127.0.0.1");
    unsigned char buf[16];
    if (uv_inet_pton(AF_INET, host, buf) != 0 && uv_inet_pton(AF_INET6, host, buf) != 0) {
        snprintf(err, errlen, "'%s' is not an IP address (or localhost)", host);
        return -1;
    }
    return 0;
}

static bool
is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

int
rt_inspect_check(const struct rt_inspect_opts *o)
{
    char host[64], err[200];
    int port;
    if (parse_addr(o->addr, host, sizeof host, &port, err, sizeof err) != 0) {
        fprintf(stderr, "mrun: --inspect: %s\nTry 'mrun --help'.\n", err);
        return -1;
    }
    if (!is_loopback(host) && !o->public_ok) {
        fprintf(stderr,
                "mrun: --inspect: %s is not a loopback address: whoever reaches it can run any "
                "code in this process; add --inspect-public to allow it\nTry 'mrun --help'.\n",
                host);
        return -1;
    }
    return 0;
}

static int
make_uuid(char out[37])
{
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    r[6] = (r[6] & 0x0f) | 0x40; /* version 4 */
    r[8] = (r[8] & 0x3f) | 0x80; /* variant 1 */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
    return 0;
}

static void
free_insp(struct insp *in)
{
    pthread_mutex_lock(&in->mu);
    struct job *lists[2] = {in->pending, in->done};
    struct console_msg *cons = in->console;
    in->pending = in->done = NULL;
    in->console = NULL;
    pthread_mutex_unlock(&in->mu);
    for (int k = 0; k < 2; k++)
        while (lists[k]) {
            struct job *j = lists[k];
            lists[k] = j->next;
            free_job(j);
        }
    while (cons) {
        struct console_msg *m = cons;
        cons = m->next;
        free(m);
    }
    pthread_mutex_lock(&g_threads_mu);
    struct thread_event *ev = g_tevents;
    g_tevents = NULL;
    g_tevents_tail = &g_tevents;
    pthread_mutex_unlock(&g_threads_mu);
    while (ev) {
        struct thread_event *e = ev;
        ev = e->next;
        free(e);
    }
    if (in->log)
        fclose(in->log);
    free(in->waiters);
    uv_loop_close(&in->loop);
    pthread_mutex_destroy(&in->mu);
    pthread_cond_destroy(&in->cond);
    free(in);
}

int
rt_inspect_start(struct rt *rt, const struct rt_inspect_opts *o)
{
    char err[200];
    struct insp *in = calloc(1, sizeof *in);
    if (!in || uv_loop_init(&in->loop) != 0) {
        free(in);
        fprintf(stderr, "mrun: --inspect: out of memory\n");
        return -1;
    }
    in->rt = rt;
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->cond, NULL);
    in->pending_tail = &in->pending;
    in->done_tail = &in->done;
    in->console_tail = &in->console;
    parse_addr(o->addr, in->host, sizeof in->host, &in->port, err, sizeof err);
    if (make_uuid(in->uuid) != 0) {
        fprintf(stderr, "mrun: --inspect: no random bytes for the target's id: %s\n",
                strerror(errno));
        uv_loop_close(&in->loop);
        free(in);
        return -1;
    }
    /* The target's title and url, as Node's: the script's path. */
    const char *script = o->script ? o->script : "-e";
    char cwd[512];
    snprintf(in->title, sizeof in->title, "%s", script);
    if (script[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(in->url, sizeof in->url, "file://%s", script);
    else
        snprintf(in->url, sizeof in->url, "file://%s/%s", cwd, script);
    const char *logp = getenv("MRUN_INSPECT_LOG");
    if (logp && *logp && !(in->log = fopen(logp, "a")))
        fprintf(stderr, "mrun: --inspect: cannot open MRUN_INSPECT_LOG %s: %s\n", logp,
                strerror(errno));

    struct sockaddr_storage ss;
    int rc = strchr(in->host, ':') ? uv_ip6_addr(in->host, in->port, (struct sockaddr_in6 *)&ss)
                                   : uv_ip4_addr(in->host, in->port, (struct sockaddr_in *)&ss);
    if (!rc)
        rc = uv_tcp_init(&in->loop, &in->server);
    in->server.data = in;
    if (!rc)
        rc = uv_tcp_bind(&in->server, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&in->server, 64, on_connection);
    if (rc) {
        fprintf(stderr, "mrun: --inspect: cannot listen on %s port %d: %s\n", in->host, in->port,
                uv_strerror(rc));
        uv_walk(&in->loop, close_all, NULL);
        uv_run(&in->loop, UV_RUN_DEFAULT);
        free_insp(in);
        return -1;
    }
    int len = sizeof ss;
    uv_tcp_getsockname(&in->server, (struct sockaddr *)&ss, &len);
    in->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    uv_async_init(&in->loop, &in->wake, on_wake);
    in->wake.data = in;
    uv_timer_init(&in->loop, &in->tick);
    in->tick.data = in;
    uv_timer_init(&in->loop, &in->deadline);
    in->deadline.data = in;
    uv_timer_start(&in->tick, on_tick, INSP_TICK_MS, INSP_TICK_MS);
    if (uv_async_init(&rt->loop, &g_main_async, on_main_async) != 0) {
        fprintf(stderr, "mrun: --inspect: cannot make the main loop's wake-up\n");
        uv_walk(&in->loop, close_all, NULL);
        uv_run(&in->loop, UV_RUN_DEFAULT);
        free_insp(in);
        return -1;
    }
    g_main_async.data = in;
    uv_unref((uv_handle_t *)&g_main_async); /* the inspector keeps no script alive */
    g_main_mrb = rt->mrb;
    g_insp = in;
    g_prev_vm_interrupt = prof_vm_interrupt_hook;
    prof_vm_interrupt_hook = vm_interrupt;
    rt_console_hook = console_hook;

    /* The inspector takes no signal: SIGPROF is for the VM threads, Ctrl-C for the main one. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = uv_thread_create(&in->thread, insp_main, in);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        fprintf(stderr, "mrun: --inspect: cannot start its thread: %s\n", uv_strerror(rc));
        rt_console_hook = NULL;
        prof_vm_interrupt_hook = g_prev_vm_interrupt;
        g_insp = NULL;
        g_main_async.data = NULL;
        uv_close((uv_handle_t *)&g_main_async, NULL);
        uv_walk(&in->loop, close_all, NULL);
        uv_run(&in->loop, UV_RUN_DEFAULT);
        free_insp(in);
        return -1;
    }
    /* The threads beside the main VM become NodeWorker targets: every Deferred pool and Worker
     * started from now on copies these hooks. */
    g_prev_task_begin = rt->hooks.vm_task_begin;
    rt->hooks.vm_task_begin = insp_task_begin;
    g_prev_vm_close = rt->hooks.vm_close;
    rt->hooks.vm_close = insp_vm_close;
    g_prev_task_end = rt->hooks.vm_task_end;
    rt->hooks.vm_task_end = insp_task_end;
    g_prev_wait_begin = rt->hooks.wait_begin;
    rt->hooks.wait_begin = insp_wait_begin;
    g_prev_wait_end = rt->hooks.wait_end;
    rt->hooks.wait_end = insp_wait_end;
    pthread_mutex_lock(&g_threads_mu);
    g_tnotify = &in->wake;
    pthread_mutex_unlock(&g_threads_mu);
    bool v6 = strchr(in->host, ':') != NULL;
    fprintf(stderr,
            "mrun: Debugger listening on ws://%s%s%s:%d/%s\n"
            "mrun: open chrome://inspect in Chrome, or "
            "devtools://devtools/bundled/js_app.html?ws=%s%s%s:%d/%s\n",
            v6 ? "[" : "", in->host, v6 ? "]" : "", in->port, in->uuid, v6 ? "[" : "", in->host,
            v6 ? "]" : "", in->port, in->uuid);
    if (!is_loopback(in->host))
        fprintf(stderr,
                "mrun: warning: --inspect-public: the inspector listens on %s; whoever "
                "reaches it can run any code in this process\n",
                in->host);
    if (o->wait) {
        fprintf(stderr, "mrun: waiting for the debugger (Runtime.runIfWaitingForDebugger)\n");
        pthread_mutex_lock(&in->mu);
        in->waiting = true;
        while (!in->run_now) {
            if (in->pending) { /* commands sent before the run (Profiler.start) are served */
                pthread_mutex_unlock(&in->mu);
                run_pending(in);
                pthread_mutex_lock(&in->mu);
                continue;
            }
            pthread_cond_wait(&in->cond, &in->mu);
        }
        in->waiting = false;
        pthread_mutex_unlock(&in->mu);
    }
    return 0;
}

void
rt_inspect_finish(struct rt *rt)
{
    struct insp *in = atomic_load(&g_insp);
    if (!in)
        return;
    /* Commands that came after the loop's last turn are answered with an error: no Ruby runs
     * once the runtime has finished. */
    rt_console_hook = NULL;
    pthread_mutex_lock(&in->mu);
    struct job *late = in->pending;
    in->pending = NULL;
    in->pending_tail = &in->pending;
    while (late) {
        struct job *j = late;
        late = j->next;
        j->next = NULL;
        j->reply = error_reply(j->id, -32000, "the program has ended", &j->reply_len);
        *in->done_tail = j;
        in->done_tail = &j->next;
    }
    pthread_mutex_unlock(&in->mu);
    pthread_mutex_lock(&g_threads_mu); /* threads that end from now on tell nobody */
    g_tnotify = NULL;
    pthread_mutex_unlock(&g_threads_mu);
    pthread_mutex_lock(&in->mu);
    in->finishing = true;
    pthread_mutex_unlock(&in->mu);
    uv_async_send(&in->wake);
    uv_thread_join(&in->thread);
    /* prof_vm_interrupt_hook stays ours: threads still running Ruby (a Deferred task the exit
     * does not wait for) read it, and vm_interrupt passes through to the previous hook once
     * g_insp is NULL (it touches `in` only on the main VM, which is this thread). */
    if (atomic_exchange(&in->interrupt_seq, 0))
        atomic_fetch_sub(&prof_vm_interrupts, 1);
    g_insp = NULL;
    g_main_async.data = NULL;
    uv_close((uv_handle_t *)&g_main_async, NULL);
    uv_walk(&in->loop, close_all, NULL);
    uv_run(&in->loop, UV_RUN_DEFAULT);
    free_insp(in);
    (void)rt;
}
