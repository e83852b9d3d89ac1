/*
 * cmd_report.c — `mrprof report FILE`: header, top table, call tree, as plain text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "profiler/model/aggregate.h"
#include "viewer/cli/cli.h"
#include "viewer/text/report.h"
#include "viewer/text/stalls.h"

static const char usage[] =
    "usage: mrprof report FILE [FILE...] [--top N] [--tree] [--by function|line|file]\n"
    "                          [--thread N] [--process PID|NAME] [--min-pct P] [--hide-idle]\n"
    "                          [--output-format text|tsv]\n";
static const char about[] =
    "Prints where the time went: a header (duration, samples, achieved rate, dropped samples,\n"
    "threads), the top functions by self time with self/total ms and %, and with --tree the\n"
    "call tree with total and self % per node. Reads any profile mrprof reads (see `mrprof\n"
    "convert --help`): .cpuprofile, trace, .heapprofile, pprof, speedscope, folded stacks.\n"
    "Several files are one program's processes (a cluster's: out.cpuprofile\n"
    "out.worker-*.cpuprofile), reported together; --process picks one.\n"
    "On a stall directory (mrun --prof-stall, mrprof record --stall) it lists the stalls by\n"
    "length and by blocking function (--top N rows of each).\n";

int
cmd_report(int argc, char **argv)
{
    struct report_opts o = {20, false, AGG_FUNCTION, -1, 0.5, false, false};
    int by = AGG_FUNCTION, shape = 0;
    const char *min_pct_opt = NULL, *shape_opt = NULL, *process = NULL;
    const struct opt opts[] = {
        {OPTION_INT("top", 0, &o.top, 0, 1000000, "N",
                    "rows in the top table (default 20; 0 = all)")},
        {OPTION_FLAG("tree", 0, &o.tree, "also print the call tree")},
        CLI_OPT_BY(&by),
        {OPTION_INT("thread", 0, &o.thread, 0, 1000000, "N",
                    "only thread N (see the header's thread list; default all)")},
        CLI_OPT_PROCESS(&process),
        {OPTION_FLAG("hide-idle", 0, &o.hide_idle,
                     "leave out the time the loop waited for I/O or timers, (idle): the\n"
                     "shares are then of the rest (the header says how much was left out);\n"
                     "(blocked: ...) and (garbage collector) stay. The viewer's key i")},
        {OPTION_DOUBLE("min-pct", 0, &o.min_pct, 0, 100, "P",
                       "hide call-tree nodes under P percent of the total (default 0.5)"),
         .given = &min_pct_opt},
        CLI_OPT_OUTPUT_FORMAT(&shape, &shape_opt,
                              "text (default) or tsv: the top table alone, tab-separated with a\n"
                              "header line (self_pct total_pct self_ms total_ms self_samples name\n"
                              "location); --format F is the same"),
        {0},
    };
    const struct opt_cmd cmd = {"mrprof report", usage, about, NULL, opts, 24, 0};
    int rc, nargs = cli_parse(&cmd, argc, argv, -1, NULL, &rc);
    if (nargs < 0)
        return rc;
    const char *path = nargs ? argv[0] : NULL;
    o.by = (enum agg_by)by;
    o.tsv = shape == 1;
    bool min_pct_given = min_pct_opt != NULL;
    if (!path)
        return cli_usage_error("report", "which profile? (mrprof report FILE)");
    /* Options that would do nothing are refused, not ignored. */
    if (o.tsv && (o.tree || min_pct_given))
        return cli_usage_error("report",
                               "%s: %s tsv prints the top table alone, without a call tree",
                               o.tree ? "--tree" : "--min-pct", shape_opt);
    if (min_pct_given && !o.tree)
        return cli_usage_error("report", "--min-pct hides nodes of the call tree: add --tree");
    if (stalls_is_dir(path) && nargs > 1)
        return cli_usage_error("report", "%s is a stall directory: report one at a time", path);
    if (stalls_is_dir(path)) {
        if (o.tree || o.tsv || o.thread >= 0 || by != AGG_FUNCTION || process)
            return cli_usage_error("report",
                                   "%s is a stall directory: only --top applies (open "
                                   "one of its profiles for the rest)",
                                   path);
        struct mp_err e = {0};
        if (stalls_report(stdout, path, o.top, &e) != 0) {
            fprintf(stderr, "mrprof report: %s\n", e.msg);
            return CLI_USAGE;
        }
        return CLI_OK;
    }
    struct profile *p =
        cli_only_process("report", path, cli_read_program("report", argv, nargs), process);
    if (!p)
        return CLI_USAGE;
    if (o.hide_idle && p->meta.mode == PROFILE_HEAP) {
        fprintf(stderr,
                "mrprof report: --hide-idle: %s is a memory profile, which has no idle time\n",
                path);
        profile_free(p);
        return CLI_USAGE;
    }
    if (o.thread >= 0 && (size_t)o.thread >= profile_nthreads(p)) {
        fprintf(stderr, "mrprof report: %s has %zu thread(s); --thread %d does not exist\n", path,
                profile_nthreads(p), o.thread);
        profile_free(p);
        return CLI_USAGE;
    }
    rc = report_print(stdout, p, path, &o);
    profile_free(p);
    return rc ? CLI_USAGE : CLI_OK;
}
