/*
 * timers.c — the C half of Timer: one uv_timer_t per Timer object.
 *
 * The Ruby half (runtime/prelude/timers.rb) defines set_timeout, set_interval and friends and
 * keeps the callback and its arguments in instance variables. An active timer's object is
 * rooted, so the callback cannot be collected while the timer can still fire; a stopped one is
 * unrooted and its handle closed when the object is collected (or at exit).
 */
#include <mruby.h>
#include <mruby/class.h>
#include <mruby/data.h>

#include "runtime/rt.h"

struct timer {
    struct rt_owned base; /* first: the handle */
    bool repeat;
};

static const struct mrb_data_type timer_type = {"Timer", rt_owned_dfree};

static struct timer *
get_timer(mrb_state *mrb, mrb_value self)
{
    struct timer *t = DATA_GET_PTR(mrb, self, &timer_type, struct timer);
    if (!t)
        mrb_raise(mrb, E_RUNTIME_ERROR, "uninitialized Timer");
    return t;
}

static void
on_timer(uv_timer_t *h)
{
    struct timer *t = (struct timer *)h;
    struct rt *rt = t->base.rt;
    mrb_value self = t->base.self;
    if (mrb_nil_p(self))
        return;
    /* Keep the object alive through its own callback even when it stops being rooted. */
    int ai = mrb_gc_arena_save(rt->mrb);
    mrb_gc_protect(rt->mrb, self);
    if (!t->repeat)
        rt_unroot(rt, self);
    rt_call(rt, self, rt->sym_fire, 0, NULL);
    mrb_gc_arena_restore(rt->mrb, ai);
}

/* Timer#__start(timeout_ms, repeat_ms): arms the timer (repeat 0 = once). */
static mrb_value
timer_start(mrb_state *mrb, mrb_value self)
{
    struct rt *rt = rt_from_mrb(mrb);
    mrb_int timeout, repeat;
    mrb_get_args(mrb, "ii", &timeout, &repeat);
    if (timeout < 0 || repeat < 0)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "timer delays must be >= 0 ms");
    struct timer *t = DATA_PTR(self);
    if (!t) {
        t = rt_owned_new(rt, sizeof *t);
        uv_timer_init(&rt->loop, &t->base.u.timer);
        rt_owned_adopt(&t->base);
        t->base.self = self;
        DATA_TYPE(self) = &timer_type;
        DATA_PTR(self) = t;
    }
    t->repeat = repeat > 0;
    /* libuv measures from the time cached at the start of the loop iteration; a callback that
     * ran for a while would otherwise get its timer early. */
    uv_update_time(&rt->loop);
    uv_timer_start(&t->base.u.timer, on_timer, (uint64_t)timeout, (uint64_t)repeat);
    rt_root(rt, self);
    return self;
}

static mrb_value
timer_stop(mrb_state *mrb, mrb_value self)
{
    struct timer *t = DATA_PTR(self);
    if (t && DATA_TYPE(self) == &timer_type) {
        uv_timer_stop(&t->base.u.timer);
        rt_unroot(t->base.rt, self);
    }
    return self;
}

static mrb_value
timer_ref(mrb_state *mrb, mrb_value self)
{
    uv_ref(&get_timer(mrb, self)->base.u.handle);
    return self;
}

static mrb_value
timer_unref(mrb_state *mrb, mrb_value self)
{
    uv_unref(&get_timer(mrb, self)->base.u.handle);
    return self;
}

static mrb_value
timer_has_ref(mrb_state *mrb, mrb_value self)
{
    return mrb_bool_value(uv_has_ref(&get_timer(mrb, self)->base.u.handle));
}

static mrb_value
timer_active_p(mrb_state *mrb, mrb_value self)
{
    struct timer *t = DATA_PTR(self);
    return mrb_bool_value(t && DATA_TYPE(self) == &timer_type && uv_is_active(&t->base.u.handle));
}

static void
timers_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    struct RClass *c = mrb_define_class(mrb, "Timer", mrb->object_class);
    MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
    mrb_define_method(mrb, c, "__start", timer_start, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, c, "__stop", timer_stop, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "ref", timer_ref, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "unref", timer_unref, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "has_ref?", timer_has_ref, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "active?", timer_active_p, MRB_ARGS_NONE());
}

const struct rt_module rt_module_timers = {.name = "timers", .init = timers_init};
