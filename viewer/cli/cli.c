/*
 * cli.c — helpers shared by the mrprof commands.
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
    va_list ap;
    fprintf(stderr, "mrprof %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'mrprof %s --help'.\n", cmd);
    return CLI_USAGE;
}

bool
cli_parse_uint(const char *cmd, const char *opt, const char *v, unsigned long max,
               unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || n > max || v[0] == '-') {
        cli_usage_error(cmd, "%s takes a whole number from 0 to %lu, not '%s'", opt, max,
                        v ? v : "");
        return false;
    }
    *out = n;
    return true;
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


bool
cli_parse_by(const char *cmd, const char *v, enum agg_by *out)
{
    if (strcmp(v, "function") == 0)
        *out = AGG_FUNCTION;
    else if (strcmp(v, "line") == 0)
        *out = AGG_LINE;
    else if (strcmp(v, "file") == 0)
        *out = AGG_FILE;
    else {
        cli_usage_error(cmd, "--by takes function, line or file, not '%s'", v);
        return false;
    }
    return true;
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

bool
cli_parse_tsv(const char *cmd, const char *v, bool *tsv)
{
    if (strcmp(v, "text") != 0 && strcmp(v, "tsv") != 0) {
        cli_usage_error(cmd, "--format takes text or tsv, not '%s'", v);
        return false;
    }
    *tsv = strcmp(v, "tsv") == 0;
    return true;
}
