/*
 * stalls.h — `mrprof report DIR` on a stall directory (mrun --prof-stall, mrprof record
 * --stall): its index.json read back, the stalls listed by length and by blocking function.
 */
#ifndef MRPROF_TEXT_STALLS_H
#define MRPROF_TEXT_STALLS_H

#include <stdbool.h>
#include <stdio.h>

#include "profiler/base/err.h"

/* True when dir holds a stall index (DIR/index.json). */
bool stalls_is_dir(const char *dir);
/* Prints the report of dir's stalls (top rows of each table; 0: all). Returns 0, or -1 with e
 * filled (unreadable or malformed index). */
int stalls_report(FILE *out, const char *dir, int top, struct mp_err *e);

#endif
