/*
 * profiling.c — the Profiler module (start_profiling, stop_profiling, get_profile) and the
 * Profile object (save, top, samples), plus mrun's whole-run --cpu-prof.
 *
 * The Ruby half (keyword arguments, Hash building helpers) is runtime/prelude/profiler.rb.
 */
#include "runtime/profiling.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "formats/formats.h"
#include "profiler/aggregate.h"
#include "profiler/profile.h"
#include "profiler/live.h"
#include "profiler/sampler.h"

static void
profile_dfree(mrb_state *mrb, void *p)
{
    profile_free(p);
}

static const struct mrb_data_type profile_type = {"Profile", profile_dfree};

static struct profile *
get_profile_ptr(mrb_state *mrb, mrb_value self)
{
    struct profile *p = DATA_GET_PTR(mrb, self, &profile_type, struct profile);
    if (!p)
        mrb_raise(mrb, E_RUNTIME_ERROR, "empty Profile");
    return p;
}

static void
safe_point(struct rt *rt, void *data)
{
    (void)data;
    prof_safe_point(rt->mrb);
}

static int
start_session(struct rt *rt, enum prof_mode mode, unsigned hz, char *err, size_t errlen)
{
    struct prof_session *s = prof_start(mode, hz, err, errlen);
    if (!s)
        return -1;
    int rc = prof_attach(s, rt->mrb, "main", &rt->loop_state, &rt->main_done);
    if (rc) {
        snprintf(err, errlen, "cannot start the sampling timer: %s", strerror(-rc));
        profile_free(prof_stop(s));
        return -1;
    }
    return 0;
}

/* Profiler.__start(hz, mode_string) */
static mrb_value
profiler_start(mrb_state *mrb, mrb_value self)
{
    mrb_int hz;
    const char *mode;
    mrb_get_args(mrb, "iz", &hz, &mode);
    enum prof_mode m;
    if (strcmp(mode, "cpu") == 0)
        m = PROF_MODE_CPU;
    else if (strcmp(mode, "wall") == 0)
        m = PROF_MODE_WALL;
    else
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "mode must be :cpu or :wall, not :%s", mode);
    if (hz < 1 || hz > 10000)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "hz must be between 1 and 10000, not %i", hz);
    char err[256];
    if (start_session(rt_from_mrb(mrb), m, (unsigned)hz, err, sizeof err) != 0)
        mrb_raisef(mrb, E_RUNTIME_ERROR, "cannot start profiling: %s", err);
    return mrb_true_value();
}

static mrb_value
wrap_profile(mrb_state *mrb, struct profile *p)
{
    struct RClass *c = mrb_class_get(mrb, "Profile");
    return mrb_obj_value(mrb_data_object_alloc(mrb, c, p, &profile_type));
}

/* Profiler.__stop -> [seconds, Profile] */
static mrb_value
profiler_stop(mrb_state *mrb, mrb_value self)
{
    struct prof_session *s = prof_current();
    if (!s)
        mrb_raise(mrb, E_RUNTIME_ERROR, "the profiler is not running (call start_profiling first)");
    double secs = prof_elapsed(s);
    struct profile *p = prof_stop(s);
    mrb_value pair[2] = {mrb_float_value(mrb, secs), wrap_profile(mrb, p)};
    return mrb_ary_new_from_values(mrb, 2, pair);
}

static mrb_value
profiler_running_p(mrb_state *mrb, mrb_value self)
{
    return mrb_bool_value(prof_current() != NULL);
}

/* Profile#__save(path, format_or_nil) */
static mrb_value
profile_save(mrb_state *mrb, mrb_value self)
{
    struct profile *p = get_profile_ptr(mrb, self);
    const char *path, *format = NULL;
    mrb_get_args(mrb, "z|z!", &path, &format);
    const struct fmt_ops *f = format ? fmt_by_name(format) : fmt_by_path(path);
    if (format && !f)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "unknown format '%s' (known: %s)", format, fmt_names());
    if (!f)
        f = fmt_by_name("cpuprofile");
    struct fmt_err e = {0};
    struct fmt_write_opts o = {-1};
    if (fmt_write_path(p, path, f, &o, &e) != 0)
        mrb_raisef(mrb, E_RUNTIME_ERROR, "%s", e.msg);
    return mrb_str_new_cstr(mrb, path);
}

/* Profile#__top(n, by) -> [[name, file, line, self_ns, total_ns, self_n, total_n], ...], all_w */
static mrb_value
profile_top(mrb_state *mrb, mrb_value self)
{
    struct profile *p = get_profile_ptr(mrb, self);
    mrb_int n, by;
    mrb_get_args(mrb, "ii", &n, &by);
    struct agg_table t;
    if (agg_compute(p, -1, (enum agg_by)by, &t) != 0)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    mrb_value rows = mrb_ary_new(mrb);
    for (size_t i = 0; i < t.n && (mrb_int)i < n; i++) {
        const struct agg_row *r = &t.rows[i];
        mrb_value v[7] = {
            mrb_str_new_cstr(mrb, profile_str(p, r->name)),
            mrb_str_new_cstr(mrb, profile_str(p, r->file)),
            mrb_fixnum_value(r->line),
            mrb_fixnum_value((mrb_int)r->self_w),
            mrb_fixnum_value((mrb_int)r->total_w),
            mrb_fixnum_value((mrb_int)r->self_n),
            mrb_fixnum_value((mrb_int)r->total_n),
        };
        mrb_ary_push(mrb, rows, mrb_ary_new_from_values(mrb, 7, v));
    }
    mrb_value res[2] = {rows, mrb_fixnum_value((mrb_int)t.total_w)};
    agg_free(&t);
    return mrb_ary_new_from_values(mrb, 2, res);
}

static mrb_value
profile_m_samples(mrb_state *mrb, mrb_value self)
{
    return mrb_fixnum_value((mrb_int)profile_nsamples(get_profile_ptr(mrb, self)));
}

static mrb_value
profile_m_duration(mrb_state *mrb, mrb_value self)
{
    return mrb_float_value(mrb, (double)profile_duration_ns(get_profile_ptr(mrb, self)) / 1e9);
}

void
rt_profiler_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    rt->hooks.safe_point = safe_point;
    struct RClass *m = mrb_define_module(mrb, "Profiler");
    mrb_define_module_function(mrb, m, "__start", profiler_start, MRB_ARGS_REQ(2));
    mrb_define_module_function(mrb, m, "__stop", profiler_stop, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, m, "profiling?", profiler_running_p, MRB_ARGS_NONE());
    struct RClass *c = mrb_define_class(mrb, "Profile", mrb->object_class);
    MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
    mrb_undef_class_method(mrb, c, "new");
    mrb_define_method(mrb, c, "__save", profile_save, MRB_ARGS_ARG(1, 1));
    mrb_define_method(mrb, c, "__top", profile_top, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, c, "samples", profile_m_samples, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "duration", profile_m_duration, MRB_ARGS_NONE());
}

/* --- mrun --cpu-prof ------------------------------------------------------------------------ */

/*
 * Ctrl-C (or SIGTERM) while --cpu-prof records stops the script the way an exception would, so
 * `ensure` runs and the profile is written whole; the exit status is then 128 + signo. The
 * handler only sets flags and wakes the loop (uv_async_send is async-signal-safe). The script
 * takes the interrupt at its next allocation (memhook.c) or, when it waits in the loop, from the
 * async callback. A second Ctrl-C kills at once, without a profile, for a loop that neither
 * allocates nor returns to the event loop.
 */
static uv_async_t interrupt_async;
static volatile sig_atomic_t interrupt_signo;

static void
on_stop_signal(int signo)
{
    if (interrupt_signo) {
        signal(signo, SIG_DFL);
        raise(signo);
        return;
    }
    interrupt_signo = signo;
    prof_interrupt_pending = 1;
    static const char msg[] =
        "\nmrun: stopping to write the profile (press Ctrl-C again to quit without it)\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    uv_async_send(&interrupt_async);
}

static mrb_value
signal_exception(mrb_state *mrb)
{
    if (interrupt_signo == SIGINT)
        return mrb_obj_new(mrb, mrb_class_get(mrb, "Interrupt"), 0, NULL);
    mrb_value args[2] = {mrb_str_new_cstr(mrb, "SIGTERM"), mrb_fixnum_value(interrupt_signo)};
    return mrb_obj_new(mrb, mrb_class_get(mrb, "SignalException"), 2, args);
}

/* The allocation hook, in the middle of the script: raise there. */
static void
interrupt_in_script(mrb_state *mrb)
{
    if (!mrb->ud)
        return; /* a Deferred worker's VM: the interrupt belongs to the main script */
    prof_interrupt_pending = 0;
    mrb_exc_raise(mrb, signal_exception(mrb));
}

/* The loop: the script waits on timers or sockets; stop as an uncaught exception would. */
static void
interrupt_in_loop(uv_async_t *h)
{
    if (!prof_interrupt_pending)
        return; /* the script took it already */
    prof_interrupt_pending = 0;
    struct rt *rt = h->data;
    int ai = mrb_gc_arena_save(rt->mrb);
    rt_uncaught(rt, signal_exception(rt->mrb));
    mrb_gc_arena_restore(rt->mrb, ai);
}

static void
catch_stop_signals(struct rt *rt)
{
    if (uv_async_init(&rt->loop, &interrupt_async, interrupt_in_loop) != 0)
        return;
    interrupt_async.data = rt;
    uv_unref((uv_handle_t *)&interrupt_async); /* it must not keep the loop alive */
    prof_interrupt_hook = interrupt_in_script;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void
release_stop_signals(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    prof_interrupt_hook = NULL;
    prof_interrupt_pending = 0;
}

static struct prof_live *g_live;

int
rt_prof_begin(struct rt *rt, const struct rt_prof_opts *o)
{
    char err[512];
    if (start_session(rt, o->mode, o->hz, err, sizeof err) != 0) {
        fprintf(stderr, "mrun: cannot start profiling: %s\n", err);
        return -1;
    }
    if (o->live && !(g_live = prof_live_start(o->live_addr, err, sizeof err))) {
        fprintf(stderr, "mrun: --prof-live: %s\n", err);
        profile_free(prof_stop(prof_current()));
        return -1;
    }
    if (g_live && o->live_wait && !prof_live_wait_viewer(g_live, 10000))
        fprintf(stderr, "mrun: --prof-live-wait: no viewer came within 10 s; running anyway\n");
    catch_stop_signals(rt);
    return 0;
}

int
rt_prof_finish(struct rt *rt, const struct rt_prof_opts *o, int exit_status)
{
    release_stop_signals();
    struct prof_session *s = prof_current();
    struct profile *p = s ? prof_stop(s) : NULL; /* NULL: the script stopped it itself */
    if (g_live) {
        prof_live_finish(g_live, p, exit_status);
        g_live = NULL;
    }
    if (!p)
        return 0;
    if (!o->cpu_prof) {
        profile_free(p);
        return 0;
    }
    const struct fmt_ops *f = o->format ? fmt_by_name(o->format) : NULL;
    char path[4096];
    struct stat st;
    bool out_is_dir = o->out && stat(o->out, &st) == 0 && S_ISDIR(st.st_mode);
    if (!f && o->out && !out_is_dir)
        f = fmt_by_path(o->out);
    if (!f)
        f = fmt_by_name("cpuprofile");
    if (o->out && !out_is_dir) {
        snprintf(path, sizeof path, "%s", o->out);
    } else {
        /* Node's name: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile */
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        snprintf(path, sizeof path, "%s%sCPU.%04d%02d%02d.%02d%02d%02d.%ld.0.001%s",
                 out_is_dir ? o->out : "", out_is_dir ? "/" : "", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)getpid(),
                 strcmp(f->name, "cpuprofile") == 0 ? ".cpuprofile" : f->ext);
    }
    /* A .cpuprofile holds one thread (DevTools' rule). As Node does for worker threads, each
     * Deferred worker that was sampled gets a file of its own beside the main one:
     * NAME.cpuprofile, NAME.worker-1.cpuprofile, ... */
    bool per_thread = strcmp(f->name, "cpuprofile") == 0;
    size_t nthreads = per_thread ? profile_nthreads(p) : 1;
    size_t *counts = calloc(nthreads ? nthreads : 1, sizeof *counts);
    for (size_t i = 0; counts && per_thread && i < profile_nsamples(p); i++)
        if (profile_samples(p)[i].thread < nthreads)
            counts[profile_samples(p)[i].thread]++;
    int rc = 0;
    for (size_t th = 0; th < nthreads && rc == 0; th++) {
        if (per_thread && th > 0 && (!counts || counts[th] == 0))
            continue;
        char tpath[4200];
        const char *dot = strrchr(path, '.');
        if (th == 0 || !dot || strchr(dot, '/'))
            snprintf(tpath, sizeof tpath, th ? "%s.thread-%zu" : "%s", path, th);
        else
            snprintf(tpath, sizeof tpath, "%.*s.thread-%zu%s", (int)(dot - path), path, th, dot);
        struct fmt_err e = {0};
        struct fmt_write_opts wo = {per_thread ? (int)th : -1};
        rc = fmt_write_path(p, tpath, f, &wo, &e);
        if (rc)
            fprintf(stderr, "mrun: cannot write the profile: %s\n", e.msg);
        else if (!getenv("MRUN_QUIET"))
            fprintf(stderr, "mrun: %s profile written to %s (%zu samples%s%s)\n", f->name, tpath,
                    per_thread && counts ? counts[th] : profile_nsamples(p),
                    per_thread && nthreads > 1 ? ", thread " : "",
                    per_thread && nthreads > 1 ? profile_str(p, profile_threads(p)[th].name) : "");
    }
    free(counts);
    profile_free(p);
    return rc ? -1 : 0;
}
