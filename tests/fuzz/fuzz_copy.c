/*
 * fuzz_copy.c — Deferred's copier: copy_decode() over arbitrary bytes in one VM, then what it
 * decoded encoded and decoded again. Raises (NoMemoryError, SystemStackError) are caught as a
 * worker would; the VM is reused across inputs, its GC run now and then.
 */
#include <stdint.h>
#include <stdlib.h>

#include <mruby.h>
#include <mruby/error.h>

#include "runtime/copy.h"

struct input {
    const uint8_t *data;
    size_t size;
};

static mrb_value
decode_twice(mrb_state *mrb, void *ud)
{
    const struct input *in = ud;
    mrb_value v = copy_decode(mrb, in->data, in->size);
    if (mrb_nil_p(v))
        return v;
    struct copy_buf b = {0};
    struct mp_err err;
    if (copy_encode(mrb, v, "args", &b, &err) == COPY_OK) {
        mrb_value w = copy_decode(mrb, b.data, b.len);
        if (mrb_nil_p(w))
            abort(); /* what copy_encode wrote must decode */
    }
    copy_buf_free(&b);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mrb_state *mrb;
    static unsigned long runs;
    if (!mrb && !(mrb = mrb_open()))
        abort();
    int ai = mrb_gc_arena_save(mrb);
    struct input in = {data, size};
    mrb_bool failed = 0;
    mrb_protect_error(mrb, decode_twice, &in, &failed);
    mrb->exc = NULL;
    mrb_gc_arena_restore(mrb, ai);
    if (++runs % 256 == 0)
        mrb_full_gc(mrb);
    return 0;
}
