/*
 * check_parse.h — the parsers of `mrprof check`'s own untrusted inputs, exposed for the fuzz
 * targets (tests/fuzz/fuzz_check.c): a stored baseline (--baseline-json, written by
 * --save-baseline) and one budget (--budget, a line of ./mrprof.budget). Each returns 0 when the
 * input parses, -1 when it is refused (with the message check prints on stderr).
 */
#ifndef MRPROF_CHECK_PARSE_H
#define MRPROF_CHECK_PARSE_H

#include <stddef.h>

int check_parse_baseline(const char *text, size_t len);
int check_parse_budget(const char *spec);

#endif
