/*
 * cli.c — helpers shared by the mrprof commands: usage errors in options.h's shape, the value
 * lists and callbacks of shared option rows, finding and invoking mrun.
 */
#include "viewer/cli/cli.h"

#include "formats/formats.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char prog[64], msg[1024];
    snprintf(prog, sizeof prog, "mrprof %s", cmd);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    opt_error_prog(prog, "%s", msg);
    return CLI_USAGE;
}

int
cli_opt_exit(int parsed)
{
    return parsed == OPT_HELP ? CLI_OK : CLI_USAGE;
}

int
cli_parse(const struct opt_cmd *c, int argc, char **argv, int max, const char *what, int *rc)
{
    int n = opt_parse(c, argc, argv);
    if (n >= 0 && max >= 0 && n > max)
        n = opt_error(c, "%s ('%s' is one too many)", what, argv[max]);
    if (n < 0)
        *rc = cli_opt_exit(n);
    return n < 0 ? -1 : n;
}

const char *const cli_by_names[] = {"function", "line", "file", NULL};
const char *const cli_text_names[] = {"text", "tsv", NULL};
const char *const cli_mode_names[] = {"cpu", "wall", NULL};

int
cli_format_opt(struct opt_state *st, const struct opt *o, const char *value)
{
    if (!fmt_by_name(value))
        return opt_error(st->cmd, "%s must be one of %s, not '%s'", st->spelled, fmt_names(),
                         value);
    *(const char **)o->dst = value;
    return 0;
}

const char *
cli_self_dir(void)
{
    static char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0)
        return ".";
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return dir;
}

struct profile *
cli_read_profile(const char *cmd, const char *path)
{
    struct fmt_err e;
    struct profile *p = fmt_read_path(path, &e);
    if (!p)
        fprintf(stderr, "mrprof %s: %s\n", cmd, e.msg);
    return p;
}

char **
cli_mrun_argv(const char *mrun, const char *out, const char *live, const char *hz, const char *mode,
              const char *format, const char *const *extra, char **script, int nscript)
{
    size_t nextra = 0;
    while (extra && extra[nextra])
        nextra++;
    char **v = calloc((size_t)nscript + nextra + 14, sizeof *v);
    if (!v)
        return NULL;
    int k = 0;
    v[k++] = (char *)mrun;
    if (out) {
        v[k++] = "--cpu-prof";
        v[k++] = "--prof-out";
        v[k++] = (char *)out;
    }
    if (live) { /* the viewer connects first, then the script runs */
        v[k++] = "--prof-live";
        v[k++] = (char *)live;
        v[k++] = "--prof-live-wait";
    }
    v[k++] = "--prof-hz";
    v[k++] = (char *)hz;
    if (mode) {
        v[k++] = "--prof-mode";
        v[k++] = (char *)mode;
    }
    if (format) {
        v[k++] = "--prof-format";
        v[k++] = (char *)format;
    }
    for (size_t j = 0; j < nextra; j++)
        v[k++] = (char *)extra[j];
    if (nscript > 0 && strcmp(script[0], "-e") != 0)
        v[k++] = "--"; /* a script whose name starts with '-' is still the script */
    for (int j = 0; j < nscript; j++)
        v[k++] = script[j];
    return v;
}

const char *
cli_mrun_path(const char *opt, char *buf, size_t len)
{
    if (opt)
        return opt;
    const char *env = getenv("MRUN");
    if (env && *env)
        return env;
    snprintf(buf, len, "%s/mrun", cli_self_dir());
    return buf;
}
