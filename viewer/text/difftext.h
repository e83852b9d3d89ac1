/*
 * difftext.h — the call tree of a change as text (used by `diff --tree`).
 */
#ifndef MRPROF_DIFFTEXT_H
#define MRPROF_DIFFTEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "profiler/model/difftree.h"

/* Prints the call tree of the change: every path whose inclusive time moved by at least
 * min_pts points, children largest change first. */
void diff_print_tree(const struct diff_tree *d, double min_pts, FILE *out);

/* Writes the differential flame graph of d to path (formats/svg.c: widths from NEW, red grew, blue
 * shrank, labels with the change); absolute says d was built without scaling the base. 0, or a
 * negative errno with e filled. */
int diff_write_svg(const struct diff_tree *d, bool absolute, const char *title, const char *path,
                   struct mp_err *e);

#endif
