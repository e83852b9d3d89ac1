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

static const char help[] =
    "usage: mrprof report FILE [--top N] [--tree] [--by function|line|file] [--thread N]\n"
    "                          [--min-pct P] [--format text|tsv]\n"
    "\n"
    "Prints where the time went: a header (duration, samples, achieved rate, dropped samples,\n"
    "threads), the top functions by self time with self/total ms and %, and with --tree the\n"
    "call tree with total and self % per node. Reads any profile mrprof reads (see `mrprof\n"
    "convert --help`): .cpuprofile, trace, .heapprofile, pprof, speedscope, folded stacks.\n"
    "\n"
    "  --top N        rows in the top table (default 20; 0 = all)\n"
    "  --tree         also print the call tree\n"
    "  --by KEY       group the top table by function (default), line or file\n"
    "  --thread N     only thread N (see the header's thread list; default all)\n"
    "  --min-pct P    hide call-tree nodes under P percent of the total (default 0.5)\n"
    "  --format F     text (default) or tsv: the top table alone, tab-separated with a header\n"
    "                 line (self_pct total_pct self_ms total_ms self_samples name location)\n";

int
cmd_report(int argc, char **argv)
{
    const char *path = NULL;
    struct report_opts o = {20, false, AGG_FUNCTION, -1, 0.5, false};
    bool min_pct_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned long n;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        } else if (strcmp(a, "--top") == 0) {
            if (!cli_parse_uint("report", a, i + 1 < argc ? argv[++i] : NULL, 1000000, &n))
                return CLI_USAGE;
            o.top = (int)n;
        } else if (strcmp(a, "--tree") == 0) {
            o.tree = true;
        } else if (strcmp(a, "--by") == 0) {
            if (!cli_parse_by("report", i + 1 < argc ? argv[++i] : "", &o.by))
                return CLI_USAGE;
        } else if (strcmp(a, "--thread") == 0) {
            if (!cli_parse_uint("report", a, i + 1 < argc ? argv[++i] : NULL, 1000000, &n))
                return CLI_USAGE;
            o.thread = (int)n;
        } else if (strcmp(a, "--min-pct") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            char *end;
            o.min_pct = strtod(v, &end);
            if (!*v || *end || o.min_pct < 0 || o.min_pct > 100)
                return cli_usage_error("report", "--min-pct takes a percentage, not '%s'", v);
            min_pct_given = true;
        } else if (strcmp(a, "--format") == 0) {
            if (!cli_parse_tsv("report", i + 1 < argc ? argv[++i] : "", &o.tsv))
                return CLI_USAGE;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("report", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_usage_error("report", "one file at a time (got '%s' and '%s')", path, a);
        }
    }
    if (!path)
        return cli_usage_error("report", "which profile? (mrprof report FILE)");
    /* Options that would do nothing are refused, not ignored. */
    if (o.tsv && (o.tree || min_pct_given))
        return cli_usage_error("report", "%s: --format tsv prints the top table alone, without a call tree",
                               o.tree ? "--tree" : "--min-pct");
    if (min_pct_given && !o.tree)
        return cli_usage_error("report", "--min-pct hides nodes of the call tree: add --tree");
    struct profile *p = cli_read_profile("report", path);
    if (!p)
        return CLI_USAGE;
    if (o.thread >= 0 && (size_t)o.thread >= profile_nthreads(p)) {
        fprintf(stderr, "mrprof report: %s has %zu thread(s); --thread %d does not exist\n", path,
                profile_nthreads(p), o.thread);
        profile_free(p);
        return CLI_USAGE;
    }
    int rc = report_print(stdout, p, path, &o);
    profile_free(p);
    return rc ? CLI_USAGE : CLI_OK;
}
