/*
 * copy.c — deep copies of Ruby values between VMs, through a small byte encoding.
 *
 * The encoding is a pre-order walk, one tag byte per value:
 *   'N' nil  'T' true  'F' false
 *   'I' int64          'D' double (8 bytes, host order: both VMs run in this process)
 *   'S' u64 length + bytes (String)      'Y' u64 length + bytes (Symbol)
 *   'A' u64 count, then the elements     'H' u64 count, then key, value, key, value...
 *   'R' u64 index: the index-th String/Array/Hash of this encoding again (shared reference)
 * Strings, Arrays and Hashes are numbered in the order they first appear, so a reference always
 * points backwards. Both walks use explicit stacks: an Array nested a million deep is fine.
 */
#include "runtime/copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mruby/array.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/string.h>

#include "profiler/base/hash.h"

/* --- the byte buffer ------------------------------------------------------------------------ */

static bool
buf_reserve(struct copy_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

static bool
put_tag_u64(struct copy_buf *b, char tag, uint64_t v)
{
    if (!buf_reserve(b, 9))
        return false;
    b->data[b->len++] = (uint8_t)tag;
    memcpy(b->data + b->len, &v, 8);
    b->len += 8;
    return true;
}

static bool
put_bytes(struct copy_buf *b, char tag, const char *p, size_t n)
{
    if (!put_tag_u64(b, tag, n) || !buf_reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

void
copy_buf_free(struct copy_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* --- objects seen so far: pointer -> index, and whether it is still being written ----------- */

/* The records are numbered as the objects are met (a record's id is the object's index in the
 * encoding); profiler/base/hash.h finds a pointer's record. */
struct seen {
    struct seen_slot {
        const void *obj;
        uint64_t index;
        bool open;
    } * slots;
    size_t cap, count;
    struct mp_hash ids;
};

static uint64_t
ptr_hash(const void *p)
{
    return mp_mix64((uint64_t)(uintptr_t)p);
}

static bool
seen_eq(const void *ctx, uint32_t id, const void *key)
{
    return ((const struct seen *)ctx)->slots[id].obj == key;
}

static uint64_t
seen_rehash(const void *ctx, uint32_t id)
{
    return ptr_hash(((const struct seen *)ctx)->slots[id].obj);
}

static struct seen_slot *
seen_find(struct seen *s, const void *obj)
{
    uint32_t id = mp_hash_find(&s->ids, ptr_hash(obj), seen_eq, s, obj);
    return id == UINT32_MAX ? NULL : &s->slots[id];
}

/* Adds obj (absent) as the next record; NULL when out of memory or past 2^32 - 1 objects. */
static struct seen_slot *
seen_add(struct seen *s, const void *obj, uint64_t index, bool open)
{
    if (s->count >= UINT32_MAX - 1)
        return NULL;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct seen_slot *slots = realloc(s->slots, cap * sizeof *slots);
        if (!slots)
            return NULL;
        s->slots = slots;
        s->cap = cap;
    }
    s->slots[s->count] = (struct seen_slot){obj, index, open};
    if (mp_hash_insert(&s->ids, ptr_hash(obj), (uint32_t)s->count, seen_rehash, s) != 0)
        return NULL;
    return &s->slots[s->count++];
}

static void
seen_free(struct seen *s)
{
    free(s->slots);
    mp_hash_free(&s->ids);
}

/* --- encoding ------------------------------------------------------------------------------- */

/* Where a Hash frame is: between pairs, writing the key keys[next - 1], or writing its value. */
enum enc_phase { PAIR_DONE, IN_KEY, IN_VALUE };

struct enc_frame {
    mrb_value obj;  /* the Array or Hash being written */
    mrb_value keys; /* a Hash's keys */
    mrb_int next, n;
    enum enc_phase phase;
};

struct enc {
    mrb_state *mrb;
    struct copy_buf *out;
    struct seen seen;
    uint64_t nobjs;
    struct enc_frame *stack;
    size_t depth, cap;
    const char *root;
};

/* Appends the path of the value being written (root[1][:key]...) to buf. */
static void
enc_path(struct enc *e, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "%s", e->root);
    for (size_t i = 0; i < e->depth && at < len; i++) {
        struct enc_frame *f = &e->stack[i];
        if (mrb_array_p(f->obj)) {
            at += (size_t)snprintf(buf + at, len - at, "[%ld]", (long)(f->next - 1));
            continue;
        }
        mrb_value k = RARRAY_PTR(f->keys)[f->next - 1];
        if (f->phase == IN_KEY) {
            at += (size_t)snprintf(buf + at, len - at, " (a Hash key)");
            break;
        }
        if (mrb_symbol_p(k)) {
            mrb_int kl;
            const char *kn = mrb_sym_name_len(e->mrb, mrb_symbol(k), &kl);
            at += (size_t)snprintf(buf + at, len - at, "[:%.*s]", (int)kl, kn);
        } else if (mrb_string_p(k)) {
            int kl = (int)(RSTRING_LEN(k) > 24 ? 24 : RSTRING_LEN(k));
            at += (size_t)snprintf(buf + at, len - at, "[\"%.*s%s\"]", kl, RSTRING_PTR(k),
                                   RSTRING_LEN(k) > 24 ? "..." : "");
        } else if (mrb_integer_p(k)) {
            at += (size_t)snprintf(buf + at, len - at, "[%ld]", (long)mrb_integer(k));
        } else {
            at +=
                (size_t)snprintf(buf + at, len - at, "[(a %s key)]", mrb_obj_classname(e->mrb, k));
        }
    }
}

/* The path at which container obj (an open one) was entered: the stack below its frame. */
static void
enc_path_of_open(struct enc *e, mrb_value obj, char *buf, size_t len)
{
    size_t keep = e->depth;
    for (size_t i = 0; i < e->depth; i++)
        if (mrb_obj_ptr(e->stack[i].obj) == mrb_obj_ptr(obj)) {
            e->depth = i;
            break;
        }
    enc_path(e, buf, len);
    e->depth = keep;
}

static enum copy_error
enc_push(struct enc *e, mrb_value obj, mrb_value keys, mrb_int n)
{
    if (e->depth == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 32;
        struct enc_frame *st = realloc(e->stack, cap * sizeof *st);
        if (!st)
            return COPY_NOMEM;
        e->stack = st;
        e->cap = cap;
    }
    e->stack[e->depth++] = (struct enc_frame){obj, keys, 0, n, PAIR_DONE};
    return COPY_OK;
}

/* Writes one value; an Array or Hash is opened (its elements follow from the stack). */
static enum copy_error
enc_value(struct enc *e, mrb_value v, struct mp_err *err)
{
    mrb_state *mrb = e->mrb;
    struct copy_buf *b = e->out;
    bool ok;
    switch (mrb_type(v)) {
    case MRB_TT_FALSE:
        ok = buf_reserve(b, 1);
        if (ok)
            b->data[b->len++] = mrb_nil_p(v) ? 'N' : 'F';
        return ok ? COPY_OK : COPY_NOMEM;
    case MRB_TT_TRUE:
        ok = buf_reserve(b, 1);
        if (ok)
            b->data[b->len++] = 'T';
        return ok ? COPY_OK : COPY_NOMEM;
    case MRB_TT_INTEGER: {
        int64_t i = (int64_t)mrb_integer(v);
        return put_tag_u64(b, 'I', (uint64_t)i) ? COPY_OK : COPY_NOMEM;
    }
    case MRB_TT_FLOAT: {
        double d = (double)mrb_float(v);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        return put_tag_u64(b, 'D', bits) ? COPY_OK : COPY_NOMEM;
    }
    case MRB_TT_SYMBOL: {
        mrb_int n;
        const char *name = mrb_sym_name_len(mrb, mrb_symbol(v), &n);
        return put_bytes(b, 'Y', name, (size_t)n) ? COPY_OK : COPY_NOMEM;
    }
    default:
        break;
    }
    struct RClass *cls = mrb_obj_class(mrb, v);
    bool is_str = mrb_string_p(v) && cls == mrb->string_class;
    bool is_ary = mrb_array_p(v) && cls == mrb->array_class;
    bool is_hash = mrb_hash_p(v) && cls == mrb->hash_class;
    if (!is_str && !is_ary && !is_hash) {
        char path[256];
        enc_path(e, path, sizeof path);
        mp_errf(err, -EINVAL,
                "cannot copy an object of class %s (found at %s) to another VM: only nil, "
                "true, false, Integer, Float, String, Symbol, Array and Hash cross between VMs",
                mrb_obj_classname(mrb, v), path);
        return COPY_UNSUPPORTED;
    }
    struct seen_slot *slot = seen_find(&e->seen, mrb_ptr(v));
    if (slot && slot->open) {
        char path[256], where[256];
        enc_path(e, path, sizeof path);
        enc_path_of_open(e, v, where, sizeof where);
        mp_errf(err, -ELOOP, "cannot copy a cyclic structure: %s is %s itself", path, where);
        return COPY_CYCLE;
    }
    if (slot)
        return put_tag_u64(b, 'R', slot->index) ? COPY_OK : COPY_NOMEM;
    if (!seen_add(&e->seen, mrb_ptr(v), e->nobjs++, !is_str))
        return COPY_NOMEM;
    if (is_str)
        return put_bytes(b, 'S', RSTRING_PTR(v), (size_t)RSTRING_LEN(v)) ? COPY_OK : COPY_NOMEM;
    if (is_ary) {
        mrb_int n = RARRAY_LEN(v);
        if (!put_tag_u64(b, 'A', (uint64_t)n))
            return COPY_NOMEM;
        return n ? enc_push(e, v, mrb_nil_value(), n) : COPY_OK;
    }
    mrb_value keys = mrb_hash_keys(mrb, v); /* kept alive by the arena until the walk ends */
    mrb_int n = RARRAY_LEN(keys);
    if (!put_tag_u64(b, 'H', (uint64_t)n))
        return COPY_NOMEM;
    return n ? enc_push(e, v, keys, n) : COPY_OK;
}

/* Marks a finished container as closed: a later reference to it is sharing, not a cycle. */
static void
enc_close(struct enc *e, mrb_value obj)
{
    struct seen_slot *slot = seen_find(&e->seen, mrb_ptr(obj));
    if (slot)
        slot->open = false;
}

struct enc_run {
    struct enc *e;
    mrb_value v;
    struct mp_err *err;
    enum copy_error rc;
};

static mrb_value
enc_walk(mrb_state *mrb, void *ud)
{
    struct enc_run *r = ud;
    struct enc *e = r->e;
    enum copy_error rc = enc_value(e, r->v, r->err);
    /* A frame is back on top when the value it last opened is finished. */
    while (rc == COPY_OK && e->depth > 0) {
        struct enc_frame *f = &e->stack[e->depth - 1];
        mrb_value next;
        if (mrb_array_p(f->obj)) {
            if (f->next >= f->n || f->next >= RARRAY_LEN(f->obj)) {
                enc_close(e, f->obj);
                e->depth--;
                continue;
            }
            next = RARRAY_PTR(f->obj)[f->next++];
        } else if (f->phase == IN_KEY) {
            f->phase = IN_VALUE;
            next = mrb_hash_get(mrb, f->obj, RARRAY_PTR(f->keys)[f->next - 1]);
        } else {
            if (f->next == f->n) {
                enc_close(e, f->obj);
                e->depth--;
                continue;
            }
            f->phase = IN_KEY;
            next = RARRAY_PTR(f->keys)[f->next++];
        }
        rc = enc_value(e, next, r->err);
    }
    r->rc = rc;
    return mrb_nil_value();
}

enum copy_error
copy_encode(mrb_state *mrb, mrb_value v, const char *root, struct copy_buf *out, struct mp_err *err)
{
    struct enc e = {.mrb = mrb, .out = out, .root = root};
    size_t start = out->len;
    int ai = mrb_gc_arena_save(mrb);
    /* The walk allocates Ruby objects (a Hash's keys), which can raise NoMemoryError in a worker
     * past Deferred.heap_limit: it runs protected, so that this function never raises and its
     * own buffers are freed whatever happens. */
    struct enc_run r = {&e, v, err, COPY_NOMEM};
    mrb_bool raised = FALSE;
    mrb_protect_error(mrb, enc_walk, &r, &raised);
    enum copy_error rc = raised ? COPY_NOMEM : r.rc;
    if (raised)
        mrb->exc = NULL;
    free(e.stack);
    seen_free(&e.seen);
    mrb_gc_arena_restore(mrb, ai);
    if (rc != COPY_OK) {
        out->len = start;
        if (rc == COPY_NOMEM)
            mp_errf(err, -ENOMEM, "out of memory while copying %s", root);
    }
    return rc;
}

bool
copy_encode_error(struct copy_buf *out, const char *cls, const char *msg)
{
    out->len = 0;
    bool ok = put_tag_u64(out, 'H', 3) && put_bytes(out, 'S', "class", 5) &&
              put_bytes(out, 'S', cls, strlen(cls)) && put_bytes(out, 'S', "message", 7) &&
              put_bytes(out, 'S', msg, strlen(msg)) && put_bytes(out, 'S', "backtrace", 9) &&
              put_tag_u64(out, 'A', 0);
    if (!ok)
        out->len = 0;
    return ok;
}

/* --- decoding ------------------------------------------------------------------------------- */

struct dec_frame {
    mrb_value obj;
    uint64_t left; /* elements (Array) or pairs (Hash) still to read */
    mrb_value key;
    bool have_key;
};

static bool
get_u64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if ((size_t)(end - *p) < 8)
        return false;
    memcpy(v, *p, 8);
    *p += 8;
    return true;
}

mrb_value
copy_decode(mrb_state *mrb, const uint8_t *data, size_t len)
{
    const uint8_t *p = data, *end = data + len;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value objs = mrb_ary_new(mrb); /* every String/Array/Hash, by index; roots them all */
    mrb_value pins = mrb_ary_new(mrb); /* Hash keys that are heap scalars (boxed numbers) */
    /* The stack of open containers lives in a String's buffer, not in malloc'd memory: any
     * allocation below may raise NoMemoryError (a worker past Deferred.heap_limit) and longjmp
     * out of this function, and the GC then frees the String with everything else. Its values
     * need no marking: each frame's container is in objs, each key in objs or pins. */
    mrb_value stack_str = mrb_str_new(mrb, NULL, 0);
    int ai_objs = mrb_gc_arena_save(mrb);
    struct dec_frame *stack = NULL;
    size_t depth = 0, cap = 0;
    mrb_value root = mrb_nil_value();
    bool have_root = false, bad = false;

    while (!bad && p < end) {
        uint8_t tag = *p++;
        uint64_t n = 0;
        mrb_value v;
        bool container = false;
        switch (tag) {
        case 'N':
            v = mrb_nil_value();
            break;
        case 'T':
            v = mrb_true_value();
            break;
        case 'F':
            v = mrb_false_value();
            break;
        case 'I':
            bad = !get_u64(&p, end, &n);
            v = mrb_int_value(mrb, (mrb_int)(int64_t)n);
            break;
        case 'D': {
            bad = !get_u64(&p, end, &n);
            double d;
            memcpy(&d, &n, 8);
            v = mrb_float_value(mrb, (mrb_float)d);
            break;
        }
        case 'S':
        case 'Y':
            if (!get_u64(&p, end, &n) || (uint64_t)(end - p) < n) {
                bad = true;
                v = mrb_nil_value();
                break;
            }
            if (tag == 'Y') {
                v = mrb_symbol_value(mrb_intern(mrb, (const char *)p, (size_t)n));
            } else {
                v = mrb_str_new(mrb, (const char *)p, (mrb_int)n);
                mrb_ary_push(mrb, objs, v);
            }
            p += n;
            break;
        case 'A':
        case 'H':
            bad = !get_u64(&p, end, &n) || n > (uint64_t)(end - p);
            v = tag == 'A' ? mrb_ary_new_capa(mrb, bad ? 0 : (mrb_int)n) : mrb_hash_new(mrb);
            mrb_ary_push(mrb, objs, v);
            container = n > 0;
            break;
        case 'R':
            bad = !get_u64(&p, end, &n) || n >= (uint64_t)RARRAY_LEN(objs);
            v = bad ? mrb_nil_value() : RARRAY_PTR(objs)[n];
            break;
        default:
            bad = true;
            v = mrb_nil_value();
            break;
        }
        if (bad)
            break;
        /* Attach v to the container being filled (or make it the root). */
        if (depth == 0) {
            if (have_root) {
                bad = true; /* trailing bytes */
                break;
            }
            root = v;
            have_root = true;
            mrb_gc_protect(mrb, root);
            ai_objs = mrb_gc_arena_save(mrb);
        } else {
            struct dec_frame *f = &stack[depth - 1];
            if (mrb_array_p(f->obj)) {
                mrb_ary_push(mrb, f->obj, v);
                f->left--;
            } else if (!f->have_key) {
                f->key = v; /* kept alive: a String/Array/Hash is in objs, others in pins */
                f->have_key = true;
                if (!mrb_immediate_p(v))
                    mrb_ary_push(mrb, pins, v);
            } else {
                mrb_hash_set(mrb, f->obj, f->key, v);
                f->have_key = false;
                f->left--;
            }
        }
        if (container) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                if (ncap > (size_t)MRB_INT_MAX / sizeof *stack)
                    mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
                mrb_str_resize(mrb, stack_str, (mrb_int)(ncap * sizeof *stack));
                stack = (struct dec_frame *)(void *)RSTRING_PTR(stack_str);
                cap = ncap;
            }
            stack[depth++] = (struct dec_frame){v, n, mrb_nil_value(), false};
        }
        while (depth > 0 && stack[depth - 1].left == 0)
            depth--;
        mrb_gc_arena_restore(mrb, ai_objs);
    }
    mrb_gc_arena_restore(mrb, ai);
    if (bad || depth > 0 || !have_root)
        return mrb_nil_value();
    mrb_gc_protect(mrb, root);
    return root;
}
