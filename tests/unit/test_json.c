/*
 * test_json.c — the one-pass JSON parser (formats/json.c): values, escapes, nesting, errors.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json.h"

static struct json_doc doc;
static char *text;

static const struct json_val *
parse(const char *s)
{
    free(text);
    text = strdup(s);
    struct json_error e;
    cr_assert_eq(json_parse(text, strlen(text), &doc, &e), 0, "%s at %zu", e.what.msg, e.offset);
    return json_root(&doc);
}

static struct json_error
parse_fails(const char *s)
{
    free(text);
    text = strdup(s);
    struct json_error e;
    cr_assert_neq(json_parse(text, strlen(text), &doc, &e), 0, "parsed: %s", s);
    return e;
}

static void
teardown(void)
{
    json_free(&doc);
    free(text);
    text = NULL;
}

TestSuite(json, .fini = teardown);

Test(json, values_members_and_siblings)
{
    const struct json_val *r =
        parse(" {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {}, \"c\": [[], [7]]} ");
    cr_assert(json_is_obj(r));
    cr_assert_eq(r->len, 3);
    cr_assert_eq(r->size, doc.n);
    const struct json_val *a = json_get(r, "a");
    cr_assert_eq(json_len(a), 6);
    double want[] = {1, -2500};
    int i = 0;
    JSON_EACH(v, a)
    {
        if (i < 2)
            cr_assert_float_eq(v->num, want[i], 1e-9);
        i++;
    }
    cr_assert_eq(i, 6);
    cr_assert_eq(a[3].type, JSON_TRUE);
    cr_assert_eq(a[4].type, JSON_FALSE);
    cr_assert_eq(a[5].type, JSON_NULL);
    cr_assert_str_eq(a[6].str, "x");
    cr_assert(json_is_obj(json_get(r, "b")));
    cr_assert_eq(json_len(json_get(r, "b")), 0);
    const struct json_val *c = json_get(r, "c");
    cr_assert_eq(json_len(c), 2);
    cr_assert_eq(json_first(c)->size, 1);                    /* [] */
    cr_assert_float_eq((json_first(c) + 1)[1].num, 7, 1e-9); /* [7] */
    cr_assert_null(json_get(r, "zz"));
    cr_assert_null(json_get(a, "a"));
}

Test(json, escapes_decode_in_place)
{
    const struct json_val *r = parse("[\"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\\ud800x\"]");
    const struct json_val *s = json_first(r);
    cr_assert_str_eq(s->str, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx");
    cr_assert_eq(s->len, strlen(s->str));
}

Test(json, large_integers_and_exponents)
{
    const struct json_val *r = parse("[12345678901234567890, 1e2, -0, 0.5]");
    const struct json_val *v = json_first(r);
    cr_assert_float_eq(v[0].num, 12345678901234567890.0, 1e4);
    cr_assert_float_eq(v[1].num, 100, 1e-9);
    cr_assert_float_eq(v[3].num, 0.5, 1e-9);
}

Test(json, errors_say_where_and_what)
{
    struct json_error e = parse_fails("{\"a\": [1, 2,\n  }");
    cr_assert_eq(e.line, 2);
    cr_assert_eq(e.column, 3);
    cr_assert(strstr(e.what.msg, "expected a value"), "%s", e.what.msg);
    e = parse_fails("{\"a\": [1, 2");
    cr_assert(e.truncated);
    e = parse_fails("{\"a\" 1}");
    cr_assert(strstr(e.what.msg, "':'"), "%s", e.what.msg);
    e = parse_fails("{1: 2}");
    cr_assert(strstr(e.what.msg, "member name"), "%s", e.what.msg);
    e = parse_fails("[1] x");
    cr_assert(strstr(e.what.msg, "more data"), "%s", e.what.msg);
    e = parse_fails("[\"\\q\"]");
    cr_assert(strstr(e.what.msg, "escape"), "%s", e.what.msg);
    e = parse_fails("[-]");
    cr_assert(strstr(e.what.msg, "value"), "%s", e.what.msg);
    e = parse_fails("[tru]");
    cr_assert_eq(e.offset, 1);
}

Test(json, deep_nesting_is_an_error_not_a_crash)
{
    size_t n = JSON_MAX_DEPTH + 10;
    char *s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = 0;
    struct json_error e = parse_fails(s);
    cr_assert(strstr(e.what.msg, "nesting"), "%s", e.what.msg);
    free(s);
    /* Just inside the limit parses. */
    n = JSON_MAX_DEPTH;
    s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = 0;
    const struct json_val *r = parse(s);
    cr_assert_eq(r->size, n);
    free(s);
}

/* The strict mode JSON.parse uses (runtime/json.c). */
static const struct json_val *
parse_strict(const char *s, size_t len, unsigned flags, struct json_error *e)
{
    json_free(&doc);
    free(text);
    text = malloc(len + 1);
    memcpy(text, s, len);
    text[len] = 0;
    struct json_opts o = {flags, 0};
    if (json_parse_opts(text, len, &o, &doc, e) != 0)
        return NULL;
    return json_root(&doc);
}

#define STRICT (JSON_STRICT | JSON_EXACT_INTS)

Test(json, exact_integers_to_64_bits)
{
    struct json_error e;
    const char *s = "[9223372036854775807, -9223372036854775808, 9007199254740993, -0, "
                    "9223372036854775808, 1.0, 1e2, 12345678901234567890123]";
    const struct json_val *r = parse_strict(s, strlen(s), STRICT, &e);
    cr_assert_not_null(r, "%s", e.what.msg);
    const struct json_val *v = json_first(r);
    cr_assert(v[0].flags & JSON_V_INT);
    cr_assert_eq(v[0].i, INT64_MAX);
    cr_assert_eq(v[1].i, INT64_MIN);
    cr_assert_eq(v[2].i, 9007199254740993LL);
    cr_assert(v[3].flags & JSON_V_INT);
    cr_assert_eq(v[3].i, 0);
    for (int k = 4; k < 8; k++)
        cr_assert(!(v[k].flags & JSON_V_INT), "value %d", k);
    cr_assert_float_eq(v[4].num, 9223372036854775808.0, 1);
    cr_assert_float_eq(v[6].num, 100, 0);
    cr_assert_float_eq(v[7].num, 12345678901234567890123.0, 1e8);
    cr_assert_float_eq(json_num(&v[2], 0), 9007199254740992.0, 2); /* json_num reads both */
    /* The readers' mode keeps doubles in num. */
    r = parse_strict(s, strlen(s), 0, &e);
    cr_assert(!(json_first(r)->flags & JSON_V_INT));
    cr_assert_float_eq(json_first(r)->num, 9223372036854775807.0, 1e4);
}

Test(json, decimals_read_as_strtod_does)
{
    const char *nums[] = {"0.1",
                          "1.5e-7",
                          "123456789012345.0",
                          "1e22",
                          "1e23",
                          "2.2250738585072014e-308",
                          "4.9e-324",
                          "1.7976931348623157e308",
                          "0.30000000000000004",
                          "-0.0",
                          "3.141592653589793238462643383279",
                          "1E+2",
                          "0.000001e-300"};
    for (size_t k = 0; k < sizeof nums / sizeof *nums; k++) {
        struct json_error e;
        const struct json_val *r = parse_strict(nums[k], strlen(nums[k]), STRICT, &e);
        cr_assert_not_null(r, "%s: %s", nums[k], e.what.msg);
        double want = strtod(nums[k], NULL);
        cr_assert(memcmp(&r->num, &want, sizeof want) == 0, "%s: %.17g, not %.17g", nums[k], r->num,
                  want);
    }
}

Test(json, number_grammar_is_rfc_8259)
{
    const char *bad[] = {"01", "-01", "1.", ".5", "+1", "1e", "1e+", "-", "1.e5", "0x10", "--1"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        struct json_error e;
        cr_assert_null(parse_strict(bad[k], strlen(bad[k]), STRICT, &e), "parsed %s", bad[k]);
        cr_assert_null(parse_strict(bad[k], strlen(bad[k]), 0, &e), "lenient parsed %s", bad[k]);
    }
}

Test(json, strict_utf8_and_surrogates)
{
    struct json_error e;
    const struct json_val *r;
    /* Well-formed multi-byte text and escapes, a NUL inside a key and a value. */
    const char ok[] =
        "{\"k\\u0000\xc3\xa9\": \"\xe2\x82\xac\xf0\x9f\x98\x80\\ud83d\\ude00\\u0000\"}";
    r = parse_strict(ok, sizeof ok - 1, STRICT, &e);
    cr_assert_not_null(r, "%s", e.what.msg);
    const struct json_val *m = json_first(r);
    cr_assert_eq(m->key_len, 4);
    cr_assert(memcmp(m->key, "k\0\xc3\xa9", 4) == 0);
    cr_assert_eq(m->len, 12);
    cr_assert(memcmp(m->str, "\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80\0", 12) == 0);
    /* Each bad string: strict refuses it at the named byte; lenient takes it. */
    struct {
        const char *s;
        size_t col;
    } bad[] = {
        {"[\"a\xff\"]", 4},          {"[\"\xc3\"]", 3},         {"[\"\xc0\xaf\"]", 3},
        {"[\"\xe0\x80\xaf\"]", 3},   {"[\"\xed\xa0\x80\"]", 3}, {"[\"\xf4\x90\x80\x80\"]", 3},
        {"[\"\xf8\"]", 3},           {"[\"a\\ud800\"]", 4},     {"[\"\\udc00\"]", 3},
        {"[\"\\ud800\\u0041\"]", 3}, {"[\"a\tb\"]", 4},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        cr_assert_null(parse_strict(bad[k].s, strlen(bad[k].s), STRICT, &e), "parsed %zu", k);
        cr_assert_eq(e.column, bad[k].col, "case %zu: column %zu: %s", k, e.column, e.what.msg);
        cr_assert(!e.truncated);
        cr_assert_not_null(parse_strict(bad[k].s, strlen(bad[k].s), 0, &e), "lenient %zu: %s", k,
                           e.what.msg);
    }
    parse_strict("[\"\\ud800\"]", 10, STRICT, &e);
    cr_assert(strstr(e.what.msg, "lone surrogate"), "%s", e.what.msg);
    parse_strict("[\"\xff\"]", 5, STRICT, &e);
    cr_assert(strstr(e.what.msg, "invalid UTF-8"), "%s", e.what.msg);
}

Test(json, nan_only_when_allowed)
{
    struct json_error e;
    const char *s = "[NaN, Infinity, -Infinity, -1]";
    cr_assert_null(parse_strict(s, strlen(s), STRICT, &e));
    const struct json_val *r = parse_strict(s, strlen(s), STRICT | JSON_ALLOW_NAN, &e);
    cr_assert_not_null(r, "%s", e.what.msg);
    const struct json_val *v = json_first(r);
    cr_assert(isnan(v[0].num));
    cr_assert(isinf(v[1].num) && v[1].num > 0);
    cr_assert(isinf(v[2].num) && v[2].num < 0);
    cr_assert_eq(v[3].i, -1);
    cr_assert_null(parse_strict("Infinit", 7, STRICT | JSON_ALLOW_NAN, &e));
    cr_assert_null(parse_strict("-Inf", 4, STRICT | JSON_ALLOW_NAN, &e));
}

Test(json, depth_limit_is_the_callers_and_may_exceed_4096)
{
    size_t n = 100000;
    char *s = malloc(2 * n);
    memset(s, '[', n);
    memset(s + n, ']', n);
    struct json_error e;
    struct json_opts o = {STRICT, 100};
    free(text);
    text = s;
    cr_assert_neq(json_parse_opts(s, 2 * n, &o, &doc, &e), 0);
    cr_assert(e.too_deep);
    cr_assert_eq(e.column, 101);
    o.max_depth = n;
    cr_assert_eq(json_parse_opts(s, 2 * n, &o, &doc, &e), 0, "%s", e.what.msg);
    cr_assert_eq(json_root(&doc)->size, n);
    json_free(&doc);
    o.max_depth = n - 1;
    cr_assert_neq(json_parse_opts(s, 2 * n, &o, &doc, &e), 0);
    cr_assert(e.too_deep);
}

Test(json, strict_errors_name_what_was_expected_even_at_the_end)
{
    struct json_error e;
    cr_assert_null(parse_strict("[1, 2", 5, STRICT, &e));
    cr_assert(e.truncated);
    cr_assert(strstr(e.what.msg, "expected ','"), "%s", e.what.msg);
    cr_assert_null(parse_strict("[1, 2", 5, 0, &e));
    cr_assert(strstr(e.what.msg, "ends early"), "%s", e.what.msg);
}
