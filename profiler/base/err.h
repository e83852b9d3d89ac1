/*
 * err.h — the one error shape and the one out-of-memory policy of profiler/base, profiler/model
 * and formats/ (and of whoever calls them: runtime/ and viewer/ read the same struct).
 *
 * The shape: a function that can fail returns 0 or a negative errno (-EINVAL for bad content,
 * -ENOMEM, -EIO or -errno for the system's refusals) and, when the caller passed one, fills a
 * struct mp_err {code, msg} with the same code and one line of text that names the input
 * ("FILE: looks like X, but ..."). Functions returning a pointer return NULL and fill the struct.
 * mp_errf() is the one setter (printf-style, returns the code, so `return mp_errf(e, -EINVAL,
 * ...)` is the idiom). Why this shape: it is what most of the code already used (formats.h's
 * struct fmt_err was exactly this), it is a fixed-size value (no allocation on the failure path,
 * which matters when the failure is out of memory), a caller can keep it on the stack, and the
 * errno code lets callers pick an exit status without parsing text. The former shapes map onto
 * it: formats.h's struct fmt_err is now a #define alias of struct mp_err (the name stays, for
 * now, in viewer/, runtime/ and the tests); profile_validate() fills one instead of a
 * (char *, size_t) buffer; the JSON reader keeps its position (line, column, byte) in struct
 * json_error and its message in an mp_err there (json_error.what); the live decoder keeps one
 * in its state (live_decoder.err, -EPROTO for a protocol error); fileio.h, live_parse_tcp and
 * live_check_hello, the live agent (prof_live_start) and its client (attach_open), prof_start and
 * Deferred's copy_encode fill one too (copy_encode and live_check_hello keep their own return
 * values, the struct carries the message). No (char *err, size_t errlen) parameter is left.
 *
 * Out of memory, the policy: nothing below viewer/ and runtime/ aborts or prints. A failed
 * allocation returns -ENOMEM (or NULL) with the message "out of memory" (mp_err_oom; prefixed
 * by the input's name where there is one), and leaves the caller's data as it was or freed. The
 * one place whose signature cannot carry an error is the profile model's builders (profile.h:
 * interning, frames, nodes, samples, called per record by every reader and the sampler): they
 * set a sticky flag on the profile (profile_oom) and return id 0, and the formats check the
 * flag once per file read or written. The top level (the CLI, mrun) decides what to do with
 * -ENOMEM: print the message and exit non-zero.
 *
 * Depends on nothing of the project.
 */
#ifndef MRPROF_BASE_ERR_H
#define MRPROF_BASE_ERR_H

#include <errno.h>

struct mp_err {
    int code; /* 0, or a negative errno (-EINVAL for bad content) */
    char msg[512];
};

/* Sets e (when not NULL) to code and the formatted message; returns code. */
int mp_errf(struct mp_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "NAME: out of memory" (or "out of memory" when name is NULL); returns -ENOMEM. */
int mp_err_oom(struct mp_err *e, const char *name);

/* Clears e (code 0, empty message). */
void mp_err_clear(struct mp_err *e);

#endif
