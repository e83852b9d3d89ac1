/*
 * fuzz_speedscope.c — libFuzzer target for the speedscope reader (formats/speedscope.c).
 *
 * The bytes are parsed as JSON (json.c, fuzzed on its own too) and any document goes to the
 * speedscope reader directly, whatever its members, so every parsed input exercises it. A
 * profile the reader accepts must pass the model's invariant check, and a refusal must carry a
 * message; otherwise the target traps. Seed corpus: tests/fuzz/corpus/speedscope/.
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
    struct json_doc doc;
    struct json_error jerr;
    if (json_parse(buf, size, &doc, &jerr) == 0) {
        struct profile *p = profile_new();
        struct fmt_err e = {0};
        if (fmt__speedscope_read_json(p, json_root(&doc), "fuzz", &e) == 0) {
            struct mp_err msg;
            profile_sort_samples(p);
            if (profile_validate(p, &msg) != 0)
                __builtin_trap();
        } else if (!e.msg[0] && e.code != -12 /* ENOMEM */) {
            __builtin_trap();
        }
        profile_free(p);
        json_free(&doc);
    }
    free(buf);
    return 0;
}
