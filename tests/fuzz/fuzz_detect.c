/* fuzz_detect.c — format detection and every reader behind it, as `mrprof report FILE` reads. */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fmt_err e = {0};
    struct profile *p = fmt_read_buffer((const char *)data, size, "fuzz", &e);
    if (p)
        fuzz_write_all(p);
    profile_free(p);
    return 0;
}
