/*
 * memhook.c — the profiler's view of object allocation.
 *
 * mrun is linked with -Wl,--wrap=mrb_obj_alloc, so every object the VM allocates passes through
 * __wrap_mrb_obj_alloc. When no profiler runs on this thread it is one thread-local load and a
 * tail call. When one does, it tells the sampler that the garbage collector is about to run a
 * step (the same condition mruby's gc.c tests before it collects), so samples taken meanwhile
 * land in "(garbage collector)".
 *
 * It also counts the garbage collector's cycles and records the memory counters (RSS, live
 * objects, ...) when memory is profiled: a CPU-bound script may not return to the loop's safe
 * point for a long time, but it allocates.
 *
 * It is also where frames get their names when the script does not return to the event loop
 * (the sampler can read names only on the VM's own thread; see prof__name_at_alloc), and where a
 * profiled script notices Ctrl-C: a CPU-bound script may never return to the
 * event loop, but it allocates, and an allocation is a point where raising is allowed (it can
 * raise NoMemoryError anyway). prof_interrupt_pending is set by the runtime's signal handler.
 */
#include <mruby.h>
#include <mruby/class.h>
#include <mruby/gc.h>

#include "profiler/sampler/internal.h"

struct RBasic *__real_mrb_obj_alloc(mrb_state *mrb, enum mrb_vtype tt, struct RClass *cls);
struct RBasic *__wrap_mrb_obj_alloc(mrb_state *mrb, enum mrb_vtype tt, struct RClass *cls);

volatile sig_atomic_t prof_interrupt_pending;
void (*prof_interrupt_hook)(mrb_state *mrb);
atomic_int prof_vm_interrupts;
void (*prof_vm_interrupt_hook)(mrb_state *mrb);

/* A VM's own interrupt (sampler.h): never while the GC walks the heap. */
static inline void
vm_interrupt_check(mrb_state *mrb)
{
    if (__builtin_expect(atomic_load_explicit(&prof_vm_interrupts, memory_order_relaxed), 0) &&
        prof_vm_interrupt_hook && !mrb->gc.iterating)
        prof_vm_interrupt_hook(mrb);
}

/*
 * Every method lookup of the VM (OP_SEND and friends, mrb_funcall) passes here too
 * (-Wl,--wrap=mrb_method_search_vm): a hot loop that never allocates and never returns to the
 * event loop still calls methods, and a live viewer must see its frames named (issue 18.5).
 * When no thread has frames to name it is one relaxed load of a global and a tail call.
 */
mrb_method_t __real_mrb_method_search_vm(mrb_state *mrb, struct RClass **cp, mrb_sym mid);
mrb_method_t __wrap_mrb_method_search_vm(mrb_state *mrb, struct RClass **cp, mrb_sym mid);

mrb_method_t
__wrap_mrb_method_search_vm(mrb_state *mrb, struct RClass **cp, mrb_sym mid)
{
    vm_interrupt_check(mrb);
    if (__builtin_expect(atomic_load_explicit(&prof__names_pending, memory_order_relaxed), 0)) {
        struct prof_thread *t = prof__tls;
        if (t && t->mrb == mrb && atomic_load_explicit(&t->name_wanted, memory_order_relaxed) &&
            !mrb->gc.iterating)
            prof__name_at_alloc(t);
    }
    return __real_mrb_method_search_vm(mrb, cp, mid);
}

struct RBasic *
__wrap_mrb_obj_alloc(mrb_state *mrb, enum mrb_vtype tt, struct RClass *cls)
{
    vm_interrupt_check(mrb);
    struct prof_thread *t = prof__tls;
    if (__builtin_expect(t == NULL || t->mrb != mrb, 1))
        return __real_mrb_obj_alloc(mrb, tt, cls);
    if (__builtin_expect(prof_interrupt_pending, 0) && prof_interrupt_hook && !mrb->gc.iterating &&
        !prof__naming_now())
        prof_interrupt_hook(mrb); /* raises when it takes the interrupt */
    if (__builtin_expect(atomic_load_explicit(&t->name_wanted, memory_order_relaxed), 0) &&
        !mrb->gc.iterating)
        prof__name_at_alloc(t);
    mrb_gc *gc = &mrb->gc;
    if (__builtin_expect(--t->counter_countdown == 0, 0)) {
        t->counter_countdown = 4096; /* then a clock read: counters every 20 ms at most */
        if (!gc->iterating)
            prof__counters_tick(t);
    }
    bool collects = gc->threshold < gc->live && !gc->disabled && !gc->iterating;
    if (!collects)
        return __real_mrb_obj_alloc(mrb, tt, cls);
    t->in_gc = 1;
    struct RBasic *obj = __real_mrb_obj_alloc(mrb, tt, cls);
    t->in_gc = 0;
    /* A step that leaves the collector at ROOT ended a cycle (or ran a whole one). */
    if (gc->state == MRB_GC_STATE_ROOT)
        t->gc_cycles++;
    return obj;
}
