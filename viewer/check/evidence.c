/*
 * evidence.c — check's annotations, OpenMetrics file and artifacts directory (see evidence.h).
 *
 * GitHub's workflow commands (docs: "Workflow commands for GitHub Actions"): a line
 * `::error file=F,line=L,title=T::MESSAGE` on standard output. In MESSAGE, '%', CR and LF are
 * written %25, %0D, %0A; in a property value also ':' %3A and ',' %2C (the runner's own
 * escaping rules, toCommandValue / escapeProperty of @actions/core).
 */
#include "viewer/check/evidence.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/formats.h"
#include "formats/threads.h"
#include "profiler/base/fileio.h"
#include "profiler/model/difftree.h"
#include "profiler/model/match.h"
#include "viewer/check/output.h"
#include "viewer/text/difftext.h"

void
gh_escape(FILE *out, const char *s, bool property)
{
    for (; *s; s++) {
        switch (*s) {
        case '%':
            fputs("%25", out);
            break;
        case '\r':
            fputs("%0D", out);
            break;
        case '\n':
            fputs("%0A", out);
            break;
        case ':':
            fputs(property ? "%3A" : ":", out);
            break;
        case ',':
            fputs(property ? "%2C" : ",", out);
            break;
        default:
            putc(*s, out);
        }
    }
}

bool
gh_file(const struct verdict *v, const char *script, char *buf, size_t len)
{
    const char *f = v->file;
    if (strncmp(f, "file://", 7) == 0)
        f += 7;
    if (!*f || strstr(f, "://") || f[0] == '(')
        return false; /* no file, or not one of the repository's (node:, http://, (native)) */
    char *joined = NULL;
    if (v->file_rel_root && script && f[0] != '/') {
        const char *slash = strrchr(script, '/');
        size_t dl = slash ? (size_t)(slash - script) : 0;
        if (dl > 0 && (joined = malloc(dl + strlen(f) + 2)) != NULL) {
            memcpy(joined, script, dl);
            joined[dl] = '/';
            strcpy(joined + dl + 1, f);
            f = joined;
        }
    }
    char *norm = match_relative(NULL, f); /* lexically: a/./b/../c is a/c */
    free(joined);
    if (!norm)
        return false;
    const char *p = norm;
    if (p[0] == '/') {
        char cwd[4096];
        const char *root = getenv("GITHUB_WORKSPACE");
        if (!root || !*root)
            root = getcwd(cwd, sizeof cwd);
        size_t rl = root ? strlen(root) : 0;
        while (rl > 1 && root[rl - 1] == '/')
            rl--;
        if (rl && strncmp(p, root, rl) == 0 && p[rl] == '/')
            p += rl + 1;
    }
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    snprintf(buf, len, "%s", p);
    free(norm);
    return buf[0] != 0;
}

int
write_annotations(FILE *out, const struct verdicts *vs, const char *script, size_t failures)
{
    char file[4200], title[400];
    for (size_t i = 0; i < vs->n; i++) {
        const struct verdict *v = &vs->v[i];
        if (!v->failed)
            continue;
        fputs("::error ", out);
        if (gh_file(v, script, file, sizeof file)) {
            fputs("file=", out);
            gh_escape(out, file, true);
            if (v->line > 0)
                fprintf(out, ",line=%d", (int)v->line);
            putc(',', out);
        }
        snprintf(title, sizeof title, "mrprof check: %s got slower", v->name);
        fputs("title=", out);
        gh_escape(out, title, true);
        fputs("::", out);
        char msg[800];
        snprintf(msg, sizeof msg, "%s: %s", v->name, v->why);
        gh_escape(out, msg, false);
        putc('\n', out);
    }
    fflush(out);
    const char *summary = getenv("GITHUB_STEP_SUMMARY");
    if (!summary || !*summary)
        return 0;
    FILE *f = fopen(summary, "a");
    if (!f) {
        fprintf(stderr, "mrprof check: cannot append to $GITHUB_STEP_SUMMARY (%s): %s\n", summary,
                strerror(errno));
        return -1;
    }
    write_markdown(f, vs, failures);
    fputc('\n', f);
    if (fclose(f) != 0) {
        fprintf(stderr, "mrprof check: cannot append to $GITHUB_STEP_SUMMARY (%s): %s\n", summary,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* --- OpenMetrics ------------------------------------------------------------------------------ */

/* A label value: backslash, double quote and line feed escaped (OpenMetrics' ABNF). */
static void
om_label(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            putc('\\', out), putc(*s, out);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            putc(*s, out);
    }
}

static bool
is_total(const struct verdict *v)
{
    return !v->file[0] && strcmp(v->name, "total CPU time") == 0;
}

/* One family: its TYPE and HELP lines, then one sample per verdict with a finite value. */
static void
om_family(FILE *out, const struct verdicts *vs, const char *name, const char *help, int what)
{
    fprintf(out, "# TYPE %s gauge\n# HELP %s %s\n", name, name, help);
    for (size_t i = 0; i < vs->n; i++) {
        const struct verdict *v = &vs->v[i];
        double x = what == 0 ? v->base : what == 1 ? v->cur : what == 2 ? v->change : v->failed;
        if (!isfinite(x))
            continue; /* a new function's change is infinite: left out (GitLab wants numbers) */
        if (what < 2 && !vs->runs && is_total(v))
            continue; /* ms among shares: mrprof_check_total_cpu_ms has it */
        fprintf(out, "%s{function=\"", name);
        om_label(out, v->name);
        fputs("\",location=\"", out);
        om_label(out, v->where);
        fprintf(out, "\"} %.6g\n", x);
    }
}

int
write_metrics(const char *path, const struct verdicts *vs, size_t failures)
{
    struct fio_atomic a;
    struct mp_err err;
    if (fio_begin(&a, path, &err) != 0) {
        fprintf(stderr, "mrprof check: cannot write %s: %s\n", path, err.msg);
        return -1;
    }
    FILE *out = a.fp;
    size_t judged = 0;
    for (size_t i = 0; i < vs->n; i++)
        judged += vs->v[i].judged;
    fprintf(out,
            "# TYPE mrprof_check_failures gauge\n"
            "# HELP mrprof_check_failures Checks that failed (a regression when above 0).\n"
            "mrprof_check_failures %zu\n"
            "# TYPE mrprof_check_checks gauge\n"
            "# HELP mrprof_check_checks Checks judged.\n"
            "mrprof_check_checks %zu\n",
            failures, judged);
    for (size_t i = 0; i < vs->n; i++)
        if (is_total(&vs->v[i]) && isfinite(vs->v[i].base) && isfinite(vs->v[i].cur))
            fprintf(out,
                    "# TYPE mrprof_check_total_cpu_ms gauge\n"
                    "# HELP mrprof_check_total_cpu_ms Total CPU time, ms (runs: the median).\n"
                    "mrprof_check_total_cpu_ms{side=\"base\"} %.6g\n"
                    "mrprof_check_total_cpu_ms{side=\"new\"} %.6g\n",
                    vs->v[i].base, vs->v[i].cur);
    const char *unit = vs->runs ? "median ms of the runs" : "share of the time, %";
    char help[200];
    snprintf(help, sizeof help, "The base's value of each check (%s).", unit);
    om_family(out, vs, vs->runs ? "mrprof_check_base_ms" : "mrprof_check_base_share_percent", help,
              0);
    snprintf(help, sizeof help, "The new value of each check (%s).", unit);
    om_family(out, vs, vs->runs ? "mrprof_check_new_ms" : "mrprof_check_new_share_percent", help,
              1);
    om_family(out, vs, "mrprof_check_change_percent",
              "The relative change of each check, % (new functions left out).", 2);
    om_family(out, vs, "mrprof_check_regressed", "1 when the check failed.", 3);
    fputs("# EOF\n", out);
    if (fio_commit(&a, &err) != 0) {
        fprintf(stderr, "mrprof check: cannot write %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

/* --- artifacts ------------------------------------------------------------------------------ */

/* mkdir -p. 0, or -1 with errno. */
static int
make_dirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return errno = ENAMETOOLONG, -1;
    for (char *s = path + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
}

/* One profile as DIR/NAME.cpuprofile (a file per further thread beside it) and NAME.svg. */
static int
write_side(const char *dir, const char *name, const struct profile *p, char *list, size_t len)
{
    char path[4200];
    struct mp_err e = {0};
    struct fmt_written *w = NULL;
    size_t n = 0;
    struct fmt_write_opts o = {.thread = -1};
    snprintf(path, sizeof path, "%s/%s.cpuprofile", dir, name);
    int rc = fmt_write_threads(p, path, fmt_by_name("cpuprofile"), &o, &w, &n, &e);
    free(w);
    if (rc == 0) {
        size_t k = strlen(list);
        snprintf(list + k, len - k, "%s%s.cpuprofile", k ? ", " : "", name);
        if (n > 1) {
            k = strlen(list);
            snprintf(list + k, len - k, " (+%zu thread files)", n - 1);
        }
        snprintf(path, sizeof path, "%s/%s.svg", dir, name);
        char title[300];
        snprintf(title, sizeof title, "Flame graph: the %s profile", name);
        o.title = title;
        rc = fmt_write_path(p, path, fmt_by_name("svg"), &o, &e);
        if (rc == 0) {
            k = strlen(list);
            snprintf(list + k, len - k, ", %s.svg", name);
        }
    }
    if (rc != 0)
        fprintf(stderr, "mrprof check: --artifacts: %s\n", e.msg);
    return rc ? -1 : 0;
}

int
write_artifacts(const char *dir, const struct profile *base, const struct profile *cur,
                const struct verdicts *vs, size_t failures)
{
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "mrprof check: --artifacts: cannot make the directory %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    char list[1024] = "", path[4200];
    int rc = 0;
    if (base && write_side(dir, "base", base, list, sizeof list) != 0)
        rc = -1;
    if (cur && write_side(dir, "new", cur, list, sizeof list) != 0)
        rc = -1;
    if (base && cur) {
        struct diff_tree d;
        int err = diff_build(base, cur, true, &d);
        if (err == -EINVAL) {
            fprintf(stderr, "mrprof check: --artifacts: a heap profile and a CPU profile do not "
                            "compare; no differential flame graph\n");
        } else if (err) {
            fprintf(stderr, "mrprof check: --artifacts: out of memory\n");
            rc = -1;
        } else {
            struct mp_err e = {0};
            snprintf(path, sizeof path, "%s/diff-base-to-new.svg", dir);
            if (diff_write_svg(&d, false, "Differential flame graph: new against base", path, &e) !=
                0) {
                fprintf(stderr, "mrprof check: --artifacts: %s\n", e.msg);
                rc = -1;
            } else {
                size_t k = strlen(list);
                snprintf(list + k, sizeof list - k, "%sdiff-base-to-new.svg", k ? ", " : "");
            }
            diff_free(&d);
        }
    }
    snprintf(path, sizeof path, "%s/summary.md", dir);
    if (write_report_file(path, vs, false, failures) != 0)
        rc = -1;
    else {
        size_t k = strlen(list);
        snprintf(list + k, sizeof list - k, "%ssummary.md", k ? ", " : "");
    }
    fprintf(stderr, "mrprof check: evidence in %s/: %s%s\n", dir, list,
            base ? "" : " (no base profile: a stored baseline keeps times, not profiles)");
    return rc;
}
