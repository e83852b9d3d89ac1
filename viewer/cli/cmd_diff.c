/*
 * cmd_diff.c — `mrprof diff BASE NEW`: per function, self and total in both profiles (as shares
 * of each profile's own total, and in ms), the change in points and %, sorted by the size of
 * the change; functions that appeared or vanished are marked. Then the call tree of the change
 * (difftree.c), and with -o a profile of the change for flame-graph tools.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "viewer/cli/cli.h"
#include "profiler/model/compare.h"
#include "profiler/model/difftree.h"
#include "viewer/text/difftext.h"
#include "viewer/text/report.h"

static const char usage[] =
    "usage: mrprof diff BASE NEW [--top N] [--by function|line|file] [--output-format text|tsv]\n"
    "                            [--tree-min PTS | --no-tree] [--absolute] [-o FILE]\n"
    "                            [--process PID|NAME]\n";
static const char about[] =
    "Compares two profiles of the same program: per function, the self and total share of each\n"
    "profile's own time (so runs of different lengths compare) and the time in ms, the change\n"
    "in points and in %, largest change first. 'new' and 'gone' mark functions seen in one\n"
    "profile only. A function is (name, file, first line); the two profiles' functions are\n"
    "matched with files relative to the script's directory (two checkouts line up), the same\n"
    "line first, then the rest of one name and file in line order (a moved method still\n"
    "matches; the base's line is shown when it moved). Then the call tree of the change: every\n"
    "call path whose inclusive time moved, largest change first. Reads any profile mrprof\n"
    "reads (see `mrprof convert --help`).\n";
static const char footer[] =
    "mrprof view --diff BASE NEW shows the same change in the terminal viewer.\n";

/* -o FILE: a format must be known from the extension. */
static int
change_path_opt(struct opt_state *st, const struct opt *o, const char *value)
{
    if (!fmt_by_path(value))
        return opt_error(st->cmd, "cannot tell the format of '%s' from its extension (%s)", value,
                         fmt_names());
    *(const char **)o->dst = value;
    return 0;
}

/* The relative change of a row's inclusive time in ms, or new / gone. */
static void
print_change(FILE *out, const struct cmp_row *r)
{
    if (r->status == CMP_NEW)
        fprintf(out, "%8s", "new");
    else if (r->status == CMP_GONE)
        fprintf(out, "%8s", "gone");
    else if (r->base.total_ms > 0)
        fprintf(out, "%+7.1f%%", 100.0 * (r->cur.total_ms / r->base.total_ms - 1.0));
    else
        fprintf(out, "%8s", "-");
}

/* The last component of a path, for titles. */
static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* The call tree of the change (unless tree_min < 0) and the -o file. */
static int
diff_outputs(const struct profile *base, const struct profile *cur, bool absolute, double tree_min,
             const char *out_path, const char *const paths[2])
{
    char title[600];
    struct diff_tree d;
    int err = diff_build(base, cur, !absolute, &d);
    if (err == -EINVAL) {
        fprintf(stderr, "mrprof diff: a heap profile and a CPU profile do not compare\n");
        return CLI_USAGE;
    } else if (err) {
        fprintf(stderr, "mrprof diff: out of memory\n");
        return CLI_USAGE;
    }
    int rc = CLI_OK;
    if (tree_min >= 0) {
        printf("\nCall tree of the change: paths whose inclusive time moved by %.1f points or "
               "more%s:\n",
               tree_min, absolute ? "" : " (base scaled to the new total)");
        diff_print_tree(&d, tree_min, stdout);
    }
    if (out_path) {
        bool svg = fmt_by_path(out_path)->write == svg_write;
        /* An SVG is the differential flame graph of the merged tree itself (widths from NEW,
         * colours by the change); the other formats get the profile of the change. */
        struct profile *g = svg ? d.u : diff_change_profile(&d);
        struct fmt_write_opts o = {.thread = 0};
        struct fmt_err e;
        int wrc = 0;
        if (svg) {
            snprintf(title, sizeof title, "Differential flame graph: %s against %s",
                     base_name(paths[1]), base_name(paths[0]));
            wrc = diff_write_svg(&d, absolute, title, out_path, &e);
        } else if (g) {
            wrc = fmt_write_path(g, out_path, fmt_by_path(out_path), &o, &e);
        }
        if (!g) {
            fprintf(stderr, "mrprof diff: out of memory\n");
            rc = CLI_USAGE;
        } else if (wrc != 0) {
            fprintf(stderr, "mrprof diff: %s\n", e.msg);
            rc = CLI_USAGE;
        } else {
            fprintf(stderr, "mrprof diff: the change written to %s\n", out_path);
        }
        if (!svg)
            profile_free(g);
    }
    diff_free(&d);
    return rc;
}

int
cmd_diff(int argc, char **argv)
{
    int top = 30, by_i = AGG_FUNCTION, shape = 0;
    bool no_tree = false, absolute = false;
    double tree_min = 1.0;
    const char *out_path = NULL, *shape_opt = NULL, *tree_min_opt = NULL, *process = NULL;
    const struct opt opts[] = {
        {OPTION_INT("top", 0, &top, 0, 1000000, "N", "rows (default 30; 0 = all)")},
        CLI_OPT_BY(&by_i),
        CLI_OPT_OUTPUT_FORMAT(&shape, &shape_opt,
                              "text (default) or tsv (one header line, then one line per row; no\n"
                              "tree); --format F is the same"),
        {OPTION_DOUBLE("tree-min", 0, &tree_min, 0, 100, "P",
                       "show call paths that moved by P points of the total or more (default 1)"),
         .given = &tree_min_opt},
        {OPTION_FLAG("no-tree", 0, &no_tree, "the table only")},
        {OPTION_FLAG("absolute", 0, &absolute,
                     "the tree and -o compare time as measured; by default the base is scaled\n"
                     "to the new profile's total first, so runs of different lengths compare")},
        {OPTION_CALLBACK("output", 'o', change_path_opt, &out_path, "FILE",
                         "write the change as a profile, the format from the extension: a\n"
                         ".speedscope.json holds two profiles, 'grew (new - base)' and 'shrank\n"
                         "(base - new)'; a .cpuprofile (Chrome DevTools) holds what grew;\n"
                         "an .svg is a differential flame graph: widths from NEW, red grew,\n"
                         "blue shrank, each label with its change (+12.3%)")},
        CLI_OPT_PROCESS(&process),
        {0},
    };
    const struct opt_cmd cmd = {"mrprof diff", usage, about, footer, opts, 24, 0};
    int rc, nargs = cli_parse(&cmd, argc, argv, 2, "two files: BASE and NEW", &rc);
    if (nargs < 0)
        return rc;
    if (nargs != 2)
        return cli_usage_error("diff", "which profiles? (mrprof diff BASE NEW)");
    const char *paths[2] = {argv[0], argv[1]};
    enum agg_by by = (enum agg_by)by_i;
    bool tsv = shape == 1, tree = !no_tree, tree_min_given = tree_min_opt != NULL;
    /* Options that would do nothing are refused, not ignored. */
    if (tree_min_given && (tsv || !tree))
        return cli_usage_error("diff", "--tree-min sets the call tree, which %s%s leaves out",
                               tsv ? shape_opt : "--no-tree", tsv ? " tsv" : "");
    if (absolute && (tsv || !tree) && !out_path)
        return cli_usage_error("diff",
                               "--absolute scales the call tree and -o, and %s%s prints neither",
                               tsv ? shape_opt : "--no-tree", tsv ? " tsv" : "");
    struct profile *base =
        cli_only_process("diff", paths[0], cli_read_profile("diff", paths[0]), process);
    if (!base)
        return CLI_USAGE;
    struct profile *cur =
        cli_only_process("diff", paths[1], cli_read_profile("diff", paths[1]), process);
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
               "base_total_pct\tnew_total_pct\tname\tlocation\tbase_total_ms\tnew_total_ms\tdelta_"
               "total_pts\n");
    } else {
        printf("Base: %s  (%llu samples, %.1f ms)\n", paths[0], (unsigned long long)t.base_n,
               t.base_ms);
        printf("New:  %s  (%llu samples, %.1f ms)\n", paths[1], (unsigned long long)t.cur_n,
               t.cur_ms);
        if (t.base_ms > 0)
            printf("Time in the new profile: %+.1f%% against the base\n",
                   100.0 * (t.cur_ms / t.base_ms - 1.0));
        printf("\nPer function, largest change first. Shares are of each profile's own total; ms "
               "as measured.\n");
        printf("  ----- self %% -----  ----- total %% -----  ----- total ms (inclusive) -----\n");
        printf("   base    new change   base    new change     base      new   change  function  "
               "location\n");
    }
    for (size_t i = 0; i < t.n && (top == 0 || (int)i < top); i++) {
        const struct cmp_row *r = &t.rows[i];
        report_location_str(r->file, by == AGG_FILE ? 0 : r->line, loc, sizeof loc);
        if (tsv) {
            static const char *st[] = {"both", "new", "gone"};
            printf("%s\t%.2f\t%.2f\t%+.2f\t%.3f\t%.3f\t%.2f\t%.2f\t%s\t%s\t%.3f\t%.3f\t%+.2f\n",
                   st[r->status], r->base.self_pct, r->cur.self_pct, r->delta_pts, r->base.self_ms,
                   r->cur.self_ms, r->base.total_pct, r->cur.total_pct, r->name,
                   by == AGG_FILE ? "" : loc, r->base.total_ms, r->cur.total_ms,
                   r->delta_total_pts);
            continue;
        }
        printf("%7.1f %6.1f %+6.1f %6.1f %6.1f %+6.1f %8.1f %8.1f ", r->base.self_pct,
               r->cur.self_pct, r->delta_pts, r->base.total_pct, r->cur.total_pct,
               r->delta_total_pts, r->base.total_ms, r->cur.total_ms);
        print_change(stdout, r);
        printf("  %s  %s", r->name, by == AGG_FILE ? "" : loc);
        if (by != AGG_FILE && r->status == CMP_BOTH && r->base_line != r->line)
            printf(" (line %d in the base)", (int)r->base_line);
        putchar('\n');
    }
    if (t.n == 0 && !tsv)
        printf("  (no samples in either profile)\n");
    cmp_free(&t);
    rc = CLI_OK;
    if ((tree && !tsv) || out_path)
        rc = diff_outputs(base, cur, absolute, tsv || !tree ? -1 : tree_min, out_path, paths);
    profile_free(base), profile_free(cur);
    return rc;
}
