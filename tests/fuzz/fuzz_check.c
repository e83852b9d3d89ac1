/*
 * fuzz_check.c — `mrprof check`'s parsers of a stored baseline (JSON) and of a budget line.
 * The first byte picks which: even, the rest is a baseline; odd, a budget.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "viewer/check/check_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    if (data[0] % 2 == 0)
        check_parse_baseline(text, size - 1);
    else
        check_parse_budget(text);
    free(text);
    return 0;
}
