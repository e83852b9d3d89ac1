/*
 * bindings.c — the Ruby class Deferred (its C methods: __submit, load, setup, pool_size,
 * heap_limit, __run_once) and the module's entry points for the runtime. The promise API
 * (then, rescue, value, all...) is Ruby: runtime/prelude/deferred.rb.
 */
#include "runtime/deferred/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/compile.h>
#include <mruby/hash.h>
#include <mruby/proc.h>
#include <mruby/string.h>

#include "profiler/base/fileio.h"

static struct deferred_pool *
pool_of(mrb_state *mrb)
{
    return rt_from_mrb(mrb)->deferred;
}

/* Deferred#__submit(args, block): checks and ships the block; returns [site, task id]. */
static mrb_value
deferred_submit(mrb_state *mrb, mrb_value self)
{
    struct deferred_pool *pl = pool_of(mrb);
    mrb_value args, blk;
    mrb_get_args(mrb, "Ao", &args, &blk);
    deferred__check_block(mrb, blk, "Deferred.new");
    struct copy_buf code = {0};
    deferred__dump_block(mrb, blk, &code);
    mrb_int id = deferred__submit(mrb, pl, self, TASK_CALL, code, args, 0);
    char site[300];
    deferred__block_site(mrb, mrb_proc_ptr(blk)->body.irep, site, sizeof site);
    mrb_value pair[2] = {mrb_str_new_cstr(mrb, site), mrb_int_value(mrb, id)};
    return mrb_ary_new_from_values(mrb, 2, pair);
}

/* Deferred.__map_check(block): checks the block of Deferred.map; returns its site. */
static mrb_value
deferred_map_check(mrb_state *mrb, mrb_value self)
{
    mrb_value blk;
    mrb_get_args(mrb, "o", &blk);
    deferred__check_block(mrb, blk, "Deferred.map");
    char site[300];
    deferred__block_site(mrb, mrb_proc_ptr(blk)->body.irep, site, sizeof site);
    return mrb_str_new_cstr(mrb, site);
}

/* Deferred.__map_code(block): the checked block's bytecode, dumped once for all the chunks of
 * a map (and only when one is shipped). */
static mrb_value
deferred_map_code(mrb_state *mrb, mrb_value self)
{
    mrb_value blk;
    mrb_get_args(mrb, "o", &blk);
    struct copy_buf code = {0};
    deferred__dump_block(mrb, blk, &code);
    mrb_value bytes = mrb_str_new(mrb, (const char *)code.data, (mrb_int)code.len);
    copy_buf_free(&code);
    return bytes;
}

/* Deferred.__submit_chunk(runner, code, items, group): queues a chunk of a map (the block of
 * the bytecode String code on each item); the runner gets __settle_chunk. Returns its id. */
static mrb_value
deferred_submit_chunk(mrb_state *mrb, mrb_value self)
{
    mrb_value runner, code_str, items;
    mrb_int group;
    mrb_get_args(mrb, "oSAi", &runner, &code_str, &items, &group);
    struct copy_buf code = {malloc((size_t)RSTRING_LEN(code_str)), (size_t)RSTRING_LEN(code_str),
                            (size_t)RSTRING_LEN(code_str)};
    if (!code.data)
        mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
    memcpy(code.data, RSTRING_PTR(code_str), code.len);
    return mrb_int_value(mrb,
                         deferred__submit(mrb, pool_of(mrb), runner, TASK_MAP, code, items, group));
}

/* Deferred.__cancel_group(group): removes its queued tasks; returns how many. */
static mrb_value
deferred_cancel_group(mrb_state *mrb, mrb_value self)
{
    mrb_int group;
    mrb_get_args(mrb, "i", &group);
    return mrb_int_value(mrb, deferred__cancel_group(pool_of(mrb), group));
}

/* Deferred.__now_ns: CLOCK_MONOTONIC in ns (the workers' clock). */
static mrb_value
deferred_now_ns(mrb_state *mrb, mrb_value self)
{
    return mrb_int_value(mrb, (mrb_int)deferred__now_ns());
}

/* Deferred.__copy_ns(value): how long encoding value for a worker takes here, in ns: the best
 * of three (the first of a run pays for cold caches and the buffer's growth, ten times the rest
 * on a small value); the bytes are dropped. nil when it cannot be copied. */
static mrb_value
deferred_copy_ns(mrb_state *mrb, mrb_value self)
{
    mrb_value v;
    mrb_get_args(mrb, "o", &v);
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 3; i++) {
        struct copy_buf enc = {0};
        struct mp_err err;
        uint64_t start = deferred__now_ns();
        enum copy_error rc = copy_encode(mrb, v, "items", &enc, &err);
        uint64_t ns = deferred__now_ns() - start;
        copy_buf_free(&enc);
        if (rc != COPY_OK)
            return mrb_nil_value();
        best = ns < best ? ns : best;
    }
    return mrb_int_value(mrb, (mrb_int)best);
}

/* Deferred.__round_trip_ns: the pool's measured round trip (pool.c, note_round_trip). */
static mrb_value
deferred_round_trip_ns(mrb_state *mrb, mrb_value self)
{
    return mrb_int_value(mrb, (mrb_int)pool_of(mrb)->round_trip_ns);
}

static void
hash_set_sym(mrb_state *mrb, mrb_value h, const char *key, mrb_value v)
{
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_cstr(mrb, key)), v);
}

/* Deferred.__stats: the pool's counters (Deferred.stats adds the map's, prelude). */
static mrb_value
deferred_stats(mrb_state *mrb, mrb_value self)
{
    struct deferred_pool *pl = pool_of(mrb);
    struct {
        uint64_t busy_ns, ntasks, nitems;
        bool busy;
    } ws[MAX_WORKERS];
    pthread_mutex_lock(&pl->mu);
    int n = pl->nworkers;
    size_t queued = pl->nqueued;
    int running = 0;
    for (int i = 0; i < n; i++) {
        ws[i].busy_ns = pl->workers[i].busy_ns;
        ws[i].ntasks = pl->workers[i].ntasks;
        ws[i].nitems = pl->workers[i].nitems;
        ws[i].busy = pl->workers[i].busy;
        running += ws[i].busy;
    }
    pthread_mutex_unlock(&pl->mu);
    mrb_value h = mrb_hash_new(mrb);
    hash_set_sym(mrb, h, "queued", mrb_int_value(mrb, (mrb_int)queued));
    hash_set_sym(mrb, h, "running", mrb_int_value(mrb, running));
    hash_set_sym(mrb, h, "done", mrb_int_value(mrb, (mrb_int)pl->ndone));
    hash_set_sym(mrb, h, "submitted", mrb_int_value(mrb, (mrb_int)pl->nsubmitted));
    hash_set_sym(mrb, h, "cancelled", mrb_int_value(mrb, (mrb_int)pl->ncancelled));
    hash_set_sym(mrb, h, "pool_size", mrb_int_value(mrb, deferred__pool_wanted_size(pl)));
    hash_set_sym(mrb, h, "round_trip_us", mrb_float_value(mrb, (double)pl->round_trip_ns / 1e3));
    mrb_value list = mrb_ary_new_capa(mrb, n);
    for (int i = 0; i < n; i++) {
        mrb_value w = mrb_hash_new(mrb);
        hash_set_sym(mrb, w, "name", mrb_str_new_cstr(mrb, pl->workers[i].name));
        hash_set_sym(mrb, w, "busy_ms", mrb_float_value(mrb, (double)ws[i].busy_ns / 1e6));
        hash_set_sym(mrb, w, "tasks", mrb_int_value(mrb, (mrb_int)ws[i].ntasks));
        hash_set_sym(mrb, w, "items", mrb_int_value(mrb, (mrb_int)ws[i].nitems));
        hash_set_sym(mrb, w, "busy", mrb_bool_value(ws[i].busy));
        mrb_ary_push(mrb, list, w);
    }
    hash_set_sym(mrb, h, "workers", list);
    return h;
}

/* Deferred.load(path): every worker runs the file (once) before its next task. The file is
 * read and parsed now, so a missing file or a syntax error is raised here. A relative path is
 * looked up from the current directory, then beside the calling script. */
static mrb_value
deferred_load(mrb_state *mrb, mrb_value self)
{
    const char *path;
    mrb_get_args(mrb, "z", &path);
    struct mp_err err;
    char alt[4096];
    size_t len = 0;
    const char *used = path;
    char *src = fio_read_file(path, &len, &err);
    if (!src && path[0] != '/') {
        const char *caller = rt_caller_file(mrb, 0);
        const char *slash = caller ? strrchr(caller, '/') : NULL;
        if (slash) {
            snprintf(alt, sizeof alt, "%.*s/%s", (int)(slash - caller), caller, path);
            struct mp_err err2;
            if ((src = fio_read_file(alt, &len, &err2)) != NULL)
                used = alt;
        }
    }
    if (!src)
        mrb_raisef(mrb, mrb_class_get(mrb, "LoadError"), "Deferred.load: %s", err.msg);
    mrbc_context *cxt = mrbc_context_new(mrb);
    mrbc_filename(mrb, cxt, used);
    cxt->capture_errors = TRUE;
    cxt->no_exec = TRUE;
    struct mrb_parser_state *p = mrb_parse_nstring(mrb, src, len, cxt);
    if (!p || p->nerr > 0) {
        char msg[4800];
        if (p)
            rt_parse_error_text(p, used, msg, sizeof msg);
        else
            snprintf(msg, sizeof msg, "%s: out of memory while parsing", used);
        if (p)
            mrb_parser_free(p);
        mrbc_context_free(mrb, cxt);
        free(src);
        mrb_raise(mrb, mrb_class_get(mrb, "SyntaxError"), msg);
    }
    mrb_parser_free(p);
    mrbc_context_free(mrb, cxt);
    struct copy_buf bytes = {(uint8_t *)src, len, len + 1};
    deferred__add_setup(pool_of(mrb), SETUP_SOURCE, used, bytes);
    return mrb_true_value();
}

/* Deferred.setup { ... }: every worker runs the block (once) before its next task. */
static mrb_value
deferred_setup(mrb_state *mrb, mrb_value self)
{
    mrb_value blk;
    mrb_get_args(mrb, "&", &blk);
    deferred__check_block(mrb, blk, "Deferred.setup");
    struct copy_buf code = {0};
    deferred__dump_block(mrb, blk, &code);
    char site[300], name[340];
    deferred__block_site(mrb, mrb_proc_ptr(blk)->body.irep, site, sizeof site);
    snprintf(name, sizeof name, "Deferred.setup at %s", site);
    deferred__add_setup(pool_of(mrb), SETUP_IREP, name, code);
    return mrb_true_value();
}

static mrb_value
deferred_get_pool_size(mrb_state *mrb, mrb_value self)
{
    struct deferred_pool *pl = pool_of(mrb);
    return mrb_int_value(mrb, deferred__pool_wanted_size(pl));
}

static mrb_value
deferred_set_pool_size(mrb_state *mrb, mrb_value self)
{
    struct deferred_pool *pl = pool_of(mrb);
    mrb_int n;
    mrb_get_args(mrb, "i", &n);
    if (n < 1 || n > MAX_WORKERS)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "Deferred.pool_size must be 1 to %d, not %i", MAX_WORKERS,
                   n);
    if (pl->nworkers && n != pl->nworkers)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "the Deferred pool already runs %d workers: set Deferred.pool_size before "
                   "the first Deferred.new",
                   pl->nworkers);
    pl->size = (int)n;
    return mrb_int_value(mrb, n);
}

static mrb_value
deferred_get_heap_limit(mrb_state *mrb, mrb_value self)
{
    size_t limit = pool_of(mrb)->heap_limit;
    return limit ? mrb_int_value(mrb, (mrb_int)limit) : mrb_nil_value();
}

/* Deferred.heap_limit = bytes (or nil): how much memory each worker's VM may hold. */
static mrb_value
deferred_set_heap_limit(mrb_state *mrb, mrb_value self)
{
    struct deferred_pool *pl = pool_of(mrb);
    mrb_value v;
    mrb_get_args(mrb, "o", &v);
    if (!mrb_nil_p(v) && (!mrb_integer_p(v) || mrb_integer(v) < (1 << 20)))
        mrb_raise(mrb, E_ARGUMENT_ERROR,
                  "Deferred.heap_limit takes a number of bytes of at least 1 MiB, or nil");
    if (pl->nworkers)
        mrb_raise(mrb, E_ARGUMENT_ERROR,
                  "the Deferred pool has started: set Deferred.heap_limit before the first "
                  "Deferred.new");
    pl->heap_limit = mrb_nil_p(v) ? 0 : (size_t)mrb_integer(v);
    return v;
}

/* Deferred.__run_once: one turn of the event loop, for Deferred#value. Returns false when the
 * loop has nothing left that could ever settle anything. */
static mrb_value
deferred_run_once(mrb_state *mrb, mrb_value self)
{
    struct rt *rt = rt_from_mrb(mrb);
    struct deferred_pool *pl = rt->deferred;
    if (pl->wait_depth >= MAX_WAIT_DEPTH)
        mrb_raisef(mrb, E_RUNTIME_ERROR,
                   "Deferred#value is nested %d deep (a callback run while waiting waits "
                   "again): chain with #then instead",
                   MAX_WAIT_DEPTH);
    /*
     * libuv's documentation calls uv_run non-reentrant; within a callback this runs it nested.
     * What makes that hold here: uv_run's phases re-read the loop's queues (timers by heap
     * minimum, check/idle/pending handles and closing handles by moving the list first), and
     * an fd closed by the nested run has its watcher cleared, so the outer poll skips its
     * stale event. The runtime never relies on the outer poll's remaining events.
     */
    pl->wait_depth++;
    sig_atomic_t blocked; /* the profile's "(blocked: Deferred#value)"; rt_call runs callbacks
                           * unmarked (rt.h) */
    RT_BLOCK_BEGIN(blocked, RT_BLOCK_DEFERRED);
    int alive = rt->exiting ? 0 : uv_run(&rt->loop, UV_RUN_ONCE);
    RT_BLOCK_END(blocked);
    pl->wait_depth--;
    if (rt->exiting) {
        /* exit() or an uncaught error in a callback: unwind this wait quietly as well */
        mrb_value exc = mrb_funcall(mrb, mrb_obj_value(mrb_class_get(mrb, "SystemExit")), "new", 1,
                                    mrb_int_value(mrb, rt->exit_code));
        mrb_exc_raise(mrb, exc);
    }
    return mrb_bool_value(alive != 0 || uv_loop_alive(&rt->loop));
}

static void
deferred_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    rt->deferred = deferred__pool_new(rt);

    struct RClass *c = mrb_define_class(mrb, "Deferred", mrb->object_class);
    mrb_define_method(mrb, c, "__submit", deferred_submit, MRB_ARGS_REQ(2));
    mrb_define_class_method(mrb, c, "__map_check", deferred_map_check, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "__map_code", deferred_map_code, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "__submit_chunk", deferred_submit_chunk, MRB_ARGS_REQ(4));
    mrb_define_class_method(mrb, c, "__cancel_group", deferred_cancel_group, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "__now_ns", deferred_now_ns, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, c, "__copy_ns", deferred_copy_ns, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "__round_trip_ns", deferred_round_trip_ns, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, c, "__stats", deferred_stats, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, c, "load", deferred_load, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "setup", deferred_setup, MRB_ARGS_BLOCK());
    mrb_define_class_method(mrb, c, "pool_size", deferred_get_pool_size, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, c, "pool_size=", deferred_set_pool_size, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "heap_limit", deferred_get_heap_limit, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, c, "heap_limit=", deferred_set_heap_limit, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "__run_once", deferred_run_once, MRB_ARGS_NONE());
}

/* After the loop ran dry: reports Deferreds rejected with no handler (status 1, as Node). */
static void
deferred_finish(struct rt *rt)
{
    if (rt->exiting)
        return; /* the program ended on an error or exit(): that is the report */
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    struct RClass *c = mrb_class_get(mrb, "Deferred");
    rt_call(rt, mrb_obj_value(c), mrb_intern_lit(mrb, "__report_unhandled"), 0, NULL);
    mrb_gc_arena_restore(mrb, ai);
}

const struct rt_module rt_module_deferred = {
    .name = "deferred",
    .init = deferred_init,
    .finish = deferred_finish,
    .stop = deferred__pool_stop,
    .free = deferred__pool_release,
};
