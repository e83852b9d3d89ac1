/*
 * deferred.c — the C half of Deferred: a block's bytecode run on a pool of worker threads.
 *
 * Each worker thread owns an mrb_state for its whole life (opening one costs ~0.4 ms, more than
 * a task). A task travels as bytes: the block's irep as mrb_dump_irep writes it (with debug info,
 * so the worker's backtraces name the script's file and lines) and its arguments encoded by
 * copy.c. The worker loads the irep as a proc whose self is its own top-level object, calls it,
 * and encodes the result, or the exception as {class, message, backtrace}. Finished tasks go
 * back on a list the main loop drains when a uv_async_t wakes it, so every Ruby callback runs
 * on the main thread. The async handle is referenced while tasks are pending: the process does
 * not end before they settle.
 *
 * Before a block is shipped it is checked: it must not read or write the outer method's local
 * variables (GETUPVAR/SETUPVAR reaching above the block), self's instance or class variables,
 * nor use yield, super, return or break, which all mean something only where it was written.
 *
 * Code that workers need is registered with Deferred.load(file) or Deferred.setup { }; every
 * worker runs each registration once, in order, before its next task, so workers started later
 * catch up. The promise API (then, rescue, value, all...) is Ruby: runtime/prelude/deferred.rb.
 *
 * Locking: one mutex guards the queue, the finished list, the registrations and the workers'
 * busy flags. Each mrb_state is touched only by its own thread.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/compile.h>
#include <mruby/irep.h>
#include <mruby/debug.h>
#include <mruby/dump.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/opcode.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "formats/fileio.h"
#include "profiler/sampler/sampler.h"
#include "runtime/copy.h"
#include "runtime/rt.h"

#define MAX_WORKERS 256
#define MAX_WAIT_DEPTH 64 /* Deferred#value inside a callback run by another #value ... */

struct task {
    struct task *next;
    mrb_int id;
    struct copy_buf code; /* the block's irep */
    struct copy_buf args; /* the argument Array, encoded */
    bool ok;
    struct copy_buf result; /* the value, or the error Hash */
};

enum setup_kind { SETUP_SOURCE, SETUP_IREP };

struct setup {
    struct setup *next;
    enum setup_kind kind;
    char *name; /* a file name, or "Deferred.setup at FILE:LINE" */
    struct copy_buf bytes;
};

struct worker {
    struct deferred_pool *pool;
    size_t heap_used;  /* bytes this worker's VM holds (its own thread only) */
    size_t heap_after_gc; /* heap_used after the last full GC (or the VM's opening) */
    size_t heap_limit; /* 0: none */
    bool in_reserve;   /* mruby raised NoMemoryError: allocating from the reserve */
    pthread_t thread;
    bool started;
    bool busy; /* under the pool mutex: running a task */
    volatile sig_atomic_t idle; /* waiting for work (read by the profiler's handler) */
    char name[32];
};

struct deferred_pool {
    struct rt *rt;
    pthread_mutex_t mu;
    pthread_cond_t work;
    struct task *queue, **queue_tail; /* waiting for a worker */
    struct task *done, **done_tail;   /* finished, for the main loop */
    struct setup *setups, **setups_tail;
    size_t nsetups;
    bool stopping;
    bool abandoned; /* exit() while workers were busy: the pool outlives the runtime */
    int nworkers; /* 0 until the first task starts the pool */
    int size;     /* wanted: Deferred.pool_size, mrun --workers, or the number of cores */
    size_t heap_limit; /* Deferred.heap_limit: bytes per worker VM, 0 for none */
    struct worker *workers;

    /* Main thread only. */
    uv_async_t async;
    mrb_int next_id;
    size_t pending;  /* submitted and not settled yet */
    size_t payload_since_gc; /* argument and result bytes copied since the last full GC */
    mrb_value tasks; /* Hash id => Deferred, rooted */
    int wait_depth;
};

/* ----------------------------------------------------------------------------------------- */
/* Checking a block before it is shipped                                                      */
/* ----------------------------------------------------------------------------------------- */

enum op_format { FMT_Z, FMT_B, FMT_BB, FMT_BBB, FMT_BS, FMT_BSS, FMT_S, FMT_W };

static const uint8_t op_format[] = {
#define OPCODE(name, fmt) [OP_##name] = FMT_##fmt,
#include <mruby/ops.h>
#undef OPCODE
};

struct insn {
    uint8_t op;
    uint32_t a, b, c;
};

/* Decodes the instruction at pc (EXT1/EXT2/EXT3 prefixes widen operands a, b or both to 16
 * bits). Returns its length, or 0 when it runs past end. */
static size_t
decode_insn(const mrb_code *pc, const mrb_code *end, struct insn *in)
{
    const mrb_code *p = pc;
    int ext = 0;
    if (p >= end)
        return 0;
    uint8_t op = *p++;
    if (op == OP_EXT1 || op == OP_EXT2 || op == OP_EXT3) {
        ext = op == OP_EXT1 ? 1 : op == OP_EXT2 ? 2 : 3;
        if (p >= end)
            return 0;
        op = *p++;
    }
    if (op >= sizeof op_format)
        return 0;
    bool wide_a = ext & 1, wide_b = ext & 2;
    int fmt = op_format[op];
    static const uint8_t len_a[] = {0, 1, 1, 1, 1, 1, 2, 3};
    size_t need = len_a[fmt] + (wide_a && fmt >= FMT_B && fmt <= FMT_BSS ? 1 : 0);
    if (fmt == FMT_BB || fmt == FMT_BBB)
        need += 1 + (wide_b ? 1 : 0);
    if (fmt == FMT_BBB)
        need += 1;
    if (fmt == FMT_BS)
        need += 2;
    if (fmt == FMT_BSS)
        need += 4;
    if ((size_t)(end - p) < need)
        return 0;
    in->op = op;
    in->a = in->b = in->c = 0;
#define RD1() (*p++)
#define RD2() (p += 2, (uint32_t)p[-2] << 8 | p[-1])
    switch (fmt) {
    case FMT_B:
        in->a = wide_a ? RD2() : RD1();
        break;
    case FMT_BB:
    case FMT_BBB:
        in->a = wide_a ? RD2() : RD1();
        in->b = wide_b ? RD2() : RD1();
        if (fmt == FMT_BBB)
            in->c = RD1();
        break;
    case FMT_BS:
    case FMT_BSS:
        in->a = wide_a ? RD2() : RD1();
        in->b = RD2();
        if (fmt == FMT_BSS)
            in->c = RD2();
        break;
    case FMT_S:
        in->a = RD2();
        break;
    case FMT_W:
        in->a = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        p += 3;
        break;
    default:
        break;
    }
#undef RD1
#undef RD2
    return (size_t)(p - pc);
}

struct capture_check {
    mrb_state *mrb;
    const struct RProc *proc;
    char names[400];   /* "x, y, @z" */
    char problem[200]; /* the first construct that cannot run elsewhere */
    bool uses_self;
};

static void
add_name(struct capture_check *cc, const char *prefix, mrb_sym sym)
{
    char name[80];
    mrb_int len;
    const char *s = sym ? mrb_sym_name_len(cc->mrb, sym, &len) : NULL;
    snprintf(name, sizeof name, "%s%.*s", prefix, s ? (int)len : 1, s ? s : "?");
    /* once each */
    size_t nl = strlen(name);
    for (const char *at = cc->names; (at = strstr(at, name)) != NULL; at += nl)
        if ((at == cc->names || at[-1] == ' ') && (at[nl] == ',' || at[nl] == '\0'))
            return;
    size_t used = strlen(cc->names);
    snprintf(cc->names + used, sizeof cc->names - used, "%s%s", used ? ", " : "", name);
}

/* The name of local `idx` of the scope `up` levels above the shipped block (0: just above). */
static mrb_sym
outer_local(const struct RProc *proc, uint32_t up, uint32_t idx)
{
    const struct RProc *u = proc->upper;
    while (u && up--)
        u = u->upper;
    if (!u || MRB_PROC_CFUNC_P(u))
        return 0;
    const mrb_irep *irep = u->body.irep;
    if (!irep || !irep->lv || idx < 1 || idx >= irep->nlocals)
        return 0;
    return irep->lv[idx - 1];
}

static void
set_problem(struct capture_check *cc, const char *what)
{
    if (!cc->problem[0])
        snprintf(cc->problem, sizeof cc->problem, "%s", what);
}

static void
check_irep(struct capture_check *cc, const mrb_irep *irep, uint32_t depth)
{
    if (depth > 200) {
        set_problem(cc, "nests blocks too deep to check");
        return;
    }
    const mrb_code *pc = irep->iseq, *end = irep->iseq + irep->ilen;
    struct insn in;
    size_t n;
    for (; pc < end && (n = decode_insn(pc, end, &in)) > 0; pc += n) {
        switch (in.op) {
        case OP_GETUPVAR:
        case OP_SETUPVAR:
            if (in.c >= depth)
                add_name(cc, "", outer_local(cc->proc, in.c - depth, in.b));
            break;
        case OP_LOADSELF:
            cc->uses_self = true;
            break;
        case OP_GETIV:
        case OP_SETIV:
            add_name(cc, "", in.b < irep->slen ? irep->syms[in.b] : 0);
            break;
        case OP_GETCV:
        case OP_SETCV:
            add_name(cc, "", in.b < irep->slen ? irep->syms[in.b] : 0);
            break;
        case OP_BLKPUSH:
            if ((in.b & 0xf) > depth)
                set_problem(cc, "uses yield (the block of the method it was written in)");
            break;
        case OP_ARGARY:
            if ((in.b & 0xf) > depth)
                set_problem(cc, "calls super without arguments");
            break;
        case OP_SUPER:
            set_problem(cc, "calls super");
            break;
        case OP_RETURN_BLK:
            set_problem(cc, "uses return (which would leave the method it was written in; "
                            "use next to give the block's value)");
            break;
        case OP_BREAK:
            if (depth == 0)
                set_problem(cc, "uses break (use next to give the block's value)");
            break;
        default:
            break;
        }
    }
    for (uint16_t i = 0; i < irep->rlen; i++)
        if (irep->reps[i])
            check_irep(cc, irep->reps[i], depth + 1);
}

/* Where a block was written: "file:line", or "(unknown)". */
static void
block_site(mrb_state *mrb, const mrb_irep *irep, char *buf, size_t len)
{
    const char *file = mrb_debug_get_filename(mrb, irep, 0);
    int32_t line = mrb_debug_get_line(mrb, irep, 0);
    if (file && line > 0)
        snprintf(buf, len, "%s:%d", file, (int)line);
    else
        snprintf(buf, len, "(unknown)");
}

/* Raises ArgumentError unless proc can run in another VM. `what` names the call. */
static void
check_block(mrb_state *mrb, mrb_value blk, const char *what)
{
    if (!mrb_proc_p(blk))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "%s needs a block", what);
    const struct RProc *proc = mrb_proc_ptr(blk);
    if (MRB_PROC_CFUNC_P(proc) || !proc->body.irep)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "%s needs a block written in Ruby (a method or Symbol#to_proc cannot be "
                   "shipped to a worker)", what);
    struct capture_check cc = {.mrb = mrb, .proc = proc};
    check_irep(&cc, proc->body.irep, 0);
    char site[300];
    block_site(mrb, proc->body.irep, site, sizeof site);
    if (cc.names[0])
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "the block of %s at %s uses %s from outside it; a Deferred block runs in "
                   "a worker's own VM and cannot see them: pass values as arguments, "
                   "e.g. Deferred.new(x) { |x| ... }", what, site, cc.names);
    /* self is the worker's top-level object: fine for a block written at the top level, not
     * for one written where self is something else (a method's receiver; Symbol#to_proc). */
    const struct REnv *env = MRB_PROC_ENV(proc);
    if (cc.uses_self && !cc.problem[0] && env && env->stack && MRB_ENV_LEN(env) > 0 &&
        !mrb_obj_equal(mrb, env->stack[0], mrb_top_self(mrb))) {
        snprintf(cc.problem, sizeof cc.problem, "uses self (a %s), which stays in this VM",
                 mrb_obj_classname(mrb, env->stack[0]));
    }
    if (cc.problem[0])
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "the block of %s at %s %s; it cannot run in a worker",
                   what, site, cc.problem);
}

/* mrb_dump_irep into a malloc'd buffer (the dump's own buffer belongs to this VM). */
static void
dump_block(mrb_state *mrb, mrb_value blk, struct copy_buf *out)
{
    uint8_t *bin = NULL;
    size_t size = 0;
    int rc = mrb_dump_irep(mrb, mrb_proc_ptr(blk)->body.irep, MRB_DUMP_DEBUG_INFO, &bin, &size);
    if (rc != MRB_DUMP_OK || !bin)
        mrb_raise(mrb, E_RUNTIME_ERROR, "cannot serialize the block's bytecode");
    out->data = malloc(size);
    if (!out->data) {
        mrb_free(mrb, bin);
        mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
    }
    memcpy(out->data, bin, size);
    out->len = out->cap = size;
    mrb_free(mrb, bin);
}

/* ----------------------------------------------------------------------------------------- */
/* The worker                                                                                 */
/* ----------------------------------------------------------------------------------------- */

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
 */
#define HEAP_RESERVE(limit) (((size_t)1 << 20) + (limit) / 8)

static void *
worker_allocf(mrb_state *mrb, void *p, size_t size, void *ud)
{
    struct worker *w = ud;
    size_t old = p ? malloc_usable_size(p) : 0;
    uintptr_t addr = (uintptr_t)p; /* for the memory profiler, which never reads the block */
    if (size == 0) {
        free(p);
        w->heap_used -= old;
        prof_heap_note(mrb, addr, NULL, 0);
        return NULL;
    }
    if (mrb && mrb->gc.out_of_memory)
        w->in_reserve = true;
    size_t limit = w->heap_limit + (w->in_reserve ? HEAP_RESERVE(w->heap_limit) : 0);
    if (w->heap_limit && size > old && w->heap_used - old + size > limit)
        return NULL;
    void *q = realloc(p, size);
    if (q)
        w->heap_used = w->heap_used - old + malloc_usable_size(q);
    prof_heap_note(mrb, addr, q, size);
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
#define MAIN_GC_PAYLOAD ((size_t)64 << 20)

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
    char err[512];
    t->ok = false;
    t->result.len = 0;
    if (copy_encode(mrb, h, "error", &t->result, err, sizeof err) != COPY_OK &&
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
        mrb_str_cat_lit(mrb, msg, " (in a Deferred worker's VM, where your program's methods "
                                  "and constants exist only if Deferred.load or Deferred.setup "
                                  "defined them)");
    }
    mrb_value bt = mrb_funcall(mrb, exc, "backtrace", 0);
    mrb_value lines = mrb_ary_new(mrb);
    /* The worker's own base frame (the C call into the block) says "(unknown):0": drop it. */
    for (mrb_int i = 0; mrb_array_p(bt) && i < RARRAY_LEN(bt); i++) {
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
};

static mrb_value
run_block_body(mrb_state *mrb, void *ud)
{
    struct run_args *ra = ud;
    mrb_value args = copy_decode(mrb, ra->task->args.data, ra->task->args.len);
    mrb_int argc = mrb_array_p(args) ? RARRAY_LEN(args) : 0;
    return mrb_yield_with_class(mrb, mrb_obj_value(ra->proc), argc,
                                argc ? RARRAY_PTR(args) : NULL, mrb_top_self(mrb),
                                mrb->object_class);
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
    struct run_args ra = {.task = t, .proc = load_proc(mrb, &t->code)};
    if (!ra.proc) {
        fail_with(mrb, t, "RuntimeError", "cannot load the Deferred block's bytecode");
        return mrb_nil_value();
    }
    mrb_bool failed = FALSE;
    mrb_value v = mrb_protect_error(mrb, run_block_body, &ra, &failed);
    char err[512];
    enum copy_error rc;
    if (failed) {
        tr->nomem = is_nomem(mrb, v);
        fail_with_exception(mrb, t, v);
    } else if ((rc = copy_encode(mrb, v, "result", &t->result, err, sizeof err)) != COPY_OK) {
        fail_with(mrb, t, rc == COPY_CYCLE ? "ArgumentError" : rc == COPY_NOMEM ? "NoMemoryError" : "TypeError", err);
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

static void
task_free(struct task *t)
{
    copy_buf_free(&t->code);
    copy_buf_free(&t->args);
    copy_buf_free(&t->result);
    free(t);
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct deferred_pool *pl = w->pool;
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
        while (!pl->queue && !pl->stopping) {
            w->idle = 1;
            pthread_cond_wait(&pl->work, &pl->mu);
        }
        if (pl->stopping) {
            pthread_mutex_unlock(&pl->mu);
            break;
        }
        struct task *t = pl->queue;
        pl->queue = t->next;
        if (!pl->queue)
            pl->queue_tail = &pl->queue;
        t->next = NULL;
        w->busy = true;
        w->idle = 0;
        pthread_mutex_unlock(&pl->mu);

        if (mrb)
            prof_follow(mrb, w->name, &w->idle);
        uint64_t start = prof_now_ns();
        bool out_of_memory = run_task(pl, mrb, &applied, t) || w->in_reserve;
        if (mrb) { /* the task as a slice on this worker's track in a trace */
            char span[80];
            snprintf(span, sizeof span, "Deferred task %ld%s", (long)t->id, t->ok ? "" : " (rejected)");
            prof_span(mrb, span, start, prof_now_ns());
        }
        if (mrb)
            prof_safe_point(mrb); /* name this task's frames while its code is alive */
        if (out_of_memory) {
            /* A VM that ran out of memory may be half-way through anything: start afresh
             * (the registrations run again before the next task). */
            prof_detach(mrb);
            mrb_close(mrb);
            mrb = worker_open(w);
            applied = 0;
        } else if (mrb) {
            collect_if_grown(w, mrb);
        }

        pthread_mutex_lock(&pl->mu);
        w->busy = false;
        bool stopping = pl->stopping;
        if (!stopping) {
            *pl->done_tail = t;
            pl->done_tail = &t->next;
        }
        pthread_mutex_unlock(&pl->mu);
        if (stopping) { /* exit() while this task ran: nobody waits for it */
            task_free(t);
            break;
        }
        uv_async_send(&pl->async);
    }
    if (mrb) {
        prof_detach(mrb);
        mrb_close(mrb);
    }
    return NULL;
}

/* ----------------------------------------------------------------------------------------- */
/* The main thread's side                                                                     */
/* ----------------------------------------------------------------------------------------- */

static int
default_pool_size(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

/* The pool's size: Deferred.pool_size=, else mrun --workers, else the number of cores. */
static int
wanted_size(const struct deferred_pool *pl)
{
    if (pl->nworkers)
        return pl->nworkers;
    if (pl->size)
        return pl->size;
    if (pl->rt->deferred_workers > 0)
        return pl->rt->deferred_workers > MAX_WORKERS ? MAX_WORKERS : pl->rt->deferred_workers;
    return default_pool_size();
}

static struct deferred_pool *
pool_of(mrb_state *mrb)
{
    return rt_from_mrb(mrb)->deferred;
}

/* Starts the worker threads on first use. */
static void
pool_start(mrb_state *mrb, struct deferred_pool *pl)
{
    if (pl->nworkers > 0)
        return;
    int n = wanted_size(pl);
    if (n < 1 || n > MAX_WORKERS)
        n = 1;
    pl->workers = calloc((size_t)n, sizeof *pl->workers);
    if (!pl->workers)
        mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
    for (int i = 0; i < n; i++) {
        struct worker *w = &pl->workers[i];
        w->pool = pl;
        snprintf(w->name, sizeof w->name, "Deferred worker %d", i + 1);
        int err = pthread_create(&w->thread, NULL, worker_main, w);
        if (err) {
            if (i == 0)
                mrb_raisef(mrb, E_RUNTIME_ERROR, "cannot start a Deferred worker thread: %s",
                           strerror(err));
            break;
        }
        w->started = true;
        pl->nworkers = i + 1;
    }
}

static void
on_done(uv_async_t *h)
{
    struct deferred_pool *pl = h->data;
    struct rt *rt = pl->rt;
    mrb_state *mrb = rt->mrb;
    pthread_mutex_lock(&pl->mu);
    struct task *list = pl->done;
    pl->done = NULL;
    pl->done_tail = &pl->done;
    pthread_mutex_unlock(&pl->mu);
    mrb_sym settle = mrb_intern_lit(mrb, "__settle_remote");
    while (list) {
        struct task *t = list;
        list = t->next;
        /* The main VM's GC counts objects too: after MAIN_GC_PAYLOAD bytes of arguments and
         * results have crossed, collect in full before the next result arrives, so that big
         * payloads the script has dropped do not pile up (see collect_if_grown). */
        pl->payload_since_gc += t->args.len + t->result.len;
        if (pl->payload_since_gc > MAIN_GC_PAYLOAD && !rt->exiting) {
            mrb_full_gc(mrb);
            pl->payload_since_gc = t->result.len;
        }
        int ai = mrb_gc_arena_save(mrb);
        mrb_value id = mrb_int_value(mrb, t->id);
        mrb_value d = mrb_hash_delete_key(mrb, pl->tasks, id);
        if (--pl->pending == 0)
            uv_unref((uv_handle_t *)&pl->async);
        mrb_value argv[2] = {mrb_bool_value(t->ok), mrb_nil_value()};
        if (!mrb_nil_p(d) && !rt->exiting) {
            argv[1] = copy_decode(mrb, t->result.data, t->result.len);
            if (mrb->exc) { /* out of memory while decoding */
                argv[0] = mrb_false_value();
                argv[1] = mrb_nil_value();
                mrb->exc = NULL;
            }
            rt_call(rt, d, settle, 2, argv);
        }
        mrb_gc_arena_restore(mrb, ai);
        task_free(t);
    }
}

/* Deferred#__submit(args, block): checks and ships the block; returns the block's site. */
static mrb_value
deferred_submit(mrb_state *mrb, mrb_value self)
{
    struct deferred_pool *pl = pool_of(mrb);
    mrb_value args, blk;
    mrb_get_args(mrb, "Ao", &args, &blk);
    check_block(mrb, blk, "Deferred.new");
    struct copy_buf code = {0}, enc = {0};
    dump_block(mrb, blk, &code);
    char err[512];
    enum copy_error rc = copy_encode(mrb, args, "args", &enc, err, sizeof err);
    struct task *t = rc == COPY_OK ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        copy_buf_free(&code);
        copy_buf_free(&enc);
        if (rc == COPY_OK)
            mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
        mrb_raise(mrb, rc == COPY_CYCLE ? E_ARGUMENT_ERROR : E_TYPE_ERROR, err);
    }
    t->args = enc;
    t->code = code;
    pool_start(mrb, pl);
    t->id = ++pl->next_id;
    mrb_hash_set(mrb, pl->tasks, mrb_int_value(mrb, t->id), self);
    if (pl->pending++ == 0)
        uv_ref((uv_handle_t *)&pl->async);
    pthread_mutex_lock(&pl->mu);
    *pl->queue_tail = t;
    pl->queue_tail = &t->next;
    pthread_cond_signal(&pl->work);
    pthread_mutex_unlock(&pl->mu);
    char site[300];
    block_site(mrb, mrb_proc_ptr(blk)->body.irep, site, sizeof site);
    return mrb_str_new_cstr(mrb, site);
}

static void
add_setup(struct deferred_pool *pl, enum setup_kind kind, const char *name, struct copy_buf bytes)
{
    struct setup *s = calloc(1, sizeof *s);
    char *nm = strdup(name);
    if (!s || !nm) {
        free(s);
        free(nm);
        copy_buf_free(&bytes);
        return;
    }
    s->kind = kind;
    s->name = nm;
    s->bytes = bytes;
    pthread_mutex_lock(&pl->mu);
    *pl->setups_tail = s;
    pl->setups_tail = &s->next;
    pl->nsetups++;
    pthread_mutex_unlock(&pl->mu);
}

/* Deferred.load(path): every worker runs the file (once) before its next task. The file is
 * read and parsed now, so a missing file or a syntax error is raised here. A relative path is
 * looked up from the current directory, then beside the calling script. */
static mrb_value
deferred_load(mrb_state *mrb, mrb_value self)
{
    const char *path;
    mrb_get_args(mrb, "z", &path);
    char err[512], alt[4096];
    size_t len = 0;
    const char *used = path;
    char *src = fio_read_file(path, &len, err, sizeof err);
    if (!src && path[0] != '/') {
        const char *caller = rt_caller_file(mrb, 0);
        const char *slash = caller ? strrchr(caller, '/') : NULL;
        if (slash) {
            snprintf(alt, sizeof alt, "%.*s/%s", (int)(slash - caller), caller, path);
            char err2[512];
            if ((src = fio_read_file(alt, &len, err2, sizeof err2)) != NULL)
                used = alt;
        }
    }
    if (!src)
        mrb_raisef(mrb, mrb_class_get(mrb, "LoadError"), "Deferred.load: %s", err);
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
    add_setup(pool_of(mrb), SETUP_SOURCE, used, bytes);
    return mrb_true_value();
}

/* Deferred.setup { ... }: every worker runs the block (once) before its next task. */
static mrb_value
deferred_setup(mrb_state *mrb, mrb_value self)
{
    mrb_value blk;
    mrb_get_args(mrb, "&", &blk);
    check_block(mrb, blk, "Deferred.setup");
    struct copy_buf code = {0};
    dump_block(mrb, blk, &code);
    char site[300], name[340];
    block_site(mrb, mrb_proc_ptr(blk)->body.irep, site, sizeof site);
    snprintf(name, sizeof name, "Deferred.setup at %s", site);
    add_setup(pool_of(mrb), SETUP_IREP, name, code);
    return mrb_true_value();
}

static mrb_value
deferred_get_pool_size(mrb_state *mrb, mrb_value self)
{
    struct deferred_pool *pl = pool_of(mrb);
    return mrb_int_value(mrb, wanted_size(pl));
}

static mrb_value
deferred_set_pool_size(mrb_state *mrb, mrb_value self)
{
    struct deferred_pool *pl = pool_of(mrb);
    mrb_int n;
    mrb_get_args(mrb, "i", &n);
    if (n < 1 || n > MAX_WORKERS)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "Deferred.pool_size must be 1 to %d, not %i",
                   MAX_WORKERS, n);
    if (pl->nworkers && n != pl->nworkers)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "the Deferred pool already runs %d workers: set Deferred.pool_size before "
                   "the first Deferred.new", pl->nworkers);
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
                   "again): chain with #then instead", MAX_WAIT_DEPTH);
    /*
     * libuv's documentation calls uv_run non-reentrant; within a callback this runs it nested.
     * What makes that hold here: uv_run's phases re-read the loop's queues (timers by heap
     * minimum, check/idle/pending handles and closing handles by moving the list first), and
     * an fd closed by the nested run has its watcher cleared, so the outer poll skips its
     * stale event. The runtime never relies on the outer poll's remaining events.
     */
    pl->wait_depth++;
    int alive = rt->exiting ? 0 : uv_run(&rt->loop, UV_RUN_ONCE);
    pl->wait_depth--;
    if (rt->exiting) {
        /* exit() or an uncaught error in a callback: unwind this wait quietly as well */
        mrb_value exc = mrb_funcall(mrb, mrb_obj_value(mrb_class_get(mrb, "SystemExit")), "new",
                                    1, mrb_int_value(mrb, rt->exit_code));
        mrb_exc_raise(mrb, exc);
    }
    return mrb_bool_value(alive != 0 || uv_loop_alive(&rt->loop));
}

void
rt_deferred_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    struct deferred_pool *pl = calloc(1, sizeof *pl);
    if (!pl) {
        fprintf(stderr, "mrun: out of memory\n");
        abort();
    }
    pl->rt = rt;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->work, NULL);
    pl->queue_tail = &pl->queue;
    pl->done_tail = &pl->done;
    pl->setups_tail = &pl->setups;
    pl->tasks = mrb_hash_new(mrb);
    rt_root(rt, pl->tasks);
    uv_async_init(&rt->loop, &pl->async, on_done);
    pl->async.data = pl;
    uv_unref((uv_handle_t *)&pl->async);
    rt->deferred = pl;

    struct RClass *c = mrb_define_class(mrb, "Deferred", mrb->object_class);
    mrb_define_method(mrb, c, "__submit", deferred_submit, MRB_ARGS_REQ(2));
    mrb_define_class_method(mrb, c, "load", deferred_load, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "setup", deferred_setup, MRB_ARGS_BLOCK());
    mrb_define_class_method(mrb, c, "pool_size", deferred_get_pool_size, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, c, "pool_size=", deferred_set_pool_size, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "heap_limit", deferred_get_heap_limit, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, c, "heap_limit=", deferred_set_heap_limit, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, c, "__run_once", deferred_run_once, MRB_ARGS_NONE());
}

/* Stops the workers (waiting for idle ones) and frees the tasks; the async handle is closed
 * afterwards with the loop's other handles, then rt_deferred_release frees the pool. */
void
rt_deferred_stop(struct rt *rt)
{
    struct deferred_pool *pl = rt->deferred;
    if (!pl)
        return;
    pthread_mutex_lock(&pl->mu);
    pl->stopping = true;
    pthread_cond_broadcast(&pl->work);
    for (int i = 0; i < pl->nworkers; i++)
        pl->abandoned |= pl->workers[i].busy;
    pthread_mutex_unlock(&pl->mu);
    if (pl->abandoned) {
        /* exit() while tasks run: a task cannot be interrupted, and the process is ending.
         * The pool stays to the threads still using it; they end with the process. */
        for (int i = 0; i < pl->nworkers; i++)
            pthread_detach(pl->workers[i].thread);
        return;
    }
    for (int i = 0; i < pl->nworkers; i++)
        if (pl->workers[i].started)
            pthread_join(pl->workers[i].thread, NULL);
    pl->nworkers = 0;
    while (pl->queue) {
        struct task *t = pl->queue;
        pl->queue = t->next;
        task_free(t);
    }
    while (pl->done) {
        struct task *t = pl->done;
        pl->done = t->next;
        task_free(t);
    }
    while (pl->setups) {
        struct setup *s = pl->setups;
        pl->setups = s->next;
        free(s->name);
        copy_buf_free(&s->bytes);
        free(s);
    }
    free(pl->workers);
    pl->workers = NULL;
}

void
rt_deferred_release(struct rt *rt)
{
    struct deferred_pool *pl = rt->deferred;
    rt->deferred = NULL;
    if (!pl || pl->abandoned)
        return;
    pthread_cond_destroy(&pl->work);
    pthread_mutex_destroy(&pl->mu);
    free(pl);
}

void
rt_deferred_finish(struct rt *rt)
{
    if (rt->exiting)
        return; /* the program ended on an error or exit(): that is the report */
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    struct RClass *c = mrb_class_get(mrb, "Deferred");
    rt_call(rt, mrb_obj_value(c), mrb_intern_lit(mrb, "__report_unhandled"), 0, NULL);
    mrb_gc_arena_restore(mrb, ai);
}
