/*
 * options.c — the table-driven option parser (options.h): parsing, value checks, messages and
 * the --help text, the same for every mrprof command and for mrun. Only libc.
 */
#include "profiler/base/options.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int __attribute__((format(printf, 2, 0)))
verror(const char *prog, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return OPT_ERROR;
}

int
opt_error_prog(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(prog, fmt, ap);
    va_end(ap);
    return OPT_ERROR;
}

int
opt_error(const struct opt_cmd *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(c->prog, fmt, ap);
    va_end(ap);
    return OPT_ERROR;
}

/* "1..10000", "over 0 and under 1", "over 0 and at most 86400 %". */
static void
range_text(const struct opt *o, char *buf, size_t len)
{
    bool whole = o->kind == OPT_UINT || o->kind == OPT_INT;
    const char *pct = o->flags & OPTF_PERCENT ? " %" : "";
    if (whole)
        snprintf(buf, len, "%.0f..%.0f", o->min, o->max);
    else if (!(o->flags & (OPTF_MIN_EXCL | OPTF_MAX_EXCL)))
        snprintf(buf, len, "%g..%g%s", o->min, o->max, pct);
    else
        snprintf(buf, len, "%s %g and %s %g%s", o->flags & OPTF_MIN_EXCL ? "over" : "at least",
                 o->min, o->flags & OPTF_MAX_EXCL ? "under" : "at most", o->max, pct);
}

/* "cpu or wall", "a, b or c"; "cpu|wall" with bar. */
static void
names_text(const char *const *names, bool bar, char *buf, size_t len)
{
    size_t n = 0, k = 0;
    while (names[n])
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && k < len; i++) {
        const char *sep = i == 0 ? "" : bar ? "|" : i + 1 == n ? " or " : ", ";
        int w = snprintf(buf + k, len - k, "%s%s", sep, names[i]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

static int
bad_value(struct opt_state *st, const struct opt *o, const char *value)
{
    char range[160];
    if (o->kind == OPT_ENUM)
        names_text(o->names, false, range, sizeof range);
    else
        range_text(o, range, sizeof range);
    return opt_error(st->cmd, "%s must be %s, not '%s'", st->spelled, range, value);
}

int
opt_set(struct opt_state *st, const struct opt *o, const char *value)
{
    switch (o->kind) {
    case OPT_FLAG:
        *(bool *)o->dst = true;
        return 0;
    case OPT_UINT:
    case OPT_INT: {
        char *end;
        errno = 0;
        unsigned long n = value[0] >= '0' && value[0] <= '9' ? strtoul(value, &end, 10) : 0;
        if (!(value[0] >= '0' && value[0] <= '9') || *end || errno || (double)n < o->min ||
            (double)n > o->max)
            return bad_value(st, o, value);
        if (o->kind == OPT_UINT)
            *(unsigned long *)o->dst = n;
        else
            *(int *)o->dst = (int)n;
        return 0;
    }
    case OPT_DOUBLE: {
        char *end;
        double x = strtod(value, &end);
        bool pct_ok = (o->flags & OPTF_PERCENT) && strcmp(end, "%") == 0;
        if (end == value || (*end && !pct_ok) || !isfinite(x) || x < o->min || x > o->max ||
            ((o->flags & OPTF_MIN_EXCL) && x == o->min) ||
            ((o->flags & OPTF_MAX_EXCL) && x == o->max))
            return bad_value(st, o, value);
        *(double *)o->dst = x;
        return 0;
    }
    case OPT_PATH:
        if (!*value)
            return opt_error(st->cmd, "%s needs a value (%s), not ''", st->spelled,
                             o->arg ? o->arg : "PATH");
        /* fall through */
    case OPT_STRING:
        *(const char **)o->dst = value;
        return 0;
    case OPT_ENUM:
        for (int i = 0; o->names[i]; i++)
            if (strcmp(o->names[i], value) == 0) {
                *(int *)o->dst = i;
                return 0;
            }
        return bad_value(st, o, value);
    case OPT_CALLBACK:
        return o->cb(st, o, value) ? OPT_ERROR : 0;
    case OPT_END:
        break;
    }
    return OPT_ERROR;
}

/* "N", "cpu|wall", "PATH". */
static const char *
arg_name(const struct opt *o, char *buf, size_t len)
{
    if (o->arg)
        return o->arg;
    if (o->kind == OPT_ENUM) {
        names_text(o->names, true, buf, len);
        return buf;
    }
    return "VALUE";
}

static bool
takes_value(const struct opt *o)
{
    return o->kind != OPT_FLAG && !(o->kind == OPT_CALLBACK && (o->flags & OPTF_NO_VALUE));
}

/* The row for "--name" (n characters of it) or "-c", or NULL. */
static const struct opt *
find(const struct opt *t, const char *name, size_t n, char sname)
{
    for (; t->kind != OPT_END; t++)
        if (sname ? t->sname == sname
                  : (t->name && strlen(t->name) == n && strncmp(t->name, name, n) == 0))
            return t;
    return NULL;
}

/* One option word at argv[st->i]; returns 0, OPT_HELP, OPT_ERROR, or 1 when it ends the options
 * (the next positional index is then st->i, after any value). */
static int
parse_one(struct opt_state *st, const struct opt **row)
{
    const struct opt_cmd *c = st->cmd;
    char *a = st->argv[st->i];
    const char *value = NULL;
    const struct opt *o;
    if (a[1] == '-') {
        char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        o = find(c->opts, a + 2, n, 0);
        if (!o && n == 4 && strncmp(a + 2, "help", 4) == 0 && !eq)
            return OPT_HELP;
        if (o && eq) {
            *eq = '\0'; /* a is now the option as written; the value follows */
            value = eq + 1;
        }
    } else {
        o = a[2] == '\0' ? find(c->opts, NULL, 0, a[1]) : NULL;
        if (!o && strcmp(a, "-h") == 0)
            return OPT_HELP;
    }
    if (!o)
        return opt_error(c, "unknown option '%s'", a);
    *row = o;
    st->spelled = a;
    if (o->flags & OPTF_ARG_START)
        return 1;
    if (!takes_value(o) && value && o->kind == OPT_FLAG)
        return opt_error(c, "%s takes no value (not '%s')", a, value);
    if (takes_value(o) && !value) {
        if (st->i + 1 >= st->argc) {
            char buf[160], range[160] = "";
            if (o->kind == OPT_UINT || o->kind == OPT_INT || o->kind == OPT_DOUBLE) {
                range[0] = ':', range[1] = ' ';
                range_text(o, range + 2, sizeof range - 2);
            }
            return opt_error(c, "%s needs a value (%s%s)", a, arg_name(o, buf, sizeof buf), range);
        }
        value = st->argv[++st->i];
    }
    if (opt_set(st, o, value) != 0)
        return OPT_ERROR;
    if (o->given)
        *o->given = a;
    st->i++;
    return o->flags & OPTF_STOP ? 1 : 0;
}

int
opt_parse(const struct opt_cmd *c, int argc, char **argv)
{
    struct opt_state st = {c, argc, argv, 1, NULL};
    bool stop_at_arg = c->flags & OPT_STOP_AT_ARG;
    int npos = 0;
    while (st.i < argc) {
        char *a = argv[st.i];
        if (strcmp(a, "--") == 0) {
            st.i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') { /* a positional */
            if (stop_at_arg)
                break;
            argv[npos++] = a; /* npos <= st.i - 1: never overwrites what is still to read */
            st.i++;
            continue;
        }
        const struct opt *row = NULL;
        int r = parse_one(&st, &row);
        if (r == OPT_HELP) {
            opt_usage(c, stdout);
            return OPT_HELP;
        }
        if (r < 0)
            return OPT_ERROR;
        if (r == 1)
            break;
        if (row->flags & OPTF_THEN_ARGS)
            stop_at_arg = true;
    }
    while (st.i < argc) /* everything from here on is positional */
        argv[npos++] = argv[st.i++];
    argv[npos] = NULL; /* npos < argc: argv[0] was the name */
    return npos;
}

/* Prints text with every line after the first indented to col. */
static void
print_indented(FILE *out, const char *text, int col)
{
    for (const char *s = text; *s;) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        fprintf(out, "%.*s\n", (int)n, s);
        if (!nl || !nl[1])
            break;
        s = nl + 1;
        fprintf(out, "%*s", col, "");
    }
}

void
opt_usage(const struct opt_cmd *c, FILE *out)
{
    int col = c->help_col ? c->help_col : 22;
    fputs(c->usage, out);
    if (c->about)
        fprintf(out, "\n%s", c->about);
    fputc('\n', out);
    for (const struct opt *o = c->opts; o->kind != OPT_END; o++) {
        if (!o->help)
            continue;
        char spec[160], buf[160];
        int n = 0;
        if (o->sname)
            n +=
                snprintf(spec + n, sizeof spec - (size_t)n, "-%c%s", o->sname, o->name ? ", " : "");
        if (o->name)
            n += snprintf(spec + n, sizeof spec - (size_t)n, "--%s", o->name);
        if (takes_value(o) || (o->kind == OPT_CALLBACK && o->arg))
            snprintf(spec + n, sizeof spec - (size_t)n, " %s", arg_name(o, buf, sizeof buf));
        int w = fprintf(out, "  %s", spec);
        if (w > col - 2) /* at least two spaces before the help, else it starts the next line */
            fprintf(out, "\n%*s", col, "");
        else
            fprintf(out, "%*s", col - w, "");
        print_indented(out, o->help, col);
    }
    fprintf(out, "  -h, --help%*s%s\n", col - 12 > 0 ? col - 12 : 1, "",
            "print this help and exit");
    if (c->footer)
        fprintf(out, "\n%s", c->footer);
}
