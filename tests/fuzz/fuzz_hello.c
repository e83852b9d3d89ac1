/*
 * fuzz_hello.c — what the live agent (mrun --prof-live) parses from a client: the hello with its
 * token; and the --prof-live tcp: address a user types.
 */
#include <stdint.h>
#include <string.h>

#include "formats/live.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char token[] = "0123456789abcdef0123456789abcdef";
    size_t used = 0;
    struct mp_err why, err;
    live_check_hello(data, size, token, &used, &why);
    live_check_hello(data, size, NULL, &used, &why);
    char spec[256], host[128];
    size_t n = size < sizeof spec - 1 ? size : sizeof spec - 1;
    memcpy(spec, data, n);
    spec[n] = 0;
    long port;
    live_parse_tcp(spec, host, sizeof host, &port, &err);
    return 0;
}
