/*
 * cmd_diff.c — `mrprof diff BASE NEW`: per function, self and total in both profiles (as shares
 * of each profile's own total, and in ms), the change in points and %, sorted by the size of
 * the change; functions that appeared or vanished are marked.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "viewer/cli.h"
#include "viewer/compare.h"
#include "viewer/report.h"

static const char help[] =
    "usage: mrprof diff BASE NEW [--top N] [--by function|line|file] [--format text|tsv]\n"
    "\n"
    "Compares two profiles of the same program: per function, the self and total share of each\n"
    "profile's own time (so runs of different lengths compare) and the time in ms, the change\n"
    "in points and in %, largest change first. 'new' and 'gone' mark functions seen in one\n"
    "profile only. Reads any .cpuprofile (mrun's, Node's, Chrome's).\n"
    "\n"
    "  --top N        rows (default 30; 0 = all)\n"
    "  --by KEY       function (default), line or file\n"
    "  --format F     text (default) or tsv (one header line, then one line per row)\n";

static void
print_change(FILE *out, const struct cmp_row *r)
{
    if (r->status == CMP_NEW)
        fprintf(out, "%8s", "new");
    else if (r->status == CMP_GONE)
        fprintf(out, "%8s", "gone");
    else if (r->base.self_pct > 0)
        fprintf(out, "%+7.1f%%", 100.0 * (r->cur.self_pct / r->base.self_pct - 1.0));
    else
        fprintf(out, "%8s", "-");
}

int
cmd_diff(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    int npaths = 0, top = 30;
    bool tsv = false;
    enum agg_by by = AGG_FUNCTION;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned long n;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        } else if (strcmp(a, "--top") == 0) {
            if (!cli_parse_uint("diff", a, i + 1 < argc ? argv[++i] : NULL, 1000000, &n))
                return CLI_USAGE;
            top = (int)n;
        } else if (strcmp(a, "--by") == 0) {
            if (!cli_parse_by("diff", i + 1 < argc ? argv[++i] : "", &by))
                return CLI_USAGE;
        } else if (strcmp(a, "--format") == 0) {
            if (!cli_parse_tsv("diff", i + 1 < argc ? argv[++i] : "", &tsv))
                return CLI_USAGE;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("diff", "unknown option '%s'", a);
        } else if (npaths < 2) {
            paths[npaths++] = a;
        } else {
            return cli_usage_error("diff", "two files: BASE and NEW (got a third, '%s')", a);
        }
    }
    if (npaths != 2)
        return cli_usage_error("diff", "which profiles? (mrprof diff BASE NEW)");
    struct profile *base = cli_read_profile("diff", paths[0]);
    if (!base)
        return CLI_USAGE;
    struct profile *cur = cli_read_profile("diff", paths[1]);
    if (!cur) {
        profile_free(base);
        return CLI_USAGE;
    }
    struct cmp_table t;
    if (cmp_compute(base, cur, by, &t) != 0) {
        fprintf(stderr, "mrprof diff: out of memory\n");
        profile_free(base), profile_free(cur);
        return CLI_USAGE;
    }
    char loc[512];
    if (tsv) {
        printf("status\tbase_self_pct\tnew_self_pct\tdelta_pts\tbase_self_ms\tnew_self_ms\t"
               "base_total_pct\tnew_total_pct\tname\tlocation\n");
    } else {
        printf("Base: %s  (%llu samples, %.1f ms)\n", paths[0], (unsigned long long)t.base_n, t.base_ms);
        printf("New:  %s  (%llu samples, %.1f ms)\n", paths[1], (unsigned long long)t.cur_n, t.cur_ms);
        if (t.base_ms > 0)
            printf("Time in the new profile: %+.1f%% against the base\n", 100.0 * (t.cur_ms / t.base_ms - 1.0));
        printf("\nSelf time, as a share of each profile's total; largest change first:\n");
        printf("  base%%   new%%   change  %%change    base ms     new ms   total%% base>new  function  location\n");
    }
    for (size_t i = 0; i < t.n && (top == 0 || (int)i < top); i++) {
        const struct cmp_row *r = &t.rows[i];
        report_location_str(r->file, by == AGG_FILE ? 0 : r->line, loc, sizeof loc);
        if (tsv) {
            static const char *st[] = {"both", "new", "gone"};
            printf("%s\t%.2f\t%.2f\t%+.2f\t%.3f\t%.3f\t%.2f\t%.2f\t%s\t%s\n", st[r->status],
                   r->base.self_pct, r->cur.self_pct, r->delta_pts, r->base.self_ms, r->cur.self_ms,
                   r->base.total_pct, r->cur.total_pct, r->name, by == AGG_FILE ? "" : loc);
            continue;
        }
        printf("%6.1f %6.1f %+7.1f ", r->base.self_pct, r->cur.self_pct, r->delta_pts);
        print_change(stdout, r);
        printf(" %10.1f %10.1f  %5.1f>%-5.1f  %s  %s\n", r->base.self_ms, r->cur.self_ms,
               r->base.total_pct, r->cur.total_pct, r->name, by == AGG_FILE ? "" : loc);
    }
    if (t.n == 0 && !tsv)
        printf("  (no samples in either profile)\n");
    cmp_free(&t);
    profile_free(base), profile_free(cur);
    return CLI_OK;
}
