/* fuzz_cpuprofile.c — the .cpuprofile readers: DevTools' "nodes" form and the legacy "head" form.
 */
#include "tests/fuzz/fuzz_common.h"

static int
read_cpuprofile(struct profile *p, const struct json_val *root, const char *name, struct fmt_err *e)
{
    if (json_get(root, "head"))
        return fmt__legacy_cpuprofile_read_json(p, root, name, e);
    return fmt__cpuprofile_read_json(p, root, name, "main", 0, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_json_reader(data, size, read_cpuprofile);
    return 0;
}
