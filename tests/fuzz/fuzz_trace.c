/* fuzz_trace.c — the Trace Event reader (Profile/ProfileChunk and CpuProfile events). */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_json_reader(data, size, fmt__trace_read_json);
    return 0;
}
