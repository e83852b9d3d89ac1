/*
 * check.h — the options of `mrprof check` (viewer/cli/cmd_check.c), shared by the command's
 * parser and its flow. The parts of check live beside it in viewer/check/:
 *   budget.h    budgets (NAME[@FILE[:LINE]]<=P%): the spec, ./mrprof.budget, the share, the verdict
 *   verdict.h   the verdicts and the two engines (two profiles: z test; runs: Mann-Whitney + Holm)
 *   baseline.h  the run set (function times of N runs) and the baseline files that store one
 *   output.h    the text table, the Markdown summary and the JUnit XML
 *   evidence.h  for CI: GitHub annotations and step summary, OpenMetrics, the artifacts directory
 *   check_parse.h  the parsers of check's untrusted inputs, for the fuzz targets
 *
 * Ownership: struct opts points into argv (the paths and the --against command); the budgets
 * are copied in.
 */
#ifndef MRPROF_CHECK_H
#define MRPROF_CHECK_H

#include <stdbool.h>

#include "viewer/check/budget.h"

#define CHECK_MAX_BUDGETS 64

struct opts {
    const char *base_path, *new_path, *save_path, *baseline_json, *markdown, *junit, *mrun,
        *against;
    const char *annotations, *metrics, *artifacts; /* evidence.h */
    double threshold, alpha;
    unsigned long runs, hz;
    bool budget_file;
    struct budget budgets[CHECK_MAX_BUDGETS];
    int nbudgets;
};

#endif
