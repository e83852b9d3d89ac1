/*
 * test_copy.c — runtime/copy.c: values encoded in one mrb_state, decoded in another.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/compile.h>
#include <mruby/string.h>

#include "runtime/copy.h"

static mrb_state *from, *to;

static void
setup(void)
{
    from = mrb_open();
    to = mrb_open();
}

static void
teardown(void)
{
    mrb_close(from);
    mrb_close(to);
}

TestSuite(copy, .init = setup, .fini = teardown);

static mrb_value
eval(mrb_state *mrb, const char *code)
{
    mrb_value v = mrb_load_string(mrb, code);
    cr_assert_null(mrb->exc, "%s raised", code);
    return v;
}

/* Copies the value of `code` from one VM to the other and returns its inspect there. */
static const char *
round_trip(const char *code, char *out, size_t len)
{
    struct copy_buf b = {0};
    struct mp_err err = {0};
    cr_assert_eq(copy_encode(from, eval(from, code), "args", &b, &err), COPY_OK, "%s: %s", code,
                 err.msg);
    mrb_value v = copy_decode(to, b.data, b.len);
    copy_buf_free(&b);
    mrb_value s = mrb_inspect(to, v);
    snprintf(out, len, "%.*s", (int)RSTRING_LEN(s), RSTRING_PTR(s));
    return out;
}

Test(copy, every_supported_type_comes_back_equal)
{
    static const char *const cases[][2] = {
        {"nil", "nil"},
        {"true", "true"},
        {"false", "false"},
        {"-42", "-42"},
        {"2**61", "2305843009213693952"},
        {"1.5", "1.5"},
        {"\"a\\x00\\xffb\"", "\"a\\x00\\xffb\""},
        {":sym", ":sym"},
        {"[1, [2, []], {}]", "[1, [2, []], {}]"},
        {"{a: 1, \"b\" => [nil], [1] => :k}", "{:a=>1, \"b\"=>[nil], [1]=>:k}"},
    };
    char buf[200];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_str_eq(round_trip(cases[i][0], buf, sizeof buf), cases[i][1], "%s", cases[i][0]);
}

Test(copy, shared_references_stay_shared)
{
    struct copy_buf b = {0};
    struct mp_err err = {0};
    mrb_value v = eval(from, "s = 'x'; a = [1]; [s, s, a, {k: a}]");
    cr_assert_eq(copy_encode(from, v, "args", &b, &err), COPY_OK);
    mrb_value c = copy_decode(to, b.data, b.len);
    copy_buf_free(&b);
    mrb_value *e = RARRAY_PTR(c);
    cr_expect(mrb_obj_equal(to, e[0], e[1]));
    cr_expect(mrb_obj_equal(
        to, e[2], mrb_funcall(to, e[3], "[]", 1, mrb_symbol_value(mrb_intern_lit(to, "k")))));
}

Test(copy, deep_nesting_uses_no_c_recursion)
{
    mrb_value v = eval(from, "d = []; c = d; 200_000.times { n = []; c << n; c = n }; d");
    struct copy_buf b = {0};
    struct mp_err err = {0};
    cr_assert_eq(copy_encode(from, v, "args", &b, &err), COPY_OK);
    mrb_value c = copy_decode(to, b.data, b.len);
    copy_buf_free(&b);
    int depth = 0;
    while (mrb_array_p(c) && RARRAY_LEN(c) == 1) {
        c = RARRAY_PTR(c)[0];
        depth++;
    }
    cr_expect_eq(depth, 200000);
}

Test(copy, unsupported_value_names_class_and_path)
{
    struct copy_buf b = {0};
    struct mp_err err = {0};
    mrb_value v = eval(from, "class Conn; end; [1, {list: [0, Conn.new]}]");
    cr_assert_eq(copy_encode(from, v, "result", &b, &err), COPY_UNSUPPORTED);
    cr_expect(strstr(err.msg, "class Conn (found at result[1][:list][1])"), "%s", err.msg);
    cr_expect_eq(b.len, 0);
    v = eval(from, "class L < Array; end; {\"k\" => L.new}");
    cr_assert_eq(copy_encode(from, v, "args", &b, &err), COPY_UNSUPPORTED);
    cr_expect(strstr(err.msg, "class L (found at args[\"k\"])"), "%s", err.msg);
    v = eval(from, "{Object.new => 1}");
    cr_assert_eq(copy_encode(from, v, "args", &b, &err), COPY_UNSUPPORTED);
    cr_expect(strstr(err.msg, "(a Hash key)"), "%s", err.msg);
    copy_buf_free(&b);
}

Test(copy, a_cycle_is_an_error_not_a_loop)
{
    struct copy_buf b = {0};
    struct mp_err err = {0};
    mrb_value v = eval(from, "h = {a: [1]}; h[:a] << h; [h]");
    cr_assert_eq(copy_encode(from, v, "args", &b, &err), COPY_CYCLE);
    cr_expect(strstr(err.msg, "args[0][:a][1] is args[0] itself"), "%s", err.msg);
    copy_buf_free(&b);
}

Test(copy, malformed_bytes_decode_to_nil)
{
    static const uint8_t junk[][4] = {
        {'Q'}, {'A', 5, 0, 0}, {'S', 0xff, 0xff, 0xff}, {'R', 3, 0, 0}};
    for (size_t i = 0; i < 4; i++)
        cr_expect(mrb_nil_p(copy_decode(to, junk[i], sizeof junk[i])), "case %zu", i);
    cr_expect(mrb_nil_p(copy_decode(to, (const uint8_t *)"", 0)));
}

/* A worker whose VM cannot allocate writes its error without the VM: the bytes must be those
 * copy_encode writes for the same Hash, so the main side reads the error as any other. */
Test(copy, error_written_without_the_vm_matches_copy_encode)
{
    struct copy_buf raw = {0}, enc = {0};
    struct mp_err err = {0};
    cr_assert(copy_encode_error(&raw, "NoMemoryError", "out of memory"));
    mrb_value h = eval(from, "{\"class\" => \"NoMemoryError\", \"message\" => \"out of memory\", "
                             "\"backtrace\" => []}");
    cr_assert_eq(copy_encode(from, h, "error", &enc, &err), COPY_OK);
    cr_assert_eq(raw.len, enc.len);
    cr_expect_eq(memcmp(raw.data, enc.data, raw.len), 0);
    /* It replaces what the buffer held (a half-written result). */
    cr_assert(copy_encode_error(&enc, "E", "m"));
    mrb_value s = mrb_inspect(to, copy_decode(to, enc.data, enc.len));
    cr_expect_str_eq(RSTRING_PTR(s), "{\"class\"=>\"E\", \"message\"=>\"m\", \"backtrace\"=>[]}");
    copy_buf_free(&raw);
    copy_buf_free(&enc);
}

static bool refuse_growth;

/* malloc that refuses to grow anything while refuse_growth is set (frees still work). */
static void *
refusing_allocf(mrb_state *mrb, void *p, size_t size, void *ud)
{
    (void)mrb, (void)ud;
    if (size == 0) {
        free(p);
        return NULL;
    }
    return refuse_growth ? NULL : realloc(p, size);
}

/* Encoding allocates Ruby objects (a Hash's keys); when that fails it must return COPY_NOMEM,
 * not raise: in a worker it runs outside the block's protection (it aborted mrun). */
Test(copy, out_of_memory_while_encoding_is_an_error_not_a_raise)
{
    mrb_state *mrb = mrb_open_allocf(refusing_allocf, NULL);
    cr_assert_not_null(mrb);
    /* Ten keys: their Array is too big to sit in its object, so it needs malloc. */
    mrb_value v = eval(mrb, "h = {}; 10.times { |i| h[i] = [i] }; [1, h]");
    int ai = mrb_gc_arena_save(mrb);
    mrb_gc_protect(mrb, v);
    struct copy_buf b = {0};
    struct mp_err err = {0};
    refuse_growth = true;
    enum copy_error rc = copy_encode(mrb, v, "result", &b, &err);
    refuse_growth = false;
    cr_expect_eq(rc, COPY_NOMEM);
    cr_expect(strstr(err.msg, "out of memory while copying result"), "%s", err.msg);
    cr_expect_null(mrb->exc);
    cr_expect_eq(b.len, 0);
    copy_buf_free(&b);
    mrb_gc_arena_restore(mrb, ai);
    mrb_close(mrb);
}
