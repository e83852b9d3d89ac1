/*
 * signal.c — the sampler's signal handler (step 1 of internal.h), and nothing else.
 *
 * Everything in this file runs inside the SIGPROF handler, on the profiled thread, at any
 * instruction of the VM (or, for the stack walk, from the allocation hook on the VM's own
 * thread). It must stay async-signal-safe, and a reviewer can check that by reading this file
 * whole. What it may do:
 *   - read the thread's struct prof_thread (prof__tls) and write its handler-private fields,
 *     its ring (the single producer: head) and its counters (relaxed atomics);
 *   - read mruby's structs (mrb_state, contexts, call-infos, procs, ireps and their debug
 *     info, classes) without calling mruby: the macros and the inline mrb_class() only, which
 *     are pure reads;
 *   - call clock_gettime and timer_settime (async-signal-safe in POSIX), save and restore errno.
 * What it must not: malloc or free, take a lock, use stdio, call any mruby function (they may
 * allocate, raise or use the shared symbol buffer), or touch the session (whose lock another
 * thread may hold). The static functions stay in this file (or static inline in internal.h) so
 * that the compiler may inline them into the handler as before the split; prof__on_signal and
 * the prof__ functions at the end are the entry points for the other files.
 */
#include "profiler/sampler/internal.h"

#include <errno.h>

#include <mruby/class.h>
#include <mruby/irep.h>
#include <mruby/opcode.h>
#include <mruby/debug.h>
#include <mruby/proc.h>

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
     * weight is the time to the next deadline). Far behind (64 steps), the schedule restarts
     * at a random phase: now + U(0, 1) of a step. Restarting at now + a whole step put the next
     * sample 0.5 to 1.5 intervals after every long wait for a CPU, where the thread resumes the
     * work it was preempted in: under heavy load (a thread on the CPU 4 % of the time) that
     * over-sampled long CPU-bound stretches (a job spinning 0.5 ms every 2 ms: 80 % for a true
     * 74 %).
     */
    uint64_t want = atomic_load_explicit(&t->interval_want, memory_order_relaxed);
    if (want)
        t->interval_ns = want;
    uint64_t next = t->last_deadline + next_step(t);
    for (int k = 0; next <= now; k++) {
        if (k < 64) {
            next += next_step(t);
        } else {
            uint64_t step = next_step(t);
            next = now + 1 + (step ? next_rand(&t->rng) % step : 0);
        }
    }
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

/* Whether mrb runs Ruby now: a frame above the top level's base, or a fiber. Async-signal-safe. */
static bool
ruby_running(const mrb_state *mrb)
{
    const struct mrb_context *c = mrb ? mrb->c : NULL;
    return c && (c->prev || (c->ci && c->cibase && c->ci > c->cibase));
}

static bool
is_send_op(uint8_t op)
{
    return op == OP_SEND || op == OP_SENDB || op == OP_SSEND || op == OP_SSENDB;
}

/* The operator an arithmetic, comparison or index instruction sends when its operands are not
 * plain numbers (index into known[]), or -1. */
static int
operator_of(uint8_t op)
{
    switch (op) {
    case OP_ADD:
    case OP_ADDI:
        return 2;
    case OP_SUB:
    case OP_SUBI:
        return 3;
    case OP_MUL:
        return 4;
    case OP_DIV:
        return 5;
    case OP_EQ:
        return 6;
    case OP_LT:
        return 7;
    case OP_LE:
        return 8;
    case OP_GT:
        return 9;
    case OP_GE:
        return 10;
    case OP_GETIDX:
        return 11;
    case OP_SETIDX:
        return 12;
    default:
        return -1;
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
check_leaf(mrb_state *mrb, const uint32_t *known, const mrb_callinfo *ci,
           const mrb_callinfo *caller, uintptr_t *code, uintptr_t *cls, uint32_t *mid,
           uint8_t *kind, uint32_t *file_sym, int32_t *fn_line)
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
/*
 * Copies up to depth frames of mrb's stacks, leaf first, as PROF_FRAME_WORDS raw words each into
 * dst[pos & mask] onwards (the ring, or a plain buffer with mask ~0); *top_line gets the leaf's
 * current line. Returns the number of frames written. Pure reads: async-signal-safe, and safe
 * on the VM's thread at any instruction (the allocation sampler calls it from the allocator).
 */
static uint32_t
walk_stack(const struct prof_thread *t, bool skip_base, uint32_t depth, uint64_t *dst, uint64_t pos,
           uint64_t mask, int32_t *top_line)
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
                /* A block's name uses a class only with the method it was written in: for
                 * "block in <main>" the class stays out of the key. cipush writes a frame's
                 * class last, so a block called from C (a worker's task, a loop callback) can
                 * be caught with the slot's previous class, which must not make one block two
                 * functions. */
                if (kind == RAW_BLOCK && mid == 0)
                    cls = 0;
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

/* The handler itself (installed by prof_start). */
void
prof__on_signal(int sig, siginfo_t *si, void *uc)
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
    /* Ruby on the stack is not the loop waiting, unless a wait mark says that Ruby waits
     * (Deferred#value polls the loop under its caller's frames). The loop's state says polling
     * from its poll until the first rt_call or the check handle; a C callback of the poll phase
     * that runs Ruby before that (an accepted connection's Net::Socket.new) must not pass for
     * idle. The top level's base frame is not Ruby running: the loop runs from there. */
    const volatile sig_atomic_t *mark = prof__block_mark;
    if ((flags & F_POLLING) && !(mark && *mark) && ruby_running(mrb))
        flags &= ~F_POLLING;
    /* The sample's weight (see "Weights" in internal.h). Wall mode: the time from its deadline
     * to the next one. CPU mode: 0 when the thread is waiting; no sample when the signal came so
     * late that the thread was off the CPU at the deadline; else the time from now to the next
     * deadline (the time between the deadline and now, the thread was off the CPU), scaled to
     * the thread's CPU clock when it retires. */
    uint64_t weight = t->last_deadline - due;
    t->cpu_sum += cpu_d;
    if (t->mode == PROF_MODE_CPU && !(flags & F_POLLING)) {
        /* Off the CPU at its deadline: no sample (a CPU profile holds on-CPU stacks only, and a
         * sample of weight 0 would still count as one in the formats that count samples). */
        if (now - due > PROF_LATE_NS)
            goto out_busy;
        weight = t->last_deadline - now;
    } else if (t->mode == PROF_MODE_CPU) {
        weight = 0;
    }
    if (t->in_gc)
        flags |= F_GC;
    /* Wall mode: what synchronous call holds the thread, if any (one load). */
    sig_atomic_t blocked = mark && t->mode == PROF_MODE_WALL ? *mark : 0;
    if (blocked > 0 && (unsigned)blocked < prof__nblock_names)
        flags |= (uint32_t)blocked << F_BLOCK_SHIFT;
    bool skip_base = t->main_done && *t->main_done;
    if (prof__moving(t, mrb)) {
        atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
        goto out_busy;
    }

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
    ring_put(t->ring, head, RING_MASK,
             (uint64_t)REC_MAGIC << 48 | (uint64_t)flags << 32 |
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

/* --- entry points for the other files ------------------------------------------------------- */

void
prof__arm_next(struct prof_thread *t, uint64_t now)
{
    arm_next(t, now);
}

uint32_t
prof__stack_depth(mrb_state *mrb, bool *truncated)
{
    return stack_depth(mrb, truncated);
}

uint32_t
prof__walk_stack(const struct prof_thread *t, bool skip_base, uint32_t depth, uint64_t *dst,
                 uint64_t pos, uint64_t mask, int32_t *top_line)
{
    return walk_stack(t, skip_base, depth, dst, pos, mask, top_line);
}

void
prof__irep_origin(const struct mrb_irep *irep, uint32_t *file_sym, int32_t *line)
{
    irep_origin(irep, file_sym, line);
}
