/*
 * test_json.c — the one-pass JSON parser (formats/json.c): values, escapes, nesting, errors.
 */
#include <criterion/criterion.h>
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
