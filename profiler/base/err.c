/*
 * err.c — the error setter (see err.h for the shape and the out-of-memory policy).
 */
#include "profiler/base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
mp_errf(struct mp_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int
mp_err_oom(struct mp_err *e, const char *name)
{
    if (name && *name)
        return mp_errf(e, -ENOMEM, "%s: out of memory", name);
    return mp_errf(e, -ENOMEM, "out of memory");
}

void
mp_err_clear(struct mp_err *e)
{
    memset(e, 0, sizeof *e);
}
