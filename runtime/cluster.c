/*
 * cluster.c — the C half of Cluster: worker processes that run the same script, each joined
 * to the primary by an IPC channel, and the listening sockets they share.
 *
 * The Ruby half (runtime/prelude/cluster.rb) holds Node's API (Cluster.fork, the Worker
 * objects, their events, the listen protocol); this file gives it four things:
 *
 *   Cluster::Channel   a uv_pipe_t opened with ipc = 1 (the primary's end is made by uv_spawn,
 *                      the worker's is fd MRUN_CLUSTER_FD). Frames both ways: a 4-byte
 *                      little-endian length, a flags byte (1: a socket rides with this frame,
 *                      sent with uv_write2; 2: the script's message, else the protocol's),
 *                      then the payload: a value encoded by the copier (runtime/copy.c).
 *                      Calls __on_frame(bytes, fd_or_nil, message?), __on_eof, __on_close.
 *   Cluster::Worker    (primary) the worker's process, spawned from /proc/self/exe with this
 *                      process's own argv, and the environment plus MRUN_CLUSTER_WORKER=<id>,
 *                      MRUN_CLUSTER_FD=3, MRUN_CLUSTER_PPID=<our pid>, MRUN_CLUSTER_SCHED.
 *                      Calls __on_exit(status, signal_name) as ChildProcess does.
 *   Cluster::Listener  (primary) a bound TCP socket shared with the workers: listening, and
 *                      sent over their channels (policy :shared), or bound with SO_REUSEPORT and
 *                      not listening, to hold the port the workers bind beside it (:reuseport).
 *   Cluster.__bind_fd  (worker, :reuseport) a socket of its own on the primary's port.
 *
 * In a worker, the module's init reads and removes the MRUN_CLUSTER_* variables (a child the
 * script spawns is no cluster worker), asks the kernel for SIGKILL when the primary's thread
 * that forked it dies (PR_SET_PDEATHSIG; uv_spawn forks on the loop's thread, which lives as
 * long as the primary), and exits at once if the primary is already gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "net/net.h"
#include "runtime/copy.h"
#include "runtime/process.h"
#include "runtime/profiling.h"
#include "runtime/rt.h"

extern char **environ;

#define FRAME_HEAD 5
#define UVERR(e) (-(e))                /* libuv's codes on Unix are negative errnos */
#define FRAME_HANDLE 1                 /* a socket rides with this frame */
#define FRAME_MESSAGE 2                /* the script's message (else a protocol Array) */
#define FRAME_MAX (256u * 1024 * 1024) /* a larger length is a broken peer: the channel closes */

/* What this process is, read once at init from the environment. */
static struct {
    long id; /* 0: the primary (or no cluster at all) */
    int fd;  /* the channel's fd in a worker, else -1 */
    char sched[16];
} g_self = {0, -1, ""};

static struct {
    mrb_sym on_frame, on_eof, on_close, on_exit;
} sym;

/* --- the channel ---------------------------------------------------------------------------- */

struct channel {
    struct rt_owned base; /* first: the uv_pipe_t */
    bool rooted;
    uint8_t *buf; /* bytes read and not yet a whole frame */
    size_t len, cap;
};

struct frame_req {
    uv_write_t req;
    size_t len;
    uint8_t data[];
};

static void channel_free(mrb_state *mrb, void *p);
static const struct mrb_data_type channel_type = {"Cluster::Channel", channel_free};

static void
channel_free(mrb_state *mrb, void *p)
{
    rt_owned_dfree(mrb, p);
}

static struct channel *
open_channel(mrb_value self)
{
    if (mrb_type(self) != MRB_TT_DATA || DATA_TYPE(self) != &channel_type)
        return NULL;
    struct channel *c = DATA_PTR(self);
    if (!c || c->base.u.handle.type == UV_UNKNOWN_HANDLE || uv_is_closing(&c->base.u.handle))
        return NULL;
    return c;
}

static mrb_value
err_pair(mrb_state *mrb, int err)
{
    mrb_value v[2] = {mrb_str_new_cstr(mrb, uv_err_name(err)),
                      mrb_str_new_cstr(mrb, uv_strerror(err))};
    return mrb_ary_new_from_values(mrb, 2, v);
}

static void
channel_call(struct channel *c, mrb_sym m, mrb_int argc, const mrb_value *argv)
{
    if (!mrb_nil_p(c->base.self))
        rt_call(c->base.rt, c->base.self, m, argc, argv);
}

static void
on_channel_closed(struct rt_owned *o)
{
    struct channel *c = (struct channel *)o;
    struct rt *rt = o->rt;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    if (mrb_nil_p(o->self))
        return;
    mrb_value self = o->self;
    int ai = mrb_gc_arena_save(rt->mrb);
    mrb_gc_protect(rt->mrb, self);
    if (c->rooted) {
        c->rooted = false;
        rt_unroot(rt, self);
    }
    channel_call(c, sym.on_close, 0, NULL);
    mrb_gc_arena_restore(rt->mrb, ai);
}

/* Makes self's pipe (ipc = 1) on the runtime's loop. */
static struct channel *
channel_init(mrb_state *mrb, mrb_value self)
{
    struct rt *rt = rt_from_mrb(mrb);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_RUNTIME_ERROR, "the channel is already open");
    struct channel *c = rt_owned_new(rt, sizeof *c);
    int err = uv_pipe_init(&rt->loop, &c->base.u.pipe, 1);
    if (err) {
        free(c);
        rt_raise_uv(mrb, err, "uv_pipe_init");
    }
    rt_owned_adopt(&c->base);
    c->base.self = self;
    c->base.on_close = on_channel_closed;
    DATA_TYPE(self) = &channel_type;
    DATA_PTR(self) = c;
    rt_root(rt, self);
    c->rooted = true;
    return c;
}

/* The socket that came with a frame: accepted from the pipe into a handle of its type, then
 * its fd duplicated (close-on-exec) and the handle closed. Returns the fd, or -1. */
static int
take_pending_fd(struct channel *c)
{
    uv_pipe_t *pipe = &c->base.u.pipe;
    if (uv_pipe_pending_count(pipe) <= 0)
        return -1;
    uv_handle_type t = uv_pipe_pending_type(pipe);
    uv_handle_t *h = calloc(1, t == UV_TCP ? sizeof(uv_tcp_t) : sizeof(uv_pipe_t));
    if (!h)
        return -1;
    int err = t == UV_TCP ? uv_tcp_init(pipe->loop, (uv_tcp_t *)h)
                          : uv_pipe_init(pipe->loop, (uv_pipe_t *)h, 0);
    if (err) {
        free(h);
        return -1;
    }
    int fd = -1;
    uv_os_fd_t ofd;
    if (uv_accept((uv_stream_t *)pipe, (uv_stream_t *)h) == 0 && uv_fileno(h, &ofd) == 0)
        fd = fcntl(ofd, F_DUPFD_CLOEXEC, 3);
    uv_close(h, (uv_close_cb)free);
    return fd;
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct channel *c = (struct channel *)h;
    if (c->cap - c->len < 64 * 1024) {
        size_t cap = c->cap ? c->cap * 2 : 128 * 1024;
        while (cap - c->len < 64 * 1024)
            cap *= 2;
        uint8_t *nb = realloc(c->buf, cap);
        if (!nb) {
            buf->base = NULL;
            buf->len = 0;
            return;
        }
        c->buf = nb;
        c->cap = cap;
    }
    buf->base = (char *)c->buf + c->len;
    buf->len = c->cap - c->len;
}

static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct channel *c = (struct channel *)stream;
    struct rt *rt = c->base.rt;
    mrb_state *mrb = rt->mrb;
    if (nread < 0) {
        /* EOF, or an error (ECONNRESET when the peer died): either way the channel is over. */
        uv_read_stop(stream);
        int ai = mrb_gc_arena_save(mrb);
        channel_call(c, sym.on_eof, 0, NULL);
        mrb_gc_arena_restore(mrb, ai);
        return;
    }
    c->len += (size_t)nread;
    size_t off = 0;
    /* Each whole frame in turn; a callback may close the channel (then stop). */
    while (c->buf && c->len - off >= FRAME_HEAD && !uv_is_closing(&c->base.u.handle)) {
        const uint8_t *h = c->buf + off;
        uint32_t n =
            (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        if (n > FRAME_MAX) {
            uv_read_stop(stream);
            int ai = mrb_gc_arena_save(mrb);
            channel_call(c, sym.on_eof, 0, NULL);
            mrb_gc_arena_restore(mrb, ai);
            return;
        }
        if (c->len - off < FRAME_HEAD + (size_t)n)
            break;
        int ai = mrb_gc_arena_save(mrb);
        int fd = (h[4] & FRAME_HANDLE) ? take_pending_fd(c) : -1;
        mrb_value args[3] = {mrb_str_new(mrb, (const char *)h + FRAME_HEAD, n),
                             fd >= 0 ? mrb_fixnum_value(fd) : mrb_nil_value(),
                             mrb_bool_value(h[4] & FRAME_MESSAGE)};
        off += FRAME_HEAD + (size_t)n;
        channel_call(c, sym.on_frame, 3, args);
        mrb_gc_arena_restore(mrb, ai);
        if (rt->exiting)
            break;
    }
    if (c->buf && off) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
}

/* Channel#__open_fd(fd): the worker's end, inherited as fd. */
static mrb_value
channel_open_fd(mrb_state *mrb, mrb_value self)
{
    mrb_int fd;
    mrb_get_args(mrb, "i", &fd);
    struct channel *c = channel_init(mrb, self);
    int err = uv_pipe_open(&c->base.u.pipe, (uv_file)fd);
    if (err) {
        rt_owned_close(&c->base);
        rt_raise_uv(mrb, err, "uv_pipe_open");
    }
    return self;
}

/* Channel#__read_start */
static mrb_value
channel_read_start(mrb_state *mrb, mrb_value self)
{
    struct channel *c = open_channel(self);
    if (!c)
        mrb_raise(mrb, E_RUNTIME_ERROR, "the channel is closed");
    int err = uv_read_start((uv_stream_t *)&c->base.u.pipe, on_alloc, on_read);
    if (err && err != UV_EALREADY)
        rt_raise_uv(mrb, err, "uv_read_start");
    return self;
}

static void
on_frame_written(uv_write_t *req, int status)
{
    (void)status; /* a peer that is gone shows as the channel's EOF and the process's exit */
    free(req);
}

/* Channel#__send(bytes, listener_or_nil, message?) → nil, or [code, message] */
static mrb_value
channel_send(mrb_state *mrb, mrb_value self)
{
    mrb_value bytes, listener;
    mrb_bool user = false;
    mrb_get_args(mrb, "So|b", &bytes, &listener, &user);
    struct channel *c = open_channel(self);
    if (!c)
        return err_pair(mrb, UV_EPIPE);
    uv_stream_t *send_handle = NULL;
    if (!mrb_nil_p(listener)) {
        struct rt_owned *l = mrb_type(listener) == MRB_TT_DATA ? DATA_PTR(listener) : NULL;
        if (!l || l->u.handle.type != UV_TCP || uv_is_closing(&l->u.handle))
            mrb_raise(mrb, E_ARGUMENT_ERROR, "the listener is closed");
        send_handle = (uv_stream_t *)&l->u.tcp;
    }
    size_t n = RSTRING_LEN(bytes);
    if (n > FRAME_MAX)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "message too large (%d bytes; at most %d)", (mrb_int)n,
                   (mrb_int)FRAME_MAX);
    struct frame_req *r = malloc(sizeof *r + FRAME_HEAD + n);
    if (!r)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    r->len = FRAME_HEAD + n;
    r->data[0] = (uint8_t)n;
    r->data[1] = (uint8_t)(n >> 8);
    r->data[2] = (uint8_t)(n >> 16);
    r->data[3] = (uint8_t)(n >> 24);
    r->data[4] = (send_handle ? FRAME_HANDLE : 0) | (user ? FRAME_MESSAGE : 0);
    memcpy(r->data + FRAME_HEAD, RSTRING_PTR(bytes), n);
    uv_buf_t b = uv_buf_init((char *)r->data, (unsigned)r->len);
    int err = send_handle
                  ? uv_write2(&r->req, (uv_stream_t *)&c->base.u.pipe, &b, 1, send_handle,
                              on_frame_written)
                  : uv_write(&r->req, (uv_stream_t *)&c->base.u.pipe, &b, 1, on_frame_written);
    if (err) {
        free(r);
        return err_pair(mrb, err);
    }
    return mrb_nil_value();
}

static mrb_value
channel_close(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct channel *c = open_channel(self);
    if (c)
        rt_owned_close(&c->base);
    return mrb_nil_value();
}

static mrb_value
channel_open_p(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    return mrb_bool_value(open_channel(self) != NULL);
}

static mrb_value
channel_ref(mrb_state *mrb, mrb_value self)
{
    mrb_bool on;
    mrb_get_args(mrb, "b", &on);
    struct channel *c = open_channel(self);
    if (c) {
        if (on)
            uv_ref(&c->base.u.handle);
        else
            uv_unref(&c->base.u.handle);
    }
    return self;
}

/* --- the worker's process (primary) --------------------------------------------------------- */

struct proc {
    struct rt_owned base; /* first: its union holds the uv_process_t */
    bool rooted;
};

_Static_assert(sizeof(uv_process_t) <= sizeof(((struct rt_owned *)0)->u),
               "uv_process_t must fit in rt_owned's handle union");

static const struct mrb_data_type proc_type = {"Cluster::Worker", rt_owned_dfree};

static uv_process_t *
process_of(struct proc *p)
{
    return (uv_process_t *)&p->base.u.handle;
}

static struct proc *
live_proc(mrb_value self)
{
    if (mrb_type(self) != MRB_TT_DATA || DATA_TYPE(self) != &proc_type)
        return NULL;
    struct proc *p = DATA_PTR(self);
    if (!p || p->base.u.handle.type != UV_PROCESS || uv_is_closing(&p->base.u.handle))
        return NULL;
    return p;
}

static void
on_proc_closed(struct rt_owned *o)
{
    struct proc *p = (struct proc *)o;
    if (p->rooted && !mrb_nil_p(o->self)) {
        p->rooted = false;
        rt_unroot(o->rt, o->self);
    }
}

static void
on_proc_exit(uv_process_t *h, int64_t exit_status, int term_signal)
{
    struct proc *p = (struct proc *)h;
    struct rt *rt = p->base.rt;
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value self = p->base.self;
    rt_owned_close(&p->base);
    if (!mrb_nil_p(self)) {
        mrb_gc_protect(mrb, self);
        const char *name = term_signal ? proc_signal_name(term_signal) : NULL;
        mrb_value args[2] = {term_signal ? mrb_nil_value() : mrb_fixnum_value((mrb_int)exit_status),
                             term_signal ? (name ? mrb_format(mrb, "SIG%s", name)
                                                 : mrb_format(mrb, "%d", term_signal))
                                         : mrb_nil_value()};
        rt_call(rt, self, sym.on_exit, 2, args);
    }
    mrb_gc_arena_restore(mrb, ai);
}

/* main's argv (rt_cluster_set_argv), else NULL. */
static int g_argc;
static char **g_argv;

void
rt_cluster_set_argv(int argc, char **argv)
{
    /* A copy of the vector (option parsing reorders argv); the strings stay main's. Kept for
     * the process's life. */
    static char **copy;
    free(copy);
    copy = calloc((size_t)argc + 1, sizeof *copy);
    if (!copy)
        return;
    memcpy(copy, argv, (size_t)argc * sizeof *copy);
    g_argc = argc;
    g_argv = copy;
}

/* This process's argv as an Array of Strings (what the worker is started with: mrun's flags,
 * the script, its arguments): main's, else /proc/self/cmdline's. */
static mrb_value
self_argv(mrb_state *mrb)
{
    if (g_argv) {
        mrb_value ary = mrb_ary_new_capa(mrb, g_argc);
        for (int i = 0; i < g_argc; i++)
            mrb_ary_push(mrb, ary, mrb_str_new_cstr(mrb, g_argv[i]));
        return ary;
    }
    FILE *f = fopen("/proc/self/cmdline", "re");
    if (!f)
        proc_raise_errno(mrb, errno, "open", "/proc/self/cmdline");
    mrb_value ary = mrb_ary_new(mrb);
    mrb_value cur = mrb_str_new(mrb, NULL, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        size_t start = 0;
        for (size_t i = 0; i < n; i++)
            if (chunk[i] == '\0') {
                mrb_str_cat(mrb, cur, chunk + start, i - start);
                mrb_ary_push(mrb, ary, cur);
                cur = mrb_str_new(mrb, NULL, 0);
                start = i + 1;
            }
        mrb_str_cat(mrb, cur, chunk + start, n - start);
    }
    fclose(f);
    if (RSTRING_LEN(cur) > 0)
        mrb_ary_push(mrb, ary, cur);
    return ary;
}

/* Room for n pointers inside a Ruby String kept in keep (see child.c's ptr_vector). */
static char **
ptr_vector(mrb_state *mrb, mrb_value keep, mrb_int n)
{
    mrb_value buf = mrb_str_new(mrb, NULL, (size_t)(n + 1) * sizeof(char *));
    mrb_ary_push(mrb, keep, buf);
    uintptr_t p = (uintptr_t)RSTRING_PTR(buf);
    return (char **)((p + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1));
}

/*
 * Worker#__spawn(channel, id, sched) → nil, or [code, message]: starts the worker process with
 * channel (a new Cluster::Channel) as its fd 3. The worker gets its own session (setsid), so
 * a terminal's Ctrl-C reaches the primary only, which forwards it once (a worker under
 * --cpu-prof would take two SIGINTs as "quit without the profile").
 */
static mrb_value
worker_spawn(mrb_state *mrb, mrb_value self)
{
    struct rt *rt = rt_from_mrb(mrb);
    mrb_value chan;
    mrb_int id;
    const char *sched;
    mrb_get_args(mrb, "oiz", &chan, &id, &sched);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_RUNTIME_ERROR, "the worker was already spawned");
    mrb_value keep = mrb_ary_new(mrb);
    mrb_value argv = self_argv(mrb);
    mrb_ary_push(mrb, keep, argv);
    mrb_int argc = RARRAY_LEN(argv);
    if (argc == 0)
        mrb_raise(mrb, E_RUNTIME_ERROR, "cannot read this process's argv");
    char **args = ptr_vector(mrb, keep, argc + 1);
    for (mrb_int i = 0; i < argc; i++) {
        mrb_value s = RARRAY_PTR(argv)[i];
        args[i] = (char *)mrb_string_value_cstr(mrb, &s);
    }
    args[argc] = NULL;
    /* The environment: ours without any MRUN_CLUSTER_*, plus the worker's. */
    mrb_int nenv = 0;
    for (char **e = environ; *e; e++)
        nenv++;
    char **env = ptr_vector(mrb, keep, nenv + 5);
    mrb_int k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "MRUN_CLUSTER_", 13) != 0)
            env[k++] = *e;
    mrb_value extra[4] = {mrb_format(mrb, "MRUN_CLUSTER_WORKER=%d", id),
                          mrb_str_new_lit(mrb, "MRUN_CLUSTER_FD=3"),
                          mrb_format(mrb, "MRUN_CLUSTER_PPID=%d", (mrb_int)getpid()),
                          mrb_format(mrb, "MRUN_CLUSTER_SCHED=%s", sched)};
    for (int i = 0; i < 4; i++) {
        mrb_ary_push(mrb, keep, extra[i]);
        env[k++] = (char *)mrb_string_value_cstr(mrb, &extra[i]);
    }
    env[k] = NULL;
    struct RClass *ch_cls = mrb_class_get_under(mrb, mrb_module_get(mrb, "Cluster"), "Channel");
    if (!mrb_obj_is_kind_of(mrb, chan, ch_cls) || DATA_PTR(chan))
        mrb_raise(mrb, E_ARGUMENT_ERROR, "expected a new Cluster::Channel");
    /* Every check that may raise is done. */
    struct channel *c = channel_init(mrb, chan);
    uv_stdio_container_t io[4];
    for (int i = 0; i < 3; i++) {
        io[i].flags = UV_INHERIT_FD;
        io[i].data.fd = i;
    }
    io[3].flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
    io[3].data.stream = (uv_stream_t *)&c->base.u.pipe;
    uv_process_options_t opts = {0};
    /* This binary: readlink's answer (valgrind gives its client's, where the kernel's
     * /proc/self/exe would be valgrind's tool), else /proc/self/exe itself (also when the file
     * was replaced since: " (deleted)"). */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0 && n < (ssize_t)sizeof exe - 1) {
        exe[n] = 0;
        if (strstr(exe, " (deleted)") || access(exe, X_OK) != 0)
            snprintf(exe, sizeof exe, "/proc/self/exe");
    } else {
        snprintf(exe, sizeof exe, "/proc/self/exe");
    }
    opts.file = exe;
    opts.args = args;
    opts.env = env;
    opts.exit_cb = on_proc_exit;
    opts.flags = UV_PROCESS_DETACHED;
    opts.stdio = io;
    opts.stdio_count = 4;

    struct proc *p = rt_owned_new(rt, sizeof *p);
    p->base.self = self;
    p->base.on_close = on_proc_closed;
    DATA_TYPE(self) = &proc_type;
    DATA_PTR(self) = p;
    fflush(stdout);
    fflush(stderr);
    int err = uv_spawn(&rt->loop, process_of(p), &opts);
    rt_owned_adopt(&p->base);
    if (err) {
        rt_owned_close(&p->base); /* libuv asks for the close even when spawning failed */
        rt_owned_close(&c->base);
        return err_pair(mrb, err);
    }
    rt_root(rt, self);
    p->rooted = true;
    rt_prof_cluster_spawned((long)id, (long)process_of(p)->pid);
    return mrb_nil_value();
}

/* Worker#__pid → the pid, or nil (not started, or in a worker: Cluster.worker has no process). */
static mrb_value
worker_pid(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    if (mrb_type(self) != MRB_TT_DATA || DATA_TYPE(self) != &proc_type || !DATA_PTR(self))
        return mrb_nil_value();
    struct proc *p = DATA_PTR(self);
    if (p->base.u.handle.type != UV_PROCESS)
        return mrb_nil_value();
    int pid = process_of(p)->pid;
    return pid > 0 ? mrb_fixnum_value(pid) : mrb_nil_value();
}

/* Worker#__kill(signo) → nil, or [code, message] (ESRCH once it exited). */
static mrb_value
worker_kill(mrb_state *mrb, mrb_value self)
{
    mrb_int signo;
    mrb_get_args(mrb, "i", &signo);
    struct proc *p = live_proc(self);
    int err = p ? uv_process_kill(process_of(p), (int)signo) : UV_ESRCH;
    return err ? err_pair(mrb, err) : mrb_nil_value();
}

/* --- shared listening sockets --------------------------------------------------------------- */

static const struct mrb_data_type listener_type = {"Cluster::Listener", rt_owned_dfree};

/* A TCP socket bound to ip:port (SO_REUSEADDR; SO_REUSEPORT too when asked), close-on-exec.
 * Returns the fd, or a negative libuv error with *syscall set. */
static int
bind_socket(const char *ip, int port, bool reuseport, const char **syscall)
{
    struct sockaddr_storage ss;
    if (!net_parse_ip(ip, port, &ss)) {
        *syscall = "bind";
        return UV_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *syscall = "socket";
        return UVERR(errno);
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
        int err = errno;
        close(fd);
        *syscall = "setsockopt";
        return UVERR(err);
    }
    socklen_t len =
        ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        int err = errno;
        close(fd);
        *syscall = "bind";
        return UVERR(err);
    }
    return fd;
}

/*
 * Cluster.__listener(ip, port, backlog, reuseport) → a Cluster::Listener, or [code, message,
 * syscall]. :shared (reuseport false): bound and listening, for the workers to accept on;
 * :reuseport: bound with SO_REUSEPORT and not listening (it holds the port; the kernel spreads
 * connections only over the workers' listening sockets). Unref'd: it keeps nothing alive.
 */
static mrb_value
cluster_listener(mrb_state *mrb, mrb_value self)
{
    (void)self;
    struct rt *rt = rt_from_mrb(mrb);
    const char *ip;
    mrb_int port, backlog;
    mrb_bool reuseport;
    mrb_get_args(mrb, "ziib", &ip, &port, &backlog, &reuseport);
    const char *syscall = "listen";
    int fd = bind_socket(ip, (int)port, reuseport, &syscall);
    if (fd >= 0 && !reuseport && listen(fd, (int)backlog) != 0) {
        int err = errno;
        close(fd);
        fd = UVERR(err);
        syscall = "listen";
    }
    if (fd < 0) {
        mrb_value v[3] = {mrb_str_new_cstr(mrb, uv_err_name(fd)),
                          mrb_str_new_cstr(mrb, uv_strerror(fd)), mrb_str_new_cstr(mrb, syscall)};
        return mrb_ary_new_from_values(mrb, 3, v);
    }
    struct RClass *cls = mrb_class_get_under(mrb, mrb_module_get(mrb, "Cluster"), "Listener");
    mrb_value obj = mrb_obj_value(mrb_data_object_alloc(mrb, cls, NULL, &listener_type));
    struct rt_owned *o = rt_owned_new(rt, sizeof *o);
    int err = uv_tcp_init(&rt->loop, &o->u.tcp);
    if (!err) {
        rt_owned_adopt(o);
        o->self = obj;
        DATA_PTR(obj) = o;
        err = uv_tcp_open(&o->u.tcp, fd);
        if (err) {
            close(fd);
            rt_owned_close(o);
        } else {
            uv_unref(&o->u.handle);
        }
    } else {
        free(o);
        close(fd);
    }
    if (err)
        rt_raise_uv(mrb, err, "uv_tcp_open");
    return obj;
}

/* Listener#port → the bound port */
static mrb_value
listener_port(mrb_state *mrb, mrb_value self)
{
    struct rt_owned *o = DATA_GET_PTR(mrb, self, &listener_type, struct rt_owned);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (!o || uv_is_closing(&o->u.handle) ||
        uv_tcp_getsockname(&o->u.tcp, (struct sockaddr *)&ss, &len) != 0)
        return mrb_nil_value();
    int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return mrb_fixnum_value(port);
}

static mrb_value
listener_close(mrb_state *mrb, mrb_value self)
{
    struct rt_owned *o = DATA_GET_PTR(mrb, self, &listener_type, struct rt_owned);
    if (o)
        rt_owned_close(o);
    return mrb_nil_value();
}

/* Cluster.__bind_fd(ip, port) → fd (a socket of this worker's own, SO_REUSEPORT, bound to the
 * primary's port, not yet listening), or [code, message, syscall]. */
static mrb_value
cluster_bind_fd(mrb_state *mrb, mrb_value self)
{
    (void)self;
    const char *ip;
    mrb_int port;
    mrb_get_args(mrb, "zi", &ip, &port);
    const char *syscall = "bind";
    int fd = bind_socket(ip, (int)port, true, &syscall);
    if (fd < 0) {
        mrb_value v[3] = {mrb_str_new_cstr(mrb, uv_err_name(fd)),
                          mrb_str_new_cstr(mrb, uv_strerror(fd)), mrb_str_new_cstr(mrb, syscall)};
        return mrb_ary_new_from_values(mrb, 3, v);
    }
    return mrb_fixnum_value(fd);
}

/* Cluster.__close_fd(fd): an fd that came with a frame and is not used after all. */
static mrb_value
cluster_close_fd(mrb_state *mrb, mrb_value self)
{
    (void)self;
    mrb_int fd;
    mrb_get_args(mrb, "i", &fd);
    if (fd > 2)
        close((int)fd);
    return mrb_nil_value();
}

/* --- messages ------------------------------------------------------------------------------- */

/* Cluster.__encode(obj) → the copier's bytes; TypeError (a value that is not copied, named
 * with where it was found) or ArgumentError (a cycle). */
static mrb_value
cluster_encode(mrb_state *mrb, mrb_value self)
{
    (void)self;
    mrb_value v;
    mrb_get_args(mrb, "o", &v);
    struct copy_buf b = {0};
    struct mp_err e = {0};
    enum copy_error rc = copy_encode(mrb, v, "message", &b, &e);
    if (rc != COPY_OK) {
        copy_buf_free(&b);
        /* The copier speaks of Deferred's VMs; here the value goes to another process. */
        char *vm = strstr(e.msg, " to another VM");
        if (vm)
            snprintf(vm, sizeof e.msg - (size_t)(vm - e.msg),
                     " to another process: a cluster message carries only nil, true, false, "
                     "Integer, Float, String, Symbol, Array and Hash");
        mrb_raise(mrb,
                  rc == COPY_UNSUPPORTED ? E_TYPE_ERROR
                  : rc == COPY_CYCLE     ? E_ARGUMENT_ERROR
                                         : E_RUNTIME_ERROR,
                  e.msg);
    }
    mrb_value s = mrb_str_new(mrb, (const char *)b.data, b.len);
    copy_buf_free(&b);
    return s;
}

/* Cluster.__decode(bytes) → the value (nil for bytes that are not the copier's). */
static mrb_value
cluster_decode(mrb_state *mrb, mrb_value self)
{
    (void)self;
    mrb_value s;
    mrb_get_args(mrb, "S", &s);
    return copy_decode(mrb, (const uint8_t *)RSTRING_PTR(s), RSTRING_LEN(s));
}

/* Cluster.__self → [worker_id, channel_fd, sched] in a worker, nil in the primary. */
static mrb_value
cluster_self(mrb_state *mrb, mrb_value self)
{
    (void)self;
    if (!g_self.id)
        return mrb_nil_value();
    mrb_value v[3] = {mrb_fixnum_value(g_self.id), mrb_fixnum_value(g_self.fd),
                      mrb_str_new_cstr(mrb, g_self.sched)};
    return mrb_ary_new_from_values(mrb, 3, v);
}

/* Cluster.__sched_env → MRUN_CLUSTER_SCHED in the primary's environment, or nil. */
static mrb_value
cluster_sched_env(mrb_state *mrb, mrb_value self)
{
    (void)self;
    const char *s = g_self.id ? NULL : getenv("MRUN_CLUSTER_SCHED");
    return s ? mrb_str_new_cstr(mrb, s) : mrb_nil_value();
}

static mrb_value
cluster_cores(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    (void)self;
    return mrb_fixnum_value((mrb_int)uv_available_parallelism());
}

/* Reads (and removes) the worker's variables. A primary that is already gone (its death came
 * before PR_SET_PDEATHSIG was set) ends the worker at once. */
static void
read_self(void)
{
    const char *id = getenv("MRUN_CLUSTER_WORKER"), *fd = getenv("MRUN_CLUSTER_FD"),
               *ppid = getenv("MRUN_CLUSTER_PPID"), *sched = getenv("MRUN_CLUSTER_SCHED");
    if (id && fd && ppid) {
        long i = strtol(id, NULL, 10), f = strtol(fd, NULL, 10), pp = strtol(ppid, NULL, 10);
        if (i > 0 && f > 2) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != (pid_t)pp)
                _exit(0);
            g_self.id = i;
            g_self.fd = (int)f;
            snprintf(g_self.sched, sizeof g_self.sched, "%s", sched ? sched : "");
            fcntl((int)f, F_SETFD, FD_CLOEXEC); /* a child the script spawns must not hold it */
        }
    }
    unsetenv("MRUN_CLUSTER_WORKER");
    unsetenv("MRUN_CLUSTER_FD");
    unsetenv("MRUN_CLUSTER_PPID");
}

static void
cluster_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    read_self();
    sym.on_frame = mrb_intern_lit(mrb, "__on_frame");
    sym.on_eof = mrb_intern_lit(mrb, "__on_eof");
    sym.on_close = mrb_intern_lit(mrb, "__on_close");
    sym.on_exit = mrb_intern_lit(mrb, "__on_exit");

    struct RClass *cl = mrb_define_module(mrb, "Cluster");
    mrb_define_module_function(mrb, cl, "__encode", cluster_encode, MRB_ARGS_REQ(1));
    mrb_define_module_function(mrb, cl, "__decode", cluster_decode, MRB_ARGS_REQ(1));
    mrb_define_module_function(mrb, cl, "__self", cluster_self, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, cl, "__sched_env", cluster_sched_env, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, cl, "__cores", cluster_cores, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, cl, "__listener", cluster_listener, MRB_ARGS_REQ(4));
    mrb_define_module_function(mrb, cl, "__bind_fd", cluster_bind_fd, MRB_ARGS_REQ(2));
    mrb_define_module_function(mrb, cl, "__close_fd", cluster_close_fd, MRB_ARGS_REQ(1));

    struct RClass *ch = mrb_define_class_under(mrb, cl, "Channel", mrb->object_class);
    MRB_SET_INSTANCE_TT(ch, MRB_TT_DATA);
    mrb_define_method(mrb, ch, "__open_fd", channel_open_fd, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, ch, "__read_start", channel_read_start, MRB_ARGS_NONE());
    mrb_define_method(mrb, ch, "__send", channel_send, MRB_ARGS_REQ(2) | MRB_ARGS_OPT(1));
    mrb_define_method(mrb, ch, "__close", channel_close, MRB_ARGS_NONE());
    mrb_define_method(mrb, ch, "__open?", channel_open_p, MRB_ARGS_NONE());
    mrb_define_method(mrb, ch, "__ref", channel_ref, MRB_ARGS_REQ(1));

    struct RClass *w = mrb_define_class_under(mrb, cl, "Worker", mrb->object_class);
    MRB_SET_INSTANCE_TT(w, MRB_TT_DATA);
    mrb_define_method(mrb, w, "__spawn", worker_spawn, MRB_ARGS_REQ(3));
    mrb_define_method(mrb, w, "__pid", worker_pid, MRB_ARGS_NONE());
    mrb_define_method(mrb, w, "__kill", worker_kill, MRB_ARGS_REQ(1));

    struct RClass *l = mrb_define_class_under(mrb, cl, "Listener", mrb->object_class);
    MRB_SET_INSTANCE_TT(l, MRB_TT_DATA);
    mrb_define_method(mrb, l, "port", listener_port, MRB_ARGS_NONE());
    mrb_define_method(mrb, l, "close", listener_close, MRB_ARGS_NONE());
}

const struct rt_module rt_module_cluster = {
    .name = "cluster", .main_only = true, .init = cluster_init};
