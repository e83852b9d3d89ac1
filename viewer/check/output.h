/*
 * output.h — what `mrprof check` writes of its verdicts: the text table on standard output, the
 * Markdown table (--markdown, for a CI job summary) and JUnit XML (--junit: one test case per
 * judged verdict).
 */
#ifndef MRPROF_CHECK_OUTPUT_H
#define MRPROF_CHECK_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "viewer/check/verdict.h"

/* The verdicts as a text table (markdown: a Markdown table), then a note on the units. */
void print_table(FILE *out, const struct verdicts *vs, bool markdown);
/* The Markdown summary: a heading with the verdict, then the table. */
void write_markdown(FILE *out, const struct verdicts *vs, size_t failures);
/* Writes the Markdown summary (junit false) or the JUnit XML to path (atomically); failures is
 * the number of failed verdicts. 0, or -1 after a message. */
int write_report_file(const char *path, const struct verdicts *vs, bool junit, size_t failures);

#endif
