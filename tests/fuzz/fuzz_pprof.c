/* fuzz_pprof.c — the pprof reader: gzip (bounded), protobuf, the model. */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct profile *p = profile_new();
    struct fmt_err e = {0};
    struct mp_err verr;
    if (fmt__pprof_read(p, data, size, "fuzz", &e) == 0) {
        profile_sort_samples(p);
        if (profile_validate(p, &verr) == 0)
            fuzz_write_all(p);
    }
    profile_free(p);
    return 0;
}
