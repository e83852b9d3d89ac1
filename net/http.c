/*
 * http.c — HTTP::Parser, the mruby binding of net/http_parser.c, and HTTP.__date.
 *
 *   HTTP::Parser.new(kind, opts = {})   kind :request or :response; opts: max_line (8192),
 *                                       max_header_size (16384), max_headers (256),
 *                                       max_body (0 = no limit)
 *   parser.feed(str) -> Array           a flat list of events:
 *       :head, [method, target, headers, version_minor, keep_alive, content_length, chunked,
 *               upgrade, expect_continue]                      (requests)
 *       :head, [status, reason, headers, version_minor, keep_alive, content_length, chunked,
 *               upgrade]                                       (responses)
 *       :body, String     :end     :error, [code, status, message] (always last)
 *       :rest, String     after an upgrade's head (a request), or a 101 response's :end
 *   parser.finish -> Array              the peer closed
 *   parser.no_body!                     the next final response head has no body (HEAD)
 *   parser.reset, parser.idle?
 *
 * The headers Hash is built here: lower-case String keys (the common names are shared frozen
 * strings), a repeated set-cookie gives an Array, a repeated "first wins" header (Node's list)
 * keeps its first value, any other repeated header is joined with ", ". Body strings share the
 * fed String's bytes when they are long (mrb_str_byte_subseq), so a large body is not copied.
 * Every callback restores the GC arena to where it was once the events Array existed: what it
 * made is reachable through that Array, so a feed of many pipelined messages stays flat.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "net/http_parser.h"
#include "runtime/rt.h"

struct parser_obj {
    struct hp_parser p;
    int no_body; /* the next final response has no body */
    int stopped; /* upgraded, or an error reported: feed returns [] until reset */
};

static void
parser_dfree(mrb_state *mrb, void *ptr)
{
    struct parser_obj *po = ptr;
    if (!po)
        return;
    hp_free(&po->p);
    mrb_free(mrb, po);
}

static const struct mrb_data_type parser_type = {"HTTP::Parser", parser_dfree};

/* Shared frozen strings: methods and common header names, kept alive by an Array in a class
 * instance variable; the cache is for the VM that made it (the main VM). */
static const char *const common_methods[] = {"GET",  "POST",    "PUT",   "DELETE",
                                             "HEAD", "OPTIONS", "PATCH", "CONNECT"};
#define NMETHODS (sizeof common_methods / sizeof common_methods[0])
static const char *const common_names[] = {
    "host",
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "content-type",
    "content-length",
    "cookie",
    "date",
    "server",
    "transfer-encoding",
    "cache-control",
    "authorization",
    "upgrade",
    "expect",
    "origin",
    "referer",
    "keep-alive",
    "location",
    "etag",
    "last-modified",
    "set-cookie",
    "vary",
    "x-forwarded-for",
    "if-none-match",
    "if-modified-since",
    "content-encoding",
};
#define NNAMES (sizeof common_names / sizeof common_names[0])

static __thread struct {
    mrb_state *mrb;
    mrb_value methods[NMETHODS];
    mrb_value names[NNAMES];
    size_t name_len[NNAMES];
    mrb_sym head, body, end, error, rest, request, response;
    mrb_sym max_line, max_header_size, max_headers, max_body;
} cache;

/* How a repeated header combines (Node's rules). */
enum { REP_JOIN, REP_FIRST, REP_ARRAY };

static const char *const first_wins[] = {
    "content-type",
    "content-length",
    "user-agent",
    "referer",
    "host",
    "authorization",
    "proxy-authorization",
    "if-modified-since",
    "if-unmodified-since",
    "from",
    "location",
    "max-forwards",
    "retry-after",
    "etag",
    "last-modified",
    "server",
    "age",
    "expires",
};

static int
repeat_rule(const char *name, size_t n)
{
    if (n == 10 && memcmp(name, "set-cookie", 10) == 0)
        return REP_ARRAY;
    for (size_t i = 0; i < sizeof first_wins / sizeof first_wins[0]; i++)
        if (strlen(first_wins[i]) == n && memcmp(first_wins[i], name, n) == 0)
            return REP_FIRST;
    return REP_JOIN;
}

struct feed_ctx {
    mrb_state *mrb;
    struct parser_obj *po;
    mrb_value ev;
    mrb_value input; /* the fed String (nil in finish) */
    int ai;
};

static mrb_value
name_string(mrb_state *mrb, const char *lname, size_t n)
{
    if (cache.mrb == mrb) {
        for (size_t i = 0; i < NNAMES; i++)
            if (lname[0] == common_names[i][0] && cache.name_len[i] == n &&
                memcmp(common_names[i], lname, n) == 0)
                return cache.names[i];
    }
    return mrb_obj_freeze(mrb, mrb_str_new(mrb, lname, n)); /* keys are frozen, as CRuby's */
}

/* Does header i repeat the name of an earlier one? (Case-insensitive; without touching the Hash,
 * whose lookups compare Ruby Strings: repeats are rare.) */
static bool
repeats_earlier(const struct hp_head *hd, size_t i)
{
    const struct hp_header *x = &hd->headers[i];
    for (size_t j = 0; j < i; j++) {
        const struct hp_header *y = &hd->headers[j];
        if (y->name_len == x->name_len && strncasecmp(y->name, x->name, x->name_len) == 0)
            return true;
    }
    return false;
}

static mrb_value
headers_hash(mrb_state *mrb, const struct hp_head *hd)
{
    mrb_value h = mrb_hash_new_capa(mrb, (mrb_int)hd->nheaders);
    char small[64];
    for (size_t i = 0; i < hd->nheaders; i++) {
        const struct hp_header *x = &hd->headers[i];
        char *lname = x->name_len <= sizeof small ? small : mrb_malloc(mrb, x->name_len);
        for (size_t k = 0; k < x->name_len; k++) {
            char c = x->name[k];
            lname[k] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
        }
        mrb_value key = name_string(mrb, lname, x->name_len);
        /* past 32 headers the Hash answers (the pairwise check would be quadratic) */
        mrb_value old = mrb_undef_value();
        if (hd->nheaders > 32 || repeats_earlier(hd, i))
            old = mrb_hash_fetch(mrb, h, key, mrb_undef_value());
        int rule = mrb_undef_p(old) ? REP_JOIN : repeat_rule(lname, x->name_len);
        if (lname != small)
            mrb_free(mrb, lname);
        if (mrb_undef_p(old)) {
            mrb_hash_set(mrb, h, key, mrb_str_new(mrb, x->value, x->value_len));
        } else if (rule == REP_ARRAY) {
            mrb_value val = mrb_str_new(mrb, x->value, x->value_len);
            if (mrb_array_p(old)) {
                mrb_ary_push(mrb, old, val);
            } else {
                mrb_value a = mrb_ary_new_capa(mrb, 2);
                mrb_ary_push(mrb, a, old);
                mrb_ary_push(mrb, a, val);
                mrb_hash_set(mrb, h, key, a);
            }
        } else if (rule == REP_JOIN) {
            mrb_str_cat_lit(mrb, old, ", ");
            mrb_str_cat(mrb, old, x->value, x->value_len);
        }
    }
    return h;
}

static int
on_head(void *ud, const struct hp_head *hd)
{
    struct feed_ctx *c = ud;
    mrb_state *mrb = c->mrb;
    mrb_value a = mrb_ary_new_capa(mrb, 9);
    int ret = 0;
    if (c->po->p.kind == HP_REQUEST) {
        mrb_value m = mrb_nil_value();
        if (cache.mrb == mrb)
            for (size_t i = 0; i < NMETHODS; i++)
                if (strlen(common_methods[i]) == hd->method_len &&
                    memcmp(common_methods[i], hd->method, hd->method_len) == 0) {
                    m = cache.methods[i];
                    break;
                }
        if (mrb_nil_p(m))
            m = mrb_str_new(mrb, hd->method, hd->method_len);
        mrb_ary_push(mrb, a, m);
        mrb_ary_push(mrb, a, mrb_str_new(mrb, hd->target, hd->target_len));
    } else {
        mrb_ary_push(mrb, a, mrb_fixnum_value(hd->status));
        mrb_ary_push(mrb, a, mrb_str_new(mrb, hd->reason, hd->reason_len));
        if (hd->status >= 200 && c->po->no_body) {
            c->po->no_body = 0;
            ret = HP_SKIP_BODY;
        }
    }
    mrb_ary_push(mrb, a, headers_hash(mrb, hd));
    mrb_ary_push(mrb, a, mrb_fixnum_value(hd->version_minor));
    mrb_ary_push(mrb, a, mrb_bool_value(hd->keep_alive));
    mrb_ary_push(mrb, a,
                 hd->content_length < 0 ? mrb_nil_value()
                                        : mrb_int_value(mrb, (mrb_int)hd->content_length));
    mrb_ary_push(mrb, a, mrb_bool_value(hd->chunked));
    mrb_ary_push(mrb, a, mrb_bool_value(hd->upgrade));
    if (c->po->p.kind == HP_REQUEST)
        mrb_ary_push(mrb, a, mrb_bool_value(hd->expect_continue));
    mrb_ary_push(mrb, c->ev, mrb_symbol_value(cache.head));
    mrb_ary_push(mrb, c->ev, a);
    mrb_gc_arena_restore(mrb, c->ai);
    return ret;
}

static int
on_body(void *ud, const char *data, size_t len)
{
    struct feed_ctx *c = ud;
    mrb_state *mrb = c->mrb;
    mrb_value s;
    int ret = 0;
    if (mrb_string_p(c->input)) {
        /* Shares the fed String's bytes (no copy of a large body). Making the String shared
         * may move its bytes (mruby shrinks the buffer to its length first), so hp_feed is
         * paused here and parser_feed resumes it from the String's current address. */
        mrb_int off = (mrb_int)(data - RSTRING_PTR(c->input));
        s = mrb_str_byte_subseq(mrb, c->input, off, (mrb_int)len);
        ret = HP_PAUSE;
    } else {
        s = mrb_str_new(mrb, data, len);
    }
    mrb_ary_push(mrb, c->ev, mrb_symbol_value(cache.body));
    mrb_ary_push(mrb, c->ev, s);
    mrb_gc_arena_restore(mrb, c->ai);
    return ret;
}

static int
on_end(void *ud)
{
    struct feed_ctx *c = ud;
    mrb_ary_push(c->mrb, c->ev, mrb_symbol_value(cache.end));
    return 0;
}

static const struct hp_callbacks callbacks = {on_head, on_body, on_end};

static void
push_error(mrb_state *mrb, struct parser_obj *po, mrb_value ev)
{
    mrb_value e = mrb_ary_new_capa(mrb, 3);
    mrb_ary_push(mrb, e, mrb_str_new_cstr(mrb, hp_error_code(po->p.error)));
    mrb_ary_push(mrb, e, mrb_fixnum_value(hp_status(&po->p)));
    mrb_ary_push(mrb, e, mrb_str_new_cstr(mrb, hp_error_message(&po->p)));
    mrb_ary_push(mrb, ev, mrb_symbol_value(cache.error));
    mrb_ary_push(mrb, ev, e);
    po->stopped = 1;
}

static struct parser_obj *
get_parser(mrb_state *mrb, mrb_value self)
{
    struct parser_obj *po = DATA_GET_PTR(mrb, self, &parser_type, struct parser_obj);
    if (!po)
        mrb_raise(mrb, E_RUNTIME_ERROR, "HTTP::Parser not initialized");
    return po;
}

static size_t
opt_size(mrb_state *mrb, mrb_value opts, mrb_sym key, size_t dflt)
{
    mrb_value v = mrb_hash_fetch(mrb, opts, mrb_symbol_value(key), mrb_nil_value());
    if (mrb_nil_p(v))
        return dflt;
    if (!mrb_integer_p(v))
        mrb_raisef(mrb, E_TYPE_ERROR, "HTTP::Parser option %n must be an Integer", key);
    if (mrb_integer(v) < 0)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "HTTP::Parser option %n must be >= 0", key);
    return (size_t)mrb_integer(v);
}

static mrb_value
parser_initialize(mrb_state *mrb, mrb_value self)
{
    mrb_value kv, opts = mrb_nil_value();
    mrb_get_args(mrb, "o|H", &kv, &opts);
    if (!mrb_symbol_p(kv))
        mrb_raisef(mrb, E_TYPE_ERROR, "HTTP::Parser kind must be a Symbol (:request or :response)");
    mrb_sym kind = mrb_symbol(kv);
    enum hp_kind k;
    if (kind == cache.request)
        k = HP_REQUEST;
    else if (kind == cache.response)
        k = HP_RESPONSE;
    else
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "HTTP::Parser kind must be :request or :response, not :%n", kind);
    struct hp_limits lim = {8192, 16384, 256, 0};
    if (!mrb_nil_p(opts)) {
        mrb_value keys = mrb_hash_keys(mrb, opts);
        for (mrb_int i = 0; i < RARRAY_LEN(keys); i++) {
            mrb_value kk = RARRAY_PTR(keys)[i];
            mrb_sym s = mrb_symbol_p(kk) ? mrb_symbol(kk) : 0;
            if (s != cache.max_line && s != cache.max_header_size && s != cache.max_headers &&
                s != cache.max_body)
                mrb_raisef(mrb, E_ARGUMENT_ERROR, "HTTP::Parser: unknown option %!v", kk);
        }
        lim.max_line = opt_size(mrb, opts, cache.max_line, 8192);
        lim.max_head = opt_size(mrb, opts, cache.max_header_size, 16384);
        lim.max_headers = opt_size(mrb, opts, cache.max_headers, 256);
        lim.max_body = opt_size(mrb, opts, cache.max_body, 0);
    }
    struct parser_obj *po = DATA_PTR(self);
    if (po) {
        parser_dfree(mrb, po);
        DATA_PTR(self) = NULL;
    }
    po = mrb_malloc(mrb, sizeof *po);
    memset(po, 0, sizeof *po);
    hp_init(&po->p, k, &lim);
    mrb_data_init(self, po, &parser_type);
    return self;
}

static mrb_value
parser_feed(mrb_state *mrb, mrb_value self)
{
    mrb_value str;
    mrb_get_args(mrb, "S", &str);
    struct parser_obj *po = get_parser(mrb, self);
    mrb_value ev = mrb_ary_new(mrb);
    if (po->stopped || po->p.error || RSTRING_LEN(str) == 0)
        return ev;
    struct feed_ctx c = {mrb, po, ev, str, mrb_gc_arena_save(mrb)};
    size_t n = (size_t)RSTRING_LEN(str);
    size_t used = 0, step;
    do /* resumed after each body span (on_body pauses) */
        used += step = hp_feed(&po->p, RSTRING_PTR(str) + used, n - used, &callbacks, &c);
    while (step && used < n && !po->p.error && !hp_upgraded(&po->p));
    if (po->p.error) {
        push_error(mrb, po, ev);
    } else if (hp_upgraded(&po->p)) {
        /* the head of an upgrade (or a 101's end) was the last HTTP: the rest is another
         * protocol's */
        mrb_ary_push(mrb, ev, mrb_symbol_value(cache.rest));
        mrb_ary_push(mrb, ev, mrb_str_byte_subseq(mrb, str, (mrb_int)used, (mrb_int)(n - used)));
        po->stopped = 1;
    }
    return ev;
}

static mrb_value
parser_finish(mrb_state *mrb, mrb_value self)
{
    struct parser_obj *po = get_parser(mrb, self);
    mrb_value ev = mrb_ary_new(mrb);
    if (po->stopped || po->p.error)
        return ev;
    struct feed_ctx c = {mrb, po, ev, mrb_nil_value(), mrb_gc_arena_save(mrb)};
    if (hp_finish(&po->p, &callbacks, &c) < 0)
        push_error(mrb, po, ev);
    return ev;
}

static mrb_value
parser_no_body(mrb_state *mrb, mrb_value self)
{
    get_parser(mrb, self)->no_body = 1;
    return self;
}

static mrb_value
parser_reset(mrb_state *mrb, mrb_value self)
{
    struct parser_obj *po = get_parser(mrb, self);
    hp_reset(&po->p);
    po->no_body = 0;
    po->stopped = 0;
    return self;
}

static mrb_value
parser_idle_p(mrb_state *mrb, mrb_value self)
{
    struct parser_obj *po = get_parser(mrb, self);
    return mrb_bool_value(!po->stopped && hp_idle(&po->p));
}

/* HTTP.__date: the IMF-fixdate of now, made once per second. */
static mrb_value
http_date(mrb_state *mrb, mrb_value self)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static time_t last = (time_t)-1;
    static char buf[32];
    (void)self;
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        last = now;
    }
    return mrb_str_new_cstr(mrb, buf);
}

static void
http_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    cache.head = mrb_intern_lit(mrb, "head");
    cache.body = mrb_intern_lit(mrb, "body");
    cache.end = mrb_intern_lit(mrb, "end");
    cache.error = mrb_intern_lit(mrb, "error");
    cache.rest = mrb_intern_lit(mrb, "rest");
    cache.request = mrb_intern_lit(mrb, "request");
    cache.response = mrb_intern_lit(mrb, "response");
    cache.max_line = mrb_intern_lit(mrb, "max_line");
    cache.max_header_size = mrb_intern_lit(mrb, "max_header_size");
    cache.max_headers = mrb_intern_lit(mrb, "max_headers");
    cache.max_body = mrb_intern_lit(mrb, "max_body");

    struct RClass *http = mrb_define_module(mrb, "HTTP");
    mrb_define_module_function(mrb, http, "__date", http_date, MRB_ARGS_NONE());
    struct RClass *c = mrb_define_class_under(mrb, http, "Parser", mrb->object_class);
    MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
    mrb_define_method(mrb, c, "initialize", parser_initialize, MRB_ARGS_ARG(1, 1));
    mrb_define_method(mrb, c, "feed", parser_feed, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, c, "finish", parser_finish, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "no_body!", parser_no_body, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "reset", parser_reset, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "idle?", parser_idle_p, MRB_ARGS_NONE());

    /* the shared frozen strings, kept alive by the class */
    int ai = mrb_gc_arena_save(mrb);
    mrb_value keep = mrb_ary_new_capa(mrb, (mrb_int)(NMETHODS + NNAMES));
    mrb_iv_set(mrb, mrb_obj_value(c), mrb_intern_lit(mrb, "__shared"), keep);
    for (size_t i = 0; i < NMETHODS; i++) {
        cache.methods[i] = mrb_str_new_cstr_frozen(mrb, common_methods[i]);
        mrb_ary_push(mrb, keep, cache.methods[i]);
    }
    for (size_t i = 0; i < NNAMES; i++) {
        cache.names[i] = mrb_str_new_cstr_frozen(mrb, common_names[i]);
        cache.name_len[i] = strlen(common_names[i]);
        mrb_ary_push(mrb, keep, cache.names[i]);
    }
    cache.mrb = mrb;
    mrb_gc_arena_restore(mrb, ai);
}

static void
http_free(struct rt *rt)
{
    if (cache.mrb == rt->mrb)
        cache.mrb = NULL;
}

const struct rt_module rt_module_http = {.name = "http", .init = http_init, .free = http_free};
