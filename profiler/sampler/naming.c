/*
 * naming.c — raw frames to model frames (step 2 of internal.h, the drain) and their names
 * (step 3, on the VM's own thread).
 *
 * The drain runs on the collector thread or on the VM's thread, under the session lock: it maps
 * the ring's raw frames to model frames through the session's hash of raw frames, and appends
 * trie nodes and samples; it never dereferences an irep. A frame it meets for the first time is
 * named "?" and its thread is asked to name it (prof__want_names): naming reads symbols and
 * class names, which only the VM's own thread may do, at a safe point, at detach, or from the
 * allocation and method-lookup hooks (prof__name_at_alloc, memhook.c).
 */
#include "profiler/sampler/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby/class.h>
#include <mruby/gc.h>
#include <mruby/irep.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "profiler/model/profile.h"

PROF_TLS bool prof__naming;

_Atomic int prof__names_pending;

/* t has frames to name: its own thread names them at its next allocation or method lookup
 * (memhook.c), which test prof__names_pending first (one load on every send). */
void
prof__want_names(struct prof_thread *t)
{
    if (!atomic_exchange(&t->name_wanted, 1))
        atomic_fetch_add(&prof__names_pending, 1);
}

void
prof__names_done(struct prof_thread *t)
{
    if (atomic_exchange(&t->name_wanted, 0))
        atomic_fetch_sub(&prof__names_pending, 1);
}

/* Symbols the leaf check compares with, interned on the VM's thread when it attaches: call,
 * method_missing, then the operator methods the VM calls for its arithmetic, comparison and
 * index instructions when the operands are not plain numbers (2- or 3-byte instructions whose
 * bytes could also read as the tail of a send). */
static const char *const known_names[PROF_KNOWN_SYMS] = {
    "call", "method_missing", "+", "-", "*", "/", "==", "<", "<=", ">", ">=", "[]", "[]=",
};

void
prof__intern_known(struct prof_thread *t)
{
    for (int i = 0; i < PROF_KNOWN_SYMS; i++)
        t->known[i] = mrb_intern_cstr(t->mrb, known_names[i]);
}

/* --- raw frames -> model frames ------------------------------------------------------------- */

/* The code word as far as it tells functions apart: a C function's pointer, or an irep's address
 * only when the irep has no debug info to name it by (see the header). */
static uintptr_t
raw_code_key(const struct raw_frame *r)
{
    return r->kind == RAW_CFUNC || r->file_sym == 0 ? r->code : 0;
}

static uint64_t
raw_hash(const struct raw_frame *r)
{
    uint64_t h = (uint64_t)raw_code_key(r) * 0x9E3779B97F4A7C15ULL;
    h ^= ((uint64_t)r->cls + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    h ^= ((uint64_t)r->mid << 8 | r->kind) * 0x165667B19E3779F9ULL;
    h ^= ((uint64_t)r->file_sym << 32 | (uint32_t)r->fn_line) * 0x27D4EB2F165667C5ULL;
    h ^= (uint64_t)(uintptr_t)r->mrb;
    return h ^ (h >> 29);
}

static bool
raw_same(const struct raw_frame *a, const struct raw_frame *b)
{
    return raw_code_key(a) == raw_code_key(b) && a->cls == b->cls && a->mid == b->mid &&
           a->kind == b->kind && a->file_sym == b->file_sym && a->fn_line == b->fn_line &&
           a->mrb == b->mrb;
}

/* The raw-frame index is profiler/base/hash.h's table of ids into s->raws. */
static bool
raw_eq(const void *ctx, uint32_t id, const void *key)
{
    return raw_same(&((const struct prof_session *)ctx)->raws[id], key);
}

static uint64_t
raw_rehash(const void *ctx, uint32_t id)
{
    return raw_hash(&((const struct prof_session *)ctx)->raws[id]);
}

static int
frame_kind(uint8_t raw)
{
    switch (raw) {
    case RAW_CFUNC:
    case RAW_ENTER:
        return FRAME_CFUNC;
    case RAW_BLOCK:
        return FRAME_BLOCK;
    default:
        return FRAME_RUBY;
    }
}

static struct raw_frame *
raw_intern(struct prof_session *s, const struct raw_frame *key)
{
    uint64_t h = raw_hash(key);
    uint32_t found = mp_hash_find(&s->raw_index, h, raw_eq, s, key);
    if (found != UINT32_MAX)
        return &s->raws[found];
    if (s->nraws == s->capraws) {
        s->capraws = s->capraws ? s->capraws * 2 : 256;
        s->raws = realloc(s->raws, s->capraws * sizeof *s->raws);
        if (!s->raws)
            abort();
    }
    struct raw_frame *r = &s->raws[s->nraws];
    *r = *key;
    r->named = false;
    r->frame = profile_frame_add(s->profile, s->unnamed, 0, key->fn_line > 0 ? key->fn_line : 0,
                                 frame_kind(key->kind));
    if (mp_hash_insert(&s->raw_index, h, (uint32_t)s->nraws, raw_rehash, s) != 0)
        abort(); /* the runtime's policy, as mruby's own allocator failing: see internal.h */
    s->nraws++;
    return r;
}

/* The stack-trie node of a raw stack of n frames at words[pos & mask] (leaf first), with the
 * record's flags. Caller holds the session lock. */
uint32_t
prof__stack_node(struct prof_session *s, struct prof_thread *t, const uint64_t *words, uint64_t pos,
                 uint64_t mask, uint32_t n, uint32_t flags)
{
    struct profile *p = s->profile;
    uint32_t frames[PROF_MAX_DEPTH];
    for (uint32_t i = 0; i < n; i++, pos += PROF_FRAME_WORDS) {
        uint64_t w2 = words[(pos + 2) & mask], w3 = words[(pos + 3) & mask];
        struct raw_frame key = {
            .mrb = t->mrb,
            .code = (uintptr_t)words[pos & mask],
            .cls = (uintptr_t)words[(pos + 1) & mask],
            .mid = (uint32_t)w2,
            .kind = (uint8_t)(w2 >> 32),
            .file_sym = (uint32_t)w3,
            .fn_line = (int32_t)(uint32_t)(w3 >> 32),
        };
        frames[i] = raw_intern(s, &key)->frame;
    }
    if (flags & F_GC)
        return profile_node(p, 0, p->f_gc);
    uint32_t node = 0;
    for (uint32_t i = n; i-- > 0;) /* outermost caller first */
        node = profile_node(p, node, frames[i]);
    uint32_t blocked = (flags & F_BLOCK_MASK) >> F_BLOCK_SHIFT;
    if (blocked && blocked < prof__nblock_names) {
        if (!s->block_frame[blocked]) {
            char name[128];
            snprintf(name, sizeof name, "(blocked: %s)", prof__block_names[blocked]);
            s->block_frame[blocked] = profile_frame_intern(p, name, "", 0, FRAME_PSEUDO);
        }
        node = profile_node(p, node, s->block_frame[blocked]);
    } else if (flags & F_POLLING)
        node = profile_node(p, node, p->f_idle);
    else if (n == 0)
        node = profile_node(p, 0, p->f_program);
    return node;
}

/* Drains one thread's ring into the profile. Caller holds the session lock. */
void
prof__drain_thread(struct prof_session *s, struct prof_thread *t)
{
    uint64_t head = atomic_load_explicit(&t->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
    size_t raws_before = s->nraws;
    while (tail < head) {
        uint64_t hdr = t->ring[tail & RING_MASK];
        if ((hdr >> 48) != REC_MAGIC) { /* cannot happen: the ring would be corrupt */
            fprintf(stderr, "mrprof: sampler ring corrupt; dropping %llu words\n",
                    (unsigned long long)(head - tail));
            tail = head;
            break;
        }
        uint32_t n = (uint32_t)(hdr & 0xffff), flags = (uint32_t)(hdr >> 32) & 0xffff;
        int32_t top_line = (int32_t)((hdr >> 16) & 0xffff);
        uint64_t t_ns = t->ring[(tail + 1) & RING_MASK];
        uint64_t weight = t->ring[(tail + 2) & RING_MASK];
        uint32_t node = prof__stack_node(s, t, t->ring, tail + HDR_WORDS, RING_MASK, n, flags);
        int32_t line = (n > 0 && !(flags & (F_GC | F_POLLING | F_BLOCK_MASK))) ? top_line : 0;
        profile_add_sample(s->profile, t->model_thread, node, line, t_ns, weight);
        tail += HDR_WORDS + (uint64_t)n * PROF_FRAME_WORDS;
    }
    atomic_store_explicit(&t->tail, tail, memory_order_release);
    if (s->nraws != raws_before)
        prof__want_names(t);
}

/*
 * OP_SEND pushes the callee's frame with no proc and sets it after the method lookup, and a C
 * method registered as a function has no proc at all: a frame without a proc is one or the
 * other. Looking the method up tells them apart, so that a sample taken while entering a Ruby
 * method gets that method's file and line (and merges with it) instead of passing for a C
 * function of the same name. Runs on mrb's thread; the method table may have changed since the
 * sample, which only matters for a method redefined in between.
 */
static void
entering_method(mrb_state *mrb, const struct raw_frame *r, uint32_t *file_sym, int32_t *line,
                int *kind, struct RClass **owner, bool *unknown)
{
    if (!(r->kind == RAW_ENTER || (r->kind == RAW_CFUNC && r->code == 0)) || !r->mid || !r->cls)
        return;
    struct RClass *c = (struct RClass *)r->cls;
    mrb_method_t m = mrb_method_search_vm(mrb, &c, r->mid);
    if (MRB_METHOD_UNDEF_P(m) && r->kind == RAW_ENTER && r->code != r->cls) {
        c = (struct RClass *)r->code;
        m = mrb_method_search_vm(mrb, &c, r->mid);
    }
    if (MRB_METHOD_UNDEF_P(m)) {
        *owner = NULL; /* the class was stale: say nothing rather than something untrue */
        *unknown = true;
        return;
    }
    *owner = c; /* where the method was found: its owner, or the iclass of a module */
    if (!MRB_METHOD_PROC_P(m))
        return;
    const struct RProc *proc = MRB_METHOD_PROC(m);
    if (!proc || MRB_PROC_CFUNC_P(proc))
        return;
    uint32_t fs = 0;
    int32_t ln = 0;
    prof__irep_origin(proc->body.irep, &fs, &ln);
    *file_sym = fs;
    *line = ln;
    *kind = FRAME_RUBY;
}

/*
 * A Ruby method's frame takes its class from the call info, which cipush writes after the
 * method's mid and proc (see signal.c's check_leaf): a method called from C (a loop callback, a
 * worker) can be sampled in between, with the slot's previous class. Such a class does not hold
 * the method: looking mid up from it finds nothing or another body. The owner is then unknown,
 * and the name says so rather than something untrue. Runs on mrb's thread.
 */
static bool
method_class_stale(mrb_state *mrb, const struct raw_frame *r)
{
    if (r->kind != RAW_METHOD || !r->mid || !r->cls || !r->code)
        return false;
    struct RClass *c = (struct RClass *)r->cls;
    mrb_method_t m = mrb_method_search_vm(mrb, &c, r->mid);
    if (MRB_METHOD_UNDEF_P(m) || !MRB_METHOD_PROC_P(m))
        return true;
    const struct RProc *proc = MRB_METHOD_PROC(m);
    return !proc || MRB_PROC_CFUNC_P(proc) || (uintptr_t)proc->body.irep != r->code;
}

/* Names every unnamed frame of mrb. Runs on mrb's own thread; caller holds the session lock. */
void
prof__name_frames(struct prof_session *s, mrb_state *mrb)
{
    struct profile *p = s->profile;
    prof__naming = true;
    int ai = mrb_gc_arena_save(mrb);
    char buf[600];
    for (size_t i = 0; i < s->nraws; i++) {
        struct raw_frame *r = &s->raws[i];
        if (r->named || r->mrb != mrb)
            continue;
        const char *mname = r->mid ? mrb_sym_name(mrb, r->mid) : NULL;
        char method[256];
        snprintf(method, sizeof method, "%s", mname ? mname : "");
        char owner[256] = "";
        char sep = '#';
        uint32_t file_sym = r->file_sym;
        int32_t line = profile_frames(p)[r->frame].line;
        int kind = frame_kind(r->kind);
        struct RClass *c = (struct RClass *)r->cls;
        bool unknown = false;
        entering_method(mrb, r, &file_sym, &line, &kind, &c, &unknown);
        if (method_class_stale(mrb, r)) {
            c = NULL;
            unknown = true;
        }
        if (unknown)
            snprintf(owner, sizeof owner, "?#");
        if (c && (c->tt == MRB_TT_CLASS || c->tt == MRB_TT_MODULE || c->tt == MRB_TT_SCLASS ||
                  c->tt == MRB_TT_ICLASS)) {
            if (c->tt == MRB_TT_SCLASS) {
                mrb_value att =
                    mrb_obj_iv_get(mrb, (struct RObject *)c, mrb_intern_lit(mrb, "__attached__"));
                if (mrb_class_p(att) || mrb_module_p(att)) {
                    c = mrb_class_ptr(att);
                    sep = '.';
                } else {
                    c = NULL;
                }
            }
            if (c && c->tt == MRB_TT_ICLASS)
                c = c->c;
            const char *cn = c ? mrb_class_name(mrb, c) : NULL;
            if (cn && !(c == mrb->object_class && sep == '#'))
                snprintf(owner, sizeof owner, "%s%c", cn, sep);
        }
        switch (r->kind) {
        case RAW_MAIN:
            snprintf(buf, sizeof buf, "<main>");
            break;
        case RAW_TOP:
            snprintf(buf, sizeof buf, "<top (required)>");
            break;
        case RAW_BLOCK:
            if (r->mid)
                snprintf(buf, sizeof buf, "block in %s%s", owner, method);
            else
                snprintf(buf, sizeof buf, "block in <main>");
            break;
        default:
            if (r->mid)
                snprintf(buf, sizeof buf, "%s%s", owner, method);
            else
                snprintf(buf, sizeof buf, "(anonymous %s)",
                         r->kind == RAW_CFUNC ? "C function" : "proc");
            break;
        }
        const char *file = file_sym ? mrb_sym_name(mrb, file_sym) : NULL;
        uint32_t name_id = profile_intern(p, buf);
        uint32_t file_id = profile_intern(p, file ? file : "");
        profile_set_frame(p, r->frame, name_id, file_id, line, kind);
        r->named = true;
        mrb_gc_arena_restore(mrb, ai);
    }
    prof__naming = false;
}

void
prof__name_at_alloc(struct prof_thread *t)
{
    if (prof__naming)
        return;
    prof__names_done(t);
    mrb_state *mrb = t->mrb;
    /* Whoever called mrb_obj_alloc may hold a name mrb_sym_name unpacked into mrb->symbuf (as
     * mrb_str_new of a symbol name does): naming must leave that buffer as it found it. */
    char symbuf[sizeof mrb->symbuf];
    memcpy(symbuf, mrb->symbuf, sizeof symbuf);
    pthread_mutex_lock(&t->session->lock);
    if (!t->session->stopped)
        prof__name_frames(t->session, mrb);
    pthread_mutex_unlock(&t->session->lock);
    memcpy(mrb->symbuf, symbuf, sizeof symbuf);
}

bool
prof__naming_now(void)
{
    return prof__naming;
}
