/*
 * sampler.c — the sampling profiler: timer signal -> raw stack in a ring -> frames and samples.
 *
 * Three steps, three places:
 *
 * 1. The signal handler (on the profiled thread, async-signal-safe only). A per-thread POSIX
 *    timer on CLOCK_MONOTONIC (CPU-time timers tick at 250 Hz on this kernel whatever is asked)
 *    fires at absolute deadlines spaced by the interval times U(0.5, 1.5), so the mean rate is
 *    exactly the one requested and periodic work does not alias with the sampler (+/-10 % was
 *    too little: a loop whose period was near 1 ms drifted through its phases so slowly that a
 *    method's share at 1 kHz swung from 14 % to 44 % between runs of the same script). The
 *    handler reads the thread's CPU clock (to weigh the sample in CPU mode), the loop state and
 *    the GC flag, then walks mruby's call-info stacks (every fiber context, leaf first) and
 *    copies four raw words per frame into a single-producer ring of 64-bit words: the code
 *    pointer (irep or C function), the class pointer, mid | kind, and the file symbol and first
 *    line read from the irep's debug info (O(1): entry 0 of its line table) while the irep is
 *    certainly alive; the top frame's current line is looked up too. No malloc, no locks, no
 *    stdio, no mruby call. A full ring drops the sample and counts it.
 *
 * 2. The drain (collector thread every 10 ms, or the VM thread at a safe point; serialised by
 *    the session lock). It maps raw frames to model frames through a hash on the raw words and
 *    appends trie nodes and samples. It never dereferences an irep: an `eval`'d irep is often
 *    freed before the drain runs (a crash seen at 10 kHz when it did). Until step 3 a new frame
 *    is named "?".
 *
 * 3. Naming (the VM's own thread at a safe point, and at detach/stop). Symbols and class names
 *    can only be read there safely (mrb_sym_name shares a buffer, mrb_class_name may allocate).
 *
 * The raw key includes the file symbol and first line, so a freed irep whose address is reused
 * by other code does not inherit the old frame's name. An irep with debug info is known by them
 * and not by its address: a Deferred worker loads each task's block anew, and keyed by address
 * every task's block became one more frame (and one more top-level entry) of the same function.
 *
 * Weights. The deadlines are a schedule that does not depend on what the thread does (a late
 * signal steps over the deadlines it missed, see arm_next), and a sample stands for the time
 * from its deadline to the next: the thread could not change what it was doing while it did
 * not run, so the state at the signal is the state at the deadline. In wall mode that is the
 * weight. In CPU mode a sample taken while the thread waits (the loop's poll, a worker waiting
 * for a task) weighs 0, and one taken while it runs weighs the time from the signal to the
 * next deadline (the lateness is time off the CPU). When the thread retires, its CPU clock is
 * shared out: the CPU time measured inside the loop's waits (prof_wait_begin/end) to its idle
 * samples, the rest to its running samples in proportion to their weights. The old rule, "the
 * CPU time since the previous sample, charged to the stack at this one", charged a burst of
 * work to the idle sample that followed it: a timer callback spinning 0.5 ms every 2 ms came
 * out 85 % idle. pprof's CPU profiles (a SIGPROF per period of CPU used) and py-spy's (samples
 * of threads found running) count only what was on the CPU, as this does.
 */
#include "profiler/sampler/sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <mruby/class.h>
#include <mruby/gc.h>
#include <mruby/irep.h>
#include <mruby/opcode.h>
#include <mruby/debug.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "profiler/model/profile.h"

__thread struct prof_thread *prof__tls;
/* True while this thread names frames (under the session lock): naming allocates, and the
 * allocation hook must not try to name (and lock) again. */
static __thread bool tls_naming;

#define RING_MASK (PROF_RING_WORDS - 1)
#define HDR_WORDS 3
#define REC_MAGIC 0x5EC0u

/* Record flags. */
#define F_POLLING 1u
#define F_GC 2u
#define F_TRUNCATED 4u

/* Raw frame kinds. */
/* RAW_ENTER: a method call not yet (or no longer) running, named by looking its mid up from
 * cls, else from the receiver's class held in the code word (see check_leaf). */
enum raw_kind { RAW_METHOD = 1, RAW_BLOCK, RAW_MAIN, RAW_TOP, RAW_CFUNC, RAW_ENTER };

struct raw_frame {
    mrb_state *mrb;
    uintptr_t code, cls;
    uint32_t mid;
    uint8_t kind;
    uint32_t file_sym; /* 0 when unknown */
    int32_t fn_line;
    uint32_t frame; /* model frame id */
    bool named;
};

struct prof_session {
    pthread_mutex_t lock; /* guards profile, raw frames, the thread list */
    struct profile *profile;
    enum prof_mode mode;
    unsigned hz;
    uint64_t interval_ns, start_ns;
    struct prof_thread *threads;

    struct raw_frame *raws;
    size_t nraws, capraws;
    uint32_t *raw_slots; /* open addressing: index + 1 */
    size_t raw_cap;
    uint32_t unnamed;    /* string id of "?" */

    pthread_t collector;
    bool collector_started;
    _Atomic int stopping;
    bool stopped;      /* under lock: prof_stop ran; the profile belongs to its caller now */
    _Atomic int refs;  /* prof_stop's own + one per attached thread; freed at zero */
    _Atomic uint64_t heap_interval; /* mean bytes between allocation samples; 0: off */
};

static struct prof_session *g_session;
/* Guards g_session for readers on other threads (the live agent): taken before a session's
 * lock, never after it. */
static pthread_mutex_t g_session_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_generation;
static struct sigaction g_old_action;

static void flush_pending(struct prof_session *s, struct prof_thread *t);

_Atomic int prof_names_pending;

/* t has frames to name: its own thread names them at its next allocation or method lookup
 * (memhook.c), which test prof_names_pending first (one load on every send). */
static void
want_names(struct prof_thread *t)
{
    if (!atomic_exchange(&t->name_wanted, 1))
        atomic_fetch_add(&prof_names_pending, 1);
}

static void
names_done(struct prof_thread *t)
{
    if (atomic_exchange(&t->name_wanted, 0))
        atomic_fetch_sub(&prof_names_pending, 1);
}

/* --- clocks --------------------------------------------------------------------------------- */

static uint64_t
clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
next_rand(uint64_t *s)
{
    /* xorshift64*: async-signal-safe, per thread. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* --- reading irep debug info (pure reads; called in the handler while the irep runs) ------- */

/* One unsigned LEB128 number of a packed line map, never reading at or past end. */
static uint32_t
packed_uint(const uint8_t **p, const uint8_t *end)
{
    uint32_t n = 0;
    for (unsigned shift = 0; *p < end && shift < 32; shift += 7) {
        uint8_t b = *(*p)++;
        n |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return n;
}

static int32_t irep_line_at(const mrb_irep *irep, uint32_t pc);

/* The file symbol and first line of an irep (the line of its first instruction). */
static void
irep_origin(const mrb_irep *irep, uint32_t *file_sym, int32_t *line)
{
    const mrb_irep_debug_info *d = irep ? irep->debug_info : NULL;
    if (!d || d->flen == 0 || !d->files || !d->files[0])
        return;
    *file_sym = d->files[0]->filename_sym;
    *line = irep_line_at(irep, 0);
    /* mruby 3.1 puts the ENTER of a do-block passed to a call without parentheses
     * (`on "/x" do |r| ... end`) on the block's `end` line: the first body instruction's line
     * is then the smaller one, and the one inside the block. */
    if (irep->ilen > 4 && irep->iseq[0] == OP_ENTER) {
        int32_t body = irep_line_at(irep, 4);
        if (body > 0 && (body < *line || *line <= 0))
            *line = body;
    }
}

/* The line of the instruction at pc: a binary search of the line table, no allocation. */
static int32_t
irep_line_at(const mrb_irep *irep, uint32_t pc)
{
    const mrb_irep_debug_info *d = irep->debug_info;
    if (!d || d->flen == 0 || !d->files || pc >= d->pc_count)
        return 0;
    const mrb_irep_debug_info_file *f = d->files[0];
    for (uint16_t i = 1; i < d->flen; i++)
        if (d->files[i]->start_pos <= pc)
            f = d->files[i];
    if (!f->lines.ptr || f->line_entry_count == 0)
        return 0;
    if (f->line_type == mrb_debug_line_ary) {
        uint32_t k = pc - f->start_pos;
        return k < f->line_entry_count ? f->lines.ary[k] : 0;
    }
    if (f->line_type == mrb_debug_line_packed_map) {
        /* (pc delta, line delta) pairs; line_entry_count is the byte length. */
        const uint8_t *p = f->lines.packed_map, *end = p + f->line_entry_count;
        uint32_t pos = 0, line = 0;
        while (p < end) {
            pos += packed_uint(&p, end);
            uint32_t diff = packed_uint(&p, end);
            if (pc < pos)
                break;
            line += diff;
        }
        return (int32_t)line;
    }
    if (f->line_type != mrb_debug_line_flat_map)
        return 0;
    const mrb_irep_debug_info_line *m = f->lines.flat_map;
    uint32_t lo = 0, hi = f->line_entry_count; /* last entry with start_pos <= pc */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m[mid].start_pos <= pc)
            lo = mid;
        else
            hi = mid;
    }
    return m[lo].line;
}

/* --- the signal handler --------------------------------------------------------------------- */

static uint64_t
next_step(struct prof_thread *t)
{
    /* interval * U(0.5, 1.5) */
    uint64_t jitter = t->interval_ns;
    return t->interval_ns - jitter / 2 + (jitter ? next_rand(&t->rng) % jitter : 0);
}

static void
arm_next(struct prof_thread *t, uint64_t now)
{
    /*
     * Next deadline = previous + interval * U(0.5, 1.5). When the signal came late (the thread
     * was asleep or off the CPU, so it could not take it), the deadlines that passed meanwhile
     * are stepped over on the same schedule, not restarted from now: the schedule must not
     * depend on what the thread does. Restarting from now left at least half an interval after
     * every late wake-up, so on a loaded machine the short burst of work that follows a wake-up
     * (a timer callback) was almost never sampled. The thread could not change what it was
     * doing while it did not run, so the sample stands for the passed deadlines as well (its
     * weight is the time to the next deadline). Far behind, the schedule restarts.
     */
    uint64_t next = t->last_deadline + next_step(t);
    for (int k = 0; next <= now; k++)
        next = k < 64 ? next + next_step(t) : now + next_step(t);
    t->last_deadline = next;
    struct itimerspec its = {{0, 0}, {(time_t)(next / 1000000000u), (long)(next % 1000000000u)}};
    timer_settime(t->timer, TIMER_ABSTIME, &its, NULL);
}

static inline void
ring_put(uint64_t *ring, uint64_t pos, uint64_t mask, uint64_t w)
{
    ring[pos & mask] = w;
}

/* The number of frames of mrb's call-info stacks (every fiber context), capped at
 * PROF_MAX_DEPTH; *truncated tells whether the cap cut it. Async-signal-safe. */
static uint32_t
stack_depth(mrb_state *mrb, bool *truncated)
{
    uint32_t depth = 0;
    for (struct mrb_context *c = mrb->c; c; c = c->prev)
        if (c->ci && c->cibase && c->ci >= c->cibase)
            depth += (uint32_t)(c->ci - c->cibase) + 1;
    *truncated = depth > PROF_MAX_DEPTH;
    return *truncated ? PROF_MAX_DEPTH : depth;
}

/*
 * Copies up to depth frames of mrb's stacks, leaf first, as PROF_FRAME_WORDS raw words each into
 * dst[pos & mask] onwards (the ring, or a plain buffer with mask ~0); *top_line gets the leaf's
 * current line. Returns the number of frames written. Pure reads: async-signal-safe, and safe
 * on the VM's thread at any instruction (the allocation sampler calls it from the allocator).
 */
static bool
is_send_op(uint8_t op)
{
    return op == OP_SEND || op == OP_SENDB || op == OP_SSEND || op == OP_SSENDB;
}

/* Symbols the leaf check compares with, interned on the VM's thread when it attaches: call,
 * method_missing, then the operator methods the VM calls for its arithmetic, comparison and
 * index instructions when the operands are not plain numbers (2- or 3-byte instructions whose
 * bytes could also read as the tail of a send). */
static const char *const known_names[PROF_KNOWN_SYMS] = {
    "call", "method_missing", "+", "-", "*", "/", "==", "<", "<=", ">", ">=", "[]", "[]=",
};

static void
intern_known(struct prof_thread *t)
{
    for (int i = 0; i < PROF_KNOWN_SYMS; i++)
        t->known[i] = mrb_intern_cstr(t->mrb, known_names[i]);
}

/* The operator an arithmetic, comparison or index instruction sends when its operands are not
 * plain numbers (index into known[]), or -1. */
static int
operator_of(uint8_t op)
{
    switch (op) {
    case OP_ADD: case OP_ADDI: return 2;
    case OP_SUB: case OP_SUBI: return 3;
    case OP_MUL: return 4;
    case OP_DIV: return 5;
    case OP_EQ: return 6;
    case OP_LT: return 7;
    case OP_LE: return 8;
    case OP_GT: return 9;
    case OP_GE: return 10;
    case OP_GETIDX: return 11;
    case OP_SETIDX: return 12;
    default: return -1;
    }
}

/*
 * The send a Ruby frame is executing, if the instruction just before its pc is one (the VM
 * stores pc past each instruction as it fetches it): the method's symbol and the receiver's
 * register. Pure reads within the irep.
 */
static bool
pending_send(const uint32_t *known, const mrb_callinfo *ci, mrb_sym leaf_mid, mrb_sym *mid,
             const mrb_value **recv)
{
    const struct RProc *p = ci->proc;
    if (!p || MRB_PROC_CFUNC_P(p) || !ci->pc || !ci->stack)
        return false;
    const mrb_irep *irep = p->body.irep;
    const mrb_code *pc = ci->pc;
    if (!irep || !irep->iseq || pc < irep->iseq || pc > irep->iseq + irep->ilen)
        return false;
    ptrdiff_t len = pc - irep->iseq;
    uint32_t a, b;
    /* An operator instruction that fell back to a send: [op a] or [ADDI/SUBI a b]. Its bytes
     * could also be the tail of a longer instruction, so it is taken only when the leaf says
     * it is that operator's call. */
    int k;
    if (len >= 2 && (k = operator_of(pc[-2])) >= 0 && pc[-2] != OP_ADDI && pc[-2] != OP_SUBI &&
        known[k] == leaf_mid && pc[-1] < irep->nregs) {
        *mid = leaf_mid;
        *recv = ci->stack + pc[-1];
        return true;
    }
    if (len >= 3 && (pc[-3] == OP_ADDI || pc[-3] == OP_SUBI) &&
        known[operator_of(pc[-3])] == leaf_mid && pc[-2] < irep->nregs) {
        *mid = leaf_mid;
        *recv = ci->stack + pc[-2];
        return true;
    }
    if (len >= 7 && pc[-7] == OP_EXT3 && is_send_op(pc[-6]))
        a = (uint32_t)pc[-5] << 8 | pc[-4], b = (uint32_t)pc[-3] << 8 | pc[-2];
    else if (len >= 6 && pc[-6] == OP_EXT1 && is_send_op(pc[-5]))
        a = (uint32_t)pc[-4] << 8 | pc[-3], b = pc[-2];
    else if (len >= 6 && pc[-6] == OP_EXT2 && is_send_op(pc[-5]))
        a = pc[-4], b = (uint32_t)pc[-3] << 8 | pc[-2];
    else if (len >= 4 && is_send_op(pc[-4]))
        a = pc[-3], b = pc[-2];
    else
        return false;
    if (b >= irep->slen || a >= irep->nregs || !irep->syms)
        return false;
    *mid = irep->syms[b];
    *recv = ci->stack + a;
    return true;
}

/*
 * The leaf frame may be half made. OP_SEND (mruby 3.1 vm.c) looks the method up, then cipush
 * moves c->ci to the next call-info slot and only then writes its mid, proc, stack and class,
 * and the proc of a method is set after that: a signal in between finds the slot's previous
 * tenant, whole or in part ("Store#size" for a call of String#size, "String#call" for
 * Proc#call, a bare "size"). When the caller is a Ruby frame stopped on a send, the leaf must
 * be that send's callee: its mid is the send's, and its class is the receiver's class or one
 * of its ancestors (where the method was found). A leaf that fails the test is replaced by
 * "entering mid on the receiver's class", with no code: naming looks the method up (see
 * entering_method). A block called through Proc#call (its mid replaced by OP_CALL), a
 * method_missing pass as they are; the receiver of an arithmetic, comparison or index
 * instruction that fell back to a send is read from its register the same way.
 */
static bool
check_leaf(mrb_state *mrb, const uint32_t *known, const mrb_callinfo *ci, const mrb_callinfo *caller,
           uintptr_t *code, uintptr_t *cls, uint32_t *mid, uint8_t *kind, uint32_t *file_sym,
           int32_t *fn_line)
{
    mrb_sym want;
    const mrb_value *recv;
    if (!pending_send(known, caller, ci->mid, &want, &recv))
        return true;
    if (*kind == RAW_BLOCK && want == known[0])
        return true;
    if (ci->mid == known[1])
        return true;
    /* An operator the leaf names that the send parse does not: the instruction may be an
     * operator one read as a send, so leave the leaf be. */
    for (int i = 2; i < PROF_KNOWN_SYMS; i++)
        if (known[i] == ci->mid && want != ci->mid)
            return true;
    const struct RClass *rc = mrb_class(mrb, *recv); /* pure reads */
    if (!rc)
        return true;
    if (ci->mid == want) {
        int steps = 0;
        for (const struct RClass *k = rc; k && steps < 64; k = k->super, steps++)
            if ((uintptr_t)k == *cls) {
                /* No proc yet (or a C function registered without one): the class may be
                 * an ancestor left by the slot's previous tenant (Object, for a bare
                 * "size"). Naming looks mid up from it, else from the receiver's class. */
                if (*kind == RAW_CFUNC && *code == 0) {
                    *kind = RAW_ENTER;
                    *code = (uintptr_t)rc;
                }
                return true;
            }
        /* The right mid with a class the receiver does not have: either cipush has not
         * written the class yet, or a C method has returned and its result already stands in
         * the receiver's register. Either way the caller is doing the call's own work (set-up
         * or tear-down): the sample is the caller's. */
        return false;
    }
    *code = (uintptr_t)rc;
    *cls = (uintptr_t)rc;
    *mid = want;
    *kind = RAW_ENTER;
    *file_sym = 0;
    *fn_line = 0;
    return true;
}

static uint32_t
walk_stack(const struct prof_thread *t, bool skip_base, uint32_t depth, uint64_t *dst,
           uint64_t pos, uint64_t mask, int32_t *top_line)
{
    mrb_state *mrb = t->mrb;
    uint32_t n = 0;
    bool dropped = false;
    *top_line = 0;
    for (struct mrb_context *c = mrb->c; c && n < depth; c = c->prev) {
        if (!c->ci || !c->cibase || c->ci < c->cibase)
            continue;
        for (const mrb_callinfo *ci = c->ci; ci >= c->cibase && n < depth; ci--) {
            bool is_root_base = ci == c->cibase && c->prev == NULL;
            if (is_root_base && skip_base)
                continue;
            const struct RProc *p = ci->proc;
            uintptr_t code = 0, cls = 0;
            uint32_t mid = ci->mid, file_sym = 0;
            int32_t fn_line = 0;
            uint8_t kind;
            const struct RBasic *u = (const struct RBasic *)ci->u.target_class;
            if (u)
                cls = (uintptr_t)(u->tt == MRB_TT_ENV ? u->c : ci->u.target_class);
            if (!p || MRB_PROC_CFUNC_P(p)) {
                kind = RAW_CFUNC;
                code = p ? (uintptr_t)p->body.func : 0;
            } else {
                const mrb_irep *irep = p->body.irep;
                code = (uintptr_t)irep;
                if (is_root_base)
                    kind = RAW_MAIN;
                else if (MRB_PROC_STRICT_P(p))
                    kind = RAW_METHOD;
                else if (p->upper)
                    kind = RAW_BLOCK;
                else
                    kind = RAW_TOP;
                /* A block called through Proc#call carries mid :call; its env knows the method
                 * it was written in. */
                if (kind == RAW_BLOCK && MRB_PROC_ENV_P(p) && p->e.env) {
                    mid = p->e.env->mid;
                    if (p->e.env->c)
                        cls = (uintptr_t)p->e.env->c;
                }
                irep_origin(irep, &file_sym, &fn_line);
                if (n == 0 && ci->pc && irep && ci->pc > irep->iseq)
                    *top_line = irep_line_at(irep, (uint32_t)(ci->pc - irep->iseq - 1));
            }
            if (n == 0 && c == mrb->c && ci > c->cibase && !dropped) {
                if (!check_leaf(mrb, t->known, ci, ci - 1, &code, &cls, &mid, &kind, &file_sym,
                                &fn_line)) {
                    dropped = true; /* the caller, next, becomes the leaf */
                    continue;
                }
                if (kind == RAW_ENTER)
                    *top_line = 0;
            }
            ring_put(dst, pos++, mask, code);
            ring_put(dst, pos++, mask, cls);
            ring_put(dst, pos++, mask, (uint64_t)mid | (uint64_t)kind << 32);
            ring_put(dst, pos++, mask, (uint64_t)file_sym | (uint64_t)(uint32_t)fn_line << 32);
            n++;
        }
    }
    return n;
}

static void
on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    int saved_errno = errno;
    struct prof_thread *t = prof__tls;
    if (!t)
        goto out;
    /* Another thread may be retiring t (prof_stop): it clears timer_armed, then waits while
     * in_handler is set before it frees the ring. Both sequentially consistent: either we see
     * the timer disarmed, or it sees us inside. */
    atomic_store(&t->in_handler, 1);
    if (!atomic_load(&t->timer_armed))
        goto out_busy;
    atomic_fetch_add_explicit(&t->signals, 1, memory_order_relaxed);
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t cpu_d = cpu - t->last_cpu_ns;
    t->last_wall_ns = now;
    t->last_cpu_ns = cpu;
    uint64_t due = t->last_deadline; /* the deadline this signal answers */
    arm_next(t, now);

    mrb_state *mrb = t->mrb;
    uint32_t flags = 0;
    if (t->loop_state && *t->loop_state)
        flags |= F_POLLING;
    /* The sample's weight (see "Weights" at the top). Wall mode: the time from its deadline to
     * the next one. CPU mode: 0 when the thread is waiting; else the time from now to the next
     * deadline (the time between the deadline and now, the thread was off the CPU), scaled to
     * the thread's CPU clock when it retires. */
    uint64_t weight = t->last_deadline - due;
    if (t->mode == PROF_MODE_CPU)
        weight = flags & F_POLLING ? 0 : t->last_deadline - now;
    t->cpu_sum += cpu_d;
    if (t->in_gc)
        flags |= F_GC;
    bool skip_base = t->main_done && *t->main_done;

    /* Count frames first so the record can be reserved whole. */
    bool truncated;
    uint32_t depth = stack_depth(mrb, &truncated);
    if (truncated) {
        flags |= F_TRUNCATED;
        atomic_fetch_add_explicit(&t->truncated, 1, memory_order_relaxed);
    }
    uint64_t head = atomic_load_explicit(&t->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&t->tail, memory_order_acquire);
    uint64_t need = HDR_WORDS + (uint64_t)depth * PROF_FRAME_WORDS;
    if (head + need - tail > PROF_RING_WORDS) {
        atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
        goto out_busy;
    }
    int32_t top_line;
    uint32_t n = walk_stack(t, skip_base, depth, t->ring, head + HDR_WORDS, RING_MASK, &top_line);
    ring_put(t->ring, head, RING_MASK, (uint64_t)REC_MAGIC << 48 | (uint64_t)flags << 32 |
                                           (uint64_t)(uint16_t)top_line << 16 | n);
    ring_put(t->ring, head + 1, RING_MASK, now);
    ring_put(t->ring, head + 2, RING_MASK, weight);
    atomic_store_explicit(&t->head, head + HDR_WORDS + (uint64_t)n * PROF_FRAME_WORDS,
                          memory_order_release);
    atomic_fetch_add_explicit(&t->recorded, 1, memory_order_relaxed);
    t->weight_sum += weight;
out_busy:
    atomic_store(&t->in_handler, 0);
out:
    errno = saved_errno;
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
    return raw_code_key(a) == raw_code_key(b) && a->cls == b->cls && a->mid == b->mid && a->kind == b->kind &&
           a->file_sym == b->file_sym && a->fn_line == b->fn_line && a->mrb == b->mrb;
}

static void
raw_rehash(struct prof_session *s, size_t cap)
{
    free(s->raw_slots);
    s->raw_slots = calloc(cap, sizeof *s->raw_slots);
    if (!s->raw_slots)
        abort();
    s->raw_cap = cap;
    for (size_t i = 0; i < s->nraws; i++) {
        struct raw_frame *r = &s->raws[i];
        size_t j = raw_hash(r) & (cap - 1);
        while (s->raw_slots[j])
            j = (j + 1) & (cap - 1);
        s->raw_slots[j] = (uint32_t)i + 1;
    }
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
    if ((s->nraws + 1) * 2 > s->raw_cap)
        raw_rehash(s, s->raw_cap ? s->raw_cap * 2 : 1024);
    size_t j = raw_hash(key) & (s->raw_cap - 1);
    for (; s->raw_slots[j]; j = (j + 1) & (s->raw_cap - 1)) {
        struct raw_frame *r = &s->raws[s->raw_slots[j] - 1];
        if (raw_same(r, key))
            return r;
    }
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
    s->raw_slots[j] = (uint32_t)s->nraws + 1;
    s->nraws++;
    return r;
}

/* The stack-trie node of a raw stack of n frames at words[pos & mask] (leaf first), with the
 * record's flags. Caller holds the session lock. */
static uint32_t
stack_node(struct prof_session *s, struct prof_thread *t, const uint64_t *words, uint64_t pos,
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
    if (flags & F_POLLING)
        node = profile_node(p, node, p->f_idle);
    else if (n == 0)
        node = profile_node(p, 0, p->f_program);
    return node;
}

/* Drains one thread's ring into the profile. Caller holds the session lock. */
static void
drain_thread(struct prof_session *s, struct prof_thread *t)
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
        uint32_t node = stack_node(s, t, t->ring, tail + HDR_WORDS, RING_MASK, n, flags);
        int32_t line = (n > 0 && !(flags & (F_GC | F_POLLING))) ? top_line : 0;
        profile_add_sample(s->profile, t->model_thread, node, line, t_ns, weight);
        tail += HDR_WORDS + (uint64_t)n * PROF_FRAME_WORDS;
    }
    atomic_store_explicit(&t->tail, tail, memory_order_release);
    if (s->nraws != raws_before)
        want_names(t);
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
    irep_origin(proc->body.irep, &fs, &ln);
    *file_sym = fs;
    *line = ln;
    *kind = FRAME_RUBY;
}

/* Names every unnamed frame of mrb. Runs on mrb's own thread; caller holds the session lock. */
static void
name_frames(struct prof_session *s, mrb_state *mrb)
{
    struct profile *p = s->profile;
    tls_naming = true;
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
        if (unknown)
            snprintf(owner, sizeof owner, "?#");
        if (c && (c->tt == MRB_TT_CLASS || c->tt == MRB_TT_MODULE || c->tt == MRB_TT_SCLASS ||
                  c->tt == MRB_TT_ICLASS)) {
            if (c->tt == MRB_TT_SCLASS) {
                mrb_value att = mrb_obj_iv_get(mrb, (struct RObject *)c, mrb_intern_lit(mrb, "__attached__"));
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
                snprintf(buf, sizeof buf, "(anonymous %s)", r->kind == RAW_CFUNC ? "C function" : "proc");
            break;
        }
        const char *file = file_sym ? mrb_sym_name(mrb, file_sym) : NULL;
        uint32_t name_id = profile_intern(p, buf);
        uint32_t file_id = profile_intern(p, file ? file : "");
        profile_set_frame(p, r->frame, name_id, file_id, line, kind);
        r->named = true;
        mrb_gc_arena_restore(mrb, ai);
    }
    tls_naming = false;
}

/* --- the collector thread ------------------------------------------------------------------- */

static void *
collector_main(void *arg)
{
    struct prof_session *s = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (!atomic_load(&s->stopping)) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&s->lock);
        for (struct prof_thread *t = s->threads; t; t = t->next)
            drain_thread(s, t);
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

/* --- the session ---------------------------------------------------------------------------- */

struct prof_session *
prof_current(void)
{
    return g_session;
}

struct prof_session *
prof_start(enum prof_mode mode, unsigned hz, char *err, size_t errlen)
{
    if (g_session) {
        snprintf(err, errlen, "the profiler is already running");
        return NULL;
    }
    if (hz > 10000) {
        snprintf(err, errlen, "sampling rate %u Hz is out of range (1 to 10000)", hz);
        return NULL;
    }
    struct prof_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->refs, 1);
    s->profile = profile_new();
    s->mode = mode;
    s->hz = hz;
    s->interval_ns = hz ? 1000000000u / hz : 0;
    s->start_ns = clock_ns(CLOCK_MONOTONIC);
    s->unnamed = profile_intern(s->profile, "?");
    s->profile->meta.mode = mode == PROF_MODE_CPU ? PROFILE_CPU : PROFILE_WALL;
    s->profile->meta.hz = hz;
    s->profile->meta.start_ns = s->start_ns;
    s->profile->meta.wall_start_ns = clock_ns(CLOCK_REALTIME);
    snprintf(s->profile->meta.tool, sizeof s->profile->meta.tool, "mrun");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, &g_old_action) != 0) {
        snprintf(err, errlen, "cannot install the SIGPROF handler: %s", strerror(errno));
        profile_free(s->profile);
        free(s);
        return NULL;
    }
    /* Rings need a drain; a memory-only session (hz 0) has none, and no second thread: glibc's
     * malloc takes its locks once a process has one (measured: +5 % CPU on alloc.rb). */
    if (hz && pthread_create(&s->collector, NULL, collector_main, s) == 0)
        s->collector_started = true;
    pthread_mutex_lock(&g_session_mutex);
    g_session = s;
    g_generation++;
    pthread_mutex_unlock(&g_session_mutex);
    return s;
}

int
prof_attach(struct prof_session *s, mrb_state *mrb, const char *name,
            const volatile sig_atomic_t *loop_state, const volatile sig_atomic_t *main_done)
{
    struct prof_thread *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->ring = malloc(PROF_RING_WORDS * sizeof(uint64_t));
    if (!t->ring) {
        free(t);
        return -ENOMEM;
    }
    t->mrb = mrb;
    intern_known(t);
    t->tid = (pid_t)syscall(SYS_gettid);
    t->loop_state = loop_state;
    t->main_done = main_done;
    t->session = s;
    t->mode = s->mode;
    t->interval_ns = s->interval_ns;
    t->rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)t->tid << 17) ^ clock_ns(CLOCK_MONOTONIC);
    t->last_wall_ns = clock_ns(CLOCK_MONOTONIC);
    t->last_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    t->last_deadline = t->last_wall_ns;

    t->heap_rng = t->rng ^ 0xD1B54A32D192ED03ULL;
    t->counter_countdown = 4096;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = t->tid;
    t->has_timer = s->hz > 0;
    if (t->has_timer && timer_create(CLOCK_MONOTONIC, &sev, &t->timer) != 0) {
        int e = errno;
        free(t->ring);
        free(t);
        return -e;
    }
    pthread_mutex_lock(&s->lock);
    t->model_thread = profile_add_thread(s->profile, t->tid, name);
    t->first_sample = s->profile->samples.len;
    t->next = s->threads;
    s->threads = t;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&s->lock);

    prof__tls = t;
    if (t->has_timer) {
        atomic_store(&t->timer_armed, true);
        arm_next(t, t->last_wall_ns);
    }
    return 0;
}

static void
session_release(struct prof_session *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->raws);
    free(s->raw_slots);
    free(s);
}

/* The calling thread's stub of a stopped session: free it and the thread's hold on s. */
static void
release_stub(struct prof_thread *t)
{
    struct prof_session *s = t->session;
    names_done(t);
    prof__tls = NULL;
    free(t->live_keys);
    free(t->live_vals);
    free(t->pending);
    free(t);
    session_release(s);
}

void
prof_follow(mrb_state *mrb, const char *name, const volatile sig_atomic_t *idle)
{
    struct prof_thread *t = prof__tls;
    if (t && t->mrb == mrb) {
        prof_safe_point(mrb); /* names frames, or releases the stub of a stopped session */
        if (prof__tls)
            return;
    }
    /* Such a thread's base frame is the C call into its task, not code: leave it out. */
    static const volatile sig_atomic_t skip_base = 1;
    pthread_mutex_lock(&g_session_mutex); /* prof_stop clears g_session under it first */
    if (g_session)
        prof_attach(g_session, mrb, name, idle, &skip_base);
    pthread_mutex_unlock(&g_session_mutex);
}

static struct prof_thread *
unlink_thread(struct prof_session *s, mrb_state *mrb)
{
    for (struct prof_thread **pp = &s->threads; *pp; pp = &(*pp)->next)
        if ((*pp)->mrb == mrb) {
            struct prof_thread *t = *pp;
            *pp = t->next;
            return t;
        }
    return NULL;
}

void
prof_safe_point(mrb_state *mrb)
{
    struct prof_thread *t = prof__tls;
    if (!t || t->mrb != mrb)
        return;
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    if (s->stopped) {
        pthread_mutex_unlock(&s->lock);
        release_stub(t);
        return;
    }
    drain_thread(s, t);
    flush_pending(s, t);
    name_frames(s, mrb);
    pthread_mutex_unlock(&s->lock);
    prof_counters_tick(t);
}

void
prof_wait_begin(mrb_state *mrb)
{
    struct prof_thread *t = prof__tls;
    if (t && t->mrb == mrb && t->mode == PROF_MODE_CPU)
        t->wait_cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

void
prof_wait_end(mrb_state *mrb)
{
    struct prof_thread *t = prof__tls;
    if (t && t->mrb == mrb && t->mode == PROF_MODE_CPU && t->wait_cpu_start) {
        t->wait_cpu_sum += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t->wait_cpu_start;
        t->wait_cpu_start = 0;
    }
}

/* CPU mode, when t retires (caller holds the session lock; t's handler no longer runs): the
 * CPU time t's clock measured is shared out. The part measured inside the loop's waits goes
 * to its "(idle)" samples in equal parts; the rest to its running samples in proportion to
 * their weights (the running time each stands for, see "Weights"). */
static void
scale_to_cpu(struct prof_session *s, const struct prof_thread *t)
{
    if (t->mode != PROF_MODE_CPU)
        return;
    struct profile *p = s->profile;
    struct prof_sample *smp = p->samples.data;
    const struct prof_node *nodes = p->nodes.data;
    size_t nidle = 0;
    for (size_t i = t->first_sample; i < p->samples.len; i++)
        if (smp[i].thread == t->model_thread && nodes[smp[i].node].frame == p->f_idle)
            nidle++;
    uint64_t wait_cpu = nidle && t->wait_cpu_sum < t->cpu_sum ? t->wait_cpu_sum : 0;
    double f = t->weight_sum ? (double)(t->cpu_sum - wait_cpu) / (double)t->weight_sum : 0;
    for (size_t i = t->first_sample; i < p->samples.len; i++) {
        if (smp[i].thread != t->model_thread)
            continue;
        if (nodes[smp[i].node].frame == p->f_idle)
            smp[i].weight_ns = wait_cpu / nidle;
        else
            smp[i].weight_ns = (uint64_t)((double)smp[i].weight_ns * f + 0.5);
    }
}

/* Stops sampling t, drains what is left and adds its counters to the profile. Caller holds
 * the session lock and has unlinked t. t itself is freed by its own thread. */
static void
retire_thread(struct prof_session *s, struct prof_thread *t)
{
    /* Disarm first, then wait out a handler running on t's thread right now (see on_signal):
     * after that no handler touches the ring. */
    atomic_store(&t->timer_armed, false);
    if (t->has_timer)
        timer_delete(t->timer);
    while (atomic_load(&t->in_handler))
        sched_yield();
    drain_thread(s, t);
    scale_to_cpu(s, t);
    struct profile_meta *m = &s->profile->meta;
    m->signals += atomic_load(&t->signals);
    m->dropped += atomic_load(&t->dropped);
    m->truncated += atomic_load(&t->truncated);
    m->heap.alloc_bytes += atomic_load_explicit(&t->heap_bytes, memory_order_relaxed);
    m->heap.alloc_count += atomic_load_explicit(&t->heap_count, memory_order_relaxed);
    m->heap.free_count += atomic_load_explicit(&t->heap_frees, memory_order_relaxed);
    free(t->ring);
    t->ring = NULL;
}

void
prof_detach(mrb_state *mrb)
{
    struct prof_thread *t = prof__tls;
    if (!t || t->mrb != mrb)
        return;
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    if (!s->stopped) {
        unlink_thread(s, mrb);
        retire_thread(s, t);
        name_frames(s, mrb); /* on mrb's own thread: the only place names can be read */
    }
    pthread_mutex_unlock(&s->lock);
    release_stub(t);
}

bool
prof_read_profile(void (*fn)(const struct profile *p, uint64_t generation, void *arg), void *arg)
{
    pthread_mutex_lock(&g_session_mutex);
    struct prof_session *s = g_session;
    if (s) {
        pthread_mutex_lock(&s->lock);
        s->profile->meta.end_ns = clock_ns(CLOCK_MONOTONIC);
        fn(s->profile, g_generation, arg);
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&g_session_mutex);
    return s != NULL;
}

void
prof_name_at_alloc(struct prof_thread *t)
{
    if (tls_naming)
        return;
    names_done(t);
    mrb_state *mrb = t->mrb;
    /* Whoever called mrb_obj_alloc may hold a name mrb_sym_name unpacked into mrb->symbuf (as
     * mrb_str_new of a symbol name does): naming must leave that buffer as it found it. */
    char symbuf[sizeof mrb->symbuf];
    memcpy(symbuf, mrb->symbuf, sizeof symbuf);
    pthread_mutex_lock(&t->session->lock);
    if (!t->session->stopped)
        name_frames(t->session, mrb);
    pthread_mutex_unlock(&t->session->lock);
    memcpy(mrb->symbuf, symbuf, sizeof symbuf);
}

bool
prof_naming_now(void)
{
    return tls_naming;
}

uint64_t
prof_now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

void
prof_span(mrb_state *mrb, const char *name, uint64_t start_ns, uint64_t end_ns)
{
    struct prof_thread *t = prof__tls;
    if (!t || t->mrb != mrb)
        return;
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    if (!s->stopped)
        profile_add_span(s->profile, t->model_thread, name, start_ns,
                         end_ns > start_ns ? end_ns - start_ns : 0);
    pthread_mutex_unlock(&s->lock);
}

double
prof_elapsed(const struct prof_session *s)
{
    return (double)(clock_ns(CLOCK_MONOTONIC) - s->start_ns) / 1e9;
}

struct profile *
prof_stop(struct prof_session *s)
{
    if (prof__tls && prof__tls->session == s)
        prof_detach(prof__tls->mrb);
    pthread_mutex_lock(&g_session_mutex); /* no reader or follower gets s past this */
    g_session = NULL;
    pthread_mutex_unlock(&g_session_mutex);
    atomic_store(&s->stopping, 1);
    if (s->collector_started)
        pthread_join(s->collector, NULL);
    pthread_mutex_lock(&s->lock);
    /* Threads still attached (Deferred workers, perhaps in the middle of a task) keep their
     * samples so far; frames they have not named keep the "?" name. Their stubs are freed by
     * their own threads (prof_follow, prof_detach). */
    s->stopped = true;
    while (s->threads) {
        struct prof_thread *t = s->threads;
        s->threads = t->next;
        retire_thread(s, t);
    }
    struct profile *p = s->profile;
    s->profile = NULL;
    p->meta.heap.interval = atomic_load(&s->heap_interval);
    pthread_mutex_unlock(&s->lock);
    sigaction(SIGPROF, &g_old_action, NULL);
    p->meta.end_ns = clock_ns(CLOCK_MONOTONIC);
    profile_sort_samples(p); /* threads interleave in the sample table */
    session_release(s);
    return p;
}

/* --- memory: the allocation sampler --------------------------------------------------------- */

/*
 * Which bytes get sampled: a Poisson process over the bytes allocated, as tcmalloc, Go and V8
 * do. The gap to the next sample is drawn from an exponential distribution of mean `interval`
 * bytes; an allocation that crosses it is sampled. A block of s bytes is then sampled with
 * probability P = 1 - exp(-s / interval) whatever the others are, so the sample stands for
 * s / P bytes and 1 / P allocations: unbiased estimates, which profile_heap_view scales so that
 * they add up to the totals counted exactly here.
 */

void
prof_set_heap_interval(struct prof_session *s, uint64_t interval)
{
    atomic_store(&s->heap_interval, interval);
}

uint64_t
prof_heap_interval(const struct prof_session *s)
{
    return atomic_load(&((struct prof_session *)s)->heap_interval);
}

unsigned
prof_session_hz(const struct prof_session *s)
{
    return s->hz;
}

static int64_t
next_gap(struct prof_thread *t, uint64_t interval)
{
    /* U in (0, 1]: 53 random bits, never 0 so that log() is finite. */
    double u = (double)((next_rand(&t->heap_rng) >> 11) + 1) / 9007199254740992.0;
    double gap = -log(u) * (double)interval;
    return gap < 1.0 ? 1 : gap > 1e15 ? (int64_t)1e15 : (int64_t)gap;
}

/* The live set: open addressing on the block's address, linear probing, deletion by shifting
 * back the entries after the hole (no tombstones). Only this thread touches it. */
static size_t
live_slot(const struct prof_thread *t, uintptr_t key)
{
    return (size_t)prof_mix64(key) & (t->live_cap - 1);
}

static bool
live_insert(struct prof_thread *t, uintptr_t key, size_t val)
{
    if ((t->live_n + 1) * 4 > t->live_cap * 3) {
        size_t cap = t->live_cap ? t->live_cap * 2 : 256;
        uintptr_t *keys = calloc(cap, sizeof *keys);
        size_t *vals = malloc(cap * sizeof *vals);
        if (!keys || !vals) {
            free(keys), free(vals);
            return false;
        }
        uintptr_t *old_keys = t->live_keys;
        size_t *old_vals = t->live_vals, old_cap = t->live_cap;
        t->live_keys = keys, t->live_vals = vals, t->live_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old_keys[i]) {
                size_t j = live_slot(t, old_keys[i]);
                while (keys[j])
                    j = (j + 1) & (cap - 1);
                keys[j] = old_keys[i], vals[j] = old_vals[i];
            }
        free(old_keys), free(old_vals);
    }
    size_t j = live_slot(t, key);
    while (t->live_keys[j] && t->live_keys[j] != key)
        j = (j + 1) & (t->live_cap - 1);
    t->live_n += !t->live_keys[j];
    t->live_keys[j] = key;
    t->live_vals[j] = val;
    return true;
}

/* Removes key; returns whether it was there, and its value in *val. */
static bool
live_remove(struct prof_thread *t, uintptr_t key, size_t *val)
{
    size_t mask = t->live_cap - 1, j = live_slot(t, key);
    while (t->live_keys[j] != key) {
        if (!t->live_keys[j])
            return false;
        j = (j + 1) & mask;
    }
    *val = t->live_vals[j];
    t->live_n--;
    for (size_t k = (j + 1) & mask; t->live_keys[k]; k = (k + 1) & mask) {
        size_t home = live_slot(t, t->live_keys[k]);
        /* Move k into the hole at j unless its home lies cyclically in (j, k]. */
        if (((k - home) & mask) >= ((k - j) & mask)) {
            t->live_keys[j] = t->live_keys[k], t->live_vals[j] = t->live_vals[k];
            j = k;
        }
    }
    t->live_keys[j] = 0;
    return true;
}

/* Marks allocation idx freed. Caller holds the session lock. */
static void
mark_freed(struct prof_session *s, struct prof_thread *t, size_t idx, uint64_t now)
{
    if (s->stopped || idx >= s->profile->allocs.len)
        return;
    struct prof_alloc *a = &((struct prof_alloc *)s->profile->allocs.data)[idx];
    a->freed_ns = now;
    t->heap_in_use -= a->bytes;
}

/* Frees this thread met while it held the session lock (naming frames may allocate and so
 * collect garbage): marked at the next chance. Caller holds the lock. */
static void
flush_pending(struct prof_session *s, struct prof_thread *t)
{
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    for (size_t i = 0; i < t->npending; i++)
        mark_freed(s, t, t->pending[i], now);
    t->npending = 0;
}

static void
note_free(struct prof_thread *t, uintptr_t block)
{
    size_t idx;
    if (!live_remove(t, block, &idx))
        return;
    struct prof_session *s = t->session;
    if (tls_naming) { /* this thread holds the session lock */
        if (t->npending == t->cap_pending) {
            size_t cap = t->cap_pending ? t->cap_pending * 2 : 64;
            size_t *pend = realloc(t->pending, cap * sizeof *pend);
            if (!pend)
                return; /* the block stays "live" in the profile: out of memory anyway */
            t->pending = pend, t->cap_pending = cap;
        }
        t->pending[t->npending++] = idx;
        return;
    }
    pthread_mutex_lock(&s->lock);
    flush_pending(s, t);
    mark_freed(s, t, idx, clock_ns(CLOCK_MONOTONIC));
    pthread_mutex_unlock(&s->lock);
}

static void
take_alloc_sample(struct prof_thread *t, void *block, size_t size, uint64_t interval)
{
    double p = -expm1(-(double)size / (double)interval); /* 1 - exp(-size / interval) */
    double bytes = (double)size / p, count = 1.0 / p;
    uint64_t words[PROF_MAX_DEPTH * PROF_FRAME_WORDS];
    bool truncated;
    uint32_t depth = stack_depth(t->mrb, &truncated);
    int32_t line;
    uint32_t n = walk_stack(t, t->main_done && *t->main_done, depth, words, 0, UINT64_MAX, &line);
    struct prof_session *s = t->session;
    pthread_mutex_lock(&s->lock);
    if (s->stopped) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    flush_pending(s, t);
    size_t raws_before = s->nraws;
    uint32_t node = stack_node(s, t, words, 0, UINT64_MAX, n, 0);
    size_t idx = profile_add_alloc(s->profile, t->model_thread, node, clock_ns(CLOCK_MONOTONIC),
                                   size, bytes, count);
    bool new_frames = s->nraws != raws_before;
    pthread_mutex_unlock(&s->lock);
    if (new_frames)
        want_names(t);
    if (live_insert(t, (uintptr_t)block, idx))
        t->heap_in_use += bytes;
}

static inline void
add_relaxed(_Atomic uint64_t *c, uint64_t v)
{
    /* One writer (this thread): a load and a store, no locked instruction. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

void
prof_heap_note(mrb_state *mrb, uintptr_t old, void *new, size_t size)
{
    struct prof_thread *t = prof__tls;
    if (__builtin_expect(t == NULL || t->mrb != mrb, 1))
        return;
    uint64_t interval = atomic_load_explicit(&t->session->heap_interval, memory_order_relaxed);
    bool old_gone = old && (size == 0 || new != NULL);
    if (old_gone && t->live_n)
        note_free(t, old);
    if (!interval)
        return;
    if (old_gone)
        add_relaxed(&t->heap_frees, 1);
    if (!new || size == 0)
        return;
    add_relaxed(&t->heap_bytes, size);
    add_relaxed(&t->heap_count, 1);
    if (t->heap_until == 0)
        t->heap_until = next_gap(t, interval); /* the first allocation since sampling began */
    t->heap_until -= (int64_t)size;
    if (__builtin_expect(t->heap_until > 0, 1))
        return;
    if (tls_naming || mrb->gc.iterating)
        return; /* holding the lock, or inside GC: the next allocation is sampled instead */
    while (t->heap_until <= 0)
        t->heap_until += next_gap(t, interval);
    take_alloc_sample(t, new, size, interval);
}

void *
prof_allocf(mrb_state *mrb, void *p, size_t size, void *ud)
{
    (void)ud;
    uintptr_t old = (uintptr_t)p; /* the address alone: the hook never reads the block */
    if (size == 0) {
        free(p);
        prof_heap_note(mrb, old, NULL, 0);
        return NULL;
    }
    void *q = realloc(p, size);
    prof_heap_note(mrb, old, q, size);
    return q;
}

void
prof_heap_totals(struct prof_session *s, struct profile_heap_meta *m)
{
    pthread_mutex_lock(&s->lock);
    *m = s->profile ? s->profile->meta.heap : (struct profile_heap_meta){0};
    for (struct prof_thread *t = s->threads; t; t = t->next) {
        m->alloc_bytes += atomic_load_explicit(&t->heap_bytes, memory_order_relaxed);
        m->alloc_count += atomic_load_explicit(&t->heap_count, memory_order_relaxed);
        m->free_count += atomic_load_explicit(&t->heap_frees, memory_order_relaxed);
    }
    m->interval = atomic_load(&s->heap_interval);
    pthread_mutex_unlock(&s->lock);
}

/* --- memory: GC and process counters -------------------------------------------------------- */

static double
rss_bytes(void)
{
    /* /proc/self/statm: size resident shared text lib data dt, in pages. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
        return 0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

void
prof_counters_tick(struct prof_thread *t)
{
    struct prof_session *s = t->session;
    if (!t->loop_state || !atomic_load_explicit(&s->heap_interval, memory_order_relaxed) || tls_naming)
        return; /* the main VM only: the process's counters, and its heap */
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    if (now < t->next_counter_ns)
        return;
    t->next_counter_ns = now + 20 * 1000 * 1000;
    const mrb_gc *gc = &t->mrb->gc;
    size_t pages = 0;
    for (const mrb_heap_page *pg = gc->heaps; pg; pg = pg->next)
        pages++;
    double rss = rss_bytes();
    pthread_mutex_lock(&s->lock);
    if (!s->stopped) {
        struct profile *p = s->profile;
        profile_add_counter(p, "RSS bytes", now, rss);
        profile_add_counter(p, "live objects", now, (double)gc->live);
        profile_add_counter(p, "heap pages", now, (double)pages);
        profile_add_counter(p, "GC cycles", now, (double)t->gc_cycles);
        profile_add_counter(p, "allocated bytes", now,
                            (double)atomic_load_explicit(&t->heap_bytes, memory_order_relaxed));
        profile_add_counter(p, "in-use bytes (sampled)", now, t->heap_in_use > 0 ? t->heap_in_use : 0);
    }
    pthread_mutex_unlock(&s->lock);
}
