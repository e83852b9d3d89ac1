/*
 * attach.h — the client side of the live profile's socket (formats/live.h): connect to an
 * mrun serving --prof-live at unix:PATH or tcp:HOST:PORT (loopback) and say hello. Used by
 * `mrprof top` for --attach and for the script it runs itself.
 */
#ifndef MRPROF_ATTACH_H
#define MRPROF_ATTACH_H

#include "profiler/base/err.h"

/* Connects to addr and sends the hello (with token, for TCP; may be NULL). Returns the
 * descriptor, left non-blocking and owned by the caller, or -1 with e filled (-errno, or -EINVAL
 * for an address that is not one). */
int attach_open(const char *addr, const char *token, struct mp_err *e);

#endif
