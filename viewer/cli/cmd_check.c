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
#include "viewer/check/output.h"
#include "viewer/check/verdict.h"
#include "viewer/cli/cli.h"

static const char help[] =
    "usage: mrprof check --baseline BASE NEW [options]\n"
    "       mrprof check --runs N (--against 'BASE [ARGS]' | --save-baseline PATH |\n"
    "                    --baseline-json PATH) [options]\n"
    "                    -- SCRIPT [ARGS]\n"
    "       mrprof check NEW --budget 'NAME<=P%' ...\n"
    "\n"
    "Fails (exit 1) when code got slower, and says where.\n"
    "  --baseline BASE NEW  compare each function's share of the time (inclusive) in two\n"
    "                       profiles; a function fails when its share grew by more than the\n"
    "                       threshold and far beyond sampling noise (z > 3)\n"
    "                       (functions of two profiles, runs or checkouts are matched by\n"
    "                       name, file relative to the script's directory, and line, a moved\n"
    "                       function by line order: see docs/ci.md)\n"
    "  --runs N             run SCRIPT N times (default 10) under the profiler and compare total\n"
    "                       CPU time and each function's (inclusive) time against the rest of\n"
    "                       its run with a baseline of runs: Mann-Whitney U test (alpha 0.01,\n"
    "                       Holm) plus the threshold on the median\n"
    "  --against 'BASE [ARGS]'  with --runs: also run the base script (split at spaces), base\n"
    "                       and new in turn (AB BA AB ...), and compare with those runs: a\n"
    "                       machine that slows down mid-check slows both sides alike\n"
    "  --save-baseline P    with --runs: store the runs as the baseline and exit 0\n"
    "  --baseline-json P    with --runs: the stored baseline to compare with\n"
    "  --threshold T        smallest change that counts, in % (default 5%)\n"
    "  --alpha A            significance level of the --runs tests (default 0.01)\n"
    "  --budget 'F<=P%'     F's total (inclusive) share must stay at or under P% (repeatable);\n"
    "                       F is NAME, NAME@FILE or NAME@FILE:LINE (one of several functions\n"
    "                       of a name); lines of the same form in ./mrprof.budget are read too\n"
    "  --no-budget-file     ignore ./mrprof.budget\n"
    "  --markdown PATH      also write the table as Markdown (for a CI job summary)\n"
    "  --junit PATH         also write JUnit XML: one test case per checked function, one for\n"
    "                       the total\n"
    "  --hz N, --mrun PATH  sampling rate and mrun binary for --runs (default 4000, beside mrprof)\n"
    "\n"
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
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("MRUN_QUIET", "1", 1);
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execv(mrun, argv);
        fprintf(stderr, "mrprof check: cannot run %s: %s (build it with `make`, or pass --mrun)\n", mrun,
                strerror(errno));
        _exit(127);
    }
    free(argv);
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(out);
        fprintf(stderr, "%smrprof check: run %zu of %s%s failed (%s %d); no verdict\n", tty ? "\n" : "", run,
                tag, script_argv[0], pid < 0 ? "fork" : WIFEXITED(status) ? "exit status" : "signal",
                pid < 0 ? errno : WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return NULL;
    }
    struct profile *p = cli_read_profile("check", out);
    unlink(out);
    return p;
}

/* Splits the --against command at spaces (no quoting) into a NULL-terminated argv; free argv[0]
 * and argv. */
static char **
split_command(const char *cmd, int *argc)
{
    char *s = strdup(cmd);
    char **argv = calloc(strlen(cmd) / 2 + 2, sizeof *argv);
    if (!s || !argv) {
        free(s), free(argv);
        return NULL;
    }
    *argc = 0;
    for (char *save = NULL, *w = strtok_r(s, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
        argv[(*argc)++] = w;
    if (*argc == 0)
        free(s), free(argv), argv = NULL;
    return argv;
}

/*
 * Runs mrun with --cpu-prof o->runs times and fills cur. With --against, each round also runs
 * the base command into base, in the order AB BA AB ... so that a machine that drifts (a
 * neighbour starts a job, the CPU clocks down) slows both sides alike instead of the side that
 * ran second. Returns 0, CLI_SCRIPT_FAILED or CLI_USAGE; *last is the last profile of cur.
 */
static int
do_runs(const struct opts *o, char **script_argv, int script_argc, struct run_set *base,
        struct run_set *cur, struct profile **last)
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
    char **base_argv = o->against ? split_command(o->against, &base_argc) : NULL;
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
            struct profile *p = is_base ? run_once(mrun, hz, base_argv, base_argc, out, "base ", i + 1, tty)
                                        : run_once(mrun, hz, script_argv, script_argc, out, "", i + 1, tty);
            if (!p || add_run(is_base ? base : cur, i, p) != 0) {
                profile_free(p);
                rc = CLI_SCRIPT_FAILED;
            } else if (!is_base && i + 1 == o->runs) {
                *last = p;
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

static bool
parse_pct(const char *v, double *out)
{
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || end == v || (*end && strcmp(end, "%") != 0) || x < 0 || x > 1000)
        return false;
    *out = x;
    return true;
}

/* The field an option that takes a path fills, or NULL when a is not one. */
static const char **
path_option(struct opts *o, const char *a)
{
    const struct { const char *name; const char **dst; } paths[] = {
        {"--save-baseline", &o->save_path}, {"--baseline-json", &o->baseline_json},
        {"--markdown", &o->markdown},       {"--junit", &o->junit},
        {"--mrun", &o->mrun},               {"--against", &o->against},
    };
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++)
        if (strcmp(a, paths[k].name) == 0)
            return paths[k].dst;
    return NULL;
}

int
cmd_check(int argc, char **argv)
{
    struct opts o = {0};
    o.threshold = 5.0;
    o.alpha = 0.01;
    o.hz = 4000;
    o.budget_file = true;
    const char *files[2] = {NULL, NULL};
    int nfiles = 0, i = 1;
    bool runs_mode = false;
    const char *runs_only = NULL, *threshold_opt = NULL; /* given options that need a comparison */
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        } else if (strcmp(a, "--baseline") == 0) {
            if (!v)
                return cli_usage_error("check", "--baseline needs the base profile");
            o.base_path = argv[++i];
        } else if (strcmp(a, "--runs") == 0) {
            if (!cli_parse_uint("check", a, v, 1000, &o.runs))
                return CLI_USAGE;
            if (o.runs < 2)
                return cli_usage_error("check", "--runs needs at least 2 runs (10 is a good start)");
            runs_mode = true;
            i++;
        } else if (path_option(&o, a)) {
            if (!v)
                return cli_usage_error("check", "%s needs a path", a);
            *path_option(&o, a) = argv[++i];
        } else if (strcmp(a, "--threshold") == 0) {
            if (!parse_pct(v, &o.threshold))
                return cli_usage_error("check", "--threshold takes a percentage such as 5%%, not '%s'", v ? v : "");
            threshold_opt = a;
            i++;
        } else if (strcmp(a, "--alpha") == 0) {
            char *end;
            o.alpha = v ? strtod(v, &end) : 0;
            if (!v || *end || o.alpha <= 0 || o.alpha >= 1)
                return cli_usage_error("check", "--alpha takes a probability such as 0.01");
            runs_only = a;
            i++;
        } else if (strcmp(a, "--hz") == 0) {
            if (!cli_parse_uint("check", a, v, 10000, &o.hz) || o.hz < 1)
                return CLI_USAGE;
            runs_only = a;
            i++;
        } else if (strcmp(a, "--budget") == 0) {
            if (!v || o.nbudgets == 64 || !parse_budget(v, &o.budgets[o.nbudgets++], "--budget"))
                return CLI_USAGE;
            i++;
        } else if (strcmp(a, "--no-budget-file") == 0) {
            o.budget_file = false;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("check", "unknown option '%s'", a);
        } else if (runs_mode) {
            break; /* the script, without `--` */
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            return cli_usage_error("check", "too many files ('%s')", a);
        }
    }
    if (o.budget_file && read_budget_file(o.budgets, &o.nbudgets, CHECK_MAX_BUDGETS) != 0)
        return CLI_USAGE;
    /* Options that would do nothing are refused, not ignored. */
    if (runs_only && !runs_mode)
        return cli_usage_error("check", "%s sets how --runs records and judges; two profiles are judged by a "
                                        "z test on their samples", runs_only);
    if (threshold_opt && !runs_mode && !o.base_path)
        return cli_usage_error("check", "--threshold applies to a comparison (--baseline BASE NEW or --runs); "
                                        "a budget is its own limit");

    struct verdicts vs = {0};
    struct profile *a = NULL, *b = NULL;
    struct run_set base = {0}, cur = {0};
    int rc = CLI_OK;
    if (runs_mode) {
        if (i >= argc)
            return cli_usage_error("check", "--runs needs a script: mrprof check --runs N ... -- SCRIPT [ARGS]");
        if (!o.baseline_json + !o.against + !o.save_path != 2)
            return cli_usage_error("check", "--runs needs one of --against 'BASE_SCRIPT [ARGS]', "
                                            "--save-baseline PATH or --baseline-json PATH");
        if (o.against && !o.against[strspn(o.against, " \t")])
            return cli_usage_error("check", "--against needs the base command, e.g. --against '../main/bench.rb'");
        if (o.baseline_json && load_runs(&base, o.baseline_json) != 0) {
            run_set_free(&base);
            return CLI_USAGE;
        }
        rc = do_runs(&o, argv + i, argc - i, &base, &cur, &b);
        if (rc == 0 && o.save_path) {
            rc = save_runs(&cur, o.save_path, argv[i]) == 0 ? CLI_OK : CLI_USAGE;
            if (rc == CLI_OK)
                printf("mrprof check: saved %lu runs of %s to %s (median CPU %.1f ms)\n", o.runs, argv[i],
                       o.save_path, stats_median(cur.total, cur.nruns));
            goto done;
        }
        if (rc == 0 && compare_runs(o.threshold, o.alpha, &base, &cur, &vs) != 0)
            rc = CLI_USAGE;
    } else {
        if (o.base_path && nfiles != 1)
            return cli_usage_error("check", "--baseline BASE takes one NEW profile (got %d)", nfiles);
        if (!o.base_path && (nfiles != 1 || o.nbudgets == 0))
            return cli_usage_error("check", "compare with --baseline BASE NEW, or give budgets for one profile");
        if (o.base_path && !(a = cli_read_profile("check", o.base_path)))
            return CLI_USAGE;
        if (!(b = cli_read_profile("check", files[0]))) {
            profile_free(a);
            return CLI_USAGE;
        }
        if (a && profile_nsamples(a) == 0)
            fprintf(stderr, "mrprof check: %s has no samples; nothing to compare with\n", o.base_path), rc = CLI_USAGE;
        else if (profile_nsamples(b) == 0)
            fprintf(stderr, "mrprof check: %s has no samples; nothing to check\n", files[0]), rc = CLI_USAGE;
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
            (o.junit && write_report_file(o.junit, &vs, true, failures) != 0))
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
