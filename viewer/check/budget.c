/*
 * budget.c — budgets of `mrprof check` (see budget.h): the spec, ./mrprof.budget, the share a
 * budget names, "did you mean" and the budgets' verdicts.
 */
#include "viewer/check/budget.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/model/aggregate.h"
#include "profiler/model/match.h"
#include "viewer/check/check_parse.h"
#include "viewer/check/verdict.h"

bool
parse_budget(const char *spec, struct budget *b, const char *where)
{
    const char *op = strstr(spec, "<=");
    char *end;
    double v = op ? strtod(op + 2, &end) : 0;
    if (!op || op == spec || end == op + 2 || (*end && strcmp(end, "%") != 0) || v < 0 || v > 100 ||
        (size_t)(op - spec) >= sizeof b->name) {
        fprintf(
            stderr,
            "mrprof check: %s: a budget is NAME<=PERCENT%% (e.g. 'Parser#parse<=30%%'), not '%s'\n",
            where, spec);
        return false;
    }
    memcpy(b->name, spec, (size_t)(op - spec));
    b->name[op - spec] = 0;
    b->max_pct = v;
    struct match_spec ms;
    if (!match_spec_parse(b->name, &ms)) {
        fprintf(stderr,
                "mrprof check: %s: a budget names a function as NAME, NAME@FILE or NAME@FILE:LINE, "
                "not '%s'\n",
                where, b->name);
        return false;
    }
    return true;
}

int
read_budget_file(struct budget *b, int *n, int max)
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
        if (*n == max || !parse_budget(s, &b[(*n)++], where)) {
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
long
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

size_t
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
    fprintf(stderr, "mrprof check: budget '%s<=%g%%': the profile has no function named '%s'",
            b->name, b->max_pct, b->name);
    if (best && best_d <= (len / 3 > 2 ? len / 3 : 2))
        fprintf(stderr, " (did you mean '%s'?)", best);
    fputc('\n', stderr);
    if (have)
        agg_free(&t);
}

int
check_budgets(const struct budget *budgets, int n, const struct profile *p, struct verdicts *vs)
{
    for (int i = 0; i < n; i++) {
        const struct budget *b = &budgets[i];
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
        char why[sizeof v->why + sizeof b->name]; /* whole, then cut to v->why as it always was */
        snprintf(why, sizeof why, "%s takes %.1f%% of the time (total, inclusive); budget %g%%",
                 b->name, share, b->max_pct);
        snprintf(v->why, sizeof v->why, "%.*s", (int)sizeof v->why - 1, why);
    }
    return 0;
}

int
check_parse_budget(const char *spec)
{
    struct budget b;
    return parse_budget(spec, &b, "budget") ? 0 : -1;
}
