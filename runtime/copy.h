/*
 * copy.h — deep copies of Ruby values between two mrb_states (for Deferred).
 *
 * Two VMs on two threads share nothing, so a value crosses as bytes: copy_encode() walks a
 * value on the sending VM's thread and writes a self-contained byte string, copy_decode()
 * rebuilds it in the receiving VM. Copied: nil, true, false, Integer, Float, String (bytes kept),
 * Symbol, Array and Hash, nested to any depth (no recursion on the C stack). An object reached
 * twice is copied once and shared the same way on the other side; a cycle (an Array or Hash
 * that contains itself) is an error. Anything else, including subclasses of String, Array and
 * Hash, is an error that names the class and where it was found, e.g. `result[2][:conn]`.
 */
#ifndef MRPROF_COPY_H
#define MRPROF_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mruby.h>

#include "profiler/base/err.h"

struct copy_buf {
    uint8_t *data;
    size_t len, cap;
};

enum copy_error {
    COPY_OK = 0,
    COPY_UNSUPPORTED, /* a value of a class that is not copied: a TypeError */
    COPY_CYCLE,       /* a container that contains itself: an ArgumentError */
    COPY_NOMEM,
};

/*
 * Appends the encoding of v to out. `root` names v in messages ("args", "result"). On failure
 * returns the kind of error and fills e (err.h) with a message naming the class and the path
 * (code -EINVAL for COPY_UNSUPPORTED, -ELOOP for COPY_CYCLE, -ENOMEM for COPY_NOMEM); out is
 * left as it was. Never raises: it may run where no exception handler is set up.
 */
enum copy_error copy_encode(mrb_state *mrb, mrb_value v, const char *root, struct copy_buf *out,
                            struct mp_err *e);

/* Replaces out's contents with the encoding of the Hash {"class" => cls, "message" => msg,
 * "backtrace" => []}, written without the VM: for a worker whose VM cannot allocate any more.
 * False (out empty) when even that memory is not there. */
bool copy_encode_error(struct copy_buf *out, const char *cls, const char *msg);

/* Rebuilds a value encoded by copy_encode. The bytes must come from copy_encode (they are
 * trusted): returns nil for anything malformed. May raise NoMemoryError, as any allocation. */
mrb_value copy_decode(mrb_state *mrb, const uint8_t *data, size_t len);

void copy_buf_free(struct copy_buf *b);

#endif
