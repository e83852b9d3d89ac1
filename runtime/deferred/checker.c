/*
 * checker.c — Deferred's bytecode checker: before a block is shipped to a worker, its
 * instructions (and its nested blocks') are read to refuse what means something only where it
 * was written: the outer method's local variables (GETUPVAR/SETUPVAR reaching above the
 * block), self's instance or class variables, self itself when it is not the top-level object,
 * yield, super, return and break. Main thread only.
 */
#include "runtime/deferred/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby/class.h>
#include <mruby/irep.h>
#include <mruby/debug.h>
#include <mruby/dump.h>
#include <mruby/opcode.h>
#include <mruby/proc.h>

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

void
deferred__block_site(mrb_state *mrb, const mrb_irep *irep, char *buf, size_t len)
{
    const char *file = mrb_debug_get_filename(mrb, irep, 0);
    int32_t line = mrb_debug_get_line(mrb, irep, 0);
    if (file && line > 0)
        snprintf(buf, len, "%s:%d", file, (int)line);
    else
        snprintf(buf, len, "(unknown)");
}

/* Raises ArgumentError unless proc can run in another VM (see internal.h). */
void
deferred__check_block(mrb_state *mrb, mrb_value blk, const char *what)
{
    if (!mrb_proc_p(blk))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "%s needs a block", what);
    const struct RProc *proc = mrb_proc_ptr(blk);
    if (MRB_PROC_CFUNC_P(proc) || !proc->body.irep)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "%s needs a block written in Ruby (a method or Symbol#to_proc cannot be "
                   "shipped to a worker)",
                   what);
    struct capture_check cc = {.mrb = mrb, .proc = proc};
    check_irep(&cc, proc->body.irep, 0);
    char site[300];
    deferred__block_site(mrb, proc->body.irep, site, sizeof site);
    if (cc.names[0])
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "the block of %s at %s uses %s from outside it; a Deferred block runs in "
                   "a worker's own VM and cannot see them: pass values as arguments, "
                   "e.g. Deferred.new(x) { |x| ... }",
                   what, site, cc.names);
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
void
deferred__dump_block(mrb_state *mrb, mrb_value blk, struct copy_buf *out)
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
