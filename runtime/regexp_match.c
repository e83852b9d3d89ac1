/*
 * regexp_match.c — MatchData: the offsets of one match over a frozen copy of the string searched.
 *
 * A MatchData is a Data object holding struct rx_match (a reference to the compiled pattern, for
 * its group names, and the begin/end byte offsets of every group, -1 for a group that did not
 * match) and, in a hidden instance variable, the subject: a frozen copy of the searched string
 * that shares its bytes, so later changes to that string do not move what the offsets point at.
 * Regexp searches and the match globals are in regexp.c; the Ruby half (inspect, named_captures,
 * values_at...) in runtime/prelude/vm/regexp.rb.
 */
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "runtime/regexp.h"

static void
match_dfree(mrb_state *mrb, void *p)
{
    struct rx_match *m = p;
    if (m) {
        rx_unref(mrb, m->rx);
        mrb_free(mrb, m);
    }
}

static const struct mrb_data_type match_type = {"MatchData", match_dfree};

mrb_value
rx_group_str(mrb_state *mrb, mrb_value subject, const int *regs, int i)
{
    if (regs[2 * i] < 0)
        return mrb_nil_value();
    return mrb_str_substr(mrb, subject, regs[2 * i], regs[2 * i + 1] - regs[2 * i]);
}

static mrb_value
match_alloc(mrb_state *mrb, struct rx_vm *vm, struct rx *rx, mrb_value subject, int n,
            struct rx_match **out)
{
    struct RData *d = mrb_data_object_alloc(mrb, vm->match_class, NULL, &match_type);
    struct rx_match *m = mrb_malloc(mrb, sizeof *m + 2 * (size_t)n * sizeof(int));
    m->rx = rx;
    rx->refs++;
    m->nregs = n;
    d->data = m;
    mrb_value md = mrb_obj_value(d);
    mrb_iv_set(mrb, md, vm->sym_string, subject);
    *out = m;
    return md;
}

mrb_value
rx_match_new(mrb_state *mrb, struct rx_vm *vm, struct rx *rx, mrb_value subject)
{
    struct rx_match *m;
    int n = vm->region.num_regs;
    /* The allocations run no Ruby code (mruby's GC frees, it does not call finalizers written
     * in Ruby), so the region is still this search's afterwards. */
    mrb_value md = match_alloc(mrb, vm, rx, subject, n, &m);
    for (int i = 0; i < n; i++) {
        m->regs[2 * i] = vm->region.beg[i];
        m->regs[2 * i + 1] = vm->region.end[i];
    }
    return md;
}

mrb_value
rx_match_from(mrb_state *mrb, struct rx_vm *vm, struct rx *rx, mrb_value subject, const int *pairs,
              int n)
{
    struct rx_match *m;
    mrb_value md = match_alloc(mrb, vm, rx, subject, n, &m);
    memcpy(m->regs, pairs, 2 * (size_t)n * sizeof(int));
    return md;
}

struct rx_match *
rx_match_get(mrb_state *mrb, mrb_value md)
{
    struct rx_match *m = mrb_data_check_get_ptr(mrb, md, &match_type);
    if (!m)
        mrb_raisef(mrb, E_TYPE_ERROR, "wrong argument type %C (expected MatchData)",
                   mrb_obj_class(mrb, md));
    return m;
}

mrb_value
rx_match_subject(mrb_state *mrb, mrb_value md)
{
    return mrb_iv_get(mrb, md, rx_vm(mrb)->sym_string);
}

static mrb_value
match_init_copy(mrb_state *mrb, mrb_value self)
{
    mrb_value src = mrb_get_arg1(mrb);
    if (mrb_obj_equal(mrb, self, src))
        return self;
    struct rx_match *from = rx_match_get(mrb, src);
    size_t size = sizeof *from + 2 * (size_t)from->nregs * sizeof(int);
    struct rx_match *m = mrb_malloc(mrb, size);
    memcpy(m, from, size);
    m->rx->refs++;
    match_dfree(mrb, DATA_PTR(self));
    mrb_data_init(self, m, &match_type);
    mrb_iv_set(mrb, self, rx_vm(mrb)->sym_string, rx_match_subject(mrb, src));
    return self;
}

/* Regexp.compile: what a literal calls each time it runs. Patterns with a String or nil option
 * (the literal forms) come from a per-VM cache, frozen; others are compiled afresh. */
int
rx_name_to_group(struct rx *rx, const int *regs, int nregs, const char *name, mrb_int len)
{
    int *nums;
    int n = onig_name_to_group_numbers(rx->reg, (const OnigUChar *)name,
                                       (const OnigUChar *)name + len, &nums);
    if (n <= 0)
        return -1;
    for (int i = n - 1; i >= 0; i--)
        if (nums[i] < nregs && regs[2 * nums[i]] >= 0)
            return nums[i];
    return nums[n - 1];
}

/* The group number an index argument names: Integer, String or Symbol name. Raises IndexError
 * for an unknown name; returns -1 for an Integer out of range. */
static int
group_arg(mrb_state *mrb, struct rx_match *m, mrb_value idx, bool negative_ok)
{
    if (mrb_integer_p(idx)) {
        mrb_int i = mrb_integer(idx);
        if (i < 0 && negative_ok) {
            i += m->nregs;
            if (i <= 0) /* as CRuby: a negative index never reaches the whole match */
                return -1;
        }
        return i >= 0 && i < m->nregs ? (int)i : -1;
    }
    mrb_value name = idx;
    if (mrb_symbol_p(idx))
        name = mrb_sym_str(mrb, mrb_symbol(idx));
    if (!mrb_string_p(name))
        mrb_raisef(mrb, E_TYPE_ERROR, "no implicit conversion of %C into Integer",
                   mrb_obj_class(mrb, idx));
    int g = rx_name_to_group(m->rx, m->regs, m->nregs, RSTRING_PTR(name), RSTRING_LEN(name));
    if (g < 0)
        mrb_raisef(mrb, E_INDEX_ERROR, "undefined group name reference: %v", name);
    return g;
}

/* MatchData#[](i), [](name); [](start, len) and [](range) go through to_a. */
static mrb_value
match_aref(mrb_state *mrb, mrb_value self)
{
    mrb_value a, b;
    mrb_int argc = mrb_get_args(mrb, "o|o", &a, &b);
    struct rx_match *m = rx_match_get(mrb, self);
    if (argc == 2 || (!mrb_integer_p(a) && !mrb_string_p(a) && !mrb_symbol_p(a))) {
        mrb_value ary = mrb_funcall(mrb, self, "to_a", 0);
        return argc == 2 ? mrb_funcall(mrb, ary, "[]", 2, a, b) : mrb_funcall(mrb, ary, "[]", 1, a);
    }
    int g = group_arg(mrb, m, a, true);
    if (g < 0)
        return mrb_nil_value();
    return rx_group_str(mrb, rx_match_subject(mrb, self), m->regs, g);
}

static int
group_checked(mrb_state *mrb, struct rx_match *m, mrb_value idx)
{
    int g = group_arg(mrb, m, idx, false);
    if (g < 0)
        mrb_raisef(mrb, E_INDEX_ERROR, "index %v out of matches", idx);
    return g;
}

static mrb_value
match_begin(mrb_state *mrb, mrb_value self)
{
    struct rx_match *m = rx_match_get(mrb, self);
    int g = group_checked(mrb, m, mrb_get_arg1(mrb));
    return m->regs[2 * g] < 0 ? mrb_nil_value() : mrb_int_value(mrb, m->regs[2 * g]);
}

static mrb_value
match_end(mrb_state *mrb, mrb_value self)
{
    struct rx_match *m = rx_match_get(mrb, self);
    int g = group_checked(mrb, m, mrb_get_arg1(mrb));
    return m->regs[2 * g] < 0 ? mrb_nil_value() : mrb_int_value(mrb, m->regs[2 * g + 1]);
}

static mrb_value
match_offset(mrb_state *mrb, mrb_value self)
{
    struct rx_match *m = rx_match_get(mrb, self);
    int g = group_checked(mrb, m, mrb_get_arg1(mrb));
    mrb_value t[2] = {mrb_nil_value(), mrb_nil_value()};
    if (m->regs[2 * g] >= 0) {
        t[0] = mrb_int_value(mrb, m->regs[2 * g]);
        t[1] = mrb_int_value(mrb, m->regs[2 * g + 1]);
    }
    return mrb_ary_new_from_values(mrb, 2, t);
}

static mrb_value
match_pre_match(mrb_state *mrb, mrb_value self)
{
    struct rx_match *m = rx_match_get(mrb, self);
    return mrb_str_substr(mrb, rx_match_subject(mrb, self), 0, m->regs[0]);
}

static mrb_value
match_post_match(mrb_state *mrb, mrb_value self)
{
    struct rx_match *m = rx_match_get(mrb, self);
    mrb_value s = rx_match_subject(mrb, self);
    return mrb_str_substr(mrb, s, m->regs[1], RSTRING_LEN(s) - m->regs[1]);
}

static mrb_value
groups_from(mrb_state *mrb, mrb_value self, int first)
{
    struct rx_match *m = rx_match_get(mrb, self);
    mrb_value s = rx_match_subject(mrb, self);
    mrb_value out = mrb_ary_new_capa(mrb, m->nregs - first);
    for (int i = first; i < m->nregs; i++)
        mrb_ary_push(mrb, out, rx_group_str(mrb, s, m->regs, i));
    return out;
}

static mrb_value
match_to_a(mrb_state *mrb, mrb_value self)
{
    return groups_from(mrb, self, 0);
}

static mrb_value
match_captures(mrb_state *mrb, mrb_value self)
{
    return groups_from(mrb, self, 1);
}

static mrb_value
match_to_s(mrb_state *mrb, mrb_value self)
{
    struct rx_match *m = rx_match_get(mrb, self);
    return rx_group_str(mrb, rx_match_subject(mrb, self), m->regs, 0);
}

static mrb_value
match_size(mrb_state *mrb, mrb_value self)
{
    return mrb_int_value(mrb, rx_match_get(mrb, self)->nregs);
}

static mrb_value
match_string(mrb_state *mrb, mrb_value self)
{
    rx_match_get(mrb, self);
    return rx_match_subject(mrb, self);
}

static mrb_value
match_regexp(mrb_state *mrb, mrb_value self)
{
    struct rx_match *m = rx_match_get(mrb, self);
    return rx_wrap(mrb, rx_vm(mrb)->regexp_class, m->rx);
}

void
rx_match_init(mrb_state *mrb, struct RClass *md)
{
    /* clang-format off */
    mrb_undef_class_method(mrb, md, "new");
    mrb_undef_class_method(mrb, md, "allocate");
    mrb_define_method(mrb, md, "initialize_copy",   match_init_copy,     MRB_ARGS_REQ(1));
    mrb_define_method(mrb, md, "[]",                match_aref,          MRB_ARGS_ARG(1, 1));
    mrb_define_method(mrb, md, "begin",             match_begin,         MRB_ARGS_REQ(1));
    mrb_define_method(mrb, md, "end",               match_end,           MRB_ARGS_REQ(1));
    mrb_define_method(mrb, md, "offset",            match_offset,        MRB_ARGS_REQ(1));
    mrb_define_method(mrb, md, "byteoffset",        match_offset,        MRB_ARGS_REQ(1));
    mrb_define_method(mrb, md, "pre_match",         match_pre_match,     MRB_ARGS_NONE());
    mrb_define_method(mrb, md, "post_match",        match_post_match,    MRB_ARGS_NONE());
    mrb_define_method(mrb, md, "to_a",              match_to_a,          MRB_ARGS_NONE());
    mrb_define_method(mrb, md, "captures",          match_captures,      MRB_ARGS_NONE());
    mrb_define_method(mrb, md, "to_s",              match_to_s,          MRB_ARGS_NONE());
    mrb_define_method(mrb, md, "size",              match_size,          MRB_ARGS_NONE());
    mrb_define_method(mrb, md, "length",            match_size,          MRB_ARGS_NONE());
    mrb_define_method(mrb, md, "string",            match_string,        MRB_ARGS_NONE());
    mrb_define_method(mrb, md, "regexp",            match_regexp,        MRB_ARGS_NONE());
    /* clang-format on */
}
