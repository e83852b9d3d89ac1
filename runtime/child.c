/*
 * child.c — the C half of ChildProcess: one uv_process_t per child, started with uv_spawn.
 *
 * The Ruby half (runtime/prelude/child.rb) holds Node's API (spawn, exec, the :exit, :error and
 * :close events). The child's piped stdio are Net::Sockets (net/net.h gives each a uv_pipe_t
 * that uv_spawn opens): the same stream code, events and backpressure as a TCP socket, as
 * Node's child.stdout is a net.Socket. This file only starts the process, signals it and
 * reports its exit by calling the object's __on_exit(status, signal_name).
 *
 * A running child roots its object (its listeners must stay alive while libuv can report the
 * exit) and keeps the loop alive; once it exited its handle is closed and the object is an
 * ordinary one. Waiting for a child is the loop's poll: (idle) in a wall-mode profile.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "net/net.h"
#include "runtime/process.h"
#include "runtime/rt.h"

struct child {
    struct rt_owned base; /* first: its union holds the uv_process_t (see process_of) */
    bool rooted;          /* self is in the runtime's roots while the child runs */
};

/* rt_owned's union has no uv_process_t member; it is big enough for one (uv_tcp_t is bigger),
 * and starts at the struct's start as every handle must. */
_Static_assert(sizeof(uv_process_t) <= sizeof(((struct rt_owned *)0)->u),
               "uv_process_t must fit in rt_owned's handle union");

static const struct mrb_data_type child_type = {"ChildProcess", rt_owned_dfree};
static __thread mrb_sym sym_on_exit; /* per runtime thread (runtime/worker.c) */

static uv_process_t *
process_of(struct child *c)
{
    return (uv_process_t *)&c->base.u.handle;
}

static void
on_child_closed(struct rt_owned *o)
{
    struct child *c = (struct child *)o;
    if (c->rooted && !mrb_nil_p(o->self)) {
        c->rooted = false;
        rt_unroot(o->rt, o->self);
    }
}

static void
on_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
    struct child *c = (struct child *)p;
    struct rt *rt = c->base.rt;
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value self = c->base.self;
    rt_owned_close(&c->base); /* the process is gone: nothing more comes from this handle */
    if (!mrb_nil_p(self)) {
        mrb_gc_protect(mrb, self);
        const char *name = term_signal ? proc_signal_name(term_signal) : NULL;
        mrb_value args[2] = {term_signal ? mrb_nil_value() : mrb_fixnum_value((mrb_int)exit_status),
                             term_signal ? (name ? mrb_format(mrb, "SIG%s", name)
                                                 : mrb_format(mrb, "%d", term_signal))
                                         : mrb_nil_value()};
        rt_call(rt, self, sym_on_exit, 2, args);
    }
    mrb_gc_arena_restore(mrb, ai);
}

/* Room for n pointers inside a Ruby String kept in keep (freed by the GC, so a raise leaks
 * nothing). A String's bytes may sit inside its object, unaligned: the vector starts at the
 * next pointer boundary of a buffer one pointer longer. */
static char **
ptr_vector(mrb_state *mrb, mrb_value keep, mrb_int n)
{
    mrb_value buf = mrb_str_new(mrb, NULL, (size_t)(n + 1) * sizeof(char *));
    mrb_ary_push(mrb, keep, buf);
    uintptr_t p = (uintptr_t)RSTRING_PTR(buf);
    return (char **)((p + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1));
}

/* Copies an Array of Strings into a NULL-terminated vector (see ptr_vector). */
static char **
cstr_vector(mrb_state *mrb, mrb_value ary, mrb_value keep)
{
    mrb_int n = RARRAY_LEN(ary);
    char **v = ptr_vector(mrb, keep, n + 1);
    for (mrb_int i = 0; i < n; i++) {
        mrb_value s = RARRAY_PTR(ary)[i];
        if (!mrb_string_p(s))
            mrb_raisef(mrb, E_TYPE_ERROR, "expected a String, not %s", mrb_obj_classname(mrb, s));
        v[i] = (char *)mrb_string_value_cstr(mrb, &s); /* raises on a NUL byte */
        mrb_ary_push(mrb, keep, s);
    }
    v[n] = NULL;
    return v;
}

/*
 * ChildProcess#__spawn(file, argv, env, cwd, stdio, detached) → nil, or [code, message] when
 * the program could not be started (ENOENT, EACCES...). argv includes argv[0]; env is nil
 * (inherit) or an Array of "K=V"; stdio is 3 entries, each a Net::Socket (a pipe), :inherit,
 * :ignore or an Integer fd.
 */
static mrb_value
child_spawn(mrb_state *mrb, mrb_value self)
{
    struct rt *rt = rt_from_mrb(mrb);
    const char *file;
    mrb_value argv, env, cwd, stdio;
    mrb_bool detached;
    mrb_get_args(mrb, "zAooAb", &file, &argv, &env, &cwd, &stdio, &detached);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_RUNTIME_ERROR, "the child process was already spawned");
    if (RARRAY_LEN(stdio) != 3)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "stdio must have 3 entries");
    mrb_value keep = mrb_ary_new(mrb);
    uv_process_options_t opts = {0};
    opts.file = file;
    opts.args = cstr_vector(mrb, argv, keep);
    opts.env = mrb_nil_p(env) ? NULL : cstr_vector(mrb, mrb_ensure_array_type(mrb, env), keep);
    opts.cwd = mrb_nil_p(cwd) ? NULL : mrb_string_value_cstr(mrb, &cwd);
    opts.exit_cb = on_exit_cb;
    opts.flags = detached ? UV_PROCESS_DETACHED : 0;
    uv_stdio_container_t io[3];
    mrb_sym inherit = mrb_intern_lit(mrb, "inherit"), ignore = mrb_intern_lit(mrb, "ignore");
    for (int i = 0; i < 3; i++) {
        mrb_value e = RARRAY_PTR(stdio)[i];
        if (mrb_symbol_p(e) && mrb_symbol(e) == inherit) {
            io[i].flags = UV_INHERIT_FD;
            io[i].data.fd = i;
        } else if (mrb_symbol_p(e) && mrb_symbol(e) == ignore) {
            io[i].flags = UV_IGNORE;
        } else if (mrb_integer_p(e)) {
            io[i].flags = UV_INHERIT_FD;
            io[i].data.fd = (int)mrb_integer(e);
        } else {
            io[i].flags = UV_CREATE_PIPE | (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE);
            io[i].data.stream = NULL;
        }
    }
    /* Every check that may raise is done: now make the pipes (the sockets own them). */
    for (int i = 0; i < 3; i++)
        if (io[i].flags & UV_CREATE_PIPE)
            io[i].data.stream = net_socket_pipe(mrb, RARRAY_PTR(stdio)[i]);
    opts.stdio = io;
    opts.stdio_count = 3;

    struct child *c = rt_owned_new(rt, sizeof *c);
    c->base.self = self;
    c->base.on_close = on_child_closed;
    DATA_TYPE(self) = &child_type;
    DATA_PTR(self) = c;
    /* The child gets the default action of every signal whatever mrun's are (libuv resets
     * the handled ones and unblocks all; SIGPIPE, ignored by mrun, is reset by main.c's
     * pthread_atfork handler). */
    fflush(stdout);
    fflush(stderr);
    int err = uv_spawn(&rt->loop, process_of(c), &opts);
    rt_owned_adopt(&c->base);
    if (err) {
        /* libuv asks for the handle to be closed even when spawning failed. */
        rt_owned_close(&c->base);
        mrb_value v[2] = {mrb_str_new_cstr(mrb, uv_err_name(err)),
                          mrb_str_new_cstr(mrb, uv_strerror(err))};
        return mrb_ary_new_from_values(mrb, 2, v);
    }
    rt_root(rt, self);
    c->rooted = true;
    return mrb_nil_value();
}

/* ChildProcess#pid → the pid, or nil when it never started. */
static mrb_value
child_pid(mrb_state *mrb, mrb_value self)
{
    struct child *c = DATA_TYPE(self) == &child_type ? DATA_PTR(self) : NULL;
    if (!c || c->base.u.handle.type != UV_PROCESS)
        return mrb_nil_value();
    int pid = process_of(c)->pid;
    return pid > 0 ? mrb_fixnum_value(pid) : mrb_nil_value();
}

/* ChildProcess#__kill(signo) → nil, or [code, message] (ESRCH once it exited). */
static mrb_value
child_kill(mrb_state *mrb, mrb_value self)
{
    mrb_int signo;
    mrb_get_args(mrb, "i", &signo);
    struct child *c = DATA_TYPE(self) == &child_type ? DATA_PTR(self) : NULL;
    int err = UV_ESRCH;
    if (c && c->base.u.handle.type == UV_PROCESS && !uv_is_closing(&c->base.u.handle))
        err = uv_process_kill(process_of(c), (int)signo);
    if (!err)
        return mrb_nil_value();
    mrb_value v[2] = {mrb_str_new_cstr(mrb, uv_err_name(err)),
                      mrb_str_new_cstr(mrb, uv_strerror(err))};
    return mrb_ary_new_from_values(mrb, 2, v);
}

static mrb_value
child_ref(mrb_state *mrb, mrb_value self)
{
    struct child *c = DATA_TYPE(self) == &child_type ? DATA_PTR(self) : NULL;
    if (c && c->base.u.handle.type == UV_PROCESS && !uv_is_closing(&c->base.u.handle))
        uv_ref(&c->base.u.handle);
    return self;
}

static mrb_value
child_unref(mrb_state *mrb, mrb_value self)
{
    struct child *c = DATA_TYPE(self) == &child_type ? DATA_PTR(self) : NULL;
    if (c && c->base.u.handle.type == UV_PROCESS && !uv_is_closing(&c->base.u.handle))
        uv_unref(&c->base.u.handle);
    return self;
}

static void
child_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    sym_on_exit = mrb_intern_lit(mrb, "__on_exit");
    struct RClass *c = mrb_define_class(mrb, "ChildProcess", mrb->object_class);
    MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
    mrb_define_method(mrb, c, "__spawn", child_spawn, MRB_ARGS_REQ(6));
    mrb_define_method(mrb, c, "__kill", child_kill, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, c, "pid", child_pid, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "ref", child_ref, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "unref", child_unref, MRB_ARGS_NONE());
}

const struct rt_module rt_module_child = {.name = "child", .init = child_init};
