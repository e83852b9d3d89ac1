/*
 * fuzz_live.c — the live stream decoder (`mrprof top --attach`'s side): the input is what a
 * hostile agent sends, fed in two pieces split at its first byte's value, so that messages cut
 * across reads are decoded too. The profile it builds is written in every format.
 */
#include "formats/live.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cut = data[0] % size;
    data++, size--;
    if (cut > size)
        cut = size;
    struct live_decoder d;
    live_decoder_init(&d);
    int rc = live_decode(&d, data, cut);
    if (rc >= 0)
        rc = live_decode(&d, data + cut, size - cut);
    struct mp_err verr;
    if (d.p && profile_validate(d.p, &verr) == 0)
        fuzz_write_all(d.p);
    live_decoder_free(&d);
    return 0;
}
