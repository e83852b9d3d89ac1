/*
 * test_naming.c — profiler/sampler: a frame sampled half made (cipush writes a frame's class
 * after its mid and proc) is never named by the class left in the slot by its previous tenant,
 * and one block stays one function whatever class that slot held.
 *
 * The frames are made by hand on a real VM, as cipush leaves them between two of its stores,
 * and go through the sampler's own walk, drain and naming (prof__walk_stack, prof__stack_node,
 * prof__name_frames).
 */
#include <criterion/criterion.h>
#include <string.h>

#include <mruby.h>
#include <mruby/class.h>
#include <mruby/compile.h>
#include <mruby/proc.h>
#include <mruby/variable.h>

#include "profiler/model/profile.h"
#include "profiler/sampler/internal.h"
#include "profiler/sampler/sampler.h"

struct fixture {
    mrb_state *mrb;
    struct prof_session *s;
};

static void
setup(struct fixture *f)
{
    f->mrb = mrb_open();
    cr_assert(f->mrb);
    mrb_load_string(f->mrb, "class Alpha; def work; 1; end; end\n"
                            "class Beta; def other; 2; end; end\n"
                            "$blk = proc { 3 }\n");
    cr_assert(!f->mrb->exc, "the script raised");
    struct mp_err e = {0};
    f->s = prof_start(PROF_MODE_WALL, 1, &e); /* 1 Hz: no sample comes during the test */
    cr_assert(f->s);
    cr_assert_eq(prof_attach(f->s, f->mrb, "main", NULL, NULL), 0);
}

static void
teardown(struct fixture *f)
{
    prof_detach(f->mrb);
    profile_free(prof_stop(f->s));
    mrb_close(f->mrb);
}

static const struct RProc *
method_proc(mrb_state *mrb, const char *cls, const char *name)
{
    struct RClass *c = mrb_class_get(mrb, cls);
    mrb_method_t m = mrb_method_search_vm(mrb, &c, mrb_intern_cstr(mrb, name));
    cr_assert(MRB_METHOD_PROC_P(m));
    return MRB_METHOD_PROC(m);
}

/* Pushes a C frame (the caller: a loop callback, a worker) and above it a frame of proc with
 * mid and the class target, walks the stack as the signal handler does, and returns the name
 * of the leaf's model frame (and its id in *frame). */
static const char *
leaf_name(struct fixture *f, const struct RProc *proc, mrb_sym mid, struct RClass *target,
          uint32_t *frame)
{
    mrb_state *mrb = f->mrb;
    struct mrb_context *c = mrb->c;
    cr_assert(c->ci + 2 < c->ciend);
    mrb_callinfo *saved = c->ci, *caller = c->ci + 1, *ci = c->ci + 2;
    memset(caller, 0, sizeof *caller * 2);
    caller->stack = saved->stack;
    caller->u.target_class = mrb->object_class; /* a C frame: no proc */
    ci->mid = mid;
    ci->proc = proc;
    ci->stack = saved->stack;
    ci->pc = proc->body.irep->iseq;
    ci->u.target_class = target;
    c->ci = ci;
    uint64_t words[64 * PROF_FRAME_WORDS];
    int32_t top_line;
    struct prof_thread *t = prof__tls;
    uint32_t n = prof__walk_stack(t, false, 64, words, 0, ~(uint64_t)0, &top_line);
    c->ci = saved;
    cr_assert_geq(n, 2);
    pthread_mutex_lock(&f->s->lock);
    uint32_t node = prof__stack_node(f->s, t, words, 0, ~(uint64_t)0, n, 0);
    prof__name_frames(f->s, mrb);
    const struct profile *p = f->s->profile;
    *frame = profile_nodes(p)[node].frame;
    const char *name = profile_str(p, profile_frames(p)[*frame].name);
    pthread_mutex_unlock(&f->s->lock);
    return name;
}

Test(naming, a_method_frame_with_the_previous_tenants_class_is_not_named_by_it)
{
    struct fixture f;
    setup(&f);
    const struct RProc *work = method_proc(f.mrb, "Alpha", "work");
    mrb_sym mid = mrb_intern_lit(f.mrb, "work");
    uint32_t fr;
    /* Whole: Alpha#work. */
    cr_assert_str_eq(leaf_name(&f, work, mid, mrb_class_get(f.mrb, "Alpha"), &fr), "Alpha#work");
    /* Half made: mid and proc written, the class still Beta's (a frame that ran Beta#other).
     * "Beta#work" would be untrue. */
    cr_assert_str_eq(leaf_name(&f, work, mid, mrb_class_get(f.mrb, "Beta"), &fr), "?#work");
    teardown(&f);
}

Test(naming, one_block_is_one_function_whatever_class_its_slot_held)
{
    struct fixture f;
    setup(&f);
    /* A block without an environment, as a Deferred worker loads a task (worker.c load_proc):
     * its class comes from the call info alone. */
    const struct RProc *blk = mrb_proc_ptr(mrb_gv_get(f.mrb, mrb_intern_lit(f.mrb, "$blk")));
    mrb_state *mrb = f.mrb; /* MRB_PROC_SET_TARGET_CLASS's write barrier names it */
    struct RProc *p = mrb_proc_new(mrb, blk->body.irep);
    MRB_PROC_SET_TARGET_CLASS(p, mrb->object_class);
    p->upper = blk->upper;
    cr_assert(p->upper && !MRB_PROC_ENV_P(p));
    mrb_gc_protect(f.mrb, mrb_obj_value(p));
    uint32_t a, b;
    cr_assert_str_eq(leaf_name(&f, p, 0, f.mrb->object_class, &a), "block in <main>");
    cr_assert_str_eq(leaf_name(&f, p, 0, mrb_class_get(f.mrb, "Beta"), &b), "block in <main>");
    cr_assert_eq(a, b, "the block became two functions (frames %u and %u)", a, b);
    teardown(&f);
}
