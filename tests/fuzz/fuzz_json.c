/*
 * fuzz_json.c — libFuzzer target for JSON.parse and JSON.generate (runtime/json.c) over the
 * strict mode of formats/json.c (the readers' targets reach only its lenient mode).
 *
 * The first byte chooses the options (symbolize_names, allow_nan, max_nesting 100 or off); the
 * rest is the document. The C parser's result is checked on its own (the subtree sizes add up,
 * every string is well-formed UTF-8 with no lone surrogate), then the document goes through the
 * VM: when JSON.parse accepts it, generate(parse(text)) must be a fixed point (parsing and
 * generating it again gives the same text), so the generator always writes what the parser reads
 * back and Floats print stably. Any other exception than JSON::JSONError traps, as does a
 * refusal by the C parser without a message. Seed corpus: tests/fuzz/corpus/json/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mruby.h>
#include <mruby/hash.h>
#include <mruby/string.h>

#include "formats/json.h"
#include "runtime/rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct rt_module rt_module_json;

static mrb_state *vm;

static bool
utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (!k || i + k > n)
            return false;
        uint32_t cp = k == 1 ? c : c & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            return false;
        i += k;
    }
    return true;
}

static void
check_c_parser(const uint8_t *data, size_t size, unsigned flags)
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = 0;
    struct json_opts o = {flags, 0};
    struct json_doc doc;
    struct json_error e;
    if (json_parse_opts(buf, size, &o, &doc, &e) == 0) {
        if (!doc.n || doc.v[0].size != doc.n)
            __builtin_trap();
        for (size_t i = 0; i < doc.n; i++) {
            const struct json_val *v = &doc.v[i];
            if (v->size == 0 || i + v->size > doc.n)
                __builtin_trap();
            if (v->type == JSON_STRING && !utf8_ok((const unsigned char *)v->str, v->len))
                __builtin_trap();
            if (v->key && !utf8_ok((const unsigned char *)v->key, v->key_len))
                __builtin_trap();
        }
        json_free(&doc);
    } else if (!e.what.msg[0] || e.offset > size) {
        __builtin_trap();
    }
    free(buf);
}

/* JSON.name(arg, opts) with the exception caught: the result, or nil with *exc set. */
static mrb_value
call(const char *name, mrb_value arg, mrb_value opts, mrb_value *exc)
{
    mrb_value argv[2] = {arg, opts};
    mrb_value json = mrb_obj_value(mrb_module_get(vm, "JSON"));
    mrb_value r = mrb_funcall_argv(vm, json, mrb_intern_cstr(vm, name), 2, argv);
    *exc = vm->exc ? mrb_obj_value(vm->exc) : mrb_nil_value();
    vm->exc = NULL;
    return r;
}

static void
expect_json_error(mrb_value exc)
{
    struct RClass *base = mrb_class_get_under(vm, mrb_module_get(vm, "JSON"), "JSONError");
    if (!mrb_obj_is_kind_of(vm, exc, base))
        __builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned sel = data[0];
    data++, size--;
    check_c_parser(data, size, JSON_STRICT | JSON_EXACT_INTS | (sel & 2 ? JSON_ALLOW_NAN : 0));

    if (!vm) {
        vm = mrb_open();
        if (!vm)
            abort();
        rt_module_json.vm_init(vm);
    }
    int ai = mrb_gc_arena_save(vm);
    mrb_value opts = mrb_hash_new(vm);
    mrb_hash_set(vm, opts, mrb_symbol_value(mrb_intern_lit(vm, "symbolize_names")),
                 mrb_bool_value(sel & 1));
    mrb_hash_set(vm, opts, mrb_symbol_value(mrb_intern_lit(vm, "allow_nan")),
                 mrb_bool_value(sel & 2));
    if (sel & 4)
        mrb_hash_set(vm, opts, mrb_symbol_value(mrb_intern_lit(vm, "max_nesting")),
                     mrb_false_value());
    mrb_value exc;
    mrb_value v = call("parse", mrb_str_new(vm, (const char *)data, size), opts, &exc);
    if (!mrb_nil_p(exc)) {
        expect_json_error(exc);
    } else {
        mrb_value t1 = call("generate", v, opts, &exc);
        if (!mrb_nil_p(exc)) {
            /* Only a document deeper than the generator's bound may fail to generate. */
            expect_json_error(exc);
        } else {
            mrb_value v2 = call("parse", t1, opts, &exc);
            if (!mrb_nil_p(exc))
                __builtin_trap(); /* the generator wrote what the parser refuses */
            mrb_value t2 = call("generate", v2, opts, &exc);
            if (!mrb_nil_p(exc) || !mrb_string_p(t2) || RSTRING_LEN(t1) != RSTRING_LEN(t2) ||
                memcmp(RSTRING_PTR(t1), RSTRING_PTR(t2), (size_t)RSTRING_LEN(t1)) != 0)
                __builtin_trap(); /* not a fixed point */
        }
    }
    mrb_gc_arena_restore(vm, ai);
    return 0;
}
