/*
 * profiling.c — the Profiler module (start_profiling, stop_profiling, get_profile) and the
 * Profile object (save, top, samples), plus mrun's whole-run --cpu-prof. As a runtime module
 * (rt_module_profiling) it installs the runtime's hooks (struct rt_hooks), the only way the
 * runtime reaches the sampler.
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
#include "formats/threads.h"
#include "profiler/model/aggregate.h"
#include "profiler/model/profile.h"
#include "profiler/sampler/live.h"
#include "profiler/sampler/sampler.h"
#include "profiler/sampler/stall.h"

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

/* --- the runtime's hooks (struct rt_hooks): how the runtime reaches the sampler ------------- */

static void
safe_point(struct rt *rt, void *data)
{
    (void)data;
    if (prof_stall_running()) /* it drains at its own pace (stall.c) */
        prof_stall_safe_point(rt->mrb);
    else
        prof_safe_point(rt->mrb);
}

static void
stall_mark(struct rt *rt, void *data, uint64_t seq, uint64_t now_ns, uint64_t seq_start_ns)
{
    (void)data;
    prof_stall_mark(rt->mrb, seq, now_ns, seq_start_ns);
}

static void
stall_check(struct rt *rt, void *data, uint64_t seq, uint64_t since_ns, uint64_t now_ns)
{
    (void)data;
    prof_stall_check(rt->mrb, seq, since_ns, now_ns);
}

static void
wait_begin(struct rt *rt, void *data)
{
    (void)data;
    prof_wait_begin(rt->mrb);
}

static void
wait_end(struct rt *rt, void *data)
{
    (void)data;
    prof_wait_end(rt->mrb);
}

/* The loop-health counters (struct rt_health), one reading per window, when profiling. */
const char *const rt_prof_loop_counters[RT_PROF_LOOP_COUNTERS] = {
    "loop lag p50 ms", "loop lag p99 ms", "loop lag max ms", "callbacks/s", "longest callback ms"};

static void
loop_window(struct rt *rt, void *data, const struct rt_loop_window *w)
{
    (void)data;
    double secs = (double)(w->end_ns - w->start_ns) / 1e9;
    double v[RT_PROF_LOOP_COUNTERS] = {
        (double)w->lag_p50_ns / 1e6, (double)w->lag_p99_ns / 1e6, (double)w->lag_max_ns / 1e6,
        secs > 0 ? (double)w->callbacks / secs : 0, (double)w->longest_callback_ns / 1e6};
    prof_counters(rt->mrb, rt_prof_loop_counters, v, RT_PROF_LOOP_COUNTERS, w->end_ns);
}

/* A Deferred worker is about to run a task: the profiler follows it (joins a session that
 * started meanwhile), and knows where its blocked mark is (rt.h's wait states). */
static void
vm_task_begin(mrb_state *mrb, const char *name, const volatile sig_atomic_t *idle)
{
    prof_block_mark(&rt_blocked);
    prof_follow(mrb, name, idle);
}

/* A Deferred worker's task ended: its span, then name its frames while its code is alive. */
static void
vm_task_end(mrb_state *mrb, const char *label, uint64_t start_ns, uint64_t end_ns)
{
    prof_span(mrb, label, start_ns, end_ns);
    prof_safe_point(mrb);
}

static int
start_session(struct rt *rt, enum prof_mode mode, unsigned hz, struct mp_err *e)
{
    struct prof_session *s = prof_start(mode, hz, e);
    if (!s)
        return -1;
    int rc = prof_attach(s, rt->mrb, "main", &rt->loop_state, &rt->main_done);
    if (rc) {
        mp_errf(e, rc, "cannot start the sampling timer: %s", strerror(-rc));
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
    struct mp_err err;
    if (start_session(rt_from_mrb(mrb), m, (unsigned)hz, &err) != 0)
        mrb_raisef(mrb, E_RUNTIME_ERROR, "cannot start profiling: %s", err.msg);
    return mrb_true_value();
}

/* "cluster worker <id>" in a cluster worker (rt_prof_cluster_worker), else "". */
static char g_process_name[64];

/* Stops session s; the profile carries this process's id (the trace's pid) and name. */
static struct profile *
stop_session(struct prof_session *s)
{
    struct profile *p = prof_stop(s);
    if (p) {
        p->meta.pid = (int64_t)getpid();
        snprintf(p->meta.process_name, sizeof p->meta.process_name, "%s", g_process_name);
    }
    return p;
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
    struct profile *p = stop_session(s);
    mrb_value pair[2] = {mrb_float_value(mrb, secs), wrap_profile(mrb, p)};
    return mrb_ary_new_from_values(mrb, 2, pair);
}

static mrb_value
profiler_running_p(mrb_state *mrb, mrb_value self)
{
    return mrb_bool_value(prof_current() != NULL);
}

/* Profiler.thread_cpu_time: the CPU seconds the calling thread has used (its CPU clock), so
 * that a script can measure the truth a CPU profile should show. */
static mrb_value
profiler_thread_cpu_time(mrb_state *mrb, mrb_value self)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return mrb_float_value(mrb, (mrb_float)ts.tv_sec + (mrb_float)ts.tv_nsec / 1e9);
}

/* Writes p to path in format (NULL: from the path's extension, else fallback); raises. */
static mrb_value
save_profile(mrb_state *mrb, const struct profile *p, const char *path, const char *format,
             const char *fallback)
{
    const struct fmt_ops *f = format ? fmt_by_name(format) : fmt_by_path(path);
    if (format && !f)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "unknown format '%s' (known: %s)", format, fmt_names());
    if (!f)
        f = fmt_by_name(fallback);
    struct fmt_err e = {0};
    struct fmt_write_opts o = {.thread = -1};
    struct fmt_written *w;
    size_t n;
    int rc = fmt_write_threads(p, path, f, &o, &w, &n, &e);
    mrb_value paths = mrb_ary_new_capa(mrb, (mrb_int)n);
    for (size_t i = 0; i < n; i++)
        mrb_ary_push(mrb, paths, mrb_str_new_cstr(mrb, w[i].path));
    free(w);
    if (rc != 0)
        mrb_raisef(mrb, E_RUNTIME_ERROR, "%s", e.msg);
    return paths;
}

/* Profile#__save(path, format_or_nil) */
static mrb_value
profile_save(mrb_state *mrb, mrb_value self)
{
    struct profile *p = get_profile_ptr(mrb, self);
    const char *path, *format = NULL;
    mrb_get_args(mrb, "z|z!", &path, &format);
    return save_profile(mrb, p, path, format, "cpuprofile");
}

/* [[name, file, line, self_w, total_w, self_n, total_n], ...], all_w: the n functions (lines,
 * files) of p with the most self weight (ns, or bytes in a memory profile). */
static mrb_value
top_rows(mrb_state *mrb, const struct profile *p, mrb_int n, mrb_int by)
{
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

/* Profile#__top(n, by) -> [[name, file, line, self_ns, total_ns, self_n, total_n], ...], all_w */
static mrb_value
profile_top(mrb_state *mrb, mrb_value self)
{
    mrb_int n, by;
    mrb_get_args(mrb, "ii", &n, &by);
    return top_rows(mrb, get_profile_ptr(mrb, self), n, by);
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

/* --- memory: Profiler.start_memory_profiling and MemoryProfile ------------------------------ */

/* What memory profiling found: the same allocation samples seen two ways, in bytes. */
struct mem_profile {
    struct profile *allocated, *live;
};

static void
mem_dfree(mrb_state *mrb, void *ptr)
{
    struct mem_profile *m = ptr;
    if (m) {
        profile_free(m->allocated);
        profile_free(m->live);
        free(m);
    }
}

static const struct mrb_data_type mem_type = {"MemoryProfile", mem_dfree};

/* True when start_memory_profiling started the session itself (no CPU sampling in it), so
 * that stop_memory_profiling ends it; false when it joined a CPU profile already running. */
static bool g_mem_owns_session;

static struct mem_profile *
get_mem(mrb_state *mrb, mrb_value self)
{
    struct mem_profile *m = DATA_GET_PTR(mrb, self, &mem_type, struct mem_profile);
    if (!m)
        mrb_raise(mrb, E_RUNTIME_ERROR, "empty MemoryProfile");
    return m;
}

/* Profiler.__start_memory(interval) */
static mrb_value
profiler_start_memory(mrb_state *mrb, mrb_value self)
{
    mrb_int interval;
    mrb_get_args(mrb, "i", &interval);
    if (interval < 1)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "interval must be a positive number of bytes, not %i",
                   interval);
    struct prof_session *s = prof_current();
    if (s && prof_heap_interval(s))
        mrb_raise(mrb, E_RUNTIME_ERROR, "memory profiling is already running");
    struct mp_err err;
    if (!s) {
        if (start_session(rt_from_mrb(mrb), PROF_MODE_CPU, 0, &err) != 0)
            mrb_raisef(mrb, E_RUNTIME_ERROR, "cannot start memory profiling: %s", err.msg);
        s = prof_current();
    }
    g_mem_owns_session = prof_session_hz(s) == 0;
    prof_set_heap_interval(s, (uint64_t)interval);
    return mrb_true_value();
}

struct snapshot {
    const struct profile_heap_meta *totals;
    struct profile *allocated, *live;
};

static void
take_snapshot(const struct profile *p, uint64_t generation, void *arg)
{
    (void)generation;
    struct snapshot *sn = arg;
    sn->allocated = profile_heap_view(p, false, sn->totals);
    sn->live = profile_heap_view(p, true, sn->totals);
}

/* Profiler.__stop_memory -> MemoryProfile */
static mrb_value
profiler_stop_memory(mrb_state *mrb, mrb_value self)
{
    struct prof_session *s = prof_current();
    if (!s || !prof_heap_interval(s))
        mrb_raise(mrb, E_RUNTIME_ERROR,
                  "memory profiling is not running (call start_memory_profiling first)");
    /* "Live" means reachable, as in Go's heap profile: collect the garbage first, so that
     * what the script dropped is not counted because the collector has not come by yet. */
    mrb_full_gc(mrb);
    struct profile_heap_meta totals;
    prof_heap_totals(s, &totals);
    struct snapshot sn = {&totals, NULL, NULL};
    if (g_mem_owns_session) {
        struct profile *p = prof_stop(s);
        take_snapshot(p, 0, &sn);
        profile_free(p);
    } else { /* a CPU profile goes on: take what memory profiling found so far */
        prof_set_heap_interval(s, 0);
        prof_read_profile(take_snapshot, &sn);
    }
    struct mem_profile *m = calloc(1, sizeof *m);
    if (!m || !sn.allocated || !sn.live) {
        free(m), profile_free(sn.allocated), profile_free(sn.live);
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    }
    m->allocated = sn.allocated;
    m->live = sn.live;
    struct RClass *c = mrb_class_get(mrb, "MemoryProfile");
    return mrb_obj_value(mrb_data_object_alloc(mrb, c, m, &mem_type));
}

static mrb_value
profiler_memory_running_p(mrb_state *mrb, mrb_value self)
{
    struct prof_session *s = prof_current();
    return mrb_bool_value(s && prof_heap_interval(s));
}

/* The n allocation sites of heap profile p with the most bytes (agg_sites, as the viewer's
 * memory view lists them): "method (String#*)" rather than String#* alone, in top_rows' shape
 * (a site's own bytes are its total). */
static mrb_value
site_rows(mrb_state *mrb, const struct profile *p, mrb_int n)
{
    size_t nn = profile_nnodes(p);
    double *bytes = calloc(nn ? nn : 1, sizeof *bytes), *count = calloc(nn ? nn : 1, sizeof *count);
    struct agg_site *sites = NULL;
    size_t ns = 0;
    uint64_t all = 0;
    if (bytes && count) {
        for (size_t i = 0; i < profile_nsamples(p); i++) {
            const struct prof_sample *smp = &profile_samples(p)[i];
            bytes[smp->node] += (double)smp->weight_ns;
            count[smp->node] += 1;
            all += smp->weight_ns;
        }
        ns = agg_sites(p, bytes, NULL, count, &sites);
    }
    free(bytes), free(count);
    if (!sites && profile_nsamples(p)) /* agg_sites makes no array only when out of memory */
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    mrb_value rows = mrb_ary_new(mrb);
    int ai = mrb_gc_arena_save(mrb);
    for (size_t i = 0; i < ns && (mrb_int)i < n; i++) {
        const struct prof_frame *code = &profile_frames(p)[sites[i].code];
        const char *cname = profile_str(p, code->name);
        mrb_value name = mrb_str_new_cstr(mrb, cname);
        if (sites[i].leaf != sites[i].code) {
            mrb_str_cat_lit(mrb, name, " (");
            mrb_str_cat_cstr(mrb, name, profile_str(p, profile_frames(p)[sites[i].leaf].name));
            mrb_str_cat_lit(mrb, name, ")");
        }
        mrb_value v[7] = {
            name,
            mrb_str_new_cstr(mrb, profile_str(p, code->file)),
            mrb_fixnum_value(code->line),
            mrb_fixnum_value((mrb_int)sites[i].allocated),
            mrb_fixnum_value((mrb_int)sites[i].allocated),
            mrb_fixnum_value((mrb_int)sites[i].count),
            mrb_fixnum_value((mrb_int)sites[i].count),
        };
        mrb_ary_push(mrb, rows, mrb_ary_new_from_values(mrb, 7, v));
        mrb_gc_arena_restore(mrb, ai);
    }
    free(sites);
    mrb_value res[2] = {rows, mrb_fixnum_value((mrb_int)all)};
    return mrb_ary_new_from_values(mrb, 2, res);
}

/* MemoryProfile#__top(n, by, live): by is Profile::BY's code, or -1 for allocation sites. */
static mrb_value
mem_top(mrb_state *mrb, mrb_value self)
{
    struct mem_profile *m = get_mem(mrb, self);
    mrb_int n, by;
    mrb_bool live;
    mrb_get_args(mrb, "iib", &n, &by, &live);
    const struct profile *p = live ? m->live : m->allocated;
    return by < 0 ? site_rows(mrb, p, n) : top_rows(mrb, p, n, by);
}

/* MemoryProfile#__save(path, format_or_nil, live) */
static mrb_value
mem_save(mrb_state *mrb, mrb_value self)
{
    struct mem_profile *m = get_mem(mrb, self);
    const char *path, *format;
    mrb_bool live;
    mrb_get_args(mrb, "zz!b", &path, &format, &live);
    return save_profile(mrb, live ? m->live : m->allocated, path, format, "heapprofile");
}

/* MemoryProfile#__stats -> [allocated bytes (counted), allocations (counted), estimated bytes
 * (the samples' own estimate), live bytes (estimated), samples, interval] */
static mrb_value
mem_stats(mrb_state *mrb, mrb_value self)
{
    struct mem_profile *m = get_mem(mrb, self);
    const struct profile_heap_meta *h = &m->allocated->meta.heap;
    mrb_value v[6] = {
        mrb_fixnum_value((mrb_int)h->alloc_bytes),
        mrb_fixnum_value((mrb_int)h->alloc_count),
        mrb_fixnum_value((mrb_int)(h->estimated_bytes + 0.5)),
        mrb_fixnum_value((mrb_int)profile_total_weight(m->live, -1)),
        mrb_fixnum_value((mrb_int)profile_nsamples(m->allocated)),
        mrb_fixnum_value((mrb_int)h->interval),
    };
    return mrb_ary_new_from_values(mrb, 6, v);
}

static void
profiling_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    rt->hooks.safe_point = safe_point;
    rt->hooks.wait_begin = wait_begin;
    rt->hooks.wait_end = wait_end;
    rt->hooks.loop_window = loop_window;
    rt->hooks.stall_mark = stall_mark;
    rt->hooks.stall_check = stall_check;
    rt->hooks.allocf = prof_allocf; /* malloc, seen by the memory profiler */
    rt->hooks.vm_task_begin = vm_task_begin;
    /* Wall mode's wait states: "(blocked: NAME)" while a synchronous call holds a thread. */
    prof_set_block_names(rt_block_names, RT_BLOCK_COUNT);
    prof_block_mark(&rt_blocked);
    rt->hooks.vm_task_end = vm_task_end;
    rt->hooks.vm_close = prof_detach;
    struct RClass *m = mrb_define_module(mrb, "Profiler");
    mrb_define_module_function(mrb, m, "__start", profiler_start, MRB_ARGS_REQ(2));
    mrb_define_module_function(mrb, m, "__stop", profiler_stop, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, m, "profiling?", profiler_running_p, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, m, "thread_cpu_time", profiler_thread_cpu_time,
                               MRB_ARGS_NONE());
    struct RClass *c = mrb_define_class(mrb, "Profile", mrb->object_class);
    MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
    mrb_undef_class_method(mrb, c, "new");
    mrb_define_method(mrb, c, "__save", profile_save, MRB_ARGS_ARG(1, 1));
    mrb_define_method(mrb, c, "__top", profile_top, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, c, "samples", profile_m_samples, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "duration", profile_m_duration, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, m, "__start_memory", profiler_start_memory, MRB_ARGS_REQ(1));
    mrb_define_module_function(mrb, m, "__stop_memory", profiler_stop_memory, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, m, "memory_profiling?", profiler_memory_running_p,
                               MRB_ARGS_NONE());
    struct RClass *mc = mrb_define_class(mrb, "MemoryProfile", mrb->object_class);
    MRB_SET_INSTANCE_TT(mc, MRB_TT_DATA);
    mrb_undef_class_method(mrb, mc, "new");
    mrb_define_method(mrb, mc, "__top", mem_top, MRB_ARGS_REQ(3));
    mrb_define_method(mrb, mc, "__save", mem_save, MRB_ARGS_REQ(3));
    mrb_define_method(mrb, mc, "__stats", mem_stats, MRB_ARGS_NONE());
}

/* A profile the script started and never stopped: the sampler must not watch the VM being torn
 * down (its allocator hook would walk freed stacks). */
static void
profiling_free(struct rt *rt)
{
    (void)rt;
    if (prof_current())
        profile_free(prof_stop(prof_current()));
}

const struct rt_module rt_module_profiling = {
    .name = "profiling",
    .main_only = true, /* one session per process, driven from the main runtime */
    .init = profiling_init,
    .free = profiling_free,
};

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
/* What the first Ctrl-C says: set before the handler is installed, read by it. */
static const char stop_writes[] =
    "\nmrun: stopping to write the profile (press Ctrl-C again to quit without it)\n";
static const char stop_live[] =
    "\nmrun: stopping; the live viewers get the final profile (no file is written; press Ctrl-C "
    "again to quit at once)\n";
static const char *stop_msg = stop_writes;
static size_t stop_len = sizeof stop_writes - 1;

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
    ssize_t ignored = write(STDERR_FILENO, stop_msg, stop_len);
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
    const struct rt *rt = mrb->ud;
    if (!rt || rt->worker)
        return; /* a Deferred worker's or a Worker's VM: the interrupt belongs to the main script */
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

void
rt_prof_loop_ended(struct rt *rt)
{
    if (!prof_interrupt_pending || rt->exiting || interrupt_async.data != rt)
        return;
    interrupt_in_loop(&interrupt_async);
}

static void
catch_stop_signals(struct rt *rt, const struct rt_prof_opts *o)
{
    bool writes = o->cpu_prof || o->heap_prof;
    stop_msg = writes ? stop_writes : stop_live;
    stop_len = writes ? sizeof stop_writes - 1 : sizeof stop_live - 1;
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
    struct mp_err err;
    if (o->stall_ms) { /* the stall recorder: its own wall-clock ring, nothing else */
        struct prof_stall_opts so = {
            .threshold_ms = o->stall_ms,
            .dir = o->stall_dir,
            .quiet = getenv("MRUN_QUIET") != NULL,
            .process_name = g_process_name,
            .held_since_ns = &rt->health.held_since_ns,
            .held_seq = &rt->health.held_seq,
            .stall_flag = &rt->health.stall_flag,
        };
        if (start_session(rt, PROF_MODE_WALL, PROF_STALL_RING_HZ, &err) != 0 ||
            prof_stall_start(rt->mrb, &so, &err) != 0) {
            fprintf(stderr, "mrun: --prof-stall: %s\n", err.msg);
            if (prof_current())
                profile_free(prof_stop(prof_current()));
            return -1;
        }
        rt->health.stall_check_ns = o->stall_ms * 1000000u;
        return 0;
    }
    /* --heap-prof alone samples no CPU (rate 0): only allocations. */
    unsigned hz = o->cpu_prof || o->live ? o->hz : 0;
    if (start_session(rt, o->mode, hz, &err) != 0) {
        fprintf(stderr, "mrun: cannot start profiling: %s\n", err.msg);
        return -1;
    }
    if (o->heap_prof || o->heap_interval) /* the interval alone: sampled for live viewers */
        prof_set_heap_interval(prof_current(),
                               o->heap_interval ? o->heap_interval : PROF_HEAP_DEFAULT_INTERVAL);
    if (o->live && !(g_live = prof_live_start(o->live_addr, &err))) {
        fprintf(stderr, "mrun: --prof-live: %s\n", err.msg);
        profile_free(prof_stop(prof_current()));
        return -1;
    }
    if (g_live && o->live_wait && !prof_live_wait_viewer(g_live, 10000))
        fprintf(stderr, "mrun: --prof-live-wait: no viewer came within 10 s; running anyway\n");
    catch_stop_signals(rt, o);
    return 0;
}

/* path with ".worker-<id>.<pid>" before its extension: a format's (".speedscope.json",
 * ".cpuprofile"...), else the file name's last one; appended when there is none. */
static const char *
worker_path_of(char *buf, size_t len, const char *path, long id, long pid, bool dir)
{
    static const char *const exts[] = {
        ".speedscope.json", ".perfetto.json", ".pb.gz", ".heapprofile", ".cpuprofile", ".collapsed",
        ".folded",          ".pprof",         ".json",  ".svg",         NULL};
    size_t n = strlen(path);
    while (dir && n > 1 && path[n - 1] == '/') /* "stalls/" → "stalls.worker-1.123/" */
        n--;
    size_t cut = n;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    bool found = false;
    for (int i = 0; !dir && exts[i]; i++) {
        size_t m = strlen(exts[i]);
        if (n > m && strcmp(path + n - m, exts[i]) == 0 && path + n - m > base) {
            cut = n - m;
            found = true;
            break;
        }
    }
    const char *dot = strrchr(base, '.');
    if (!dir && !found && dot && dot > base)
        cut = (size_t)(dot - path);
    snprintf(buf, len, "%.*s.worker-%ld.%ld%s", (int)cut, path, id, pid, path + cut);
    return buf;
}

static const char *
worker_path(char *buf, size_t len, const char *path, long id, bool dir)
{
    return worker_path_of(buf, len, path, id, (long)getpid(), dir);
}

/* The workers this primary started (runtime/cluster.c tells), for the merge at exit. */
static struct {
    long id, pid;
} * g_spawned;
static size_t g_nspawned;

void
rt_prof_cluster_spawned(long id, long pid)
{
    void *bigger = realloc(g_spawned, (g_nspawned + 1) * sizeof *g_spawned);
    if (!bigger)
        return; /* that worker's file stays beside the primary's, unmerged */
    g_spawned = bigger;
    g_spawned[g_nspawned].id = id;
    g_spawned[g_nspawned++].pid = pid;
}

/* A cluster primary writing a Trace Event file: every worker's file (already written: the
 * primary exits after its workers) becomes a process of p, and is removed. A worker whose file
 * is missing (killed with SIGKILL, or --prof-out is a directory) is named, and skipped. */
static void
merge_workers(const struct rt_prof_opts *o, const struct fmt_ops *f, struct profile *p)
{
    bool quiet = getenv("MRUN_QUIET") != NULL;
    struct stat st;
    if (!g_nspawned || !o->out || (stat(o->out, &st) == 0 && S_ISDIR(st.st_mode)) ||
        (strcmp(f->name, "trace") != 0 && strcmp(f->name, "perfetto") != 0))
        goto out;
    snprintf(p->meta.process_name, sizeof p->meta.process_name, "cluster primary");
    for (size_t i = 0; i < g_nspawned; i++) {
        char path[4096];
        worker_path_of(path, sizeof path, o->out, g_spawned[i].id, g_spawned[i].pid, false);
        struct mp_err e = {0};
        struct profile *w = fmt_read_path(path, &e);
        if (!w) {
            if (!quiet)
                fprintf(stderr, "mrun: cluster worker %ld (pid %ld) left no profile to merge: %s\n",
                        g_spawned[i].id, g_spawned[i].pid, e.msg);
            continue;
        }
        if (!w->meta.pid)
            w->meta.pid = g_spawned[i].pid;
        size_t ns = profile_nsamples(w);
        if (profile_merge_process(p, w) == 0) {
            unlink(path);
            if (!quiet)
                fprintf(stderr, "mrun: cluster worker %ld (pid %ld, %zu samples) merged from %s\n",
                        g_spawned[i].id, g_spawned[i].pid, ns, path);
        } else if (!quiet)
            fprintf(stderr, "mrun: cannot merge %s: out of memory\n", path);
        profile_free(w);
    }
out:
    free(g_spawned);
    g_spawned = NULL;
    g_nspawned = 0;
}

void
rt_prof_cluster_worker(struct rt_prof_opts *o, long id)
{
    static char out[4096], heap_out[4096], stall_dir[4096], live[4200];
    snprintf(g_process_name, sizeof g_process_name, "cluster worker %ld", id);
    struct stat st;
    if (o->out && !(stat(o->out, &st) == 0 && S_ISDIR(st.st_mode)))
        o->out = worker_path(out, sizeof out, o->out, id, false);
    if (o->heap_out && !(stat(o->heap_out, &st) == 0 && S_ISDIR(st.st_mode)))
        o->heap_out = worker_path(heap_out, sizeof heap_out, o->heap_out, id, false);
    if (o->stall_dir)
        o->stall_dir = worker_path(stall_dir, sizeof stall_dir, o->stall_dir, id, true);
    o->live_wait = false; /* the primary waits for a viewer; its workers start at once */
    if (o->live_addr && strncmp(o->live_addr, "unix:", 5) == 0) {
        char tmp[4096];
        snprintf(live, sizeof live, "unix:%s",
                 worker_path(tmp, sizeof tmp, o->live_addr + 5, id, true));
        o->live_addr = live;
    } else if (o->live_addr && strncmp(o->live_addr, "tcp:", 4) == 0) {
        const char *colon = strrchr(o->live_addr, ':');
        snprintf(live, sizeof live, "%.*s:0", (int)(colon - o->live_addr), o->live_addr);
        o->live_addr = live;
    }
}

/* Where --cpu-prof/--heap-prof write: out itself, or Node's default name
 * (KIND.<date>.<time>.<pid>.0.001EXT) in the directory out, or in the current directory. */
static void
output_path(char *path, size_t len, const char *out, const char *kind, const char *ext)
{
    struct stat st;
    bool out_is_dir = out && stat(out, &st) == 0 && S_ISDIR(st.st_mode);
    if (out && !out_is_dir) {
        snprintf(path, len, "%s", out);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    snprintf(path, len, "%s%s%s.%04d%02d%02d.%02d%02d%02d.%ld.0.001%s", out_is_dir ? out : "",
             out_is_dir ? "/" : "", kind, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)getpid(), ext);
}

/* --cpu-prof: the profile p in the format asked, one file per sampled thread for .cpuprofile. */
static const struct fmt_ops *
cpu_format(const struct rt_prof_opts *o)
{
    const struct fmt_ops *f = o->format ? fmt_by_name(o->format) : NULL;
    struct stat st;
    bool out_is_dir = o->out && stat(o->out, &st) == 0 && S_ISDIR(st.st_mode);
    if (!f && o->out && !out_is_dir)
        f = fmt_by_path(o->out);
    return f ? f : fmt_by_name("cpuprofile");
}

static int
write_cpu_profile(const struct rt_prof_opts *o, const struct profile *p)
{
    const struct fmt_ops *f = cpu_format(o);
    char path[4096];
    output_path(path, sizeof path, o->out, "CPU",
                strcmp(f->name, "cpuprofile") == 0 ? ".cpuprofile" : f->ext);
    /* A .cpuprofile holds one thread: one file per sampled thread (formats/threads.h). */
    struct fmt_err e = {0};
    struct fmt_write_opts wo = {.thread = -1, .idle = o->idle};
    struct fmt_written *w;
    size_t n;
    int rc = fmt_write_threads(p, path, f, &wo, &w, &n, &e);
    for (size_t i = 0; i < n && !getenv("MRUN_QUIET"); i++)
        fprintf(stderr, "mrun: %s profile written to %s (%zu samples%s%s)\n", f->name, w[i].path,
                w[i].samples, w[i].thread >= 0 && profile_nthreads(p) > 1 ? ", thread " : "",
                w[i].thread >= 0 && profile_nthreads(p) > 1
                    ? profile_str(p, profile_threads(p)[w[i].thread].name)
                    : "");
    if (rc)
        fprintf(stderr, "mrun: cannot write the profile: %s\n", e.msg);
    free(w);
    return rc;
}

/* --heap-prof: the live blocks (or every allocation) as a .heapprofile. */
static int
write_heap_profile(const struct rt_prof_opts *o, const struct profile *p)
{
    char path[4096];
    output_path(path, sizeof path, o->heap_out, "Heap", ".heapprofile");
    struct fmt_err e = {0};
    struct fmt_write_opts wo = {.thread = -1, .heap_allocated = o->heap_all};
    struct profile *view = profile_heap_view(p, !o->heap_all, NULL);
    int rc = view ? fmt_write_path(view, path, fmt_by_name("heapprofile"), &wo, &e) : -ENOMEM;
    if (rc)
        fprintf(stderr, "mrun: cannot write the heap profile: %s\n",
                view ? e.msg : "out of memory");
    else if (!getenv("MRUN_QUIET"))
        fprintf(stderr,
                "mrun: heap profile written to %s (%zu samples, %s; %llu bytes in %llu allocations "
                "counted)\n",
                path, profile_nsamples(view), o->heap_all ? "every allocation" : "live blocks",
                (unsigned long long)p->meta.heap.alloc_bytes,
                (unsigned long long)p->meta.heap.alloc_count);
    profile_free(view);
    return rc;
}

int
rt_prof_finish(struct rt *rt, const struct rt_prof_opts *o, int exit_status)
{
    if (o->stall_ms) {
        rt->health.stall_check_ns = 0;
        prof_stall_finish(rt->mrb);
        if (prof_current())
            profile_free(prof_stop(prof_current()));
        return 0;
    }
    release_stop_signals();
    rt_health_flush(rt); /* the last window's counters */
    struct prof_session *s = prof_current();
    if (s && o->heap_prof && prof_heap_interval(s))
        mrb_full_gc(rt->mrb);                       /* "live" is what is reachable at exit */
    struct profile *p = s ? stop_session(s) : NULL; /* NULL: the script stopped it itself */
    if (g_live) {
        prof_live_finish(g_live, p, exit_status);
        g_live = NULL;
    }
    if (!p)
        return 0;
    int rc = 0;
    if (o->cpu_prof) {
        merge_workers(o, cpu_format(o), p);
        rc = write_cpu_profile(o, p);
    }
    if (o->heap_prof && write_heap_profile(o, p) != 0)
        rc = -1;
    profile_free(p);
    return rc ? -1 : 0;
}

/* --- the inspector's Profiler and HeapProfiler domains (runtime/inspector.c) ---------------- */

/* What the inspector started: a CPU session shared by its CDP sessions (each user below), and
 * allocation sampling (in a session of its own when no CPU profile runs, else joined to it). */
static bool g_cdp_heap, g_cdp_heap_owns;

/* The CDP sessions whose Profiler runs (the main target's and each NodeWorker session's): the
 * sampler is one session per process, started by the first Profiler.start and stopped by the
 * last Profiler.stop; each user gets its own thread's samples since its own start. g_cdp_shared:
 * more than one user met in this sampler session (else the main user's profile is the whole
 * session's main thread, as before). */
#define CDP_MAX_USERS 256
static struct {
    uint64_t key, since_ns;
} g_cdp_users[CDP_MAX_USERS];
static size_t g_cdp_nusers;
static bool g_cdp_shared;

/* A profile written by writer w into a malloc'd string (the same writers as the files). */
static char *
write_to_string(const struct profile *p,
                int (*w)(const struct profile *, FILE *, const struct fmt_write_opts *,
                         struct mp_err *),
                const struct fmt_write_opts *o, size_t *len, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct mp_err e = {0};
    int rc = w(p, f, o, &e);
    if (fclose(f) != 0 && rc == 0)
        rc = -ENOMEM, snprintf(e.msg, sizeof e.msg, "out of memory");
    if (rc != 0) {
        snprintf(err, errlen, "%s", e.msg);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int
rt_prof_cdp_start(struct rt *rt, uint64_t user, unsigned hz, bool *started, char *err,
                  size_t errlen)
{
    struct prof_session *s = prof_current();
    *started = false;
    for (size_t i = 0; i < g_cdp_nusers; i++)
        if (g_cdp_users[i].key == user) {
            snprintf(err, errlen, "the profiler is already started");
            return -1;
        }
    if (g_cdp_nusers == CDP_MAX_USERS) {
        snprintf(err, errlen, "too many profiler sessions (%d)", CDP_MAX_USERS);
        return -1;
    }
    if (s && !g_cdp_nusers) {
        snprintf(err, errlen, "%s",
                 g_cdp_heap_owns ? "a CPU profile cannot start while HeapProfiler sampling runs "
                                   "(stop it first: one sampler session per process)"
                                 : "a profile is already being recorded in this process "
                                   "(--cpu-prof, --prof-live or Profiler.start_profiling)");
        return -1;
    }
    if (!s) {
        struct mp_err e;
        if (start_session(rt, PROF_MODE_CPU, hz, &e) != 0) {
            snprintf(err, errlen, "cannot start profiling: %s", e.msg);
            return -1;
        }
        g_cdp_shared = false;
        *started = true;
    } else {
        g_cdp_shared = true; /* joins the sampler at its rate: the first start's */
    }
    g_cdp_users[g_cdp_nusers].key = user;
    g_cdp_users[g_cdp_nusers++].since_ns = prof_now_ns();
    return 0;
}

/* A new profile of p's thread tid alone (every model thread with that tid: a Deferred worker that
 * replaced its VM appears twice), its samples from since_ns on: what one CDP session asked for. */
static struct profile *
thread_view(const struct profile *p, int64_t tid, uint64_t since_ns)
{
    struct profile *v = profile_new();
    size_t nf = profile_nframes(p), nn = profile_nnodes(p);
    uint32_t *fmap = malloc((nf ? nf : 1) * sizeof *fmap);
    uint32_t *nmap = malloc((nn ? nn : 1) * sizeof *nmap);
    if (!v || !fmap || !nmap) {
        profile_free(v), free(fmap), free(nmap);
        return NULL;
    }
    v->meta = p->meta;
    if (since_ns > v->meta.start_ns) {
        if (v->meta.wall_start_ns)
            v->meta.wall_start_ns += since_ns - v->meta.start_ns;
        v->meta.start_ns = since_ns;
    }
    for (size_t i = 0; i < nf; i++) {
        const struct prof_frame *f = &profile_frames(p)[i];
        fmap[i] = profile_frame_intern(v, profile_str(p, f->name), profile_str(p, f->file), f->line,
                                       f->kind);
    }
    nmap[0] = 0;
    for (size_t i = 1; i < nn; i++) {
        const struct prof_node *n = &profile_nodes(p)[i];
        nmap[i] = profile_node(v, nmap[n->parent], fmap[n->frame]);
    }
    uint32_t th = UINT32_MAX;
    for (size_t i = 0; i < profile_nthreads(p); i++)
        if (profile_threads(p)[i].tid == tid && profile_threads(p)[i].process == 0) {
            th = profile_add_thread(v, tid, profile_str(p, profile_threads(p)[i].name));
            break;
        }
    if (th == UINT32_MAX) /* the thread never ran while sampled: an empty profile of it */
        th = profile_add_thread(v, tid, "");
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        const struct prof_sample *smp = &profile_samples(p)[i];
        if (smp->t_ns >= since_ns && profile_threads(p)[smp->thread].tid == tid &&
            profile_threads(p)[smp->thread].process == 0)
            profile_add_sample(v, th, nmap[smp->node], smp->line, smp->t_ns, smp->weight_ns);
    }
    free(fmap);
    free(nmap);
    profile_sort_samples(v);
    if (profile_oom(v)) {
        profile_free(v);
        return NULL;
    }
    return v;
}

struct view_arg {
    int64_t tid;
    uint64_t since_ns;
    struct profile *view;
};

static void
take_view(const struct profile *p, uint64_t generation, void *arg)
{
    (void)generation;
    struct view_arg *a = arg;
    a->view = thread_view(p, a->tid, a->since_ns);
}

char *
rt_prof_cdp_stop(struct rt *rt, uint64_t user, int64_t tid, size_t *len, char *err, size_t errlen)
{
    (void)rt;
    struct prof_session *s = prof_current();
    size_t k = 0;
    while (k < g_cdp_nusers && g_cdp_users[k].key != user)
        k++;
    if (k == g_cdp_nusers || !s) {
        snprintf(err, errlen, "the profiler is not started");
        return NULL;
    }
    uint64_t since = g_cdp_users[k].since_ns;
    g_cdp_users[k] = g_cdp_users[--g_cdp_nusers];
    bool main_thread = tid == 0;
    if (main_thread)
        tid = (int64_t)getpid(); /* the main thread's id is the process's */
    struct profile *p = NULL;
    if (g_cdp_nusers == 0) { /* the last user: the sampler stops */
        if (g_cdp_heap) {    /* allocation sampling joined this session: it ends with it */
            g_cdp_heap = false;
            prof_set_heap_interval(s, 0);
        }
        p = stop_session(s);
        if (p && (!main_thread || g_cdp_shared)) {
            struct profile *v = thread_view(p, tid, since);
            profile_free(p);
            p = v;
        }
    } else { /* others go on: this thread's samples so far */
        struct view_arg a = {tid, since, NULL};
        prof_read_profile(take_view, &a);
        p = a.view;
    }
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* One thread per Profile, as V8's: the main VM's (thread 0, the first attached), or the
     * view's only one. */
    struct fmt_write_opts o = {.thread = 0};
    char *json = write_to_string(p, cpuprofile_write, &o, len, err, errlen);
    profile_free(p);
    return json;
}

int
rt_prof_cdp_heap_start(struct rt *rt, uint64_t interval, char *err, size_t errlen)
{
    struct prof_session *s = prof_current();
    if (g_cdp_heap || (s && prof_heap_interval(s))) {
        snprintf(err, errlen, "%s",
                 g_cdp_heap ? "sampling is already started"
                            : "memory is already being sampled in this process (--heap-prof or "
                              "Profiler.start_memory_profiling)");
        return -1;
    }
    struct mp_err e;
    g_cdp_heap_owns = !s;
    if (!s && start_session(rt, PROF_MODE_CPU, 0, &e) != 0) {
        snprintf(err, errlen, "cannot start sampling: %s", e.msg);
        return -1;
    }
    prof_set_heap_interval(prof_current(), interval ? interval : PROF_HEAP_DEFAULT_INTERVAL);
    g_cdp_heap = true;
    return 0;
}

char *
rt_prof_cdp_heap_profile(struct rt *rt, bool stop, size_t *len, char *err, size_t errlen)
{
    struct prof_session *s = prof_current();
    if (!g_cdp_heap || !s) {
        snprintf(err, errlen, "sampling profiler is not started");
        return NULL;
    }
    /* Live blocks, as V8's sampling heap profiler reports what the collector has not freed. */
    mrb_full_gc(rt->mrb);
    struct profile_heap_meta totals;
    prof_heap_totals(s, &totals);
    struct snapshot sn = {&totals, NULL, NULL};
    if (stop) {
        g_cdp_heap = false;
        if (g_cdp_heap_owns) {
            struct profile *p = prof_stop(s);
            take_snapshot(p, 0, &sn);
            profile_free(p);
        } else {
            prof_read_profile(take_snapshot, &sn);
            prof_set_heap_interval(s, 0);
        }
        g_cdp_heap_owns = false;
    } else {
        prof_read_profile(take_snapshot, &sn);
    }
    char *json = NULL;
    if (!sn.live) {
        snprintf(err, errlen, "out of memory");
    } else {
        struct fmt_write_opts o = {.thread = -1};
        json = write_to_string(sn.live, heapprofile_write, &o, len, err, errlen);
    }
    profile_free(sn.allocated);
    profile_free(sn.live);
    return json;
}

bool
rt_prof_cdp_running(bool heap)
{
    return heap ? g_cdp_heap : g_cdp_nusers > 0;
}
