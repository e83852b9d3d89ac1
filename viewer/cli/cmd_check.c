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
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "profiler/base/fileio.h"
#include "formats/formats.h"
#include "viewer/check/check_parse.h"
#include "viewer/cli/cli.h"
#include "profiler/model/compare.h"
#include "profiler/model/match.h"
#include "viewer/text/report.h"
#include "profiler/model/stats.h"

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

struct verdict {
    char name[300];
    char where[200];    /* the function's file:line, added to the name when two share a name */
    double base, cur;   /* shares in % (profiles) or median ms (runs) */
    double change;      /* relative change, % */
    double lo, hi;      /* 95 % interval of the change, % (NAN when not computed) */
    double stat;        /* z (profiles) or p (runs) */
    bool judged;        /* a test case (false: shown only) */
    bool failed;
    char why[200];
};

struct verdicts {
    struct verdict *v;
    size_t n, cap;
    bool runs; /* units: ms medians and p-values */
};

static struct verdict *
add_verdict(struct verdicts *vs)
{
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 32;
        struct verdict *v = realloc(vs->v, cap * sizeof *v);
        if (!v)
            return NULL;
        vs->v = v;
        vs->cap = cap;
    }
    struct verdict *r = &vs->v[vs->n++];
    memset(r, 0, sizeof *r);
    r->lo = r->hi = NAN;
    return r;
}

struct budget {
    char name[256];
    double max_pct;
};

struct opts {
    const char *base_path, *new_path, *save_path, *baseline_json, *markdown, *junit, *mrun, *against;
    double threshold, alpha;
    unsigned long runs, hz;
    bool budget_file;
    struct budget budgets[64];
    int nbudgets;
};

/* --- budgets -------------------------------------------------------------------------------- */

static bool
parse_budget(const char *spec, struct budget *b, const char *where)
{
    const char *op = strstr(spec, "<=");
    char *end;
    double v = op ? strtod(op + 2, &end) : 0;
    if (!op || op == spec || end == op + 2 || (*end && strcmp(end, "%") != 0) || v < 0 || v > 100 ||
        (size_t)(op - spec) >= sizeof b->name) {
        fprintf(stderr, "mrprof check: %s: a budget is NAME<=PERCENT%% (e.g. 'Parser#parse<=30%%'), not '%s'\n",
                where, spec);
        return false;
    }
    memcpy(b->name, spec, (size_t)(op - spec));
    b->name[op - spec] = 0;
    b->max_pct = v;
    struct match_spec ms;
    if (!match_spec_parse(b->name, &ms)) {
        fprintf(stderr, "mrprof check: %s: a budget names a function as NAME, NAME@FILE or NAME@FILE:LINE, "
                        "not '%s'\n", where, b->name);
        return false;
    }
    return true;
}

static int
read_budget_file(struct opts *o)
{
    FILE *f = fopen("mrprof.budget", "r");
    if (!f)
        return 0;
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        char where[64];
        snprintf(where, sizeof where, "mrprof.budget:%d", lineno);
        if (o->nbudgets == 64 || !parse_budget(s, &o->budgets[o->nbudgets++], where)) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* The inclusive share (% of p's time) of the function(s) a budget names: NAME, NAME@FILE or
 * NAME@FILE:LINE, matched as diff and check match functions (match.h); a sample is counted
 * once however many of them are on its stack. Returns how many functions the name matched (0:
 * p has no such function) or -ENOMEM. */
static long
budget_share(const struct profile *p, const char *name, double *share)
{
    struct match_spec s;
    struct match_paths m;
    *share = 0;
    if (!match_spec_parse(name, &s))
        return 0;
    bool *hit = malloc(profile_nframes(p) + 1);
    if (!hit || match_paths_init(&m, p) != 0) {
        free(hit);
        return -ENOMEM;
    }
    long n = match_spec_frames(&s, &m, hit);
    if (n > 0)
        *share = match_inclusive_pct(p, hit);
    match_paths_free(&m);
    free(hit);
    return n;
}

/* Edit distance of a and b (at most 255 bytes each are compared), for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
    size_t n = strnlen(a, 255), m = strnlen(b, 255), row[256];
    for (size_t j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[m];
}

/* A budget names a function the profile does not have: an error (a misspelled name would pass
 * at 0 %), with the closest name the profile has. */
static void
no_such_function(const struct budget *b, const struct profile *p)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    struct agg_table t = {0};
    bool have = agg_compute(p, -1, AGG_FUNCTION, &t) == 0;
    for (size_t k = 0; have && k < t.n; k++) {
        const char *name = profile_str(p, t.rows[k].name);
        size_t d = edit_distance(b->name, name);
        if (d < best_d)
            best = name, best_d = d;
    }
    size_t len = strlen(b->name);
    fprintf(stderr, "mrprof check: budget '%s<=%g%%': the profile has no function named '%s'", b->name,
            b->max_pct, b->name);
    if (best && best_d <= (len / 3 > 2 ? len / 3 : 2))
        fprintf(stderr, " (did you mean '%s'?)", best);
    fputc('\n', stderr);
    if (have)
        agg_free(&t);
}

static int
check_budgets(const struct opts *o, const struct profile *p, struct verdicts *vs)
{
    for (int i = 0; i < o->nbudgets; i++) {
        const struct budget *b = &o->budgets[i];
        double share;
        long found = budget_share(p, b->name, &share);
        if (found < 0)
            return -ENOMEM;
        if (found == 0) {
            no_such_function(b, p);
            return -ENOENT;
        }
        struct verdict *v = add_verdict(vs);
        if (!v)
            break;
        snprintf(v->name, sizeof v->name, "budget %s<=%g%%", b->name, b->max_pct);
        v->base = b->max_pct;
        v->cur = share;
        v->change = NAN;
        v->judged = true;
        v->failed = share > b->max_pct;
        snprintf(v->why, sizeof v->why, "%s takes %.1f%% of the time (total, inclusive); budget %g%%",
                 b->name, share, b->max_pct);
    }
    return 0;
}

/* --- form 1: two profiles ------------------------------------------------------------------- */

#define Z_NOISE 3.0      /* two-proportion z beyond which a change is not sampling noise */
#define MIN_SHARE 0.5    /* % of the time under which a function is shown, not judged */

static int
compare_profiles(const struct opts *o, const struct profile *a, const struct profile *b,
                 struct verdicts *vs)
{
    struct cmp_table t;
    if (cmp_compute(a, b, AGG_FUNCTION, &t) != 0)
        return -ENOMEM;
    struct verdict *tot = add_verdict(vs);
    if (tot) {
        snprintf(tot->name, sizeof tot->name, "total CPU time");
        tot->base = t.base_ms, tot->cur = t.cur_ms;
        tot->change = t.base_ms > 0 ? 100.0 * (t.cur_ms / t.base_ms - 1.0) : NAN;
        tot->judged = true; /* a test case, but one profile per side cannot judge time: */
        snprintf(tot->why, sizeof tot->why,
                 "%.1f ms -> %.1f ms; not judged from one profile per side (use --runs)", t.base_ms, t.cur_ms);
    }
    for (size_t i = 0; i < t.n; i++) {
        const struct cmp_row *r = &t.rows[i];
        double pb = r->base.total_pct, pc = r->cur.total_pct;
        if ((pb < MIN_SHARE && pc < MIN_SHARE) || (pb >= 99.95 && pc >= 99.95))
            continue; /* too small to judge, or a root that is always all of the time */
        struct verdict *v = add_verdict(vs);
        if (!v)
            break;
        snprintf(v->name, sizeof v->name, "%s", r->name);
        report_location_str(r->file, r->line, v->where, sizeof v->where);
        v->base = pb;
        v->cur = pc;
        v->change = r->status == CMP_NEW ? INFINITY : 100.0 * (pc / pb - 1.0);
        v->stat = two_prop_z(pb / 100.0 * (double)t.base_n, (double)t.base_n, pc / 100.0 * (double)t.cur_n,
                             (double)t.cur_n);
        v->judged = true;
        bool grew = r->status == CMP_NEW ? pc >= 1.0 : v->change > o->threshold;
        v->failed = grew && v->stat > Z_NOISE;
        if (r->status == CMP_NEW)
            snprintf(v->why, sizeof v->why, "new: %.1f%% of the time (z %.1f)", pc, v->stat);
        else
            snprintf(v->why, sizeof v->why, "share %.1f%% -> %.1f%% (%+.1f%%, z %.1f)", pb, pc, v->change,
                     v->stat);
    }
    cmp_free(&t);
    return 0;
}

/* --- form 2: runs --------------------------------------------------------------------------- */

struct run_set {
    size_t nruns, nkeys;
    double *total;     /* [run] total CPU ms */
    char **keys;       /* function keys "name\tfile\tline", the file as match_file gives it */
    double *ms;        /* [key * nruns + run] total (inclusive) ms */
};

static void
run_set_free(struct run_set *r)
{
    for (size_t k = 0; k < r->nkeys; k++)
        free(r->keys[k]);
    free(r->keys), free(r->ms), free(r->total);
    memset(r, 0, sizeof *r);
}

static long
key_index(struct run_set *r, const char *key, bool add)
{
    for (size_t k = 0; k < r->nkeys; k++)
        if (strcmp(r->keys[k], key) == 0)
            return (long)k;
    if (!add)
        return -1;
    char **keys = realloc(r->keys, (r->nkeys + 1) * sizeof *keys);
    double *ms = realloc(r->ms, (r->nkeys + 1) * r->nruns * sizeof *ms);
    if (keys)
        r->keys = keys;
    if (ms)
        r->ms = ms;
    if (!keys || !ms || !(r->keys[r->nkeys] = strdup(key)))
        return -1;
    memset(r->ms + r->nkeys * r->nruns, 0, r->nruns * sizeof *ms);
    return (long)r->nkeys++;
}

static int
add_run(struct run_set *r, size_t run, const struct profile *p)
{
    struct agg_table t;
    struct match_paths m;
    if (agg_compute(p, -1, AGG_FUNCTION, &t) != 0)
        return -ENOMEM;
    if (match_paths_init(&m, p) != 0) {
        agg_free(&t);
        return -ENOMEM;
    }
    r->total[run] = (double)t.total_w / 1e6;
    char key[1024];
    int rc = 0;
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        /* The file relative to the script's root (match.h): the same script run from another
         * checkout (a baseline made on main, an --against command in ../main) meets its
         * functions; the line keeps two blocks of one method apart. */
        const char *file = match_file(&m, t.rows[i].file);
        snprintf(key, sizeof key, "%s\t%s\t%d", profile_str(p, t.rows[i].name), file ? file : "",
                 (int)t.rows[i].line);
        long k = file ? key_index(r, key, true) : -1;
        if (k < 0)
            rc = -ENOMEM;
        else
            r->ms[(size_t)k * r->nruns + run] += (double)t.rows[i].total_w / 1e6;
    }
    match_paths_free(&m);
    agg_free(&t);
    return rc;
}

/* The run set's keys as the matching rule sees them: "name\tfile\tline" (a baseline stored
 * before lines were kept has "name\tfile": line 0, paired by the rule's second step). The
 * strings live in *bufs (one per key, freed by free_keys). */
static struct match_key *
run_keys(const struct run_set *r, char ***bufs)
{
    struct match_key *k = calloc(r->nkeys + 1, sizeof *k);
    *bufs = calloc(r->nkeys + 1, sizeof **bufs);
    if (!k || !*bufs) {
        free(k), free(*bufs);
        *bufs = NULL;
        return NULL;
    }
    for (size_t i = 0; i < r->nkeys; i++) {
        char *b = (*bufs)[i] = strdup(r->keys[i]);
        if (!b) {
            for (size_t j = 0; j < i; j++)
                free((*bufs)[j]);
            free(k), free(*bufs);
            *bufs = NULL;
            return NULL;
        }
        char *t1 = strchr(b, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t1)
            *t1 = 0;
        if (t2)
            *t2 = 0;
        k[i] = (struct match_key){b, t1 ? t1 + 1 : "", t2 ? (int32_t)strtol(t2 + 1, NULL, 10) : 0};
    }
    return k;
}

static void
free_keys(struct match_key *k, char **bufs, size_t n)
{
    if (bufs)
        for (size_t i = 0; i < n; i++)
            free(bufs[i]);
    free(bufs), free(k);
}

static int
save_runs(const struct run_set *r, const char *path, const char *script)
{
    cJSON *root = cJSON_CreateObject(), *runs = cJSON_AddArrayToObject(root, "runs");
    cJSON_AddNumberToObject(root, "mrprof_baseline", 1);
    cJSON_AddStringToObject(root, "script", script);
    for (size_t i = 0; i < r->nruns; i++) {
        cJSON *run = cJSON_CreateObject(), *fns = cJSON_AddObjectToObject(run, "functions");
        cJSON_AddNumberToObject(run, "total_ms", r->total[i]);
        for (size_t k = 0; k < r->nkeys; k++)
            if (r->ms[k * r->nruns + i] > 0)
                cJSON_AddNumberToObject(fns, r->keys[k], r->ms[k * r->nruns + i]);
        cJSON_AddItemToArray(runs, run);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    struct fio_atomic a;
    char err[256];
    int rc = text && fio_begin(&a, path, err, sizeof err) == 0 ? 0 : -1;
    if (rc == 0) {
        fputs(text, a.fp);
        rc = fio_commit(&a, err, sizeof err);
    }
    if (rc)
        fprintf(stderr, "mrprof check: cannot write %s: %s\n", path, text ? err : "out of memory");
    free(text);
    return rc;
}

/* A stored baseline's text into r (r freed by the caller also on failure). */
static int
parse_runs(struct run_set *r, const char *text, size_t len, const char *path)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    cJSON *runs = root ? cJSON_GetObjectItem(root, "runs") : NULL;
    if (!root || !cJSON_IsNumber(cJSON_GetObjectItem(root, "mrprof_baseline")) || !cJSON_IsArray(runs) ||
        cJSON_GetArraySize(runs) < 1) {
        fprintf(stderr, "mrprof check: %s is not a baseline written by 'mrprof check --save-baseline' "
                        "(expected an object with \"mrprof_baseline\" and a non-empty \"runs\" array)\n", path);
        cJSON_Delete(root);
        return -1;
    }
    r->nruns = (size_t)cJSON_GetArraySize(runs);
    r->total = calloc(r->nruns, sizeof *r->total);
    if (!r->total) {
        cJSON_Delete(root);
        return -1;
    }
    size_t i = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs) {
        const cJSON *tot = cJSON_GetObjectItem(run, "total_ms"), *fns = cJSON_GetObjectItem(run, "functions");
        if (!cJSON_IsNumber(tot) || !cJSON_IsObject(fns)) {
            fprintf(stderr, "mrprof check: %s: run %zu lacks total_ms or functions\n", path, i + 1);
            cJSON_Delete(root);
            return -1;
        }
        r->total[i] = tot->valuedouble;
        const cJSON *fn;
        cJSON_ArrayForEach(fn, fns) {
            long k = key_index(r, fn->string, true);
            if (k < 0 || !cJSON_IsNumber(fn)) {
                cJSON_Delete(root);
                return -1;
            }
            r->ms[(size_t)k * r->nruns + i] = fn->valuedouble;
        }
        i++;
    }
    cJSON_Delete(root);
    return 0;
}

static int
load_runs(struct run_set *r, const char *path)
{
    size_t len;
    char err[256];
    char *text = fio_read_file(path, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "mrprof check: %s\n", err);
        return -1;
    }
    int rc = parse_runs(r, text, len, path);
    free(text);
    return rc;
}

int
check_parse_baseline(const char *text, size_t len)
{
    struct run_set r = {0};
    int rc = parse_runs(&r, text, len, "baseline");
    run_set_free(&r);
    return rc;
}

int
check_parse_budget(const char *spec)
{
    struct budget b;
    return parse_budget(spec, &b, "budget") ? 0 : -1;
}

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

static int
run_set_init(struct run_set *r, size_t nruns)
{
    r->nruns = nruns;
    r->total = calloc(nruns, sizeof *r->total);
    return r->total ? 0 : -ENOMEM;
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

static void
series(const struct run_set *r, long k, double *out)
{
    for (size_t i = 0; i < r->nruns; i++)
        out[i] = k < 0 ? 0.0 : r->ms[(size_t)k * r->nruns + i];
}

/* Fills v from two series of run times. With norm_a and norm_b (the same runs measured against
 * the rest of each run, see normalised_series) the change, its interval and the p-value are
 * those of the normalised series, and the plain medians are shown beside them; without, all
 * come from a and b. v->failed says only "beyond the threshold" until holm() adds
 * significance. */
static void
judge_series(const struct opts *o, struct verdict *v, const double *a, size_t na, const double *b,
             size_t nb, const double *norm_a, const double *norm_b)
{
    double ma = stats_median(a, na), mb = stats_median(b, nb);
    v->base = ma;
    v->cur = mb;
    const double *ja = norm_a ? norm_a : a, *jb = norm_a ? norm_b : b;
    double ja_med = stats_median(ja, na), jb_med = stats_median(jb, nb);
    v->change = ja_med > 0 ? 100.0 * (jb_med / ja_med - 1.0) : (jb_med > 0 ? INFINITY : 0.0);
    double shift, lo, hi;
    if (ja_med > 0 && hodges_lehmann(ja, na, jb, nb, 0.95, &shift, &lo, &hi) == 0) {
        v->lo = 100.0 * lo / ja_med;
        v->hi = 100.0 * hi / ja_med;
    }
    v->stat = mwu_p_greater(ja, na, jb, nb);
    v->judged = true;
    v->failed = v->change > o->threshold;
    if (norm_a)
        snprintf(v->why, sizeof v->why,
                 "median %.1f ms -> %.1f ms; against the rest of each run %+.1f%% (95%% CI %+.1f%%..%+.1f%%), "
                 "p = %.2g", ma, mb, v->change, v->lo, v->hi, v->stat);
    else
        snprintf(v->why, sizeof v->why, "median %.1f ms -> %.1f ms (%+.1f%%, 95%% CI %+.1f%%..%+.1f%%), p = %.2g",
                 ma, mb, v->change, v->lo, v->hi, v->stat);
}

static int
by_p(const void *x, const void *y)
{
    const struct verdict *a = *(const struct verdict *const *)x, *b = *(const struct verdict *const *)y;
    return (a->stat > b->stat) - (a->stat < b->stat);
}

/*
 * Holm's step-down correction over the n tests in v: the k-th smallest p (k from 0) is
 * significant when it and every smaller one are under alpha / (n - k). Like Bonferroni it keeps
 * the chance of any false alarm under alpha, but once the clear changes are counted the next
 * ones face a lower bar, which matters when one slow method also slows each of its callers.
 */
static int
holm(double alpha, struct verdict *v, size_t n)
{
    struct verdict **order = malloc((n + 1) * sizeof *order);
    if (!order)
        return -ENOMEM;
    for (size_t k = 0; k < n; k++)
        order[k] = &v[k];
    qsort(order, n, sizeof *order, by_p);
    bool significant = true;
    for (size_t k = 0; k < n; k++) {
        significant = significant && order[k]->stat < alpha / (double)(n - k);
        order[k]->failed = order[k]->failed && significant;
    }
    free(order);
    return 0;
}

/*
 * A function's time in one run measured against the rest of that run, F / (T - F): the series
 * that decides whether a function got slower. A machine that runs a whole batch 16 % slower
 * (seen on this shared runner) scales F and T - F alike and cancels out, so a baseline stored
 * an hour earlier or a neighbour's burst does not read as a slower function; what remains is
 * sampling noise and a real change in the function, at its full size (25 % more work in parse
 * is +25 % here, where parse's share of the total would grow half as much). The price: when
 * parse grows, the functions beside it read smaller against a larger rest; the test is
 * one-sided, so that costs nothing but a line in the docs.
 */
static void
normalised_series(const struct run_set *r, long k, double *out)
{
    for (size_t i = 0; i < r->nruns; i++) {
        double f = k < 0 ? 0.0 : r->ms[(size_t)k * r->nruns + i];
        double rest = fmax(r->total[i] - f, 0.005 * r->total[i]);
        out[i] = rest > 0 ? f / rest : 0.0;
    }
}

#define WHOLE_PROGRAM 95.0 /* % of the time from which a function is judged by the total */
#define MIN_RUN_SHARE 1.0  /* % of the time under which a function is not judged */

static int
compare_runs(const struct opts *o, const struct run_set *base, const struct run_set *cur,
             struct verdicts *vs)
{
    vs->runs = true;
    double med_total = stats_median(base->total, base->nruns);
    size_t n = base->nruns + cur->nruns + 1;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double *na = malloc(n * sizeof *na), *nb = malloc(n * sizeof *nb);
    if (!a || !b || !na || !nb) {
        free(a), free(b), free(na), free(nb);
        return -ENOMEM;
    }
    char **bbuf = NULL, **cbuf = NULL;
    struct match_key *bk = run_keys(base, &bbuf), *ck = run_keys(cur, &cbuf);
    long *b_to_c = malloc((base->nkeys + 1) * sizeof *b_to_c);
    if (!bk || !ck || !b_to_c || match_pair(bk, base->nkeys, ck, cur->nkeys, b_to_c) != 0) {
        free(a), free(b), free(na), free(nb), free(b_to_c);
        free_keys(bk, bbuf, base->nkeys), free_keys(ck, cbuf, cur->nkeys);
        return -ENOMEM;
    }
    size_t first = vs->n;
    struct verdict *v = add_verdict(vs);
    if (v) {
        snprintf(v->name, sizeof v->name, "total CPU time");
        judge_series(o, v, base->total, base->nruns, cur->total, cur->nruns, NULL, NULL);
    }
    /* Every function worth 1 % of the baseline's median, except those that are (nearly) the
     * whole program: <main>, the loop around everything. Their time is the total's, already
     * judged; counting them again would only widen Holm's family and blunt every test. */
    for (size_t k = 0; k < base->nkeys && med_total > 0; k++) {
        series(base, (long)k, a);
        double share = 100.0 * stats_median(a, base->nruns) / med_total;
        if (share < MIN_RUN_SHARE || share >= WHOLE_PROGRAM || !(v = add_verdict(vs)))
            continue;
        snprintf(v->name, sizeof v->name, "%s", bk[k].name);
        report_location_str(bk[k].file, bk[k].line, v->where, sizeof v->where);
        series(cur, b_to_c[k], b);
        normalised_series(base, (long)k, na);
        normalised_series(cur, b_to_c[k], nb);
        judge_series(o, v, a, base->nruns, b, cur->nruns, na, nb);
    }
    free(b_to_c);
    free_keys(bk, bbuf, base->nkeys), free_keys(ck, cbuf, cur->nkeys);
    free(a), free(b), free(na), free(nb);
    return holm(o->alpha, vs->v + first, vs->n - first);
}

/* --- output --------------------------------------------------------------------------------- */

/* Functions that share a name (the blocks of one method, `block in <main>` at several lines)
 * are told apart by their location. */
static void
name_apart(struct verdicts *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        bool shared = false;
        for (size_t k = 0; k < vs->n && !shared; k++)
            shared = k != i && strcmp(vs->v[k].name, vs->v[i].name) == 0;
        if (!shared)
            continue;
        char name[sizeof vs->v[i].name];
        memcpy(name, vs->v[i].name, sizeof name);
        for (size_t k = i; k < vs->n; k++) { /* every holder of the name, i included */
            struct verdict *v = &vs->v[k];
            if (strcmp(v->name, name) != 0)
                continue;
            if (v->where[0] && strlen(v->name) + strlen(v->where) + 4 < sizeof v->name)
                strcat(strcat(strcat(v->name, " ("), v->where), ")");
        }
    }
}

static int
by_verdict(const void *x, const void *y)
{
    const struct verdict *a = x, *b = y;
    if (a->failed != b->failed)
        return a->failed ? -1 : 1;
    double ca = isfinite(a->change) ? a->change : 1e300, cb = isfinite(b->change) ? b->change : 1e300;
    return (ca < cb) - (ca > cb);
}

static void
fmt_change(char *buf, size_t len, const struct verdict *v)
{
    if (isinf(v->change))
        snprintf(buf, len, "new");
    else if (isnan(v->change))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%+.1f%%", v->change);
}

static void
fmt_ci(char *buf, size_t len, const struct verdict *v)
{
    if (isnan(v->lo))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%+.1f%% .. %+.1f%%", v->lo, v->hi);
}

static void
print_table(FILE *out, const struct verdicts *vs, bool markdown)
{
    const char *unit = vs->runs ? "median ms" : "share %";
    char ch[32], ci[48];
    if (markdown)
        fprintf(out, "| | function | base (%s) | new (%s) | change | 95%% CI | note |\n"
                     "|---|---|---:|---:|---:|---:|---|\n", unit, unit);
    else
        fprintf(out, "%-6s %-40s %12s %12s %9s %22s\n", "", "function", "base", "new", "change",
                "95% CI");
    for (size_t i = 0; i < vs->n; i++) {
        const struct verdict *v = &vs->v[i];
        fmt_change(ch, sizeof ch, v);
        fmt_ci(ci, sizeof ci, v);
        const char *mark = v->failed ? "FAIL" : v->judged ? "ok" : "";
        if (markdown) {
            fprintf(out, "| %s | `", v->failed ? "❌" : "✅");
            for (const char *c = v->name; *c; c++)
                fputs(*c == '|' ? "\\|" : *c == '`' ? "'" : (char[2]){*c, 0}, out);
            fprintf(out, "` | %.1f | %.1f | %s | %s | %s |\n", v->base, v->cur, ch, ci, v->why);
        } else {
            fprintf(out, "%-6s %-40s %12.1f %12.1f %9s %22s\n", mark, v->name, v->base, v->cur, ch, ci);
        }
    }
    if (vs->runs)
        fprintf(out, "%sbase and new: median ms of the runs. A function's change and interval are of its time "
                     "against the rest of each run, so machine speed cancels (when one function grows, the "
                     "others read smaller); the total's are of the CPU time itself.\n",
                markdown ? "\n" : "");
}

static void
xml_text(FILE *out, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                putc(*s, out);
        }
}

static int
write_report_file(const char *path, const struct verdicts *vs, bool junit, size_t failures)
{
    struct fio_atomic a;
    char err[256];
    if (fio_begin(&a, path, err, sizeof err) != 0) {
        fprintf(stderr, "mrprof check: cannot write %s: %s\n", path, err);
        return -1;
    }
    if (!junit) {
        fprintf(a.fp, "### mrprof check: %s\n\n", failures ? "regression" : "no regression");
        print_table(a.fp, vs, true);
    } else {
        size_t tests = 0;
        for (size_t i = 0; i < vs->n; i++)
            tests += vs->v[i].judged;
        fprintf(a.fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\">\n"
                      "  <testsuite name=\"mrprof check\" tests=\"%zu\" failures=\"%zu\">\n",
                tests, failures, tests, failures);
        for (size_t i = 0; i < vs->n; i++) {
            const struct verdict *v = &vs->v[i];
            if (!v->judged)
                continue;
            fputs("    <testcase classname=\"mrprof.check\" name=\"", a.fp);
            xml_text(a.fp, v->name);
            if (v->failed) {
                fputs("\">\n      <failure message=\"", a.fp);
                xml_text(a.fp, v->why);
                fputs("\"/>\n    </testcase>\n", a.fp);
            } else {
                fputs("\">\n      <system-out>", a.fp);
                xml_text(a.fp, v->why);
                fputs("</system-out>\n    </testcase>\n", a.fp);
            }
        }
        fputs("  </testsuite>\n</testsuites>\n", a.fp);
    }
    if (fio_commit(&a, err, sizeof err) != 0) {
        fprintf(stderr, "mrprof check: cannot write %s: %s\n", path, err);
        return -1;
    }
    return 0;
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
    if (o.budget_file && read_budget_file(&o) != 0)
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
        if (rc == 0 && compare_runs(&o, &base, &cur, &vs) != 0)
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
        else if (a && compare_profiles(&o, a, b, &vs) != 0)
            rc = CLI_USAGE;
    }
    if (rc == CLI_OK && b && check_budgets(&o, b, &vs) != 0)
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
