/*
 * regexp.c — Regexp and MatchData on Oniguruma (Ruby syntax, UTF-8), for every VM.
 *
 * Debian's mruby 3.1 has no Regexp, but its compiler already emits what CRuby's does: a regexp
 * literal is a call to Regexp.compile(source [, "imx" [, "n"|"u"]]) each time it is evaluated,
 * `$~`, `$1`.. `$9`, `$&`... read global variables, `=~` and `when /re/` call methods. So this
 * file supplies the classes and keeps those globals up to date after each match; the String
 * methods that take a Regexp are in regexp_string.c, the Ruby-level sugar in
 * runtime/prelude/vm/regexp.rb.
 *
 * Three choices shape it:
 *   - Literals are compiled once per VM: Regexp.compile keeps a cache keyed by the source (a
 *     literal is evaluated every time the code runs) and returns frozen, shared objects.
 *   - The match globals are real globals (one set per VM), not frame-local as in CRuby. $~ is
 *     always set; $1..$9, $&, $`, $', $+ only once some code mentions them, which we know
 *     because their symbols do not exist before (mruby interns `$1` when it compiles code that
 *     reads it). A match then costs no substrings nobody reads.
 *   - Oniguruma's retry limits make a pathological pattern (catastrophic backtracking) an error,
 *     Regexp::TimeoutError (CRuby 3.2's name), instead of a hang: RX_RETRY_LIMIT_IN_MATCH
 *     backtracks from one start position, RX_RETRY_LIMIT_IN_SEARCH in one whole search.
 *
 * Threads: each VM compiles its own patterns and has its own scratch region and match
 * parameters; Oniguruma's global initialisation runs once (pthread_once) before any VM compiles.
 * This file knows nothing of the loop or struct rt (it runs in Deferred workers too).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/numeric.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "runtime/regexp.h"
#include "runtime/rt.h"

/* One start position may backtrack this often (Oniguruma's default); one search (all start
 * positions of one call) this often. Measured on this machine: ~0.1 s and ~1 s of matching. */
#define RX_RETRY_LIMIT_IN_MATCH 10000000UL
#define RX_RETRY_LIMIT_IN_SEARCH 100000000UL
/* Literal cache: cleared when it holds more (dynamic patterns built by interpolation). */
#define RX_CACHE_MAX 1024
/* Error positions are searched by compiling prefixes; only for patterns this long or less. */
#define RX_ERROR_SCAN_MAX 4096

static const char *const gv_names[13] = {"$&", "$`", "$'", "$+", "$1", "$2", "$3",
                                         "$4", "$5", "$6", "$7", "$8", "$9"};

/* ---- compiled patterns ---------------------------------------------------------------- */

void
rx_unref(mrb_state *mrb, struct rx *rx)
{
    if (rx && --rx->refs == 0) {
        onig_free(rx->reg);
        mrb_free(mrb, rx);
    }
}

static void
regexp_dfree(mrb_state *mrb, void *p)
{
    rx_unref(mrb, p);
}

static const struct mrb_data_type regexp_type = {"Regexp", regexp_dfree};

/* Whole sequences only, no surrogates, no overlongs: what CRuby calls valid UTF-8. */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c < 0xC2) {
            return false;
        } else if (c < 0xE0) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
                return false;
            i += 2;
        } else if (c < 0xF0) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
                return false;
            if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0))
                return false;
            i += 3;
        } else if (c < 0xF5) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
                (s[i + 3] & 0xC0) != 0x80)
                return false;
            if ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))
                return false;
            i += 4;
        } else {
            return false;
        }
    }
    return true;
}

mrb_int
rx_char_len(struct rx *rx, const char *p, const char *end)
{
    if (p >= end)
        return 1;
    unsigned c = (unsigned char)*p;
    mrb_int n = 1;
    if (!rx->ascii)
        n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return n <= end - p ? n : end - p;
}

void
rx_check_subject(mrb_state *mrb, struct rx *rx, const char *s, mrb_int len)
{
    if (len > INT32_MAX)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "string too long for a regexp match (over 2 GiB)");
    if (!rx->ascii && !utf8_valid((const unsigned char *)s, (size_t)len))
        mrb_raise(mrb, E_ARGUMENT_ERROR, "invalid byte sequence in UTF-8");
}

static OnigOptionType
onig_options(int flags)
{
    /* Ruby's \w, \d, \s (and so \b) are ASCII-only; its [[:alpha:]] and \p{...} are not. */
    OnigOptionType o =
        ONIG_OPTION_WORD_IS_ASCII | ONIG_OPTION_DIGIT_IS_ASCII | ONIG_OPTION_SPACE_IS_ASCII;
    if (flags & RX_IGNORECASE)
        o |= ONIG_OPTION_IGNORECASE;
    if (flags & RX_EXTENDED)
        o |= ONIG_OPTION_EXTEND;
    if (flags & RX_MULTILINE)
        o |= ONIG_OPTION_MULTILINE;
    return o;
}

static bool
is_end_of_pattern_error(int code)
{
    switch (code) {
    case ONIGERR_END_PATTERN_AT_LEFT_BRACE:
    case ONIGERR_END_PATTERN_AT_LEFT_BRACKET:
    case ONIGERR_PREMATURE_END_OF_CHAR_CLASS:
    case ONIGERR_END_PATTERN_AT_ESCAPE:
    case ONIGERR_END_PATTERN_AT_META:
    case ONIGERR_END_PATTERN_AT_CONTROL:
    case ONIGERR_END_PATTERN_WITH_UNMATCHED_PARENTHESIS:
    case ONIGERR_END_PATTERN_IN_GROUP:
        return true;
    default:
        return false;
    }
}

/* The last '(' (or '[' when open is '[') left open in src, skipping escapes and classes. */
static mrb_int
unclosed_offset(const char *src, mrb_int len, char open)
{
    mrb_int stack[64], depth = 0, cls = -1, last = len;
    for (mrb_int i = 0; i < len; i++) {
        char c = src[i];
        if (c == '\\') {
            i++;
        } else if (cls >= 0) {
            if (c == ']')
                cls = -1;
        } else if (c == '[') {
            cls = i;
        } else if (c == '(') {
            if (depth < 64)
                stack[depth] = i;
            depth++;
        } else if (c == ')' && depth > 0) {
            depth--;
        }
    }
    if (open == '[')
        return cls >= 0 ? cls : len;
    if (depth > 0 && depth <= 64)
        last = stack[depth - 1];
    return last;
}

/*
 * Where the error is: Oniguruma reports no position, so find the shortest prefix of the pattern
 * that fails with the same error (the parser stopped there). Errors found only at the end of
 * the pattern point at what was left open, or at the end.
 */
static mrb_int
error_offset(const char *src, mrb_int len, OnigOptionType opt, OnigEncoding enc, int code)
{
    if (code == ONIGERR_END_PATTERN_WITH_UNMATCHED_PARENTHESIS ||
        code == ONIGERR_END_PATTERN_IN_GROUP)
        return unclosed_offset(src, len, '(');
    if (code == ONIGERR_PREMATURE_END_OF_CHAR_CLASS)
        return unclosed_offset(src, len, '[');
    if (is_end_of_pattern_error(code) || len > RX_ERROR_SCAN_MAX)
        return len;
    for (mrb_int k = 1; k < len; k++) {
        OnigRegex reg;
        OnigErrorInfo einfo;
        int r = onig_new(&reg, (const OnigUChar *)src, (const OnigUChar *)src + k, opt, enc,
                         ONIG_SYNTAX_RUBY, &einfo);
        if (r == ONIG_NORMAL)
            onig_free(reg);
        else if (r == code)
            return k - 1;
    }
    return len - 1 > 0 ? len - 1 : 0;
}

static mrb_noreturn void
raise_regexp_error(mrb_state *mrb, const char *msg, const char *src, mrb_int len, mrb_int off)
{
    struct rx_vm *vm = rx_vm(mrb);
    mrb_value text = mrb_str_new_cstr(mrb, msg);
    mrb_str_cat_lit(mrb, text, ": /");
    mrb_str_cat(mrb, text, src, (size_t)len);
    mrb_str_cat_lit(mrb, text, "/");
    if (off >= 0) {
        char buf[48];
        snprintf(buf, sizeof buf, " (at offset %ld)", (long)off);
        mrb_str_cat_cstr(mrb, text, buf);
    }
    mrb_value exc = mrb_exc_new_str(mrb, vm->error_class, text);
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@source"), mrb_str_new(mrb, src, len));
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@offset"),
               off >= 0 ? mrb_int_value(mrb, off) : mrb_nil_value());
    mrb_exc_raise(mrb, exc);
}

/* Compiles src with RX_* flags; raises RegexpError naming the place of a syntax error. */
static struct rx *
rx_compile(mrb_state *mrb, const char *src, mrb_int len, int flags)
{
    bool ascii = (flags & RX_NOENCODING) != 0;
    if (len > INT32_MAX)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "regexp source too long");
    if (!ascii) {
        if (!utf8_valid((const unsigned char *)src, (size_t)len))
            raise_regexp_error(mrb, "invalid multibyte character", src, len, -1);
        for (mrb_int i = 0; i < len; i++)
            if ((unsigned char)src[i] >= 0x80) {
                flags |= RX_FIXEDENCODING;
                break;
            }
    }
    OnigEncoding enc = ascii ? ONIG_ENCODING_ASCII : ONIG_ENCODING_UTF8;
    OnigOptionType opt = onig_options(flags);
    OnigRegex reg;
    OnigErrorInfo einfo;
    int r = onig_new(&reg, (const OnigUChar *)src, (const OnigUChar *)src + len, opt, enc,
                     ONIG_SYNTAX_RUBY, &einfo);
    if (r != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN + 1];
        onig_error_code_to_str(msg, r, &einfo);
        mrb_int off = ONIG_IS_PATTERN_ERROR(r) ? error_offset(src, len, opt, enc, r) : -1;
        raise_regexp_error(mrb, (const char *)msg, src, len, off);
    }
    /* mruby's allocator (the memory profiler sees the pattern's bytes too); the compiled
     * program itself is Oniguruma's malloc. */
    struct rx *rx = mrb_malloc_simple(mrb, sizeof *rx + (size_t)len + 1);
    if (!rx) {
        onig_free(reg);
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory compiling a regexp");
    }
    rx->reg = reg;
    rx->refs = 0;
    rx->flags = flags;
    rx->ascii = ascii;
    rx->ncaptures = onig_number_of_captures(reg);
    rx->srclen = len;
    memcpy(rx->src, src, (size_t)len);
    rx->src[len] = '\0';
    return rx;
}

struct rx *
rx_get(mrb_state *mrb, mrb_value re)
{
    struct rx *rx = mrb_data_check_get_ptr(mrb, re, &regexp_type);
    if (!rx) {
        if (mrb_obj_is_kind_of(mrb, re, rx_vm(mrb)->regexp_class))
            mrb_raise(mrb, E_TYPE_ERROR, "uninitialized Regexp");
        mrb_raisef(mrb, E_TYPE_ERROR, "wrong argument type %C (expected Regexp)",
                   mrb_obj_class(mrb, re));
    }
    return rx;
}

bool
rx_is_regexp(mrb_state *mrb, mrb_value v)
{
    return mrb_type(v) == MRB_TT_DATA && DATA_TYPE(v) == &regexp_type;
}

mrb_value
rx_wrap(mrb_state *mrb, struct RClass *cls, struct rx *rx)
{
    struct RData *d = mrb_data_object_alloc(mrb, cls, NULL, &regexp_type);
    d->data = rx;
    rx->refs++;
    return mrb_obj_value(d);
}

/* ---- per-VM state ----------------------------------------------------------------------- */

static void vm_dfree(mrb_state *mrb, void *p);
static const struct mrb_data_type vm_type = {"Regexp state", vm_dfree};

/* The state of the VM this thread runs, cached: a thread runs one VM at a time, and vm_dfree
 * forgets it when that VM closes (on the same thread). */
static _Thread_local mrb_state *tls_mrb;
static _Thread_local struct rx_vm *tls_vm;

static void
vm_dfree(mrb_state *mrb, void *p)
{
    struct rx_vm *vm = p;
    if (!vm)
        return;
    if (tls_mrb == mrb) {
        tls_mrb = NULL;
        tls_vm = NULL;
    }
    onig_region_free(&vm->region, 0);
    if (vm->mp)
        onig_free_match_param(vm->mp);
    mrb_free(mrb, vm);
}

struct rx_vm *
rx_vm(mrb_state *mrb)
{
    if (tls_mrb == mrb && tls_vm)
        return tls_vm;
    mrb_value v = mrb_obj_iv_get(mrb, (struct RObject *)mrb->object_class,
                                 mrb_intern_lit(mrb, "__mrun_regexp_state"));
    struct rx_vm *vm = mrb_data_check_get_ptr(mrb, v, &vm_type);
    if (!vm)
        mrb_raise(mrb, E_RUNTIME_ERROR, "Regexp is not initialised in this VM");
    tls_mrb = mrb;
    tls_vm = vm;
    return vm;
}

static void
refresh_gv(mrb_state *mrb, struct rx_vm *vm)
{
    for (int i = 0; i < 13; i++)
        if (!vm->gv[i])
            vm->gv[i] = mrb_intern_check(mrb, gv_names[i], strlen(gv_names[i]));
    vm->symidx_seen = mrb->symidx;
}

void
rx_set_last_match(mrb_state *mrb, struct rx_vm *vm, mrb_value md)
{
    mrb_gv_set(mrb, vm->sym_tilde, md);
    if (vm->symidx_seen != mrb->symidx)
        refresh_gv(mrb, vm);
    if (mrb_nil_p(md)) {
        if (vm->gv_clear)
            return;
        for (int i = 0; i < 13; i++)
            if (vm->gv[i])
                mrb_gv_set(mrb, vm->gv[i], mrb_nil_value());
        vm->gv_clear = true;
        return;
    }
    bool any = false;
    for (int i = 0; i < 13; i++)
        any |= vm->gv[i] != 0;
    if (!any)
        return;
    struct rx_match *m = rx_match_get(mrb, md);
    mrb_value s = rx_match_subject(mrb, md);
    mrb_int len = RSTRING_LEN(s);
    if (vm->gv[0])
        mrb_gv_set(mrb, vm->gv[0], rx_group_str(mrb, s, m->regs, 0));
    if (vm->gv[1])
        mrb_gv_set(mrb, vm->gv[1], mrb_str_substr(mrb, s, 0, m->regs[0]));
    if (vm->gv[2])
        mrb_gv_set(mrb, vm->gv[2], mrb_str_substr(mrb, s, m->regs[1], len - m->regs[1]));
    if (vm->gv[3]) {
        int last = m->nregs - 1;
        while (last > 0 && m->regs[2 * last] < 0)
            last--;
        mrb_gv_set(mrb, vm->gv[3],
                   last > 0 ? rx_group_str(mrb, s, m->regs, last) : mrb_nil_value());
    }
    for (int i = 1; i <= 9; i++)
        if (vm->gv[3 + i])
            mrb_gv_set(mrb, vm->gv[3 + i],
                       i < m->nregs ? rx_group_str(mrb, s, m->regs, i) : mrb_nil_value());
    vm->gv_clear = false;
}

/* ---- searching -------------------------------------------------------------------------- */

mrb_int
rx_search(mrb_state *mrb, struct rx_vm *vm, struct rx *rx, const char *s, mrb_int len,
          mrb_int start, mrb_int range, bool anchored)
{
    const OnigUChar *str = (const OnigUChar *)s, *end = str + len;
    int r;
    if (anchored) {
        r = onig_match_with_param(rx->reg, str, end, str + start, &vm->region, ONIG_OPTION_NONE,
                                  vm->mp);
        if (r >= 0)
            return start;
    } else {
        r = onig_search_with_param(rx->reg, str, end, str + start, str + range, &vm->region,
                                   ONIG_OPTION_NONE, vm->mp);
        if (r >= 0)
            return r;
    }
    if (r == ONIG_MISMATCH)
        return -1;
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN + 1];
    onig_error_code_to_str(msg, r);
    if (r == ONIGERR_RETRY_LIMIT_IN_MATCH_OVER || r == ONIGERR_RETRY_LIMIT_IN_SEARCH_OVER ||
        r == ONIGERR_MATCH_STACK_LIMIT_OVER)
        mrb_raisef(mrb, vm->timeout_class, "regexp match gave up (%s): /%s/", (const char *)msg,
                   rx->src);
    mrb_raisef(mrb, vm->error_class, "%s: /%s/", (const char *)msg, rx->src);
}

/* A frozen copy that shares the bytes (copy-on-write): what a MatchData keeps. */
mrb_value
rx_frozen_subject(mrb_state *mrb, mrb_value str)
{
    if (mrb_frozen_p(mrb_basic_ptr(str)))
        return str;
    return mrb_obj_freeze(mrb, mrb_str_dup(mrb, str));
}

/* str as a String for matching: Symbols convert, nil stays nil, others are a TypeError. */
static mrb_value
subject_arg(mrb_state *mrb, mrb_value v)
{
    if (mrb_string_p(v) || mrb_nil_p(v))
        return v;
    if (mrb_symbol_p(v))
        return mrb_sym_str(mrb, mrb_symbol(v));
    mrb_raisef(mrb, E_TYPE_ERROR, "no implicit conversion of %C into String",
               mrb_obj_class(mrb, v));
}

mrb_value
rx_match_at(mrb_state *mrb, mrb_value re, mrb_value str, mrb_int pos, bool set_gv)
{
    struct rx_vm *vm = rx_vm(mrb);
    struct rx *rx = rx_get(mrb, re);
    mrb_value md = mrb_nil_value();
    if (!mrb_nil_p(str)) {
        mrb_int len = RSTRING_LEN(str);
        if (pos < 0)
            pos += len;
        if (pos >= 0 && pos <= len) {
            rx_check_subject(mrb, rx, RSTRING_PTR(str), len);
            if (rx_search(mrb, vm, rx, RSTRING_PTR(str), len, pos, len, false) >= 0)
                md = rx_match_new(mrb, vm, rx, rx_frozen_subject(mrb, str));
        }
    }
    if (set_gv)
        rx_set_last_match(mrb, vm, md);
    return md;
}

/* ---- Regexp ----------------------------------------------------------------------------- */

/* Ruby's options argument: an Integer, a String of letters (what the compiler passes for
 * /re/imx, and CRuby 3.2's Regexp.new("re", "i")), else true-ish means IGNORECASE. */
static int
options_arg(mrb_state *mrb, mrb_value opt)
{
    if (mrb_integer_p(opt))
        return (int)(mrb_integer(opt) & (RX_IGNORECASE | RX_EXTENDED | RX_MULTILINE |
                                         RX_FIXEDENCODING | RX_NOENCODING));
    if (mrb_string_p(opt)) {
        int f = 0;
        for (mrb_int i = 0; i < RSTRING_LEN(opt); i++) {
            switch (RSTRING_PTR(opt)[i]) {
            case 'i':
                f |= RX_IGNORECASE;
                break;
            case 'x':
                f |= RX_EXTENDED;
                break;
            case 'm':
                f |= RX_MULTILINE;
                break;
            default:
                mrb_raisef(mrb, E_ARGUMENT_ERROR, "unknown regexp option: %v", opt);
            }
        }
        return f;
    }
    return mrb_test(opt) ? RX_IGNORECASE : 0;
}

static int
encoding_arg(mrb_state *mrb, mrb_value enc)
{
    if (mrb_string_p(enc) && RSTRING_LEN(enc) > 0) {
        char c = RSTRING_PTR(enc)[0];
        if (c == 'n' || c == 'N')
            return RX_NOENCODING;
        if (c == 'u' || c == 'U')
            return RX_FIXEDENCODING;
    }
    return 0;
}

/* The pattern of Regexp.new's arguments: a Regexp is copied (options ignored, as CRuby). */
static struct rx *
rx_from_args(mrb_state *mrb, mrb_value src, mrb_value opt, mrb_value enc, mrb_int argc)
{
    if (rx_is_regexp(mrb, src)) {
        struct rx *o = rx_get(mrb, src);
        return rx_compile(mrb, o->src, o->srclen, o->flags);
    }
    if (mrb_symbol_p(src) || !mrb_string_p(src))
        src = mrb_ensure_string_type(mrb, src);
    int flags = argc > 1 ? options_arg(mrb, opt) : 0;
    if (argc > 2)
        flags |= encoding_arg(mrb, enc);
    return rx_compile(mrb, RSTRING_PTR(src), RSTRING_LEN(src), flags);
}

static mrb_value
regexp_initialize(mrb_state *mrb, mrb_value self)
{
    mrb_value src, opt = mrb_nil_value(), enc = mrb_nil_value();
    mrb_int argc = mrb_get_args(mrb, "o|oo", &src, &opt, &enc);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_TYPE_ERROR, "already initialized regexp");
    mrb_check_frozen(mrb, mrb_basic_ptr(self));
    struct rx *rx = rx_from_args(mrb, src, opt, enc, argc);
    mrb_data_init(self, rx, &regexp_type);
    rx->refs++;
    return self;
}

/* dup and clone: mruby copies a Data object's instance variables, not its pointer. */
static mrb_value
regexp_init_copy(mrb_state *mrb, mrb_value self)
{
    mrb_value src = mrb_get_arg1(mrb);
    if (mrb_obj_equal(mrb, self, src))
        return self;
    struct rx *rx = rx_get(mrb, src);
    struct rx *old = DATA_PTR(self);
    mrb_data_init(self, rx, &regexp_type);
    rx->refs++;
    rx_unref(mrb, old);
    return self;
}

static bool
cached_flags_match(mrb_state *mrb, mrb_value re, int flags)
{
    return rx_is_regexp(mrb, re) && ((rx_get(mrb, re)->flags ^ flags) & ~RX_FIXEDENCODING) == 0;
}

static mrb_value
regexp_s_compile(mrb_state *mrb, mrb_value klass)
{
    mrb_value src, opt = mrb_nil_value(), enc = mrb_nil_value();
    mrb_int argc = mrb_get_args(mrb, "o|oo", &src, &opt, &enc);
    struct rx_vm *vm = rx_vm(mrb);
    bool cacheable = mrb_string_p(src) && (mrb_nil_p(opt) || mrb_string_p(opt)) &&
                     mrb_class_ptr(klass) == vm->regexp_class;
    mrb_value hit = mrb_nil_value();
    struct rx_lit *slot = NULL;
    if (cacheable) {
        int flags = options_arg(mrb, opt) | (argc > 2 ? encoding_arg(mrb, enc) : 0);
        /* First a direct-mapped table of the last literals seen (no Ruby Hash machinery):
         * its Regexps are also in the Hash below, which keeps them alive. */
        const char *p = RSTRING_PTR(src);
        mrb_int len = RSTRING_LEN(src);
        uint32_t h = 2166136261u ^ (uint32_t)flags;
        for (mrb_int i = 0; i < len; i++)
            h = (h ^ (unsigned char)p[i]) * 16777619u;
        slot = &vm->lit[h % RX_LIT_SLOTS];
        if (slot->hash == h && slot->flags == flags && !mrb_nil_p(slot->re)) {
            struct rx *rx = rx_get(mrb, slot->re);
            if (rx->srclen == len && memcmp(rx->src, p, (size_t)len) == 0)
                return slot->re;
        }
        slot->hash = h;
        slot->flags = flags;
        slot->re = mrb_nil_value();
        /* The cache maps a source to its Regexp, or to an Array of them when the same source
         * comes with different options (/a/ and /a/i). */
        hit = mrb_hash_fetch(mrb, vm->cache, src, mrb_nil_value());
        if (cached_flags_match(mrb, hit, flags))
            return slot->re = hit;
        if (mrb_array_p(hit))
            for (mrb_int i = 0; i < RARRAY_LEN(hit); i++)
                if (cached_flags_match(mrb, RARRAY_PTR(hit)[i], flags))
                    return slot->re = RARRAY_PTR(hit)[i];
    }
    struct rx *rx = rx_from_args(mrb, src, opt, enc, argc);
    mrb_value re = rx_wrap(mrb, mrb_class_ptr(klass), rx);
    if (cacheable) {
        mrb_obj_freeze(mrb, re);
        if (mrb_array_p(hit)) {
            /* Eight variants of one source are plenty: more are compiled each time (the
             * table's slots point only at Regexps the Hash keeps). */
            if (RARRAY_LEN(hit) >= 8)
                return re;
            mrb_ary_push(mrb, hit, re);
            return slot->re = re;
        }
        if (mrb_hash_size(mrb, vm->cache) >= RX_CACHE_MAX) {
            mrb_hash_clear(mrb, vm->cache);
            for (int i = 0; i < RX_LIT_SLOTS; i++)
                vm->lit[i].re = mrb_nil_value();
        }
        mrb_value val = re;
        if (rx_is_regexp(mrb, hit)) {
            mrb_value both[2] = {hit, re};
            val = mrb_ary_new_from_values(mrb, 2, both);
        }
        /* The key is a frozen copy (sharing the bytes): the caller may change src later. */
        mrb_hash_set(mrb, vm->cache, mrb_obj_freeze(mrb, mrb_str_dup(mrb, src)), val);
        slot->re = re;
    }
    return re;
}

/* Appends s with every character that means something in a pattern escaped (CRuby's
 * rb_reg_quote): the metacharacters get a backslash, white space its escape. */
static void
cat_escaped(mrb_state *mrb, mrb_value out, const char *s, mrb_int len)
{
    static const char meta[] = ".*?+^$|\\()[]{}-#";
    static const char space[] = " \t\n\r\f\v", space_esc[] = " tnrfv";
    mrb_int from = 0;
    for (mrb_int i = 0; i < len; i++) {
        char c = s[i], esc[2] = {'\\', c};
        const char *sp = c ? strchr(space, c) : NULL;
        if (sp)
            esc[1] = space_esc[sp - space];
        else if (!c || !strchr(meta, c))
            continue;
        mrb_str_cat(mrb, out, s + from, (size_t)(i - from));
        mrb_str_cat(mrb, out, esc, 2);
        from = i + 1;
    }
    mrb_str_cat(mrb, out, s + from, (size_t)(len - from));
}

/* Regexp.escape / Regexp.quote, as CRuby's rb_reg_quote. */
static mrb_value
regexp_s_escape(mrb_state *mrb, mrb_value klass)
{
    mrb_value s = subject_arg(mrb, mrb_get_arg1(mrb));
    if (mrb_nil_p(s))
        mrb_raise(mrb, E_TYPE_ERROR, "no implicit conversion of nil into String");
    mrb_value out = mrb_str_new_capa(mrb, (size_t)RSTRING_LEN(s) + 8);
    cat_escaped(mrb, out, RSTRING_PTR(s), RSTRING_LEN(s));
    return out;
}

mrb_value
rx_from_string(mrb_state *mrb, mrb_value str, bool quote)
{
    struct rx_vm *vm = rx_vm(mrb);
    mrb_value src = str;
    if (quote) {
        src = mrb_str_new_capa(mrb, (size_t)RSTRING_LEN(str) + 8);
        cat_escaped(mrb, src, RSTRING_PTR(str), RSTRING_LEN(str));
    }
    return rx_wrap(mrb, vm->regexp_class, rx_compile(mrb, RSTRING_PTR(src), RSTRING_LEN(src), 0));
}

/* Regexp.last_match / last_match(n): $~, or its group n. */
static mrb_value
regexp_s_last_match(mrb_state *mrb, mrb_value klass)
{
    mrb_value n = mrb_nil_value();
    mrb_int argc = mrb_get_args(mrb, "|o", &n);
    mrb_value md = mrb_gv_get(mrb, rx_vm(mrb)->sym_tilde);
    if (argc == 0 || mrb_nil_p(md))
        return md;
    return mrb_funcall(mrb, md, "[]", 1, n);
}

static mrb_value
regexp_source(mrb_state *mrb, mrb_value self)
{
    struct rx *rx = rx_get(mrb, self);
    return mrb_str_new(mrb, rx->src, rx->srclen);
}

static mrb_value
regexp_options(mrb_state *mrb, mrb_value self)
{
    return mrb_int_value(mrb, rx_get(mrb, self)->flags);
}

static mrb_value
regexp_casefold_p(mrb_state *mrb, mrb_value self)
{
    return mrb_bool_value((rx_get(mrb, self)->flags & RX_IGNORECASE) != 0);
}

/* The source with unescaped '/' escaped, as in a literal. */
static void
cat_source(mrb_state *mrb, mrb_value out, struct rx *rx)
{
    mrb_int from = 0;
    for (mrb_int i = 0; i < rx->srclen; i++) {
        if (rx->src[i] == '\\' && i + 1 < rx->srclen) {
            i++;
        } else if (rx->src[i] == '/') {
            mrb_str_cat(mrb, out, rx->src + from, (size_t)(i - from));
            mrb_str_cat_lit(mrb, out, "\\/");
            from = i + 1;
        }
    }
    mrb_str_cat(mrb, out, rx->src + from, (size_t)(rx->srclen - from));
}

static mrb_value
regexp_inspect(mrb_state *mrb, mrb_value self)
{
    struct rx *rx = rx_get(mrb, self);
    mrb_value out = mrb_str_new_capa(mrb, (size_t)rx->srclen + 8);
    mrb_str_cat_lit(mrb, out, "/");
    cat_source(mrb, out, rx);
    mrb_str_cat_lit(mrb, out, "/");
    if (rx->flags & RX_MULTILINE)
        mrb_str_cat_lit(mrb, out, "m");
    if (rx->flags & RX_IGNORECASE)
        mrb_str_cat_lit(mrb, out, "i");
    if (rx->flags & RX_EXTENDED)
        mrb_str_cat_lit(mrb, out, "x");
    if (rx->flags & RX_NOENCODING)
        mrb_str_cat_lit(mrb, out, "n");
    return out;
}

/* (?flags-flags:source), the form that embeds in another pattern. */
static mrb_value
regexp_to_s(mrb_state *mrb, mrb_value self)
{
    struct rx *rx = rx_get(mrb, self);
    static const struct {
        int bit;
        char c;
    } order[] = {{RX_MULTILINE, 'm'}, {RX_IGNORECASE, 'i'}, {RX_EXTENDED, 'x'}};
    char on[4], off[4];
    int non = 0, noff = 0;
    for (int i = 0; i < 3; i++) {
        if (rx->flags & order[i].bit)
            on[non++] = order[i].c;
        else
            off[noff++] = order[i].c;
    }
    mrb_value out = mrb_str_new_capa(mrb, (size_t)rx->srclen + 12);
    mrb_str_cat_lit(mrb, out, "(?");
    mrb_str_cat(mrb, out, on, (size_t)non);
    if (noff) {
        mrb_str_cat_lit(mrb, out, "-");
        mrb_str_cat(mrb, out, off, (size_t)noff);
    }
    mrb_str_cat_lit(mrb, out, ":");
    cat_source(mrb, out, rx);
    mrb_str_cat_lit(mrb, out, ")");
    return out;
}

static mrb_value
regexp_eq(mrb_state *mrb, mrb_value self)
{
    mrb_value other = mrb_get_arg1(mrb);
    if (!rx_is_regexp(mrb, other))
        return mrb_false_value();
    struct rx *a = rx_get(mrb, self), *b = rx_get(mrb, other);
    return mrb_bool_value(a->flags == b->flags && a->srclen == b->srclen &&
                          memcmp(a->src, b->src, (size_t)a->srclen) == 0);
}

static mrb_value
regexp_hash(mrb_state *mrb, mrb_value self)
{
    struct rx *rx = rx_get(mrb, self);
    uint32_t h = 2166136261u ^ (uint32_t)rx->flags;
    for (mrb_int i = 0; i < rx->srclen; i++)
        h = (h ^ (unsigned char)rx->src[i]) * 16777619u;
    return mrb_int_value(mrb, (mrb_int)(h & 0x3fffffff));
}

/* Regexp#match(str, pos = 0) { |m| }: the MatchData (or the block's value), nil. */
static mrb_value
regexp_match(mrb_state *mrb, mrb_value self)
{
    mrb_value str, blk;
    mrb_int pos = 0;
    mrb_get_args(mrb, "o|i&", &str, &pos, &blk);
    mrb_value md = rx_match_at(mrb, self, subject_arg(mrb, str), pos, true);
    if (!mrb_nil_p(md) && !mrb_nil_p(blk))
        return mrb_yield(mrb, blk, md);
    return md;
}

/* Regexp#match?(str, pos = 0): true or false; $~ untouched, no MatchData made. */
static mrb_value
regexp_match_p(mrb_state *mrb, mrb_value self)
{
    mrb_value str;
    mrb_int pos = 0;
    mrb_get_args(mrb, "o|i", &str, &pos);
    str = subject_arg(mrb, str);
    if (mrb_nil_p(str))
        return mrb_false_value();
    struct rx_vm *vm = rx_vm(mrb);
    struct rx *rx = rx_get(mrb, self);
    mrb_int len = RSTRING_LEN(str);
    if (pos < 0)
        pos += len;
    if (pos < 0 || pos > len)
        return mrb_false_value();
    rx_check_subject(mrb, rx, RSTRING_PTR(str), len);
    return mrb_bool_value(rx_search(mrb, vm, rx, RSTRING_PTR(str), len, pos, len, false) >= 0);
}

/* Regexp#=~(str): the byte offset of the match, or nil; sets $~. */
static mrb_value
regexp_match_op(mrb_state *mrb, mrb_value self)
{
    mrb_value md = rx_match_at(mrb, self, subject_arg(mrb, mrb_get_arg1(mrb)), 0, true);
    if (mrb_nil_p(md))
        return md;
    return mrb_int_value(mrb, rx_match_get(mrb, md)->regs[0]);
}

/* Regexp#===(obj): case/when. Anything but a String or Symbol is false. */
static mrb_value
regexp_eqq(mrb_state *mrb, mrb_value self)
{
    mrb_value v = mrb_get_arg1(mrb);
    if (!mrb_string_p(v) && !mrb_symbol_p(v)) {
        rx_set_last_match(mrb, rx_vm(mrb), mrb_nil_value());
        return mrb_false_value();
    }
    return mrb_bool_value(!mrb_nil_p(rx_match_at(mrb, self, subject_arg(mrb, v), 0, true)));
}

struct name_list {
    mrb_state *mrb;
    mrb_value pairs; /* [[first group, name, [groups]]...] */
};

static int
collect_name(const OnigUChar *name, const OnigUChar *name_end, int ngroups, int *groups,
             OnigRegex reg, void *arg)
{
    struct name_list *nl = arg;
    mrb_state *mrb = nl->mrb;
    mrb_value nums = mrb_ary_new_capa(mrb, ngroups);
    int first = ngroups > 0 ? groups[0] : 0;
    for (int i = 0; i < ngroups; i++) {
        mrb_ary_push(mrb, nums, mrb_int_value(mrb, groups[i]));
        if (groups[i] < first)
            first = groups[i];
    }
    mrb_value t[3] = {mrb_int_value(mrb, first),
                      mrb_str_new(mrb, (const char *)name, (size_t)(name_end - name)), nums};
    mrb_ary_push(mrb, nl->pairs, mrb_ary_new_from_values(mrb, 3, t));
    return 0;
}

/* Regexp#__names: [[name, [group numbers]]...] in the order the names first appear. */
static mrb_value
regexp_names_groups(mrb_state *mrb, mrb_value self)
{
    struct rx *rx = rx_get(mrb, self);
    struct name_list nl = {mrb, mrb_ary_new(mrb)};
    onig_foreach_name(rx->reg, collect_name, &nl);
    /* Insertion sort by first group (a pattern has few names). */
    mrb_int n = RARRAY_LEN(nl.pairs);
    mrb_value *a = RARRAY_PTR(nl.pairs);
    for (mrb_int i = 1; i < n; i++) {
        mrb_value cur = a[i];
        mrb_int key = mrb_integer(RARRAY_PTR(cur)[0]);
        mrb_int j = i - 1;
        while (j >= 0 && mrb_integer(RARRAY_PTR(a[j])[0]) > key) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = cur;
    }
    mrb_value out = mrb_ary_new_capa(mrb, n);
    for (mrb_int i = 0; i < n; i++) {
        mrb_value t[2] = {RARRAY_PTR(a[i])[1], RARRAY_PTR(a[i])[2]};
        mrb_ary_push(mrb, out, mrb_ary_new_from_values(mrb, 2, t));
    }
    return out;
}

/* ---- the module ------------------------------------------------------------------------- */

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;

static void
onig_global_init(void)
{
    OnigEncoding encs[] = {ONIG_ENCODING_UTF8, ONIG_ENCODING_ASCII};
    onig_initialize(encs, 2);
}

static void
regexp_vm_init(mrb_state *mrb)
{
    /* Oniguruma's globals (encoding tables) are set up once, before the first VM compiles: the
     * main VM's vm_init runs before any Deferred worker exists. */
    pthread_once(&onig_once, onig_global_init);

    struct RClass *re = mrb_define_class(mrb, "Regexp", mrb->object_class);
    MRB_SET_INSTANCE_TT(re, MRB_TT_DATA);
    struct RClass *md = mrb_define_class(mrb, "MatchData", mrb->object_class);
    MRB_SET_INSTANCE_TT(md, MRB_TT_DATA);
    struct RClass *err = mrb_define_class(mrb, "RegexpError", mrb->eStandardError_class);
    struct RClass *tmo = mrb_define_class_under(mrb, re, "TimeoutError", err);

    struct RData *d = mrb_data_object_alloc(mrb, mrb->object_class, NULL, &vm_type);
    struct rx_vm *vm = mrb_calloc(mrb, 1, sizeof *vm);
    d->data = vm;
    mrb_obj_iv_set(mrb, (struct RObject *)mrb->object_class,
                   mrb_intern_lit(mrb, "__mrun_regexp_state"), mrb_obj_value(d));
    vm->mrb = mrb;
    onig_region_init(&vm->region);
    vm->mp = onig_new_match_param();
    if (!vm->mp)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory (Oniguruma match parameters)");
    onig_initialize_match_param(vm->mp);
    onig_set_retry_limit_in_match_of_match_param(vm->mp, RX_RETRY_LIMIT_IN_MATCH);
    onig_set_retry_limit_in_search_of_match_param(vm->mp, RX_RETRY_LIMIT_IN_SEARCH);
    vm->regexp_class = re;
    vm->match_class = md;
    vm->error_class = err;
    vm->timeout_class = tmo;
    vm->sym_string = mrb_intern_lit(mrb, "__string");
    vm->sym_tilde = mrb_intern_lit(mrb, "$~");
    vm->cache = mrb_hash_new(mrb);
    for (int i = 0; i < RX_LIT_SLOTS; i++)
        vm->lit[i].re = mrb_nil_value();
    mrb_obj_iv_set(mrb, (struct RObject *)re, mrb_intern_lit(mrb, "__cache"), vm->cache);
    refresh_gv(mrb, vm);
    vm->gv_clear = true;
    tls_mrb = mrb;
    tls_vm = vm;

    mrb_define_const(mrb, re, "IGNORECASE", mrb_int_value(mrb, RX_IGNORECASE));
    mrb_define_const(mrb, re, "EXTENDED", mrb_int_value(mrb, RX_EXTENDED));
    mrb_define_const(mrb, re, "MULTILINE", mrb_int_value(mrb, RX_MULTILINE));
    mrb_define_const(mrb, re, "FIXEDENCODING", mrb_int_value(mrb, RX_FIXEDENCODING));
    mrb_define_const(mrb, re, "NOENCODING", mrb_int_value(mrb, RX_NOENCODING));

    /* clang-format off */
    mrb_define_class_method(mrb, re, "compile",     regexp_s_compile,    MRB_ARGS_ARG(1, 2));
    mrb_define_class_method(mrb, re, "escape",      regexp_s_escape,     MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, re, "quote",       regexp_s_escape,     MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, re, "last_match",  regexp_s_last_match, MRB_ARGS_OPT(1));
    mrb_define_method(mrb, re, "initialize",        regexp_initialize,   MRB_ARGS_ARG(1, 2));
    mrb_define_method(mrb, re, "initialize_copy",   regexp_init_copy,    MRB_ARGS_REQ(1));
    mrb_define_method(mrb, re, "source",            regexp_source,       MRB_ARGS_NONE());
    mrb_define_method(mrb, re, "options",           regexp_options,      MRB_ARGS_NONE());
    mrb_define_method(mrb, re, "casefold?",         regexp_casefold_p,   MRB_ARGS_NONE());
    mrb_define_method(mrb, re, "inspect",           regexp_inspect,      MRB_ARGS_NONE());
    mrb_define_method(mrb, re, "to_s",              regexp_to_s,         MRB_ARGS_NONE());
    mrb_define_method(mrb, re, "==",                regexp_eq,           MRB_ARGS_REQ(1));
    mrb_define_method(mrb, re, "eql?",              regexp_eq,           MRB_ARGS_REQ(1));
    mrb_define_method(mrb, re, "hash",              regexp_hash,         MRB_ARGS_NONE());
    mrb_define_method(mrb, re, "match",             regexp_match,        MRB_ARGS_ARG(1, 1) | MRB_ARGS_BLOCK());
    mrb_define_method(mrb, re, "match?",            regexp_match_p,      MRB_ARGS_ARG(1, 1));
    mrb_define_method(mrb, re, "=~",                regexp_match_op,     MRB_ARGS_REQ(1));
    mrb_define_method(mrb, re, "===",               regexp_eqq,          MRB_ARGS_REQ(1));
    mrb_define_method(mrb, re, "__names",           regexp_names_groups, MRB_ARGS_NONE());

    /* clang-format on */

    rx_match_init(mrb, md);
    rx_string_init(mrb);
}

const struct rt_module rt_module_regexp = {.name = "regexp", .vm_init = regexp_vm_init};
