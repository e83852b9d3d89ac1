/*
 * fuzz_folded.c — libFuzzer target for the folded-stacks reader (formats/folded.c).
 *
 * The bytes go to the reader directly (not through format detection, so every input exercises
 * it). A profile the reader accepts must pass the model's own invariant check: a reader that
 * returns success on a profile profile_validate() rejects is a bug, and the target traps.
 * Seed corpus: tests/fuzz/corpus/folded/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    (void)fmt__looks_folded(buf, size);
    struct profile *p = profile_new();
    struct fmt_err e = {0};
    if (fmt__folded_read(p, buf, size, "fuzz", &e) == 0) {
        struct mp_err msg;
        profile_sort_samples(p);
        if (profile_validate(p, &msg) != 0)
            __builtin_trap();
    } else if (!e.msg[0] && e.code != -12 /* ENOMEM */) {
        __builtin_trap(); /* an error must say what is wrong */
    }
    profile_free(p);
    free(buf);
    return 0;
}
