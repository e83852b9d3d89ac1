/*
 * json.c — the JSON module: JSON.parse, JSON.generate, JSON.pretty_generate, #to_json, and
 * the errors JSON::ParserError (JSON::NestingError), JSON::GeneratorError. CRuby's json gem is
 * the reference for names and behaviour; docs/script-api.md "## JSON" lists where it differs.
 *
 * Parsing is formats/json.c's one-pass parser (the same one the profile readers use) in its
 * strict mode, on a private copy of the string (the parser decodes strings in place). Its flat
 * array of values (a container followed by its subtree) becomes Ruby objects in one loop with an
 * explicit stack, so a document nested as deep as max_nesting allows never recurses in C.
 *
 * Generation writes straight into the capacity of one Ruby String, growing it by doubling. It
 * recurses once per level of nesting, bounded by max_nesting (default 100, as CRuby) and in any
 * case by GEN_HARD_DEPTH, so a cyclic structure is a NestingError, never a stack overflow.
 *
 * A module with a vm_init only: JSON is pure, so Deferred workers' VMs get it too.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/object.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/throw.h>

#include "formats/json.h"
#include "runtime/rt.h"

#define PARSE_MAX_NESTING 100 /* CRuby's default for parse and generate */
#define GEN_HARD_DEPTH 10000  /* generation recurses in C: never deeper than this */

static struct RClass *
json_class(mrb_state *mrb, const char *name)
{
    return mrb_class_get_under(mrb, mrb_module_get(mrb, "JSON"), name);
}

/* ---- options ---------------------------------------------------------------------------- */

/* The value of opts[:name] (a Symbol or String key), or undef. */
static mrb_value
opt_get(mrb_state *mrb, mrb_value opts, const char *name)
{
    if (!mrb_hash_p(opts))
        return mrb_undef_value();
    mrb_value v =
        mrb_hash_fetch(mrb, opts, mrb_symbol_value(mrb_intern_cstr(mrb, name)), mrb_undef_value());
    if (mrb_undef_p(v))
        v = mrb_hash_fetch(mrb, opts, mrb_str_new_cstr(mrb, name), mrb_undef_value());
    return v;
}

static bool
opt_bool(mrb_state *mrb, mrb_value opts, const char *name, bool dflt)
{
    mrb_value v = opt_get(mrb, opts, name);
    return mrb_undef_p(v) ? dflt : mrb_test(v);
}

/* max_nesting: an Integer > 0 is the limit; 0, false or nil turn the check off (CRuby). */
static size_t
opt_nesting(mrb_state *mrb, mrb_value opts, size_t dflt, size_t off)
{
    mrb_value v = opt_get(mrb, opts, "max_nesting");
    if (mrb_undef_p(v))
        return dflt;
    if (!mrb_test(v))
        return off;
    if (!mrb_integer_p(v))
        mrb_raisef(mrb, E_TYPE_ERROR, "max_nesting must be an Integer, false or nil, not %s",
                   mrb_obj_classname(mrb, v));
    mrb_int n = mrb_integer(v);
    if (n < 0)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "max_nesting must not be negative (%i)", n);
    return n == 0 ? off : (size_t)n;
}

/* ---- parse ------------------------------------------------------------------------------ */

struct parse_frame {
    mrb_value c;                /* the Array or Hash being filled */
    const struct json_val *end; /* one past its subtree */
};

static mrb_noreturn void
raise_parse_error(mrb_state *mrb, const char *text, const struct json_error *e, size_t depth)
{
    char where[96];
    snprintf(where, sizeof where, "at line %zu column %zu", e->line, e->column);
    const char *what = e->what.msg;
    if (e->what.code == -ENOMEM)
        mrb_raisef(mrb, E_RUNTIME_ERROR, "JSON.parse: out of memory");
    if (e->too_deep)
        mrb_raisef(mrb, json_class(mrb, "NestingError"), "nesting of %d is too deep %s",
                   (int)depth + 1, where);
    if (e->truncated)
        mrb_raisef(mrb, json_class(mrb, "ParserError"), "unexpected end of input %s: %s", where,
                   what);
    if (strncmp(what, "expected", 8) == 0 || strncmp(what, "more data", 9) == 0) {
        unsigned char c = (unsigned char)text[e->offset];
        if (c > 0x20 && c < 0x7f)
            mrb_raisef(mrb, json_class(mrb, "ParserError"), "unexpected character '%c' %s: %s",
                       (int)c, where, what);
        char byte[8];
        snprintf(byte, sizeof byte, "0x%02x", c);
        mrb_raisef(mrb, json_class(mrb, "ParserError"), "unexpected byte %s %s: %s", byte, where,
                   what);
    }
    mrb_raisef(mrb, json_class(mrb, "ParserError"), "%s %s", what, where);
}

/*
 * Object keys repeat (an array of records has the same few names thousands of times): one
 * frozen String per distinct short key is made and shared by every Hash that has it, as CRuby
 * shares frozen keys. A direct-mapped cache of KEY_SLOTS entries; the Strings it made are also
 * kept in an Array (keep) so that one the Hashes no longer hold (a duplicate key) stays alive
 * while a slot still points at it.
 */
#define KEY_SLOTS 1024
#define KEY_MAX_LEN 64
#define KEY_MAX_KEPT 65536

struct key_slot {
    const char *p; /* the decoded key in the parser's buffer */
    uint32_t len;
    mrb_value str;
};

/* What build_loop allocates with malloc, freed by build even when a Ruby allocation raises. */
struct build_mem {
    struct parse_frame *stack;
    struct key_slot *keys;
};

static mrb_value
key_string(mrb_state *mrb, struct build_mem *m, mrb_value keep, const char *p, uint32_t len)
{
    if (len <= KEY_MAX_LEN && m->keys && RARRAY_LEN(keep) < KEY_MAX_KEPT) {
        uint32_t h = 2166136261u;
        for (uint32_t i = 0; i < len; i++)
            h = (h ^ (unsigned char)p[i]) * 16777619u;
        struct key_slot *s = &m->keys[h & (KEY_SLOTS - 1)];
        if (s->p && s->len == len && memcmp(s->p, p, len) == 0)
            return s->str;
        mrb_value k = mrb_str_new(mrb, p, len);
        MRB_SET_FROZEN_FLAG(mrb_obj_ptr(k));
        mrb_ary_push(mrb, keep, k);
        s->p = p;
        s->len = len;
        s->str = k;
        return k;
    }
    /* Frozen already, so Hash#[]= keeps it instead of copying it. */
    mrb_value k = mrb_str_new(mrb, p, len);
    MRB_SET_FROZEN_FLAG(mrb_obj_ptr(k));
    return k;
}

/* The parsed document as Ruby objects, in one pass over the flat array with an explicit stack
 * (m->stack, grown here). */
static mrb_value
build_loop(mrb_state *mrb, const struct json_doc *doc, bool symbolize, struct build_mem *m)
{
    const struct json_val *v = doc->v, *end = doc->v + doc->n;
    size_t depth = 0, cap = 0;
    mrb_value keep = mrb_ary_new(mrb); /* in the arena below ai: lives through the loop */
    if (!symbolize)
        m->keys = calloc(KEY_SLOTS, sizeof *m->keys); /* NULL: no sharing, still correct */
    mrb_value root = mrb_nil_value();
    int ai = mrb_gc_arena_save(mrb);
    while (v < end) {
        mrb_value val;
        switch (v->type) {
        case JSON_NULL:
            val = mrb_nil_value();
            break;
        case JSON_TRUE:
            val = mrb_true_value();
            break;
        case JSON_FALSE:
            val = mrb_false_value();
            break;
        case JSON_NUMBER:
            val = v->flags & JSON_V_INT ? mrb_int_value(mrb, (mrb_int)v->i)
                                        : mrb_float_value(mrb, v->num);
            break;
        case JSON_STRING:
            val = mrb_str_new(mrb, v->str, v->len);
            break;
        case JSON_ARRAY:
            val = mrb_ary_new_capa(mrb, v->len);
            break;
        default:
            val = mrb_hash_new_capa(mrb, v->len);
            break;
        }
        if (depth == 0) {
            root = val;
            ai = mrb_gc_arena_save(mrb); /* root stays in the arena; all else hangs off it */
        } else {
            mrb_value c = m->stack[depth - 1].c;
            if (mrb_hash_p(c)) {
                mrb_value k = symbolize ? mrb_symbol_value(mrb_intern(mrb, v->key, v->key_len))
                                        : key_string(mrb, m, keep, v->key, v->key_len);
                mrb_hash_set(mrb, c, k, val);
            } else {
                mrb_ary_push(mrb, c, val);
            }
        }
        if ((v->type == JSON_ARRAY || v->type == JSON_OBJECT) && v->len) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                struct parse_frame *st = realloc(m->stack, ncap * sizeof *st);
                if (!st)
                    mrb_raise(mrb, E_RUNTIME_ERROR, "JSON.parse: out of memory");
                m->stack = st;
                cap = ncap;
            }
            m->stack[depth].c = val;
            m->stack[depth].end = v + v->size;
            depth++;
        }
        v++;
        while (depth && v >= m->stack[depth - 1].end)
            depth--;
        mrb_gc_arena_restore(mrb, ai);
    }
    return root;
}

/* build_loop, then frees buf, doc and what build_loop allocated, also when it raised. */
static mrb_value
build(mrb_state *mrb, char *buf, struct json_doc *doc, bool symbolize)
{
    struct build_mem m = {NULL, NULL}; /* in memory (its address is taken): kept by longjmp */
    mrb_value root = mrb_nil_value();
    struct mrb_jmpbuf *prev_jmp = mrb->jmp;
    struct mrb_jmpbuf c_jmp;
    MRB_TRY(&c_jmp)
    {
        mrb->jmp = &c_jmp;
        root = build_loop(mrb, doc, symbolize, &m);
        mrb->jmp = prev_jmp;
    }
    MRB_CATCH(&c_jmp)
    {
        mrb->jmp = prev_jmp;
        free(m.stack);
        free(m.keys);
        json_free(doc);
        free(buf);
        MRB_THROW(mrb->jmp);
    }
    MRB_END_EXC(&c_jmp);
    free(m.stack);
    free(m.keys);
    json_free(doc);
    free(buf);
    return root;
}

/* JSON.parse(source, symbolize_names: false, max_nesting: 100, allow_nan: false) */
static mrb_value
json_parse_m(mrb_state *mrb, mrb_value self)
{
    mrb_value src, opts = mrb_nil_value();
    mrb_get_args(mrb, "o|H!", &src, &opts);
    if (!mrb_string_p(src))
        mrb_raisef(mrb, E_TYPE_ERROR, "JSON.parse needs a String, not %s",
                   mrb_obj_classname(mrb, src));
    bool symbolize = opt_bool(mrb, opts, "symbolize_names", false);
    bool allow_nan = opt_bool(mrb, opts, "allow_nan", false);
    size_t max_depth = opt_nesting(mrb, opts, PARSE_MAX_NESTING, SIZE_MAX / 4);
    size_t len = (size_t)RSTRING_LEN(src);
    if (len >= UINT32_MAX)
        mrb_raisef(mrb, json_class(mrb, "ParserError"),
                   "a document of %i bytes is more than JSON.parse reads (4 GiB)", (mrb_int)len);
    /* A private copy: the parser decodes strings in place. */
    char *buf = malloc(len + 1);
    if (!buf)
        mrb_raise(mrb, E_RUNTIME_ERROR, "JSON.parse: out of memory");
    memcpy(buf, RSTRING_PTR(src), len);
    buf[len] = 0;
    struct json_opts o = {JSON_STRICT | JSON_EXACT_INTS | (allow_nan ? JSON_ALLOW_NAN : 0),
                          max_depth};
    struct json_doc doc;
    struct json_error err;
    if (json_parse_opts(buf, len, &o, &doc, &err) != 0) {
        free(buf);
        /* The message quotes the original text (buf was decoded in place). */
        raise_parse_error(mrb, RSTRING_PTR(src), &err, max_depth);
    }
    return build(mrb, buf, &doc, symbolize);
}

/* ---- generate --------------------------------------------------------------------------- */

struct gen {
    mrb_state *mrb;
    mrb_value str; /* the result; its capacity is the buffer */
    char *p;       /* RSTRING_PTR(str) */
    size_t len, cap;
    bool pretty, allow_nan;
    size_t max_nesting;
    uint64_t ruby_calls; /* calls into Ruby code (to_json, to_s) so far: it may change anything */
    mrb_sym to_json, to_s;
};

static void
gen_grow(struct gen *g, size_t n)
{
    size_t cap = g->cap * 2;
    if (cap < g->len + n)
        cap = g->len + n;
    if (cap > MRB_INT_MAX - 1)
        mrb_raise(g->mrb, json_class(g->mrb, "GeneratorError"), "the JSON text is too long");
    /* mrb_str_resize keeps the bytes and sets the length to cap; the true length is g->len. */
    mrb_str_resize(g->mrb, g->str, (mrb_int)cap);
    g->p = RSTRING_PTR(g->str);
    g->cap = cap;
}

static inline char *
gen_room(struct gen *g, size_t n)
{
    if (g->len + n > g->cap)
        gen_grow(g, n);
    return g->p + g->len;
}

static inline void
gen_put(struct gen *g, const char *s, size_t n)
{
    memcpy(gen_room(g, n), s, n);
    g->len += n;
}

static inline void
gen_putc(struct gen *g, char c)
{
    *gen_room(g, 1) = c;
    g->len++;
}

static void
gen_newline(struct gen *g, size_t depth)
{
    char *w = gen_room(g, 1 + 2 * depth);
    *w++ = '\n';
    memset(w, ' ', 2 * depth);
    g->len += 1 + 2 * depth;
}

static void
gen_int(struct gen *g, mrb_int v)
{
    char tmp[24];
    int i = sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    gen_put(g, tmp + i, sizeof tmp - (size_t)i);
}

/*
 * A finite Float as CRuby's Float#to_s writes it: the shortest digits (of 15, 16 or 17) that
 * read back as the same Float, fixed notation when the decimal exponent is in [-4, 16)
 * ("100.0", "0.0001"), else d.ddde+XX ("1.0e+20", "1.5e-07").
 *
 * "The same Float" is the VM's: Debian's mruby boxes a Float in a word and drops the two low
 * bits of its mantissa, so JSON.parse("0.1") is 0x3fb9999999999998, not ...9a. Reading the
 * digits back goes through the same boxing (mrb_float_value), so that Float prints as "0.1".
 */
static size_t
float_text(mrb_state *mrb, double d, char *out)
{
    char buf[40];
    int prec;
    for (prec = 15; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (mrb_float(mrb_float_value(mrb, strtod(buf, NULL))) == d)
            break;
    }
    if (prec == 17)
        snprintf(buf, sizeof buf, "%.16e", d);
    /* buf: [-]D.DDDDe[+-]XX */
    char *s = buf, *w = out;
    if (*s == '-')
        *w++ = *s++;
    char digits[20];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.')
            digits[nd++] = *s;
    int ex = atoi(s + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int decpt = ex + 1; /* value = 0.DIGITS x 10^decpt */
    if (decpt >= -3 && decpt <= 15) {
        if (decpt <= 0) {
            *w++ = '0';
            *w++ = '.';
            for (int k = 0; k < -decpt; k++)
                *w++ = '0';
            memcpy(w, digits, (size_t)nd);
            w += nd;
        } else if (decpt >= nd) {
            memcpy(w, digits, (size_t)nd);
            w += nd;
            for (int k = nd; k < decpt; k++)
                *w++ = '0';
            *w++ = '.';
            *w++ = '0';
        } else {
            memcpy(w, digits, (size_t)decpt);
            w += decpt;
            *w++ = '.';
            memcpy(w, digits + decpt, (size_t)(nd - decpt));
            w += nd - decpt;
        }
    } else {
        *w++ = digits[0];
        *w++ = '.';
        if (nd > 1) {
            memcpy(w, digits + 1, (size_t)(nd - 1));
            w += nd - 1;
        } else {
            *w++ = '0';
        }
        w += sprintf(w, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    }
    return (size_t)(w - out);
}

static void
gen_float(struct gen *g, double d)
{
    if (isnan(d) || isinf(d)) {
        const char *t = isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
        if (!g->allow_nan)
            mrb_raisef(g->mrb, json_class(g->mrb, "GeneratorError"),
                       "%s not allowed in JSON (pass allow_nan: true to write it)", t);
        gen_put(g, t, strlen(t));
        return;
    }
    char tmp[48];
    gen_put(g, tmp, float_text(g->mrb, d, tmp));
}

/* Bytes of a JSON string that need more than themselves: 1 an escape, 2 the start of a UTF-8
 * sequence to check. */
static const uint8_t esc_class[256] = {
    [0x00 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xff] = 2,
};

static void
gen_string(struct gen *g, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case 6 bytes per input byte (\u00XX) plus the quotes. */
    char *w = gen_room(g, 6 * n + 2);
    char *w0 = w;
    *w++ = '"';
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        uint8_t k = esc_class[c];
        if (!k) {
            *w++ = (char)c;
            i++;
            continue;
        }
        if (k == 2) {
            size_t m = json_utf8_len(u + i, n - i);
            if (!m) {
                char byte[8];
                snprintf(byte, sizeof byte, "0x%02x", c);
                mrb_raisef(g->mrb, json_class(g->mrb, "GeneratorError"),
                           "source sequence is illegal/malformed utf-8 (byte %s at offset %i of "
                           "a String)",
                           byte, (mrb_int)i);
            }
            memcpy(w, u + i, m);
            w += m;
            i += m;
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"':
            *w++ = '"';
            break;
        case '\\':
            *w++ = '\\';
            break;
        case '\b':
            *w++ = 'b';
            break;
        case '\f':
            *w++ = 'f';
            break;
        case '\n':
            *w++ = 'n';
            break;
        case '\r':
            *w++ = 'r';
            break;
        case '\t':
            *w++ = 't';
            break;
        default:
            *w++ = 'u';
            *w++ = '0';
            *w++ = '0';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
        i++;
    }
    *w++ = '"';
    g->len += (size_t)(w - w0);
}

static mrb_value json_to_json(mrb_state *mrb, mrb_value self);
static void gen_value(struct gen *g, mrb_value v, size_t depth);

static void
gen_str_value(struct gen *g, mrb_value s)
{
    gen_string(g, RSTRING_PTR(s), (size_t)RSTRING_LEN(s));
}

struct hash_walk {
    struct gen *g;
    size_t depth;
    bool first;
    mrb_int done;   /* members written */
    uint64_t calls; /* g->ruby_calls when the walk began */
};

static int
gen_member(mrb_state *mrb, mrb_value key, mrb_value val, void *data)
{
    struct hash_walk *hw = data;
    struct gen *g = hw->g;
    int ai = mrb_gc_arena_save(mrb);
    if (!hw->first)
        gen_putc(g, ',');
    hw->first = false;
    if (g->pretty)
        gen_newline(g, hw->depth + 1);
    if (mrb_string_p(key)) {
        gen_str_value(g, key);
    } else if (mrb_symbol_p(key)) {
        mrb_int n;
        const char *s = mrb_sym_name_len(mrb, mrb_symbol(key), &n);
        gen_string(g, s, (size_t)n);
    } else {
        g->ruby_calls++;
        gen_str_value(g, mrb_obj_as_string(mrb, key));
    }
    if (g->pretty)
        gen_put(g, ": ", 2);
    else
        gen_putc(g, ':');
    gen_value(g, val, hw->depth + 1);
    mrb_gc_arena_restore(mrb, ai);
    hw->done++;
    /* Ruby code ran (a to_json or to_s): it may have changed this Hash, whose entry table
     * mrb_hash_foreach holds; stop walking it (gen_hash goes on from a copy). */
    return g->ruby_calls != hw->calls;
}

static void
check_depth(struct gen *g, size_t depth)
{
    if (depth + 1 > g->max_nesting || depth + 1 > GEN_HARD_DEPTH)
        mrb_raisef(g->mrb, json_class(g->mrb, "NestingError"), "nesting of %i is too deep",
                   (mrb_int)(depth + 1));
}

static void
gen_array(struct gen *g, mrb_value a, size_t depth)
{
    check_depth(g, depth);
    mrb_gc_protect(g->mrb, a); /* alive while written, even if Ruby code drops it */
    gen_putc(g, '[');
    /* RARRAY_LEN is read each time: a to_json called on an element may change the array. */
    for (mrb_int i = 0; i < RARRAY_LEN(a); i++) {
        int ai = mrb_gc_arena_save(g->mrb);
        if (i)
            gen_putc(g, ',');
        if (g->pretty)
            gen_newline(g, depth + 1);
        gen_value(g, RARRAY_PTR(a)[i], depth + 1);
        mrb_gc_arena_restore(g->mrb, ai);
    }
    if (g->pretty && RARRAY_LEN(a))
        gen_newline(g, depth);
    gen_putc(g, ']');
}

static void
gen_hash(struct gen *g, mrb_value h, size_t depth)
{
    check_depth(g, depth);
    mrb_gc_protect(g->mrb, h); /* alive while written, even if Ruby code drops it */
    gen_putc(g, '{');
    struct hash_walk hw = {g, depth, true, 0, g->ruby_calls};
    mrb_hash_foreach(g->mrb, mrb_hash_ptr(h), gen_member, &hw);
    if (g->ruby_calls != hw.calls) {
        /* Walking on after Ruby code ran: the members after those written, in the Hash as it is
         * now, from copies of its keys and values (in the arena: kept alive whatever the code
         * does to the Hash). CRuby raises when a key is added during generation; this goes on. */
        mrb_value keys = mrb_hash_keys(g->mrb, h);
        mrb_value vals = mrb_hash_values(g->mrb, h);
        for (mrb_int i = hw.done; i < RARRAY_LEN(keys) && i < RARRAY_LEN(vals); i++) {
            hw.calls = g->ruby_calls;
            gen_member(g->mrb, RARRAY_PTR(keys)[i], RARRAY_PTR(vals)[i], &hw);
        }
    }
    if (g->pretty && !hw.first)
        gen_newline(g, depth);
    gen_putc(g, '}');
}

/*
 * One value. The core classes are written directly. Any other object: its own to_json when it
 * has one (called with no arguments if it takes none, else with one nil, where CRuby passes its
 * generator state), whose String result is inserted as it is; without one (Object#to_json is
 * this module's), its to_s as a JSON string, as CRuby's generic Object#to_json.
 */
static void
gen_value(struct gen *g, mrb_value v, size_t depth)
{
    mrb_state *mrb = g->mrb;
    switch (mrb_type(v)) {
    case MRB_TT_FALSE:
        if (mrb_nil_p(v))
            gen_put(g, "null", 4);
        else
            gen_put(g, "false", 5);
        return;
    case MRB_TT_TRUE:
        gen_put(g, "true", 4);
        return;
    case MRB_TT_INTEGER:
        gen_int(g, mrb_integer(v));
        return;
    case MRB_TT_FLOAT:
        gen_float(g, mrb_float(v));
        return;
    case MRB_TT_SYMBOL: {
        mrb_int n;
        const char *s = mrb_sym_name_len(mrb, mrb_symbol(v), &n);
        gen_string(g, s, (size_t)n);
        return;
    }
    default:
        break;
    }
    struct RClass *c = mrb_class(mrb, v);
    if (c == mrb->string_class) {
        gen_str_value(g, v);
        return;
    }
    if (c == mrb->array_class) {
        gen_array(g, v, depth);
        return;
    }
    if (c == mrb->hash_class) {
        gen_hash(g, v, depth);
        return;
    }
    struct RClass *owner = c;
    mrb_method_t m = mrb_method_search_vm(mrb, &owner, g->to_json);
    if (!MRB_METHOD_UNDEF_P(m) && MRB_METHOD_CFUNC(m) != json_to_json) {
        mrb_int argc = 0;
        if (MRB_METHOD_PROC_P(m) && !MRB_PROC_CFUNC_P(MRB_METHOD_PROC(m))) {
            mrb_int ar = mrb_proc_arity(MRB_METHOD_PROC(m));
            argc = ar == 0 || ar == -1 ? 0 : 1;
        } else {
            argc = 0;
        }
        check_depth(g, depth);
        g->ruby_calls++;
        mrb_value nil = mrb_nil_value();
        mrb_value r = mrb_funcall_argv(mrb, v, g->to_json, argc, &nil);
        if (!mrb_string_p(r))
            mrb_raisef(mrb, E_TYPE_ERROR, "%s#to_json returned %s, not a String",
                       mrb_obj_classname(mrb, v), mrb_obj_classname(mrb, r));
        gen_put(g, RSTRING_PTR(r), (size_t)RSTRING_LEN(r));
        return;
    }
    /* This module's to_json: by the object's type, as the core class it derives from. */
    switch (mrb_type(v)) {
    case MRB_TT_STRING:
        gen_str_value(g, v);
        return;
    case MRB_TT_ARRAY:
        gen_array(g, v, depth);
        return;
    case MRB_TT_HASH:
        gen_hash(g, v, depth);
        return;
    default:
        g->ruby_calls++;
        gen_str_value(g, mrb_obj_as_string(mrb, v));
        return;
    }
}

/* The whole text of v; opts as JSON.generate's. */
static mrb_value
generate(mrb_state *mrb, mrb_value v, mrb_value opts, bool pretty)
{
    struct gen g = {.mrb = mrb};
    g.pretty = pretty;
    g.allow_nan = opt_bool(mrb, opts, "allow_nan", false);
    g.max_nesting = opt_nesting(mrb, opts, PARSE_MAX_NESTING, GEN_HARD_DEPTH);
    g.to_json = mrb_intern_lit(mrb, "to_json");
    g.cap = 128;
    g.str = mrb_str_new_capa(mrb, g.cap);
    mrb_str_resize(mrb, g.str, (mrb_int)g.cap);
    g.p = RSTRING_PTR(g.str);
    gen_value(&g, v, 0);
    mrb_str_resize(mrb, g.str, (mrb_int)g.len);
    return g.str;
}

/* JSON.generate(obj, allow_nan: false, max_nesting: 100) */
static mrb_value
json_generate_m(mrb_state *mrb, mrb_value self)
{
    mrb_value v, opts = mrb_nil_value();
    mrb_get_args(mrb, "o|H!", &v, &opts);
    return generate(mrb, v, opts, false);
}

/* JSON.pretty_generate(obj, allow_nan: false, max_nesting: 100): two spaces a level. */
static mrb_value
json_pretty_generate_m(mrb_state *mrb, mrb_value self)
{
    mrb_value v, opts = mrb_nil_value();
    mrb_get_args(mrb, "o|H!", &v, &opts);
    return generate(mrb, v, opts, true);
}

/* obj.to_json(*): JSON.generate(obj) for the core classes; obj.to_s as a JSON string for any
 * other object (CRuby's generic Object#to_json). The argument (CRuby's generator state) is
 * accepted and ignored. */
static mrb_value
json_to_json(mrb_state *mrb, mrb_value self)
{
    mrb_value *argv;
    mrb_int argc;
    mrb_get_args(mrb, "*", &argv, &argc);
    return generate(mrb, self, mrb_nil_value(), false);
}

static void
json_vm_init(mrb_state *mrb)
{
    struct RClass *json = mrb_define_module(mrb, "JSON");
    struct RClass *base = mrb_define_class_under(mrb, json, "JSONError", mrb->eStandardError_class);
    struct RClass *perr = mrb_define_class_under(mrb, json, "ParserError", base);
    mrb_define_class_under(mrb, json, "NestingError", perr);
    mrb_define_class_under(mrb, json, "GeneratorError", base);

    mrb_define_module_function(mrb, json, "parse", json_parse_m, MRB_ARGS_ARG(1, 1));
    mrb_define_module_function(mrb, json, "generate", json_generate_m, MRB_ARGS_ARG(1, 1));
    mrb_define_module_function(mrb, json, "pretty_generate", json_pretty_generate_m,
                               MRB_ARGS_ARG(1, 1));

    struct RClass *const to_json_classes[] = {
        mrb->object_class,  mrb->nil_class,   mrb->true_class,   mrb->false_class,
        mrb->integer_class, mrb->float_class, mrb->string_class, mrb->symbol_class,
        mrb->array_class,   mrb->hash_class,
    };
    for (size_t i = 0; i < sizeof to_json_classes / sizeof *to_json_classes; i++)
        mrb_define_method(mrb, to_json_classes[i], "to_json", json_to_json, MRB_ARGS_ANY());
}

const struct rt_module rt_module_json = {.name = "json", .vm_init = json_vm_init};
