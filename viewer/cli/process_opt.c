/*
 * process_opt.c — `--process PID|NAME` of report, view and diff: the profile of one process of a
 * cluster's (profile.h: processes). Thread numbers (--thread N) then count that process's threads.
 */
#include <stdio.h>

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
