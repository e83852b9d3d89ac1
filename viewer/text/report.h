/*
 * report.h — the text report over a profile (used by `report`, `view --once`, `record`).
 */
#ifndef MRPROF_REPORT_H
#define MRPROF_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "profiler/model/aggregate.h"

struct report_opts {
    int top;        /* rows; 0 = all */
    bool tree;      /* print the call tree */
    enum agg_by by; /* grouping of the top table */
    int thread;     /* -1 = all */
    double min_pct; /* call-tree pruning */
    bool tsv;       /* top table only, tab-separated, for scripts */
    bool hide_idle; /* leave the (idle) samples out: shares are of the rest (the header says) */
};

/* Writes the report; returns 0 or -ENOMEM. */
int report_print(FILE *out, const struct profile *p, const char *title,
                 const struct report_opts *o);
/* "file:line", "file" or "" into buf. */
const char *report_location(const struct profile *p, uint32_t file, int32_t line, char *buf,
                            size_t len);
const char *report_location_str(const char *file, int32_t line, char *buf, size_t len);

#endif
