/*
 * kernel.c — the process-facing parts of Kernel: ARGV, $0, ENV, require_relative, load.
 *
 * `exit`, SystemExit and the Ruby face of ENV live in runtime/prelude/kernel.rb; this file
 * holds the parts that need C (the environment, reading and compiling files).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/compile.h>
#include <mruby/error.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "profiler/base/fileio.h"
#include "runtime/rt.h"

extern char **environ;

static mrb_value
env_get(mrb_state *mrb, mrb_value self)
{
    const char *name;
    mrb_get_args(mrb, "z", &name);
    const char *v = getenv(name);
    return v ? mrb_str_new_cstr(mrb, v) : mrb_nil_value();
}

static mrb_value
env_set(mrb_state *mrb, mrb_value self)
{
    const char *name;
    mrb_value val;
    mrb_get_args(mrb, "zo", &name, &val);
    if (!*name || strchr(name, '='))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "invalid environment variable name: '%s'", name);
    if (mrb_nil_p(val)) {
        unsetenv(name);
    } else {
        if (!mrb_string_p(val))
            mrb_raisef(mrb, E_TYPE_ERROR, "ENV values must be Strings, not %s",
                       mrb_obj_classname(mrb, val));
        if (setenv(name, mrb_string_value_cstr(mrb, &val), 1) != 0)
            mrb_sys_fail(mrb, "setenv");
    }
    return val;
}

static mrb_value
env_keys(mrb_state *mrb, mrb_value self)
{
    mrb_value keys = mrb_ary_new(mrb);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq)
            mrb_ary_push(mrb, keys, mrb_str_new(mrb, *e, eq - *e));
    }
    return keys;
}

struct load_exec_args {
    struct mrb_parser_state *p;
    mrbc_context *cxt;
};

static mrb_value
load_exec_body(mrb_state *mrb, void *ud)
{
    struct load_exec_args *a = ud;
    return mrb_load_exec(mrb, a->p, a->cxt); /* frees p */
}

/* Compiles and runs a file inside the running VM. A syntax error raises SyntaxError with
 * `file:line:col: message`; an exception raised by the file propagates to the caller. */
static mrb_value
load_file(mrb_state *mrb, const char *path)
{
    size_t len;
    struct mp_err err;
    char *src = fio_read_file(path, &len, &err);
    if (!src)
        mrb_raisef(mrb, mrb_class_get(mrb, "LoadError"), "%s", err.msg);
    mrbc_context *cxt = mrbc_context_new(mrb);
    mrbc_filename(mrb, cxt, path);
    cxt->capture_errors = TRUE;
    struct mrb_parser_state *p = mrb_parse_nstring(mrb, src, len, cxt);
    rt_rewrite_defined(mrb, p, src, len);
    free(src);
    if (!p) {
        mrbc_context_free(mrb, cxt);
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory while parsing");
    }
    if (p->nerr > 0) {
        mrb_value msg = mrb_format(mrb, "%s:%d:%d: %s", path, (int)p->error_buffer[0].lineno,
                                   p->error_buffer[0].column, p->error_buffer[0].message);
        mrb_parser_free(p);
        mrbc_context_free(mrb, cxt);
        mrb_exc_raise(mrb, mrb_exc_new_str(mrb, mrb_class_get(mrb, "SyntaxError"), msg));
    }
    /* An exception in the file unwinds past this function when it runs inside a protected
     * call (a callback, a Worker's file): catch it to free the context, then raise it on. */
    struct load_exec_args a = {p, cxt};
    mrb_bool failed = FALSE;
    mrb_value v = mrb_protect_error(mrb, load_exec_body, &a, &failed);
    mrbc_context_free(mrb, cxt);
    if (failed)
        mrb_exc_raise(mrb, v);
    if (mrb->exc) {
        mrb_value exc = mrb_obj_value(mrb->exc);
        mrb->exc = NULL;
        mrb_exc_raise(mrb, exc);
    }
    return v;
}

/* Resolves name against dir (or the current directory when dir is NULL), adding ".rb" when the
 * name has no extension. Writes the canonical path into out. */
static void
resolve(mrb_state *mrb, const char *dir, const char *name, char *out)
{
    char joined[PATH_MAX];
    const char *base = strrchr(name, '/');
    bool has_ext = strchr(base ? base : name, '.') != NULL;
    if (name[0] == '/' || !dir)
        snprintf(joined, sizeof joined, "%s%s", name, has_ext ? "" : ".rb");
    else
        snprintf(joined, sizeof joined, "%s/%s%s", dir, name, has_ext ? "" : ".rb");
    if (!realpath(joined, out))
        mrb_raisef(mrb, mrb_class_get(mrb, "LoadError"), "cannot load such file -- %s (%s)", name,
                   joined);
}

/* Loads path once: returns false when it was loaded before. */
static mrb_value
require_path(mrb_state *mrb, const char *path)
{
    mrb_value loaded = mrb_gv_get(mrb, mrb_intern_lit(mrb, "$LOADED_FEATURES"));
    if (!mrb_array_p(loaded)) {
        loaded = mrb_ary_new(mrb);
        mrb_gv_set(mrb, mrb_intern_lit(mrb, "$LOADED_FEATURES"), loaded);
    }
    for (mrb_int i = 0; i < RARRAY_LEN(loaded); i++) {
        mrb_value f = RARRAY_PTR(loaded)[i];
        if (mrb_string_p(f) && strcmp(RSTRING_CSTR(mrb, f), path) == 0)
            return mrb_false_value();
    }
    mrb_ary_push(mrb, loaded, mrb_str_new_cstr(mrb, path));
    load_file(mrb, path);
    return mrb_true_value();
}

static mrb_value
k_require_relative(mrb_state *mrb, mrb_value self)
{
    const char *name;
    mrb_get_args(mrb, "z", &name);
    const char *caller = rt_caller_file(mrb, 0);
    char dir[PATH_MAX], path[PATH_MAX];
    if (!caller || strcmp(caller, "-e") == 0) {
        if (!getcwd(dir, sizeof dir))
            mrb_sys_fail(mrb, "getcwd");
    } else {
        snprintf(dir, sizeof dir, "%s", caller);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
    }
    resolve(mrb, dir, name, path);
    return require_path(mrb, path);
}

static mrb_value
k_require(mrb_state *mrb, mrb_value self)
{
    const char *name;
    mrb_get_args(mrb, "z", &name);
    char path[PATH_MAX];
    resolve(mrb, NULL, name, path);
    return require_path(mrb, path);
}

static mrb_value
k_load(mrb_state *mrb, mrb_value self)
{
    const char *name;
    mrb_get_args(mrb, "z", &name);
    load_file(mrb, name);
    return mrb_true_value();
}

void (*rt_console_hook)(struct rt *rt, const char *type, const char *s, size_t len);

/* Hands text the main VM wrote to the console hook (an inspector client sees it). */
static void
console(mrb_state *mrb, const char *type, const char *s, size_t len)
{
    struct rt *rt = rt_from_mrb(mrb);
    if (rt && !rt->worker && rt_console_hook)
        rt_console_hook(rt, type, s, len);
}

/* Kernel#__console_warn(str): what warn wrote, for the console hook (prelude/kernel.rb). */
static mrb_value
k_console_warn(mrb_state *mrb, mrb_value self)
{
    mrb_value s = mrb_get_arg1(mrb);
    if (rt_console_hook && mrb_string_p(s))
        console(mrb, "warning", RSTRING_PTR(s), (size_t)RSTRING_LEN(s));
    return mrb_nil_value();
}

/* Kernel#__printstr__, which puts, print and p call: mruby-print's own ignores write errors.
 * mrun ignores SIGPIPE (main.c), so `mrun script.rb | head -1` would go on printing into a
 * closed pipe for ever; instead the script stops as a SIGPIPE would have stopped it, by a
 * SignalException (ensure clauses run, a profile is written) and exit status 141, quietly. */
static mrb_value
k_printstr(mrb_state *mrb, mrb_value self)
{
    mrb_value s = mrb_get_arg1(mrb);
    if (!mrb_string_p(s))
        return s;
    errno = 0;
    size_t len = (size_t)RSTRING_LEN(s);
    bool failed = (len > 0 && fwrite(RSTRING_PTR(s), len, 1, stdout) != 1) || fflush(stdout) != 0;
    if (rt_console_hook && len > 0)
        console(mrb, "log", RSTRING_PTR(s), len);
    if (failed && errno == EPIPE) {
        clearerr(stdout);
        mrb_value args[2] = {mrb_str_new_lit(mrb, "SIGPIPE"), mrb_fixnum_value(SIGPIPE)};
        mrb_exc_raise(mrb, mrb_obj_new(mrb, mrb_class_get(mrb, "SignalException"), 2, args));
    }
    return s;
}

static void
kernel_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    struct RClass *k = mrb->kernel_module;
    mrb_value args = mrb_ary_new_capa(mrb, rt->argc);
    for (int i = 0; i < rt->argc; i++)
        mrb_ary_push(mrb, args, mrb_str_new_cstr(mrb, rt->argv[i]));
    mrb_define_global_const(mrb, "ARGV", args);
    mrb_gv_set(mrb, mrb_intern_lit(mrb, "$LOADED_FEATURES"), mrb_ary_new(mrb));

    mrb_define_method(mrb, k, "require_relative", k_require_relative, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, k, "require", k_require, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, k, "load", k_load, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, k, "__env_get", env_get, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, k, "__env_set", env_set, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, k, "__env_keys", env_keys, MRB_ARGS_NONE());
    mrb_define_method(mrb, k, "__printstr__", k_printstr, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, k, "__console_warn", k_console_warn, MRB_ARGS_REQ(1));
}

const struct rt_module rt_module_kernel = {.name = "kernel", .init = kernel_init};
