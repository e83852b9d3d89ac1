/*
 * record_cluster.c — what `mrprof record` of a cluster left: each worker's file beside OUT
 * (mrun's naming: OUT's stem + ".worker-<id>.<pid>" + OUT's extension; docs/cli.md). A
 * Trace Event file needs none of this: the primary merged its workers into OUT.
 */
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/formats.h"
#include "profiler/model/profile.h"
#include "viewer/cli/cli.h"

/* The glob(3) pattern of the workers' files of out. */
static void
workers_pattern(const char *out, char *pattern, size_t len)
{
    const struct fmt_ops *f = fmt_by_path(out);
    size_t n = strlen(out), cut = n;
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    if (f && n > strlen(f->ext) && strcmp(out + n - strlen(f->ext), f->ext) == 0)
        cut = n - strlen(f->ext);
    else if (strrchr(base, '.') && strrchr(base, '.') > base)
        cut = (size_t)(strrchr(base, '.') - out);
    /* glob's own metacharacters in OUT would be taken as a pattern: escape them. */
    size_t k = 0;
    for (size_t i = 0; i < cut && k < len - 64; i++) {
        if (strchr("*?[]\\", out[i]))
            pattern[k++] = '\\';
        pattern[k++] = out[i];
    }
    snprintf(pattern + k, len - k, ".worker-[0-9]*.[0-9]*%s", out + cut);
}

int
cli_record_report_workers(const char *out, time_t since)
{
    char pattern[8400];
    workers_pattern(out, pattern, sizeof pattern);
    glob_t g;
    int found = 0;
    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct stat st;
        if (stat(g.gl_pathv[i], &st) != 0 || st.st_mtime < since)
            continue; /* an earlier run's */
        if (!found++)
            fprintf(stderr, "mrprof record: the cluster's workers wrote, one file per process:\n");
        fprintf(stderr, "  %s\n", g.gl_pathv[i]);
    }
    globfree(&g);
    return found;
}

int
cli_merge_workers(const char *cmd, struct profile *p, const char *out)
{
    char pattern[8400];
    workers_pattern(out, pattern, sizeof pattern);
    glob_t g;
    int rc = 0;
    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/');
        if (strstr(base ? base : g.gl_pathv[i], ".thread-")) { /* a worker's Deferred thread: */
            unlink(g.gl_pathv[i]); /* left out, as check leaves the primary's out */
            continue;
        }
        struct profile *w = cli_read_profile(cmd, g.gl_pathv[i]);
        if (!w || profile_merge_process(p, w) != 0)
            rc = -1;
        profile_free(w);
        unlink(g.gl_pathv[i]);
    }
    globfree(&g);
    return rc;
}
