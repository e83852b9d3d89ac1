/*
 * defined.c — `defined?` for Debian's mruby 3.1, by rewriting the parse tree before code
 * generation.
 *
 * Why: mruby 3.1's grammar has no `defined?` keyword (its node type NODE_DEFINED exists, but the
 * lexer never produces the keyword and codegen has no case for it). `defined?(x)` is therefore
 * parsed as a call of a method named `defined?` with x as its argument: x is evaluated first
 * (`defined?(undefined_name)` raises NameError/NoMethodError) and then the call itself raises
 * NoMethodError. A method cannot fix that, since the argument is gone by the time it runs.
 *
 * What: mrun compiles every script and required file itself (rt.c, kernel.c): between
 * mrb_parse_nstring and mrb_load_exec, rt_rewrite_defined walks the tree and replaces each
 * `defined?(expr)` call (one argument, no receiver, no block) with an expression that answers the
 * question without evaluating expr, giving CRuby's strings:
 *
 *   local variable, numbered parameter    "local-variable" (known at parse time)
 *   self, nil, true, false / literals     "self", "nil", "true", "false" / "expression"
 *   x = 1, x += 1, a, b = ...             "assignment"
 *   @a                                    instance_variable_defined?(:@a) && "instance-variable"
 *   @@a / $a                              "class variable" / "global-variable" (helpers)
 *   Foo / ::Foo / A::Foo                  "constant" when it resolves (A's defined? first)
 *   foo / foo(...)                        "method" when self responds to :foo (private too)
 *   recv.foo(...)                         defined?(recv) and then recv.respond_to?(:foo)
 *   yield / super                         "yield" when a block was given / "super" (helper)
 *
 * The tree's layout is mruby 3.1.0's (mrbgems/mruby-compiler/core/node.h and parse.y's
 * mrb_parser_dump, which this walker follows): node.h is private, so the node numbers are copied
 * below, and mrun links only the 3.1 library it was built against. The walk runs only when the
 * source contains "defined?", so a script without it is compiled exactly as before.
 */
#include <stdint.h>
#include <string.h>

#include <mruby.h>
#include <mruby/compile.h>

#include "runtime/rt.h"

typedef struct mrb_ast_node node;

/* mruby 3.1.0's enum node_type (node.h), the entries used here. */
enum {
    N_SCOPE = 1,
    N_BLOCK = 2,
    N_IF = 3,
    N_CASE = 4,
    N_WHILE = 6,
    N_UNTIL = 7,
    N_ITER = 8,
    N_FOR = 9,
    N_BREAK = 10,
    N_NEXT = 11,
    N_BEGIN = 14,
    N_RESCUE = 15,
    N_ENSURE = 16,
    N_AND = 17,
    N_OR = 18,
    N_NOT = 19,
    N_MASGN = 20,
    N_ASGN = 21,
    N_CDECL = 22,
    N_CVASGN = 23,
    N_CVDECL = 24,
    N_OP_ASGN = 25,
    N_CALL = 26,
    N_SCALL = 27,
    N_FCALL = 28,
    N_SUPER = 29,
    N_ZSUPER = 30,
    N_ARRAY = 31,
    N_HASH = 33,
    N_KW_HASH = 34,
    N_RETURN = 35,
    N_YIELD = 36,
    N_LVAR = 37,
    N_DVAR = 38,
    N_GVAR = 39,
    N_IVAR = 40,
    N_CONST = 41,
    N_CVAR = 42,
    N_NVAR = 43,
    N_MATCH = 46,
    N_NEGATE = 49,
    N_LAMBDA = 50,
    N_SYM = 51,
    N_STR = 52,
    N_DSTR = 53,
    N_DXSTR = 55,
    N_DREGX = 57,
    N_ARGS_TAIL = 60,
    N_KW_ARG = 61,
    N_SPLAT = 63,
    N_BLOCK_ARG = 66,
    N_DEF = 67,
    N_SDEF = 68,
    N_CLASS = 71,
    N_MODULE = 72,
    N_SCLASS = 73,
    N_COLON2 = 74,
    N_COLON3 = 75,
    N_DOT2 = 76,
    N_DOT3 = 77,
    N_SELF = 78,
    N_NIL = 79,
    N_TRUE = 80,
    N_FALSE = 81,
    N_POSTEXE = 83,
    N_DSYM = 84,
    N_HEREDOC = 85,
    N_WORDS = 87,
    N_SYMBOLS = 88,
};

#define TYPE(n) ((int)(intptr_t)(n)->car)
#define NINT(i) ((node *)(intptr_t)(i))
#define SYM(n) ((mrb_sym)(intptr_t)(n))

struct rw {
    mrb_state *mrb;
    struct mrb_parser_state *p;
    mrb_sym defined;
    int depth;
};

static node *
cons(struct rw *w, node *car, node *cdr)
{
    node *n = mrb_pool_alloc(w->p->pool, sizeof(node));
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    n->car = car;
    n->cdr = cdr;
    return n;
}

static node *
list1(struct rw *w, node *a)
{
    return cons(w, a, NULL);
}

static node *
str(struct rw *w, const char *s)
{
    size_t len = strlen(s);
    char *copy = mrb_pool_alloc(w->p->pool, len + 1);
    memcpy(copy, s, len + 1);
    return cons(w, NINT(N_STR), cons(w, (node *)copy, NINT(len)));
}

static node *
sym(struct rw *w, mrb_sym s)
{
    return cons(w, NINT(N_SYM), NINT(s));
}

/* recv.name(args...) (recv NULL: a call on self, private methods allowed). */
static node *
call(struct rw *w, node *recv, const char *name, node *args)
{
    node *callargs = args ? cons(w, args, cons(w, NULL, NULL)) : NULL;
    mrb_sym mid = mrb_intern_cstr(w->mrb, name);
    return cons(w, NINT(recv ? N_CALL : N_FCALL),
                cons(w, recv, cons(w, NINT(mid), cons(w, callargs, NULL))));
}

/* cond ? s : nil */
static node *
if_str(struct rw *w, node *cond, const char *s)
{
    return cons(w, NINT(N_IF),
                cons(w, cond, cons(w, str(w, s), cons(w, list1(w, NINT(N_NIL)), NULL))));
}

/* The replacement of defined?(e): an expression giving CRuby's string or nil. */
static node *
answer(struct rw *w, node *e)
{
    if (!e)
        return str(w, "expression");
    node *b = e->cdr;
    switch (TYPE(e)) {
    case N_LVAR:
    case N_DVAR:
    case N_NVAR:
        return str(w, "local-variable");
    case N_SELF:
        return str(w, "self");
    case N_NIL:
        return str(w, "nil");
    case N_TRUE:
        return str(w, "true");
    case N_FALSE:
        return str(w, "false");
    case N_ASGN:
    case N_OP_ASGN:
    case N_MASGN:
    case N_CDECL:
    case N_CVASGN:
    case N_CVDECL:
        return str(w, "assignment");
    case N_IVAR:
        return if_str(w, call(w, NULL, "instance_variable_defined?", list1(w, sym(w, SYM(b)))),
                      "instance-variable");
    case N_GVAR:
        return if_str(w, call(w, NULL, "__mrun_gvar_defined?", list1(w, sym(w, SYM(b)))),
                      "global-variable");
    case N_CVAR:
        return if_str(w, call(w, NULL, "__mrun_cvar_defined?", list1(w, sym(w, SYM(b)))),
                      "class variable");
    case N_CONST:
        return if_str(w, call(w, NULL, "__mrun_const_defined?", list1(w, sym(w, SYM(b)))),
                      "constant");
    case N_COLON3: /* ::Foo */
        return if_str(w,
                      call(w, NULL, "__mrun_const_in?",
                           cons(w, list1(w, NINT(N_NIL)), list1(w, sym(w, SYM(b))))),
                      "constant");
    case N_COLON2: { /* A::Foo: A must be defined, then hold Foo */
        node *scope = b->car;
        node *inner = answer(w, scope);
        node *holds =
            call(w, NULL, "__mrun_const_in?", cons(w, scope, list1(w, sym(w, SYM(b->cdr)))));
        return if_str(w, cons(w, NINT(N_AND), cons(w, inner, holds)), "constant");
    }
    case N_FCALL: /* foo / foo(args) on self */
        return if_str(w,
                      call(w, NULL, "__mrun_method_defined?", list1(w, sym(w, SYM(b->cdr->car)))),
                      "method");
    case N_SCALL: /* recv&.foo: CRuby says "expression" */
        return str(w, "expression");
    case N_NEGATE: /* -x: the method -@ of x */
        return if_str(w, answer(w, b), "method");
    case N_CALL: { /* recv.foo: recv defined, then it responds to foo (publicly) */
        node *recv = b->car;
        node *inner = answer(w, recv);
        node *responds =
            call(w, NULL, "__mrun_responds?", cons(w, recv, list1(w, sym(w, SYM(b->cdr->car)))));
        return if_str(w, cons(w, NINT(N_AND), cons(w, inner, responds)), "method");
    }
    case N_YIELD:
        return if_str(w, call(w, NULL, "block_given?", NULL), "yield");
    case N_SUPER:
    case N_ZSUPER:
        return if_str(
            w, call(w, NULL, "__mrun_super_defined?", list1(w, call(w, NULL, "__method__", NULL))),
            "super");
    default:
        return str(w, "expression");
    }
}

static void walk(struct rw *w, node *t);
static void walk_args(struct rw *w, node *n);

static void
walk_list(struct rw *w, node *l)
{
    for (; l; l = l->cdr)
        walk(w, l->car);
}

/* A call's argument part: (args-list kw-hash . block). */
static void
walk_callargs(struct rw *w, node *a)
{
    if (!a)
        return;
    walk_list(w, a->car);
    if (a->cdr) {
        walk(w, a->cdr->car);
        walk(w, a->cdr->cdr);
    }
}

/* A parameter list (mandatory optional rest post . tail): the default values of the optional
 * and keyword parameters are expressions. */
static void
walk_args(struct rw *w, node *n)
{
    if (!n || !(n = n->cdr))
        return;
    for (node *o = n->car; o; o = o->cdr)
        walk(w, o->car->cdr);
    if (!(n = n->cdr) || !(n = n->cdr) || !(n = n->cdr))
        return;
    if (TYPE(n) != N_ARGS_TAIL)
        return;
    for (node *k = n->cdr->car; k; k = k->cdr)
        if (k->car && TYPE(k->car) == N_KW_ARG)
            walk(w, k->car->cdr->cdr->car);
}

static void
walk(struct rw *w, node *t)
{
    if (!t || w->depth > 10000)
        return;
    w->depth++;
    node *b = t->cdr;
    switch (TYPE(t)) {
    case N_FCALL:
        if (SYM(b->cdr->car) == w->defined) {
            node *a = b->cdr->cdr->car;
            /* defined?(e): one argument, no keywords, no block. */
            if (a && a->car && !a->car->cdr && (!a->cdr || (!a->cdr->car && !a->cdr->cdr))) {
                node *r = answer(w, a->car->car);
                if (r) {
                    t->car = r->car;
                    t->cdr = r->cdr;
                }
                break;
            }
        }
        /* fall through */
    case N_CALL:
    case N_SCALL:
        walk(w, b->car);
        walk_callargs(w, b->cdr->cdr->car);
        break;
    case N_SCOPE:
        walk(w, b->cdr);
        break;
    case N_BLOCK:
    case N_LAMBDA:
        walk_args(w, b->cdr->car);
        walk(w, b->cdr->cdr->car);
        break;
    case N_BEGIN:
    case N_ARRAY:
    case N_YIELD:
    case N_DSTR:
    case N_DXSTR:
    case N_WORDS:
    case N_SYMBOLS:
        walk_list(w, b);
        break;
    case N_DREGX:
        walk_list(w, b->car);
        break;
    case N_RESCUE:
        walk(w, b->car);
        for (node *c = b->cdr->car; c; c = c->cdr) {
            walk_list(w, c->car->car);
            walk(w, c->car->cdr->cdr->car);
        }
        walk(w, b->cdr->cdr->car);
        break;
    case N_ENSURE:
        walk(w, b->car);
        walk(w, b->cdr->cdr);
        break;
    case N_IF:
        walk(w, b->car);
        walk(w, b->cdr->car);
        walk(w, b->cdr->cdr->car);
        break;
    case N_AND:
    case N_OR:
    case N_WHILE:
    case N_UNTIL:
    case N_DOT2:
    case N_DOT3:
    case N_MATCH:
    case N_ASGN:
        walk(w, b->car);
        walk(w, b->cdr);
        break;
    case N_NOT:
    case N_SPLAT:
    case N_RETURN:
    case N_BREAK:
    case N_NEXT:
    case N_BLOCK_ARG:
    case N_NEGATE:
    case N_DSYM:
    case N_POSTEXE:
        walk(w, b);
        break;
    case N_CASE:
        walk(w, b->car);
        for (node *c = b->cdr; c; c = c->cdr) {
            walk_list(w, c->car->car);
            walk(w, c->car->cdr);
        }
        break;
    case N_FOR:
        walk(w, b->cdr->car);
        walk(w, b->cdr->cdr->car);
        break;
    case N_MASGN:
        walk(w, b->cdr);
        break;
    case N_OP_ASGN:
        walk(w, b->car);
        walk(w, b->cdr->cdr->car);
        break;
    case N_HASH:
    case N_KW_HASH:
        for (node *c = b; c; c = c->cdr) {
            walk(w, c->car->car);
            walk(w, c->car->cdr);
        }
        break;
    case N_SUPER:
    case N_ZSUPER:
        if (b) {
            walk_list(w, b->car);
            walk(w, b->cdr);
        }
        break;
    case N_COLON2:
        walk(w, b->car);
        break;
    case N_DEF:
        walk_args(w, b->cdr->cdr->car);
        walk(w, b->cdr->cdr->cdr->car);
        break;
    case N_SDEF:
        walk(w, b->car);
        walk_args(w, b->cdr->cdr->cdr->car);
        walk(w, b->cdr->cdr->cdr->cdr->car);
        break;
    case N_CLASS:
        walk(w, b->cdr->cdr->car->cdr);
        break;
    case N_MODULE:
        walk(w, b->cdr->car->cdr);
        break;
    case N_SCLASS:
        walk(w, b->car);
        walk(w, b->cdr->car->cdr);
        break;
    case N_HEREDOC:
        walk_list(w, ((struct mrb_parser_heredoc_info *)b)->doc);
        break;
    default:
        break; /* leaves, and argument lists (defaults are not walked) */
    }
    w->depth--;
}

void
rt_rewrite_defined(mrb_state *mrb, struct mrb_parser_state *p, const char *src, size_t len)
{
    if (!p || p->nerr || !p->tree || !memmem(src, len, "defined?", 8))
        return;
    struct rw w = {.mrb = mrb, .p = p, .defined = mrb_intern_lit(mrb, "defined?")};
    walk(&w, p->tree);
}
