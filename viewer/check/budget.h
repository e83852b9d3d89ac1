/*
 * budget.h — budgets of `mrprof check`: `--budget 'NAME<=30%'` (repeatable) and the lines of
 * ./mrprof.budget cap a function's total (inclusive) share of the NEW profile (or the last run).
 * A function is named as NAME, NAME@FILE or NAME@FILE:LINE and found by the one matching rule
 * (profiler/model/match.h), as diff and check's comparisons find it. A name the profile does not
 * have is an error that says the closest name it has ("did you mean").
 */
#ifndef MRPROF_CHECK_BUDGET_H
#define MRPROF_CHECK_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include "profiler/model/profile.h"

struct verdicts;

struct budget {
    char name[256];
    double max_pct;
};

/* Parses spec ("NAME<=P%") into b; false, with a message naming `where` on stderr, when it is
 * not a budget. */
bool parse_budget(const char *spec, struct budget *b, const char *where);
/* Appends the budgets of ./mrprof.budget (blank lines and # comments skipped) to b[*n..max).
 * 0 (also when there is no such file) or -1 after a message. */
int read_budget_file(struct budget *b, int *n, int max);

/* The inclusive share (% of p's time) of the function(s) a budget names; returns how many
 * functions the name matched (0: none) or -ENOMEM. */
long budget_share(const struct profile *p, const char *name, double *share);
/* Edit distance of a and b (at most 255 bytes each are compared), for "did you mean". */
size_t edit_distance(const char *a, const char *b);

/* One verdict per budget b[0..n) on p into vs. 0; -ENOENT when a budget names no function of p
 * (said on stderr); -ENOMEM. */
int check_budgets(const struct budget *b, int n, const struct profile *p, struct verdicts *vs);

#endif
