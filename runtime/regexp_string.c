/*
 * regexp_string.c — the String methods that take a Regexp: =~, match, match?, sub, gsub, sub!,
 * gsub!, scan, split, index, rindex, [] / slice, start_with?, []=, slice!, partition, rpartition.
 *
 * Each replaces String's own method and keeps it for everything else: given anything but a
 * Regexp, the method calls the original (the C function directly, with the call's own
 * arguments, or the Ruby method under its alias __str_NAME), so String's behaviour without a
 * Regexp does not change. The algorithms follow CRuby's string.c and re.c (empty matches step
 * one character, split's captures and limit, the replacement escapes of rb_reg_regsub), with
 * byte offsets as mruby's String uses.
 *
 * Every loop searches a frozen copy of the receiver that shares its bytes (copy-on-write), so a
 * block that changes the receiver cannot move the bytes under the search. Offsets of the last
 * match are kept in a GC-managed buffer when they must outlive a Ruby call (an exception from
 * a block frees everything).
 */
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/hash.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "runtime/regexp.h"

/* ---- calling String's own methods ------------------------------------------------------- */

static mrb_value
call_original(mrb_state *mrb, mrb_value self, mrb_func_t fn, const char *alias)
{
    if (fn)
        return fn(mrb, self);
    mrb_value blk = mrb_nil_value();
    const mrb_value *argv = mrb_get_argv(mrb);
    mrb_int argc = mrb_get_argc(mrb);
    mrb_get_args(mrb, "*&", &argv, &argc, &blk);
    return mrb_funcall_with_block(mrb, self, mrb_intern_cstr(mrb, alias), argc, argv, blk);
}

static bool
first_arg_is_regexp(mrb_state *mrb)
{
    return mrb_get_argc(mrb) >= 1 && rx_is_regexp(mrb, mrb_get_argv(mrb)[0]);
}

/* The last match's offsets, kept across Ruby calls: inline for up to 16 groups, else in a
 * String used as a byte buffer (GC-managed, so an exception cannot leak it; made before the
 * caller's arena save point, so the arena keeps it). */
struct saved_regs {
    int inl[32];
    int *p;
    int cap; /* groups p has room for */
    int n;   /* groups saved, 0: none yet */
};

static void
saved_regs_init(mrb_state *mrb, struct saved_regs *sr, struct rx *rx)
{
    sr->n = 0;
    sr->cap = rx->ncaptures + 1;
    if (sr->cap <= 16) {
        sr->p = sr->inl;
        sr->cap = 16;
    } else {
        mrb_value buf = mrb_str_new_capa(mrb, 2 * (size_t)sr->cap * sizeof(int));
        sr->p = (int *)RSTRING_PTR(buf);
    }
}

static void
save_regs(struct saved_regs *sr, const OnigRegion *r)
{
    int n = r->num_regs < sr->cap ? r->num_regs : sr->cap;
    for (int i = 0; i < n; i++) {
        sr->p[2 * i] = r->beg[i];
        sr->p[2 * i + 1] = r->end[i];
    }
    sr->n = n;
}

/* ---- =~, match, match? ------------------------------------------------------------------ */

static mrb_value
str_match_op(mrb_state *mrb, mrb_value self)
{
    mrb_value pat = mrb_get_arg1(mrb);
    if (rx_is_regexp(mrb, pat)) {
        mrb_value md = rx_match_at(mrb, pat, self, 0, true);
        return mrb_nil_p(md) ? md : mrb_int_value(mrb, rx_match_get(mrb, md)->regs[0]);
    }
    if (mrb_string_p(pat))
        mrb_raise(mrb, E_TYPE_ERROR, "wrong argument type String (expected Regexp)");
    return mrb_funcall(mrb, pat, "=~", 1, self);
}

/* A pattern argument of match/match?: a String is compiled as a pattern (as CRuby). */
static mrb_value
pattern_arg(mrb_state *mrb, mrb_value pat, bool quote)
{
    if (rx_is_regexp(mrb, pat))
        return pat;
    if (mrb_symbol_p(pat))
        pat = mrb_sym_str(mrb, mrb_symbol(pat));
    if (!mrb_string_p(pat))
        mrb_raisef(mrb, E_TYPE_ERROR, "wrong argument type %C (expected Regexp)",
                   mrb_obj_class(mrb, pat));
    return rx_from_string(mrb, pat, quote);
}

static mrb_value
str_match(mrb_state *mrb, mrb_value self)
{
    mrb_value pat, blk;
    mrb_int pos = 0;
    mrb_get_args(mrb, "o|i&", &pat, &pos, &blk);
    mrb_value md = rx_match_at(mrb, pattern_arg(mrb, pat, false), self, pos, true);
    if (!mrb_nil_p(md) && !mrb_nil_p(blk))
        return mrb_yield(mrb, blk, md);
    return md;
}

static mrb_value
str_match_p(mrb_state *mrb, mrb_value self)
{
    mrb_value pat;
    mrb_int pos = 0;
    mrb_get_args(mrb, "o|i", &pat, &pos);
    pat = pattern_arg(mrb, pat, false);
    struct rx_vm *vm = rx_vm(mrb);
    struct rx *rx = rx_get(mrb, pat);
    mrb_int len = RSTRING_LEN(self);
    if (pos < 0)
        pos += len;
    if (pos < 0 || pos > len)
        return mrb_false_value();
    rx_check_subject(mrb, rx, RSTRING_PTR(self), len);
    return mrb_bool_value(rx_search(mrb, vm, rx, RSTRING_PTR(self), len, pos, len, false) >= 0);
}

/* ---- sub, gsub -------------------------------------------------------------------------- */

static void
cat_group(mrb_state *mrb, mrb_value out, const char *s, const OnigRegion *r, int g)
{
    if (g >= 0 && g < r->num_regs && r->beg[g] >= 0)
        mrb_str_cat(mrb, out, s + r->beg[g], (size_t)(r->end[g] - r->beg[g]));
}

/* Appends repl with its escapes expanded for the match in r (CRuby's rb_reg_regsub): \0 \& the
 * match, \1..\9 a group, \k<name> a named group, \` \' before and after, \+ the last group
 * that matched, \\ a backslash; anything else stays as written. */
static void
cat_replacement(mrb_state *mrb, mrb_value out, const char *repl, mrb_int rlen, struct rx *rx,
                const char *s, mrb_int len, const OnigRegion *r)
{
    mrb_int from = 0;
    bool numbered = onig_number_of_names(rx->reg) == 0;
    for (mrb_int i = 0; i < rlen; i++) {
        if (repl[i] != '\\' || i + 1 >= rlen)
            continue;
        char c = repl[i + 1];
        mrb_int next = i + 2;
        int g = -2; /* -2: not an escape we expand */
        switch (c) {
        case '0':
        case '&':
            g = 0;
            break;
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
            /* Numbered groups do not capture once a pattern names groups (Ruby syntax). */
            g = numbered ? c - '0' : -1;
            break;
        case '`':
        case '\'':
        case '\\':
            g = -3;
            break;
        case '+':
            g = r->num_regs - 1;
            while (g > 0 && r->beg[g] < 0)
                g--;
            if (g == 0)
                g = -1;
            break;
        case 'k': {
            if (i + 2 >= rlen || repl[i + 2] != '<')
                break;
            const char *close = memchr(repl + i + 3, '>', (size_t)(rlen - i - 3));
            if (!close)
                mrb_raise(mrb, E_RUNTIME_ERROR, "invalid group name reference format");
            const char *name = repl + i + 3;
            mrb_int nlen = close - name;
            int *nums;
            int cnt = onig_name_to_group_numbers(rx->reg, (const OnigUChar *)name,
                                                 (const OnigUChar *)close, &nums);
            if (cnt <= 0)
                mrb_raisef(mrb, E_INDEX_ERROR, "undefined group name reference: %v",
                           mrb_str_new(mrb, name, (size_t)nlen));
            g = nums[cnt - 1];
            for (int k = cnt - 1; k >= 0; k--)
                if (nums[k] < r->num_regs && r->beg[nums[k]] >= 0) {
                    g = nums[k];
                    break;
                }
            next = close - repl + 1;
            break;
        }
        default:
            break;
        }
        if (g == -2) {
            i++; /* keep both characters */
            continue;
        }
        mrb_str_cat(mrb, out, repl + from, (size_t)(i - from));
        if (g >= 0) {
            cat_group(mrb, out, s, r, g);
        } else if (g == -3) {
            if (c == '`')
                mrb_str_cat(mrb, out, s, (size_t)r->beg[0]);
            else if (c == '\'')
                mrb_str_cat(mrb, out, s + r->end[0], (size_t)(len - r->end[0]));
            else
                mrb_str_cat_lit(mrb, out, "\\");
        }
        from = next;
        i = next - 1;
    }
    mrb_str_cat(mrb, out, repl + from, (size_t)(rlen - from));
}

enum repl_mode { REPL_STRING, REPL_HASH, REPL_BLOCK };

/* sub, gsub, sub!, gsub! with a Regexp. */
static mrb_value
str_subst(mrb_state *mrb, mrb_value self, bool global, bool bang)
{
    mrb_value pat, repl = mrb_nil_value(), blk;
    mrb_int argc = mrb_get_args(mrb, "o|o&", &pat, &repl, &blk);
    enum repl_mode mode = REPL_BLOCK;
    if (argc == 2) {
        if (mrb_hash_p(repl)) {
            mode = REPL_HASH;
        } else {
            repl = mrb_ensure_string_type(mrb, repl);
            mode = REPL_STRING;
        }
    } else if (mrb_nil_p(blk)) {
        if (global)
            return mrb_funcall(mrb, self, "to_enum", 2,
                               mrb_symbol_value(mrb_intern_cstr(mrb, bang ? "gsub!" : "gsub")),
                               pat);
        mrb_raise(mrb, E_ARGUMENT_ERROR, "wrong number of arguments (given 1, expected 2)");
    }
    if (bang)
        mrb_check_frozen(mrb, mrb_basic_ptr(self));
    struct rx_vm *vm = rx_vm(mrb);
    struct rx *rx = rx_get(mrb, pat);
    mrb_value src = rx_frozen_subject(mrb, self);
    mrb_int len = RSTRING_LEN(src);
    rx_check_subject(mrb, rx, RSTRING_PTR(src), len);
    bool plain = mode == REPL_STRING && !memchr(RSTRING_PTR(repl), '\\', RSTRING_LEN(repl));

    mrb_value out = mrb_nil_value(), lastmd = mrb_nil_value();
    struct saved_regs sr;
    saved_regs_init(mrb, &sr, rx);
    mrb_int pos = 0, copied = 0;
    int ai = mrb_gc_arena_save(mrb);
    for (;;) {
        /* Re-read each time: the bytes are the frozen copy's, which nothing can change, but a
         * block may run the GC (which does not move them either: a shared buffer). */
        const char *s = RSTRING_PTR(src);
        if (rx_search(mrb, vm, rx, s, len, pos, len, false) < 0)
            break;
        int b0 = vm->region.beg[0], e0 = vm->region.end[0];
        if (mrb_nil_p(out)) {
            out = mrb_str_new_capa(mrb, (size_t)len + 16);
            ai = mrb_gc_arena_save(mrb);
        }
        mrb_str_cat(mrb, out, s + copied, (size_t)(b0 - copied));
        if (mode == REPL_STRING) {
            if (plain)
                mrb_str_cat(mrb, out, RSTRING_PTR(repl), (size_t)RSTRING_LEN(repl));
            else
                cat_replacement(mrb, out, RSTRING_PTR(repl), RSTRING_LEN(repl), rx, s, len,
                                &vm->region);
            save_regs(&sr, &vm->region);
        } else {
            mrb_value md = rx_match_new(mrb, vm, rx, src);
            mrb_value matched = mrb_str_substr(mrb, src, b0, e0 - b0);
            rx_set_last_match(mrb, vm, md);
            mrb_value v;
            if (mode == REPL_HASH)
                v = mrb_hash_get(mrb, repl, matched);
            else
                v = mrb_yield(mrb, blk, matched);
            v = mrb_obj_as_string(mrb, v);
            mrb_str_cat(mrb, out, RSTRING_PTR(v), (size_t)RSTRING_LEN(v));
            lastmd = md;
            s = RSTRING_PTR(src);
        }
        copied = pos = e0;
        if (!global)
            break;
        if (b0 == e0) {
            if (b0 >= len)
                break;
            mrb_int cl = rx_char_len(rx, s + b0, s + len);
            mrb_str_cat(mrb, out, s + b0, (size_t)cl);
            copied = pos = b0 + cl;
        }
        mrb_gc_arena_restore(mrb, ai);
        if (mode != REPL_STRING)
            mrb_gc_protect(mrb, lastmd);
    }
    if (mrb_nil_p(out)) {
        rx_set_last_match(mrb, vm, mrb_nil_value());
        return bang ? mrb_nil_value() : mrb_str_dup(mrb, self);
    }
    mrb_str_cat(mrb, out, RSTRING_PTR(src) + copied, (size_t)(len - copied));
    if (mode == REPL_STRING)
        lastmd = rx_match_from(mrb, vm, rx, src, sr.p, sr.n);
    rx_set_last_match(mrb, vm, lastmd);
    if (!bang)
        return out;
    mrb_check_frozen(mrb, mrb_basic_ptr(self)); /* a block may have frozen it */
    return mrb_funcall(mrb, self, "replace", 1, out);
}

static mrb_value
str_sub(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, NULL, "__str_sub");
    return str_subst(mrb, self, false, false);
}

static mrb_value
str_gsub(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, NULL, "__str_gsub");
    return str_subst(mrb, self, true, false);
}

static mrb_value
str_sub_bang(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, NULL, "__str_sub!");
    return str_subst(mrb, self, false, true);
}

static mrb_value
str_gsub_bang(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, NULL, "__str_gsub!");
    return str_subst(mrb, self, true, true);
}

/* ---- scan ------------------------------------------------------------------------------- */

static mrb_value
scan_value(mrb_state *mrb, mrb_value src, const OnigRegion *r)
{
    if (r->num_regs == 1)
        return mrb_str_substr(mrb, src, r->beg[0], r->end[0] - r->beg[0]);
    mrb_value caps = mrb_ary_new_capa(mrb, r->num_regs - 1);
    for (int i = 1; i < r->num_regs; i++)
        mrb_ary_push(mrb, caps,
                     r->beg[i] < 0 ? mrb_nil_value()
                                   : mrb_str_substr(mrb, src, r->beg[i], r->end[i] - r->beg[i]));
    return caps;
}

/* String#scan(pattern) [{ |match or captures| }]: a String pattern matches literally. */
static mrb_value
str_scan(mrb_state *mrb, mrb_value self)
{
    mrb_value pat, blk;
    mrb_get_args(mrb, "o&", &pat, &blk);
    pat = pattern_arg(mrb, pat, true);
    struct rx_vm *vm = rx_vm(mrb);
    struct rx *rx = rx_get(mrb, pat);
    mrb_value src = rx_frozen_subject(mrb, self);
    mrb_int len = RSTRING_LEN(src);
    rx_check_subject(mrb, rx, RSTRING_PTR(src), len);
    mrb_value result = mrb_nil_p(blk) ? mrb_ary_new(mrb) : self;
    mrb_value lastmd = mrb_nil_value();
    struct saved_regs sr;
    saved_regs_init(mrb, &sr, rx);
    mrb_int pos = 0;
    int ai = mrb_gc_arena_save(mrb);
    while (pos <= len) {
        const char *s = RSTRING_PTR(src);
        if (rx_search(mrb, vm, rx, s, len, pos, len, false) < 0)
            break;
        int b0 = vm->region.beg[0], e0 = vm->region.end[0];
        pos = b0 == e0 ? e0 + rx_char_len(rx, s + e0, s + len) : e0;
        if (b0 == e0 && e0 >= len)
            pos = len + 1;
        if (mrb_nil_p(blk)) {
            save_regs(&sr, &vm->region);
            mrb_ary_push(mrb, result, scan_value(mrb, src, &vm->region));
        } else {
            mrb_value v = scan_value(mrb, src, &vm->region);
            lastmd = rx_match_new(mrb, vm, rx, src);
            rx_set_last_match(mrb, vm, lastmd);
            mrb_yield(mrb, blk, v);
        }
        mrb_gc_arena_restore(mrb, ai);
        if (!mrb_nil_p(lastmd))
            mrb_gc_protect(mrb, lastmd);
    }
    if (mrb_nil_p(blk) && sr.n > 0)
        lastmd = rx_match_from(mrb, vm, rx, src, sr.p, sr.n);
    rx_set_last_match(mrb, vm, lastmd);
    return result;
}

/* ---- split ------------------------------------------------------------------------------ */

/* String#split(regexp, limit = 0), as CRuby's rb_str_split_m for a Regexp pattern. */
static mrb_value
str_split(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, rx_vm(mrb)->str_split, "__str_split");
    mrb_value pat;
    mrb_int lim = 0;
    mrb_int argc = mrb_get_args(mrb, "o|i", &pat, &lim);
    bool limited = argc == 2 && lim > 0;
    struct rx_vm *vm = rx_vm(mrb);
    struct rx *rx = rx_get(mrb, pat);
    mrb_value src = rx_frozen_subject(mrb, self);
    mrb_int len = RSTRING_LEN(src);
    mrb_value result = mrb_ary_new(mrb);
    if (limited && lim == 1) {
        if (len > 0)
            mrb_ary_push(mrb, result, mrb_str_dup(mrb, self));
        return result;
    }
    rx_check_subject(mrb, rx, RSTRING_PTR(src), len);
    mrb_int beg = 0, start = 0, i = 1;
    bool last_null = false, by_limit = false;
    int ai = mrb_gc_arena_save(mrb);
    while (len > 0 && start <= len) {
        const char *s = RSTRING_PTR(src);
        if (rx_search(mrb, vm, rx, s, len, start, len, false) < 0)
            break;
        OnigRegion *r = &vm->region;
        mrb_int end = r->beg[0];
        if (start == end && r->beg[0] == r->end[0]) {
            if (last_null) {
                mrb_ary_push(mrb, result, mrb_str_substr(mrb, src, beg, start - beg));
                beg = start;
            } else {
                start += start == len ? 1 : rx_char_len(rx, s + start, s + len);
                last_null = true;
                continue;
            }
        } else {
            mrb_ary_push(mrb, result, mrb_str_substr(mrb, src, beg, end - beg));
            beg = start = r->end[0];
        }
        last_null = false;
        for (int g = 1; g < r->num_regs; g++) {
            if (r->beg[g] < 0)
                continue;
            mrb_ary_push(mrb, result, mrb_str_substr(mrb, src, r->beg[g], r->end[g] - r->beg[g]));
        }
        mrb_gc_arena_restore(mrb, ai);
        if (limited && lim <= ++i) {
            by_limit = true;
            break;
        }
    }
    /* $~ as CRuby leaves it: the last match when the limit stopped the split, else nil (the
     * search that found nothing more). The region is still that match's. */
    rx_set_last_match(mrb, vm, by_limit ? rx_match_new(mrb, vm, rx, src) : mrb_nil_value());
    if (len > 0 && (limited || len > beg || lim < 0))
        mrb_ary_push(mrb, result, mrb_str_substr(mrb, src, beg, len - beg));
    if (!limited && lim == 0) {
        while (RARRAY_LEN(result) > 0 &&
               RSTRING_LEN(RARRAY_PTR(result)[RARRAY_LEN(result) - 1]) == 0)
            mrb_ary_pop(mrb, result);
    }
    return result;
}

/* ---- index, rindex, [], start_with? ----------------------------------------------------- */

static mrb_value
str_index(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, rx_vm(mrb)->str_index, "__str_index");
    mrb_value pat;
    mrb_int pos = 0;
    mrb_get_args(mrb, "o|i", &pat, &pos);
    mrb_value md = rx_match_at(mrb, pat, self, pos, true);
    return mrb_nil_p(md) ? md : mrb_int_value(mrb, rx_match_get(mrb, md)->regs[0]);
}

static mrb_value
str_rindex(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, rx_vm(mrb)->str_rindex, "__str_rindex");
    mrb_value pat;
    mrb_int len = RSTRING_LEN(self), pos = len;
    mrb_get_args(mrb, "o|i", &pat, &pos);
    struct rx_vm *vm = rx_vm(mrb);
    struct rx *rx = rx_get(mrb, pat);
    if (pos < 0)
        pos += len;
    if (pos < 0) {
        rx_set_last_match(mrb, vm, mrb_nil_value());
        return mrb_nil_value();
    }
    if (pos > len)
        pos = len;
    rx_check_subject(mrb, rx, RSTRING_PTR(self), len);
    mrb_value md = mrb_nil_value();
    if (rx_search(mrb, vm, rx, RSTRING_PTR(self), len, pos, 0, false) >= 0)
        md = rx_match_new(mrb, vm, rx, rx_frozen_subject(mrb, self));
    rx_set_last_match(mrb, vm, md);
    return mrb_nil_p(md) ? md : mrb_int_value(mrb, rx_match_get(mrb, md)->regs[0]);
}

/* String#[](regexp, capture = 0) and slice: the match (or the group), nil. */
static mrb_value
str_aref(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, rx_vm(mrb)->str_aref, "__str_aref");
    mrb_value pat, cap = mrb_fixnum_value(0);
    mrb_get_args(mrb, "o|o", &pat, &cap);
    mrb_value md = rx_match_at(mrb, pat, self, 0, true);
    if (mrb_nil_p(md))
        return md;
    return mrb_funcall(mrb, md, "[]", 1, cap);
}

/* String#start_with?(*prefixes): a Regexp matches at the start only (and sets $~). */
static mrb_value
str_start_with(mrb_state *mrb, mrb_value self)
{
    const mrb_value *argv;
    mrb_int argc;
    bool any_re = false;
    mrb_get_args(mrb, "*", &argv, &argc);
    for (mrb_int i = 0; i < argc; i++)
        any_re |= rx_is_regexp(mrb, argv[i]);
    if (!any_re)
        return call_original(mrb, self, rx_vm(mrb)->str_start_with, "__str_start_with?");
    struct rx_vm *vm = rx_vm(mrb);
    for (mrb_int i = 0; i < argc; i++) {
        if (rx_is_regexp(mrb, argv[i])) {
            struct rx *rx = rx_get(mrb, argv[i]);
            mrb_int len = RSTRING_LEN(self);
            rx_check_subject(mrb, rx, RSTRING_PTR(self), len);
            if (rx_search(mrb, vm, rx, RSTRING_PTR(self), len, 0, len, true) >= 0) {
                rx_set_last_match(mrb, vm, rx_match_new(mrb, vm, rx, rx_frozen_subject(mrb, self)));
                return mrb_true_value();
            }
            rx_set_last_match(mrb, vm, mrb_nil_value());
        } else {
            mrb_value p = mrb_ensure_string_type(mrb, argv[i]);
            if (RSTRING_LEN(p) <= RSTRING_LEN(self) &&
                memcmp(RSTRING_PTR(self), RSTRING_PTR(p), (size_t)RSTRING_LEN(p)) == 0)
                return mrb_true_value();
        }
    }
    return mrb_false_value();
}

/* ---- []=, slice!, partition, rpartition ------------------------------------------------ */

/* The bounds of group cap (an Integer or a name) of md; raises IndexError as CRuby when the
 * group did not take part in the match. */
static void
group_bounds(mrb_state *mrb, mrb_value md, mrb_value cap, mrb_int *b, mrb_int *e)
{
    mrb_value off = mrb_funcall(mrb, md, "offset", 1, cap);
    mrb_value beg = RARRAY_PTR(off)[0];
    if (mrb_nil_p(beg))
        mrb_raisef(mrb, E_INDEX_ERROR, "regexp group %v not matched", cap);
    *b = mrb_integer(beg);
    *e = mrb_integer(RARRAY_PTR(off)[1]);
}

/* Replaces bytes [b, e) of self with val (self is not frozen: checked by the caller). */
static void
splice(mrb_state *mrb, mrb_value self, mrb_int b, mrb_int e, mrb_value val)
{
    mrb_int len = RSTRING_LEN(self);
    mrb_value out = mrb_str_new_capa(mrb, (size_t)(len - (e - b) + RSTRING_LEN(val)));
    mrb_str_cat(mrb, out, RSTRING_PTR(self), (size_t)b);
    mrb_str_cat(mrb, out, RSTRING_PTR(val), (size_t)RSTRING_LEN(val));
    mrb_str_cat(mrb, out, RSTRING_PTR(self) + e, (size_t)(len - e));
    mrb_funcall(mrb, self, "replace", 1, out);
}

/* String#[]=(regexp, [capture,] value): replaces the match (or the group). */
static mrb_value
str_aset(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, rx_vm(mrb)->str_aset, "__str_aset");
    mrb_value pat, a, b;
    mrb_int argc = mrb_get_args(mrb, "oo|o", &pat, &a, &b);
    mrb_value cap = argc == 3 ? a : mrb_fixnum_value(0);
    mrb_value val = mrb_ensure_string_type(mrb, argc == 3 ? b : a);
    mrb_check_frozen(mrb, mrb_basic_ptr(self));
    mrb_value md = rx_match_at(mrb, pat, self, 0, true);
    if (mrb_nil_p(md))
        mrb_raise(mrb, E_INDEX_ERROR, "regexp not matched");
    mrb_int gb, ge;
    group_bounds(mrb, md, cap, &gb, &ge);
    splice(mrb, self, gb, ge, val);
    return val;
}

/* String#slice!(regexp, capture = 0): removes the match (or the group) and returns it. */
static mrb_value
str_slice_bang(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, NULL, "__str_slice!");
    mrb_value pat, cap = mrb_fixnum_value(0);
    mrb_get_args(mrb, "o|o", &pat, &cap);
    mrb_check_frozen(mrb, mrb_basic_ptr(self));
    mrb_value md = rx_match_at(mrb, pat, self, 0, true);
    if (mrb_nil_p(md))
        return md;
    mrb_value off = mrb_funcall(mrb, md, "offset", 1, cap);
    if (mrb_nil_p(RARRAY_PTR(off)[0]))
        return mrb_nil_value();
    mrb_int gb = mrb_integer(RARRAY_PTR(off)[0]), ge = mrb_integer(RARRAY_PTR(off)[1]);
    mrb_value cut = mrb_str_substr(mrb, self, gb, ge - gb);
    splice(mrb, self, gb, ge, mrb_str_new(mrb, NULL, 0));
    return cut;
}

static mrb_value
three(mrb_state *mrb, mrb_value s, mrb_int b, mrb_int e)
{
    mrb_value t[3] = {mrb_str_substr(mrb, s, 0, b), mrb_str_substr(mrb, s, b, e - b),
                      mrb_str_substr(mrb, s, e, RSTRING_LEN(s) - e)};
    return mrb_ary_new_from_values(mrb, 3, t);
}

/* String#partition(regexp): [before, match, after] of the first match. */
static mrb_value
str_partition(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, NULL, "__str_partition");
    mrb_value md = rx_match_at(mrb, mrb_get_arg1(mrb), self, 0, true);
    if (mrb_nil_p(md)) {
        mrb_value t[3] = {mrb_str_dup(mrb, self), mrb_str_new(mrb, NULL, 0),
                          mrb_str_new(mrb, NULL, 0)};
        return mrb_ary_new_from_values(mrb, 3, t);
    }
    struct rx_match *m = rx_match_get(mrb, md);
    return three(mrb, self, m->regs[0], m->regs[1]);
}

/* String#rpartition(regexp): the same around the last match (searching backwards). */
static mrb_value
str_rpartition(mrb_state *mrb, mrb_value self)
{
    if (!first_arg_is_regexp(mrb))
        return call_original(mrb, self, NULL, "__str_rpartition");
    struct rx_vm *vm = rx_vm(mrb);
    struct rx *rx = rx_get(mrb, mrb_get_arg1(mrb));
    mrb_int len = RSTRING_LEN(self);
    rx_check_subject(mrb, rx, RSTRING_PTR(self), len);
    if (rx_search(mrb, vm, rx, RSTRING_PTR(self), len, len, 0, false) < 0) {
        rx_set_last_match(mrb, vm, mrb_nil_value());
        mrb_value t[3] = {mrb_str_new(mrb, NULL, 0), mrb_str_new(mrb, NULL, 0),
                          mrb_str_dup(mrb, self)};
        return mrb_ary_new_from_values(mrb, 3, t);
    }
    mrb_value md = rx_match_new(mrb, vm, rx, rx_frozen_subject(mrb, self));
    rx_set_last_match(mrb, vm, md);
    struct rx_match *m = rx_match_get(mrb, md);
    return three(mrb, self, m->regs[0], m->regs[1]);
}

/* ---- definition ------------------------------------------------------------------------- */

/* Keeps String's own NAME as __str_NAME and returns its C function, if it is one. */
static mrb_func_t
keep_original(mrb_state *mrb, struct RClass *str, const char *name, const char *alias)
{
    mrb_sym sym = mrb_intern_cstr(mrb, name);
    mrb_define_alias(mrb, str, alias, name);
    mrb_method_t m = mrb_method_search(mrb, str, sym);
    if (MRB_METHOD_FUNC_P(m))
        return MRB_METHOD_FUNC(m);
    struct RProc *p = MRB_METHOD_PROC(m);
    if (p && MRB_PROC_CFUNC_P(p))
        return MRB_PROC_CFUNC(p);
    return NULL;
}

void
rx_string_init(mrb_state *mrb)
{
    struct RClass *str = mrb->string_class;
    struct rx_vm *vm = rx_vm(mrb);
    vm->str_split = keep_original(mrb, str, "split", "__str_split");
    vm->str_index = keep_original(mrb, str, "index", "__str_index");
    vm->str_rindex = keep_original(mrb, str, "rindex", "__str_rindex");
    vm->str_aref = keep_original(mrb, str, "[]", "__str_aref");
    vm->str_aset = keep_original(mrb, str, "[]=", "__str_aset");
    vm->str_start_with = keep_original(mrb, str, "start_with?", "__str_start_with?");
    keep_original(mrb, str, "sub", "__str_sub");
    keep_original(mrb, str, "gsub", "__str_gsub");
    keep_original(mrb, str, "sub!", "__str_sub!");
    keep_original(mrb, str, "gsub!", "__str_gsub!");
    keep_original(mrb, str, "slice!", "__str_slice!");
    keep_original(mrb, str, "partition", "__str_partition");
    keep_original(mrb, str, "rpartition", "__str_rpartition");

    /* clang-format off */
    mrb_define_method(mrb, str, "=~",          str_match_op,   MRB_ARGS_REQ(1));
    mrb_define_method(mrb, str, "match",       str_match,      MRB_ARGS_ARG(1, 1) | MRB_ARGS_BLOCK());
    mrb_define_method(mrb, str, "match?",      str_match_p,    MRB_ARGS_ARG(1, 1));
    mrb_define_method(mrb, str, "sub",         str_sub,        MRB_ARGS_ARG(1, 1) | MRB_ARGS_BLOCK());
    mrb_define_method(mrb, str, "gsub",        str_gsub,       MRB_ARGS_ARG(1, 1) | MRB_ARGS_BLOCK());
    mrb_define_method(mrb, str, "sub!",        str_sub_bang,   MRB_ARGS_ARG(1, 1) | MRB_ARGS_BLOCK());
    mrb_define_method(mrb, str, "gsub!",       str_gsub_bang,  MRB_ARGS_ARG(1, 1) | MRB_ARGS_BLOCK());
    mrb_define_method(mrb, str, "scan",        str_scan,       MRB_ARGS_REQ(1) | MRB_ARGS_BLOCK());
    mrb_define_method(mrb, str, "split",       str_split,      MRB_ARGS_ANY());
    mrb_define_method(mrb, str, "index",       str_index,      MRB_ARGS_ARG(1, 1));
    mrb_define_method(mrb, str, "rindex",      str_rindex,     MRB_ARGS_ANY());
    mrb_define_method(mrb, str, "[]",          str_aref,       MRB_ARGS_ANY());
    mrb_define_method(mrb, str, "slice",       str_aref,       MRB_ARGS_ANY());
    mrb_define_method(mrb, str, "start_with?", str_start_with, MRB_ARGS_REST());
    mrb_define_method(mrb, str, "[]=",         str_aset,       MRB_ARGS_ANY());
    mrb_define_method(mrb, str, "slice!",      str_slice_bang, MRB_ARGS_ANY());
    mrb_define_method(mrb, str, "partition",   str_partition,  MRB_ARGS_REQ(1));
    mrb_define_method(mrb, str, "rpartition",  str_rpartition, MRB_ARGS_REQ(1));
    /* clang-format on */
}
