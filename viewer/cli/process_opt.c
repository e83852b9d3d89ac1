/*
 * process_opt.c — `--process PID|NAME` of report, view and diff: the profile of one process of a
 * cluster's (profile.h: processes). Thread numbers (--thread N) then count that process's threads.
 */
#include <stdio.h>
#include <string.h>

#include "profiler/model/profile.h"
#include "viewer/cli/cli.h"

struct profile *
cli_only_process(const char *cmd, const char *path, struct profile *p, const char *sel)
{
    if (!p || !sel)
        return p;
    uint32_t k;
    struct mp_err e = {0};
    if (profile_parse_process(p, sel, &k, &e) != 0) {
        fprintf(stderr, "mrprof %s: --process: %s: %s\n", cmd, path, e.msg);
        profile_free(p);
        return NULL;
    }
    struct profile *only = profile_only_process(p, k);
    profile_free(p);
    if (!only)
        fprintf(stderr, "mrprof %s: out of memory\n", cmd);
    return only;
}

struct profile *
cli_read_program(const char *cmd, char **paths, int n)
{
    struct profile *p = cli_read_profile(cmd, paths[0]);
    for (int i = 1; p && i < n; i++) {
        struct profile *w = cli_read_profile(cmd, paths[i]);
        if (!w) {
            profile_free(p);
            return NULL;
        }
        if (w->meta.mode != p->meta.mode) {
            fprintf(stderr, "mrprof %s: %s and %s are profiles of different kinds (%s, %s)\n", cmd,
                    paths[0], paths[i], p->meta.mode == PROFILE_HEAP ? "memory" : "time",
                    w->meta.mode == PROFILE_HEAP ? "memory" : "time");
            profile_free(p), profile_free(w);
            return NULL;
        }
        if (!p->meta.process_name[0] && strncmp(w->meta.process_name, "cluster worker", 14) == 0)
            snprintf(p->meta.process_name, sizeof p->meta.process_name, "cluster primary");
        if (profile_merge_process(p, w) != 0) {
            fprintf(stderr, "mrprof %s: out of memory\n", cmd);
            profile_free(p);
            p = NULL;
        }
        profile_free(w);
    }
    return p;
}
