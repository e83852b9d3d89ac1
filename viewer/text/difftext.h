/*
 * difftext.h — the call tree of a change as text (used by `diff --tree`).
 */
#ifndef MRPROF_DIFFTEXT_H
#define MRPROF_DIFFTEXT_H

#include <stdio.h>

#include "profiler/model/difftree.h"

/* Prints the call tree of the change: every path whose inclusive time moved by at least
 * min_pts points, children largest change first. */
void diff_print_tree(const struct diff_tree *d, double min_pts, FILE *out);

#endif
