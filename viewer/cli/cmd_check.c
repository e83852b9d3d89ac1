/*
 * cmd_check.c — `mrprof check`: the CI gate. Exit 0 no regression, 1 regression, 2 usage or
 * input error, 3 the script failed.
 *
 * Two forms (docs/ci.md explains the statistics):
 *   --baseline BASE NEW   each function's share of the time (total, inclusive: a method that
 *                         got slower in its callees counts) in two profiles. A function fails
 *                         when its share grew by more than the threshold (relative) AND the
 *                         growth is far outside sampling noise (two-proportion z > 3).
 *   --runs N -- SCRIPT    N profiled runs against N runs of a base command made in turn with
 *                         them (--against), or a stored baseline of runs (--baseline-json,
 *                         written by --save-baseline): total CPU time, and the inclusive time
 *                         against the rest of the run of every function worth 1 % or more (and
 *                         under 95 %), each compared with a one-sided Mann–Whitney U test
 *                         (Holm's correction over the tests) plus the threshold on the median
 *                         change; the Hodges–Lehmann 95 % interval of each change is reported.
 * Failures are listed largest relative change first, which names the method that got slower
 * before its callers (whose change is diluted by their other work).
 * Budgets (--budget 'NAME<=30%', repeatable, and ./mrprof.budget) cap a function's total
 * (inclusive) share of the NEW profile (or the last run).
 *
 * This file is the command: its options, the runner (mrun N times, base and new in turn) and
 * the flow. The budgets, the verdict engines, the run set and its baseline files, and the
 * outputs live in viewer/check/ (check.h lists them).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "profiler/model/stats.h"
#include "viewer/check/baseline.h"
#include "viewer/check/budget.h"
#include "viewer/check/check.h"
#include "viewer/check/evidence.h"
#include "viewer/check/output.h"
#include "viewer/check/verdict.h"
#include "viewer/cli/cli.h"
#include "viewer/cli/spawn.h"

static const char usage[] =
    "usage: mrprof check --baseline BASE NEW [options]\n"
    "       mrprof check --runs N (--against 'BASE [ARGS]' | --save-baseline PATH |\n"
    "                    --baseline-json PATH) [options]\n"
    "                    -- SCRIPT [ARGS]\n"
    "       mrprof check NEW --budget 'NAME<=P%' ...\n";
static const char about[] = "Fails (exit 1) when code got slower, and says where.\n";
static const char footer[] =
    "exit status: 0 no regression, 1 regression, 2 usage or input error, 3 the script failed\n";

/* --- the runner ----------------------------------------------------------------------------- */

/* One profiled run of script_argv under mrun into out; returns the profile or NULL (and says
 * why on stderr). */
static struct profile *
run_once(const char *mrun, const char *hz, char **script_argv, int script_argc, const char *out,
         const char *tag, size_t run, bool tty)
{
    char **argv = cli_mrun_argv(mrun, out, NULL, hz, NULL, NULL, NULL, script_argv, script_argc);
    if (!argv)
        return NULL;
    const struct spawn_opts so = {
        .cmd = "check", .hint = " (build it with `make`, or pass --mrun)", .out_path = "/dev/null"};
    pid_t pid = spawn_mrun(argv, &so);
    int err = errno;
    free(argv);
    struct spawn_end end = {0};
    if (pid < 0 || spawn_wait(pid, 0, &end) != 1 || end.signo || end.code != 0) {
        unlink(out);
        fprintf(stderr, "%smrprof check: run %zu of %s%s failed (%s %d); no verdict\n",
                tty ? "\n" : "", run, tag, script_argv[0],
                pid < 0     ? "fork"
                : end.signo ? "signal"
                            : "exit status",
                pid < 0     ? err
                : end.signo ? end.signo
                            : end.code);
        return NULL;
    }
    struct profile *p = cli_read_profile("check", out);
    if (p && cli_merge_workers("check", p, out) != 0) { /* a cluster: every process counts */
        profile_free(p);
        p = NULL;
    }
    unlink(out);
    return p;
}

/*
 * Runs mrun with --cpu-prof o->runs times and fills cur. With --against, each round also runs
 * the base command into base, in the order AB BA AB ... so that a machine that drifts (a
 * neighbour starts a job, the CPU clocks down) slows both sides alike instead of the side that
 * ran second. Returns 0, CLI_SCRIPT_FAILED or CLI_USAGE; *last is the last profile of cur.
 */
static int
do_runs(const struct opts *o, char **script_argv, int script_argc, struct run_set *base,
        struct run_set *cur, struct profile **last, struct profile **last_base)
{
    char dir[] = "/tmp/mrprof-check.XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mrprof check: cannot make a temporary directory: %s\n", strerror(errno));
        return CLI_USAGE;
    }
    char mrun_buf[4096], out[4200], hz[16];
    const char *mrun = cli_mrun_path(o->mrun, mrun_buf, sizeof mrun_buf);
    snprintf(hz, sizeof hz, "%lu", o->hz);
    int base_argc = 0;
    char **base_argv = o->against ? spawn_split(o->against, &base_argc) : NULL;
    int rc = 0;
    if ((o->against && !base_argv) || run_set_init(cur, o->runs) != 0 ||
        (base_argv && run_set_init(base, o->runs) != 0))
        rc = CLI_USAGE;
    bool tty = isatty(STDERR_FILENO);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < o->runs && rc == 0; i++) {
        if (tty) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            fprintf(stderr, "\rmrprof check: run %zu/%lu%s, %.1f s elapsed ", i + 1, o->runs,
                    base_argv ? " (base and new)" : "",
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        }
        for (int side = 0; side < (base_argv ? 2 : 1) && rc == 0; side++) {
            bool is_base = base_argv && (side == 0) == (i % 2 == 0);
            snprintf(out, sizeof out, "%s/run-%zu-%d.cpuprofile", dir, i, side);
            struct profile *p =
                is_base ? run_once(mrun, hz, base_argv, base_argc, out, "base ", i + 1, tty)
                        : run_once(mrun, hz, script_argv, script_argc, out, "", i + 1, tty);
            if (!p || add_run(is_base ? base : cur, i, p) != 0) {
                profile_free(p);
                rc = CLI_SCRIPT_FAILED;
            } else if (!is_base && i + 1 == o->runs) {
                *last = p;
            } else if (is_base && i + 1 == o->runs && o->artifacts) {
                *last_base = p; /* the evidence's base profile */
            } else {
                profile_free(p);
            }
        }
    }
    if (tty)
        fputc('\n', stderr);
    rmdir(dir);
    if (base_argv)
        free(base_argv[0]), free(base_argv);
    return rc;
}

/* --- the command ---------------------------------------------------------------------------- */

/* --budget 'F<=P%' (repeatable). */
static int
budget_opt(struct opt_state *st, const struct opt *row, const char *value)
{
    struct opts *o = row->dst;
    if (o->nbudgets == 64)
        return opt_error(st->cmd, "%s: at most 64 budgets", st->spelled);
    return parse_budget(value, &o->budgets[o->nbudgets++], "--budget") ? 0 : OPT_ERROR;
}

int
cmd_check(int argc, char **argv)
{
    struct opts o = {0};
    o.threshold = 5.0;
    o.alpha = 0.01;
    o.hz = 4000;
    bool no_budget_file = false;
    /* given options that need --runs, or a comparison */
    const char *runs_opt = NULL, *alpha_opt = NULL, *hz_opt = NULL, *threshold_opt = NULL;
    const struct opt opts[] = {
        {OPTION_PATH("baseline", 0, &o.base_path, "BASE",
                     "(then NEW) compare each function's share of the time (inclusive) in two\n"
                     "profiles; a function fails when its share grew by more than the\n"
                     "threshold and far beyond sampling noise (z > 3)\n"
                     "(functions of two profiles, runs or checkouts are matched by\n"
                     "name, file relative to the script's directory, and line, a moved\n"
                     "function by line order: see docs/ci.md)")},
        {OPTION_UINT("runs", 0, &o.runs, 2, 1000, "N",
                     "run SCRIPT N times (10 is a good start) under the profiler and compare\n"
                     "total CPU time and each function's (inclusive) time against the rest of\n"
                     "its run with a baseline of runs: Mann-Whitney U test (alpha 0.01,\n"
                     "Holm) plus the threshold on the median"),
         .flags = OPTF_THEN_ARGS, .given = &runs_opt},
        {OPTION_STRING("against", 0, &o.against, "'BASE [ARGS]'",
                       "with --runs: also run the base script (split at spaces), base\n"
                       "and new in turn (AB BA AB ...), and compare with those runs: a\n"
                       "machine that slows down mid-check slows both sides alike")},
        {OPTION_PATH("save-baseline", 0, &o.save_path, "P",
                     "with --runs: store the runs as the baseline and exit 0")},
        {OPTION_PATH("baseline-json", 0, &o.baseline_json, "P",
                     "with --runs: the stored baseline to compare with")},
        {OPTION_DOUBLE("threshold", 0, &o.threshold, 0, 1000, "T",
                       "smallest change that counts, in % (default 5%)"),
         .flags = OPTF_PERCENT, .given = &threshold_opt},
        {OPTION_DOUBLE("alpha", 0, &o.alpha, 0, 1, "A",
                       "significance level of the --runs tests (default 0.01)"),
         .flags = OPTF_MIN_EXCL | OPTF_MAX_EXCL, .given = &alpha_opt},
        {OPTION_CALLBACK("budget", 0, budget_opt, &o, "'F<=P%'",
                         "F's total (inclusive) share must stay at or under P% (repeatable);\n"
                         "F is NAME, NAME@FILE or NAME@FILE:LINE (one of several functions\n"
                         "of a name); lines of the same form in ./mrprof.budget are read too")},
        {OPTION_FLAG("no-budget-file", 0, &no_budget_file, "ignore ./mrprof.budget")},
        {OPTION_PATH("markdown", 0, &o.markdown, "PATH",
                     "also write the table as Markdown (for a CI job summary)")},
        {OPTION_PATH("junit", 0, &o.junit, "PATH",
                     "also write JUnit XML: one test case per checked function, one for\n"
                     "the total")},
        {OPTION_STRING("annotations", 0, &o.annotations, "github|none",
                       "github: a ::error workflow command at the source line of each\n"
                       "regressed function, and the Markdown table appended to\n"
                       "$GITHUB_STEP_SUMMARY (default: github when GITHUB_ACTIONS is set)")},
        {OPTION_PATH("metrics", 0, &o.metrics, "FILE",
                     "also write the verdicts as OpenMetrics text (GitLab's metrics report)")},
        {OPTION_PATH("artifacts", 0, &o.artifacts, "DIR",
                     "also write the evidence to DIR: base.cpuprofile, new.cpuprofile, their\n"
                     "flame graphs base.svg and new.svg, the differential flame graph\n"
                     "diff-base-to-new.svg and summary.md")},
        {OPTION_UINT("hz", 0, &o.hz, 1, 10000, "N",
                     "sampling rate for --runs, 1..10000 (default 4000)"),
         .given = &hz_opt},
        CLI_OPT_MRUN(&o.mrun),
        {0},
    };
    const struct opt_cmd cmd = {"mrprof check", usage, about, footer, opts, 23, 0};
    int nargs = opt_parse(&cmd, argc, argv);
    if (nargs < 0)
        return cli_opt_exit(nargs);
    o.budget_file = !no_budget_file;
    bool github = false;
    if (o.annotations && strcmp(o.annotations, "github") == 0)
        github = true;
    else if (o.annotations && strcmp(o.annotations, "none") != 0)
        return cli_usage_error("check", "--annotations takes github or none, not '%s'",
                               o.annotations);
    else if (!o.annotations)
        github = getenv("GITHUB_ACTIONS") && *getenv("GITHUB_ACTIONS");
    bool runs_mode = runs_opt != NULL;
    const char *runs_only = hz_opt ? hz_opt : alpha_opt;
    const char *files[2] = {NULL, NULL};
    int nfiles = runs_mode ? 0 : nargs;
    if (nfiles > 2)
        return cli_usage_error("check", "too many files ('%s')", argv[2]);
    for (int k = 0; k < nfiles; k++)
        files[k] = argv[k];
    if (o.budget_file && read_budget_file(o.budgets, &o.nbudgets, CHECK_MAX_BUDGETS) != 0)
        return CLI_USAGE;
    /* Options that would do nothing are refused, not ignored. */
    if (runs_only && !runs_mode)
        return cli_usage_error(
            "check",
            "%s sets how --runs records and judges; two profiles are judged by a "
            "z test on their samples",
            runs_only);
    if (threshold_opt && !runs_mode && !o.base_path)
        return cli_usage_error(
            "check", "--threshold applies to a comparison (--baseline BASE NEW or --runs); "
                     "a budget is its own limit");

    struct verdicts vs = {0};
    struct profile *a = NULL, *b = NULL;
    struct run_set base = {0}, cur = {0};
    int rc = CLI_OK;
    if (runs_mode) {
        if (nargs == 0)
            return cli_usage_error(
                "check", "--runs needs a script: mrprof check --runs N ... -- SCRIPT [ARGS]");
        if (!o.baseline_json + !o.against + !o.save_path != 2)
            return cli_usage_error("check", "--runs needs one of --against 'BASE_SCRIPT [ARGS]', "
                                            "--save-baseline PATH or --baseline-json PATH");
        if (o.against && !o.against[strspn(o.against, " \t")])
            return cli_usage_error(
                "check", "--against needs the base command, e.g. --against '../main/bench.rb'");
        if (o.save_path && (o.metrics || o.artifacts || o.annotations))
            return cli_usage_error("check", "%s judges a check; --save-baseline only records runs",
                                   o.metrics     ? "--metrics"
                                   : o.artifacts ? "--artifacts"
                                                 : "--annotations");
        if (o.baseline_json && load_runs(&base, o.baseline_json) != 0) {
            run_set_free(&base);
            return CLI_USAGE;
        }
        rc = do_runs(&o, argv, nargs, &base, &cur, &b, &a);
        if (rc == 0 && o.save_path) {
            rc = save_runs(&cur, o.save_path, argv[0]) == 0 ? CLI_OK : CLI_USAGE;
            if (rc == CLI_OK)
                printf("mrprof check: saved %lu runs of %s to %s (median CPU %.1f ms)\n", o.runs,
                       argv[0], o.save_path, stats_median(cur.total, cur.nruns));
            goto done;
        }
        if (rc == 0 && compare_runs(o.threshold, o.alpha, &base, &cur, &vs) != 0)
            rc = CLI_USAGE;
    } else {
        if (o.base_path && nfiles != 1)
            return cli_usage_error("check", "--baseline BASE takes one NEW profile (got %d)",
                                   nfiles);
        if (!o.base_path && (nfiles != 1 || o.nbudgets == 0))
            return cli_usage_error(
                "check", "compare with --baseline BASE NEW, or give budgets for one profile");
        if (o.base_path && !(a = cli_read_profile("check", o.base_path)))
            return CLI_USAGE;
        if (!(b = cli_read_profile("check", files[0]))) {
            profile_free(a);
            return CLI_USAGE;
        }
        if (a && profile_nsamples(a) == 0)
            fprintf(stderr, "mrprof check: %s has no samples; nothing to compare with\n",
                    o.base_path),
                rc = CLI_USAGE;
        else if (profile_nsamples(b) == 0)
            fprintf(stderr, "mrprof check: %s has no samples; nothing to check\n", files[0]),
                rc = CLI_USAGE;
        else if (a && compare_profiles(o.threshold, a, b, &vs) != 0)
            rc = CLI_USAGE;
    }
    if (rc == CLI_OK && b && check_budgets(o.budgets, o.nbudgets, b, &vs) != 0)
        rc = CLI_USAGE;
    if (rc == CLI_OK) {
        name_apart(&vs);
        qsort(vs.v, vs.n, sizeof *vs.v, by_verdict);
        size_t failures = 0;
        for (size_t k = 0; k < vs.n; k++)
            failures += vs.v[k].failed;
        print_table(stdout, &vs, false);
        for (size_t k = 0; k < vs.n; k++)
            if (vs.v[k].failed)
                printf("FAIL %s: %s\n", vs.v[k].name, vs.v[k].why);
        printf("mrprof check: %s (%zu of %zu checks failed; threshold %g%%%s)\n",
               failures ? "REGRESSION" : "no regression", failures, vs.n, o.threshold,
               vs.runs ? ", Mann-Whitney U" : ", z > 3");
        if ((o.markdown && write_report_file(o.markdown, &vs, false, failures) != 0) ||
            (o.junit && write_report_file(o.junit, &vs, true, failures) != 0) ||
            (github && write_annotations(stdout, &vs, runs_mode ? argv[0] : NULL, failures) != 0) ||
            (o.metrics && write_metrics(o.metrics, &vs, failures) != 0) ||
            (o.artifacts && write_artifacts(o.artifacts, a, b, &vs, failures) != 0))
            rc = CLI_USAGE;
        else if (failures)
            rc = CLI_REGRESSION;
    }
done:
    free(vs.v);
    profile_free(a), profile_free(b);
    run_set_free(&base), run_set_free(&cur);
    return rc;
}
