/*
 * live.c — the live profile stream: encoder (runtime side) and decoder (viewer side).
 * The message layout is in live.h and docs/live.md.
 */
#include "formats/live.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- bytes ---------------------------------------------------------------------------------- */

void
live_buf_free(struct live_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int
reserve(struct live_buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->len + more)
        c *= 2;
    uint8_t *d = realloc(b->data, c);
    if (!d)
        return -ENOMEM;
    b->data = d;
    b->cap = c;
    return 0;
}

static void
put_le(struct live_buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b->data[b->len++] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Starts a message of type t whose payload will be at most max bytes; returns its offset. */
static int
begin(struct live_buf *b, int t, size_t max, size_t *at)
{
    if (reserve(b, 5 + max))
        return -ENOMEM;
    *at = b->len;
    b->len += 4;
    b->data[b->len++] = (uint8_t)t;
    return 0;
}

static void
finish(struct live_buf *b, size_t at)
{
    uint32_t body = (uint32_t)(b->len - at - 4);
    for (int i = 0; i < 4; i++)
        b->data[at + (size_t)i] = (uint8_t)(body >> (8 * i));
}

/* --- encoder -------------------------------------------------------------------------------- */

void
live_cursor_init(struct live_cursor *c)
{
    memset(c, 0, sizeof *c);
    struct profile *fresh = profile_new();
    if (fresh) {
        c->strings = (uint32_t)fresh->strings.offs.len;
        c->frames = (uint32_t)profile_nframes(fresh);
        c->nodes = (uint32_t)profile_nnodes(fresh);
        c->threads = (uint32_t)profile_nthreads(fresh);
        profile_free(fresh);
    }
}

void
live_cursor_free(struct live_cursor *c)
{
    free(c->unnamed);
    memset(c, 0, sizeof *c);
}

int
live_encode_hello(struct live_buf *b, const char *token)
{
    size_t tl = token ? strlen(token) : 0, at;
    if (tl > LIVE_TOKEN_LEN * 2 || begin(b, LIVE_HELLO, sizeof LIVE_MAGIC + 2 + tl, &at))
        return -ENOMEM;
    memcpy(b->data + b->len, LIVE_MAGIC, sizeof LIVE_MAGIC - 1);
    b->len += sizeof LIVE_MAGIC - 1;
    put_le(b, LIVE_VERSION, 2);
    memcpy(b->data + b->len, token ? token : "", tl);
    b->len += tl;
    finish(b, at);
    return 0;
}

int
live_encode_welcome(struct live_buf *b, const struct profile *p, uint32_t pid)
{
    size_t tl = strnlen(p->meta.tool, sizeof p->meta.tool), at;
    if (begin(b, LIVE_WELCOME, 32 + tl, &at))
        return -ENOMEM;
    put_le(b, LIVE_VERSION, 2);
    put_le(b, (uint64_t)p->meta.mode, 1);
    put_le(b, 0, 1);
    put_le(b, p->meta.hz, 4);
    put_le(b, p->meta.start_ns, 8);
    put_le(b, p->meta.wall_start_ns, 8);
    put_le(b, pid, 4);
    memcpy(b->data + b->len, p->meta.tool, tl);
    b->len += tl;
    finish(b, at);
    return 0;
}

static bool
is_unnamed(const struct profile *p, uint32_t frame)
{
    return strcmp(profile_str(p, profile_frames(p)[frame].name), "?") == 0;
}

static int
remember_unnamed(struct live_cursor *c, uint32_t frame)
{
    if (c->nunnamed == c->capunnamed) {
        size_t cap = c->capunnamed ? c->capunnamed * 2 : 64;
        uint32_t *u = realloc(c->unnamed, cap * sizeof *u);
        if (!u)
            return -ENOMEM;
        c->unnamed = u;
        c->capunnamed = cap;
    }
    c->unnamed[c->nunnamed++] = frame;
    return 0;
}

static void
put_frame(struct live_buf *b, const struct prof_frame *f)
{
    put_le(b, f->name, 4);
    put_le(b, f->file, 4);
    put_le(b, (uint32_t)f->line, 4);
    put_le(b, f->kind, 1);
}

int
live_encode_delta(struct live_buf *b, const struct profile *p, struct live_cursor *c,
                  size_t max_samples, uint64_t held_back)
{
    size_t at;
    uint32_t ns = (uint32_t)p->strings.offs.len;
    if (c->strings < ns) {
        size_t bytes = 4;
        for (uint32_t i = c->strings; i < ns; i++)
            bytes += 4 + strlen(profile_str(p, i));
        if (begin(b, LIVE_STRINGS, bytes, &at))
            return -ENOMEM;
        put_le(b, c->strings, 4);
        for (uint32_t i = c->strings; i < ns; i++) {
            const char *s = profile_str(p, i);
            size_t n = strlen(s);
            put_le(b, n, 4);
            memcpy(b->data + b->len, s, n);
            b->len += n;
        }
        finish(b, at);
        c->strings = ns;
    }
    /* Names the sampler found since: frames sent as "?" that have a name now. */
    if (c->nunnamed) {
        if (begin(b, LIVE_RENAMES, c->nunnamed * 17, &at))
            return -ENOMEM;
        size_t keep = 0, renamed = 0;
        for (size_t i = 0; i < c->nunnamed; i++) {
            uint32_t f = c->unnamed[i];
            if (is_unnamed(p, f)) {
                c->unnamed[keep++] = f;
                continue;
            }
            put_le(b, f, 4);
            put_frame(b, &profile_frames(p)[f]);
            renamed++;
        }
        c->nunnamed = keep;
        if (renamed)
            finish(b, at);
        else
            b->len = at;
    }
    uint32_t nf = (uint32_t)profile_nframes(p);
    if (c->frames < nf) {
        if (begin(b, LIVE_FRAMES, 4 + (size_t)(nf - c->frames) * 13, &at))
            return -ENOMEM;
        put_le(b, c->frames, 4);
        for (uint32_t i = c->frames; i < nf; i++) {
            put_frame(b, &profile_frames(p)[i]);
            if (is_unnamed(p, i) && remember_unnamed(c, i))
                return -ENOMEM;
        }
        finish(b, at);
        c->frames = nf;
    }
    uint32_t nn = (uint32_t)profile_nnodes(p);
    if (c->nodes < nn) {
        if (begin(b, LIVE_NODES, 4 + (size_t)(nn - c->nodes) * 8, &at))
            return -ENOMEM;
        put_le(b, c->nodes, 4);
        for (uint32_t i = c->nodes; i < nn; i++) {
            put_le(b, profile_nodes(p)[i].parent, 4);
            put_le(b, profile_nodes(p)[i].frame, 4);
        }
        finish(b, at);
        c->nodes = nn;
    }
    uint32_t nt = (uint32_t)profile_nthreads(p);
    if (c->threads < nt) {
        if (begin(b, LIVE_THREADS, 4 + (size_t)(nt - c->threads) * 12, &at))
            return -ENOMEM;
        put_le(b, c->threads, 4);
        for (uint32_t i = c->threads; i < nt; i++) {
            put_le(b, (uint64_t)profile_threads(p)[i].tid, 8);
            put_le(b, profile_threads(p)[i].name, 4);
        }
        finish(b, at);
        c->threads = nt;
    }
    size_t nsamp = profile_nsamples(p), todo = nsamp - c->samples;
    if (todo > max_samples)
        todo = max_samples;
    while (todo) {
        size_t chunk = todo < 65536 ? todo : 65536;
        if (begin(b, LIVE_SAMPLES, chunk * 28, &at))
            return -ENOMEM;
        for (size_t i = 0; i < chunk; i++) {
            const struct prof_sample *s = &profile_samples(p)[c->samples + i];
            put_le(b, s->thread, 4);
            put_le(b, s->node, 4);
            put_le(b, (uint32_t)s->line, 4);
            put_le(b, s->t_ns, 8);
            put_le(b, s->weight_ns, 8);
        }
        finish(b, at);
        c->samples += chunk;
        todo -= chunk;
    }
    size_t ncnt = p->counters.len;
    if (c->counters < ncnt) {
        if (begin(b, LIVE_METRICS, (ncnt - c->counters) * 20, &at))
            return -ENOMEM;
        for (size_t i = c->counters; i < ncnt; i++) {
            const struct prof_counter *k = &profile_counters(p)[i];
            uint64_t v;
            memcpy(&v, &k->value, 8);
            put_le(b, k->name, 4);
            put_le(b, k->t_ns, 8);
            put_le(b, v, 8);
        }
        finish(b, at);
        c->counters = ncnt;
    }
    size_t nal = profile_nallocs(p);
    if (c->allocs < nal) {
        if (begin(b, LIVE_ALLOCS, (nal - c->allocs) * 48, &at))
            return -ENOMEM;
        for (size_t i = c->allocs; i < nal; i++) {
            const struct prof_alloc *a = &profile_allocs(p)[i];
            uint64_t bytes, count;
            memcpy(&bytes, &a->bytes, 8);
            memcpy(&count, &a->count, 8);
            put_le(b, a->thread, 4);
            put_le(b, a->node, 4);
            put_le(b, a->t_ns, 8);
            put_le(b, a->size, 8);
            put_le(b, bytes, 8);
            put_le(b, count, 8);
            put_le(b, a->freed_ns, 8);
        }
        finish(b, at);
        c->allocs = nal;
    }
    if (begin(b, LIVE_COUNTERS, 40, &at))
        return -ENOMEM;
    put_le(b, p->meta.signals, 8);
    put_le(b, p->meta.dropped, 8);
    put_le(b, p->meta.truncated, 8);
    put_le(b, p->meta.end_ns, 8);
    put_le(b, held_back, 8);
    finish(b, at);
    return 0;
}

int
live_encode_reset(struct live_buf *b)
{
    size_t at;
    if (begin(b, LIVE_RESET, 0, &at))
        return -ENOMEM;
    finish(b, at);
    return 0;
}

int
live_encode_end(struct live_buf *b, int exit_status)
{
    size_t at;
    if (begin(b, LIVE_END, 4, &at))
        return -ENOMEM;
    put_le(b, (uint32_t)exit_status, 4);
    finish(b, at);
    return 0;
}

int
live_check_hello(const uint8_t *buf, size_t len, const char *token, size_t *used,
                 struct mp_err *why)
{
    if (len < 4)
        return 0;
    uint32_t body = (uint32_t)get_le(buf, 4);
    size_t magic = sizeof LIVE_MAGIC - 1;
    if (body < 1 + magic + 2 || body > LIVE_MAX_HELLO) {
        mp_errf(why, -EPROTO, "not a hello (a %u-byte message)", body);
        return -1;
    }
    if (len < 4 + (size_t)body)
        return 0;
    const uint8_t *m = buf + 4;
    if (m[0] != LIVE_HELLO || memcmp(m + 1, LIVE_MAGIC, magic) != 0) {
        mp_errf(why, -EPROTO, "not a hello (does not start with %s)", LIVE_MAGIC);
        return -1;
    }
    unsigned version = (unsigned)get_le(m + 1 + magic, 2);
    if (version != LIVE_VERSION) {
        mp_errf(why, -EPROTO, "protocol version %u (this runtime speaks %d)", version,
                LIVE_VERSION);
        return -1;
    }
    size_t tl = body - 1 - magic - 2;
    const char *given = (const char *)m + 1 + magic + 2;
    if (token && (tl != strlen(token) || memcmp(given, token, tl) != 0)) {
        mp_errf(why, -EPROTO, "%s", tl ? "wrong token" : "no token (TCP needs the token)");
        return -1;
    }
    *used = 4 + (size_t)body;
    return 1;
}

int
live_parse_tcp(const char *spec, char *host, size_t hostlen, long *port, struct mp_err *e)
{
    const char *colon = strrchr(spec, ':'), *port_s = colon ? colon + 1 : spec;
    snprintf(host, hostlen, "127.0.0.1");
    if (colon) {
        size_t hl = (size_t)(colon - spec);
        if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']')
            snprintf(host, hostlen, "%.*s", (int)(hl - 2), spec + 1);
        else
            snprintf(host, hostlen, "%.*s", (int)hl, spec);
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostlen, "127.0.0.1");
    char *end;
    *port = strtol(port_s, &end, 10);
    if (!*port_s || *end || *port < 0 || *port > 65535) {
        mp_errf(e, -EINVAL, "bad TCP port '%s' (0 to 65535)", port_s);
        return -1;
    }
    return 0;
}

/* --- decoder -------------------------------------------------------------------------------- */

void
live_decoder_init(struct live_decoder *d)
{
    memset(d, 0, sizeof *d);
    d->p = profile_new();
    d->exit_status = -1;
}

void
live_decoder_free(struct live_decoder *d)
{
    profile_free(d->p);
    free(d->pend);
    memset(d, 0, sizeof *d);
}

static int __attribute__((format(printf, 2, 3))) bad(struct live_decoder *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err.msg, sizeof d->err.msg, fmt, ap);
    va_end(ap);
    d->err.code = -EPROTO;
    return -1;
}

static int
oom(struct live_decoder *d)
{
    mp_err_oom(&d->err, NULL);
    return -1;
}

/* Checks that a table message starts where the profile's table ends and holds whole records. */
static int
table_start(struct live_decoder *d, const uint8_t *m, size_t n, size_t have, size_t rec,
            const char *what)
{
    if (n < 4 || (rec && (n - 4) % rec))
        return bad(d, "a %s message of %zu bytes is not whole records", what, n);
    uint32_t first = (uint32_t)get_le(m, 4);
    if (first != have)
        return bad(d, "%s start at %u, but the viewer has %zu", what, first, have);
    return 0;
}

static int
check_frame(struct live_decoder *d, const uint8_t *r, struct prof_frame *f)
{
    size_t ns = d->p->strings.offs.len;
    f->name = (uint32_t)get_le(r, 4);
    f->file = (uint32_t)get_le(r + 4, 4);
    f->line = (int32_t)(uint32_t)get_le(r + 8, 4);
    f->kind = r[12];
    if (f->name >= ns || f->file >= ns || f->kind > FRAME_PSEUDO)
        return bad(d, "a frame names string %u/%u of %zu, or kind %u", f->name, f->file, ns,
                   f->kind);
    return 0;
}

static int
apply(struct live_decoder *d, int type, const uint8_t *m, size_t n)
{
    struct profile *p = d->p;
    if (!p)
        return oom(d);
    if (!d->welcomed && type != LIVE_WELCOME)
        return bad(d, "the stream does not start with a welcome (type 0x%02x)", type);
    if (d->ended)
        return bad(d, "a message after the end");
    switch (type) {
    case LIVE_WELCOME: {
        if (n < 28)
            return bad(d, "a short welcome (%zu bytes)", n);
        unsigned version = (unsigned)get_le(m, 2);
        if (version != LIVE_VERSION)
            return bad(d, "the runtime speaks protocol version %u, this mrprof %d", version,
                       LIVE_VERSION);
        p->meta.mode = m[2] <= PROFILE_HEAP ? m[2] : PROFILE_CPU;
        p->meta.hz = (uint32_t)get_le(m + 4, 4);
        p->meta.start_ns = get_le(m + 8, 8);
        p->meta.wall_start_ns = get_le(m + 16, 8);
        d->pid = (uint32_t)get_le(m + 24, 4);
        size_t tl = n - 28 < sizeof p->meta.tool - 1 ? n - 28 : sizeof p->meta.tool - 1;
        memcpy(p->meta.tool, m + 28, tl);
        p->meta.tool[tl] = '\0';
        d->welcomed = true;
        return 0;
    }
    case LIVE_STRINGS: {
        if (table_start(d, m, n, p->strings.offs.len, 0, "strings"))
            return -1;
        for (size_t off = 4; off < n;) {
            if (n - off < 4)
                return bad(d, "a string cut short");
            uint32_t len = (uint32_t)get_le(m + off, 4);
            off += 4;
            if (len > n - off)
                return bad(d, "a string of %u bytes in %zu", len, n - off);
            size_t before = p->strings.offs.len;
            profile_intern_n(p, (const char *)m + off, len);
            if (p->strings.offs.len != before + 1)
                return bad(d, "string %zu repeats an earlier one", before);
            off += len;
        }
        return 1;
    }
    case LIVE_FRAMES: {
        if (table_start(d, m, n, profile_nframes(p), 13, "frames"))
            return -1;
        for (size_t off = 4; off < n; off += 13) {
            struct prof_frame f;
            if (check_frame(d, m + off, &f))
                return -1;
            profile_frame_add(p, f.name, f.file, f.line, f.kind);
        }
        return 1;
    }
    case LIVE_RENAMES: {
        if (n % 17)
            return bad(d, "a renames message of %zu bytes is not whole records", n);
        for (size_t off = 0; off < n; off += 17) {
            uint32_t id = (uint32_t)get_le(m + off, 4);
            struct prof_frame f;
            if (id >= profile_nframes(p))
                return bad(d, "a rename of frame %u of %zu", id, profile_nframes(p));
            if (check_frame(d, m + off + 4, &f))
                return -1;
            profile_set_frame(p, id, f.name, f.file, f.line, f.kind);
        }
        d->renames++;
        return 1;
    }
    case LIVE_NODES: {
        if (table_start(d, m, n, profile_nnodes(p), 8, "nodes"))
            return -1;
        for (size_t off = 4; off < n; off += 8) {
            uint32_t parent = (uint32_t)get_le(m + off, 4),
                     frame = (uint32_t)get_le(m + off + 4, 4);
            size_t id = profile_nnodes(p);
            if (parent >= id || frame >= profile_nframes(p))
                return bad(d, "node %zu has parent %u and frame %u (of %zu)", id, parent, frame,
                           profile_nframes(p));
            if (profile_node(p, parent, frame) != id)
                return bad(d, "node %zu repeats an earlier one", id);
        }
        return 1;
    }
    case LIVE_THREADS: {
        if (table_start(d, m, n, profile_nthreads(p), 12, "threads"))
            return -1;
        for (size_t off = 4; off < n; off += 12) {
            uint32_t name = (uint32_t)get_le(m + off + 8, 4);
            if (name >= p->strings.offs.len)
                return bad(d, "a thread named by string %u of %zu", name, p->strings.offs.len);
            profile_add_thread(p, (int64_t)get_le(m + off, 8), profile_str(p, name));
        }
        return 1;
    }
    case LIVE_SAMPLES: {
        if (n % 28)
            return bad(d, "a samples message of %zu bytes is not whole records", n);
        for (size_t off = 0; off < n; off += 28) {
            const uint8_t *r = m + off;
            uint32_t thread = (uint32_t)get_le(r, 4), node = (uint32_t)get_le(r + 4, 4);
            if (thread >= profile_nthreads(p) || node >= profile_nnodes(p))
                return bad(d, "a sample of thread %u, node %u (the viewer has %zu, %zu)", thread,
                           node, profile_nthreads(p), profile_nnodes(p));
            profile_add_sample(p, thread, node, (int32_t)(uint32_t)get_le(r + 8, 4),
                               get_le(r + 12, 8), get_le(r + 20, 8));
        }
        return 1;
    }
    case LIVE_METRICS: {
        if (n % 20)
            return bad(d, "a metrics message of %zu bytes is not whole records", n);
        for (size_t off = 0; off < n; off += 20) {
            uint32_t name = (uint32_t)get_le(m + off, 4);
            if (name >= p->strings.offs.len)
                return bad(d, "a metric named by string %u of %zu", name, p->strings.offs.len);
            uint64_t v = get_le(m + off + 12, 8);
            double value;
            memcpy(&value, &v, 8);
            profile_add_counter(p, profile_str(p, name), get_le(m + off + 4, 8), value);
        }
        return 1;
    }
    case LIVE_ALLOCS: {
        if (n % 48)
            return bad(d, "an allocations message of %zu bytes is not whole records", n);
        for (size_t off = 0; off < n; off += 48) {
            const uint8_t *r = m + off;
            uint32_t thread = (uint32_t)get_le(r, 4), node = (uint32_t)get_le(r + 4, 4);
            if (thread >= profile_nthreads(p) || node >= profile_nnodes(p))
                return bad(d, "an allocation of thread %u, node %u (the viewer has %zu, %zu)",
                           thread, node, profile_nthreads(p), profile_nnodes(p));
            uint64_t bv = get_le(r + 24, 8), cv = get_le(r + 32, 8);
            double bytes, count;
            memcpy(&bytes, &bv, 8);
            memcpy(&count, &cv, 8);
            if (!(bytes >= 0 && bytes < 0x1p62) || !(count >= 0 && count < 0x1p62))
                return bad(d, "an allocation standing for %g bytes in %g allocations", bytes,
                           count);
            size_t id = profile_add_alloc(p, thread, node, get_le(r + 8, 8), get_le(r + 16, 8),
                                          bytes, count);
            ((struct prof_alloc *)p->allocs.data)[id].freed_ns = get_le(r + 40, 8);
        }
        return 1;
    }
    case LIVE_COUNTERS:
        if (n != 40)
            return bad(d, "a counters message of %zu bytes", n);
        p->meta.signals = get_le(m, 8);
        p->meta.dropped = get_le(m + 8, 8);
        p->meta.truncated = get_le(m + 16, 8);
        if (get_le(m + 24, 8) > p->meta.end_ns)
            p->meta.end_ns = get_le(m + 24, 8);
        d->held_back = get_le(m + 32, 8);
        return 0;
    case LIVE_RESET: {
        struct profile *fresh = profile_new();
        if (!fresh)
            return oom(d);
        fresh->meta = p->meta;
        profile_free(p);
        d->p = fresh;
        d->resets++;
        return 1;
    }
    case LIVE_END:
        if (n != 4)
            return bad(d, "an end message of %zu bytes", n);
        d->exit_status = (int)(int32_t)(uint32_t)get_le(m, 4);
        d->ended = true;
        return 1;
    default:
        return bad(d, "unknown message type 0x%02x", type);
    }
}

int
live_decode(struct live_decoder *d, const uint8_t *data, size_t len)
{
    if (d->err.code)
        return -1;
    if (len == 0) /* nothing new (and no memcpy from NULL into a buffer not yet made) */
        return 0;
    if (d->npend + len > d->cappend) {
        size_t c = d->cappend ? d->cappend : 65536;
        while (c < d->npend + len)
            c *= 2;
        uint8_t *b = realloc(d->pend, c);
        if (!b)
            return oom(d);
        d->pend = b;
        d->cappend = c;
    }
    memcpy(d->pend + d->npend, data, len);
    d->npend += len;
    int changed = 0;
    size_t off = 0;
    while (d->npend - off >= 4) {
        uint32_t body = (uint32_t)get_le(d->pend + off, 4);
        if (body < 1 || body > LIVE_MAX_MESSAGE)
            return bad(d, "a message of %u bytes (not 1 to %u)", body, LIVE_MAX_MESSAGE);
        if (d->npend - off - 4 < body)
            break;
        const uint8_t *m = d->pend + off + 4;
        int r = apply(d, m[0], m + 1, body - 1);
        if (r >= 0 && profile_oom(d->p))
            r = oom(d); /* a builder failed (profile.h): the profile is incomplete */
        if (r < 0)
            return -1;
        changed |= r;
        off += 4 + (size_t)body;
    }
    memmove(d->pend, d->pend + off, d->npend - off);
    d->npend -= off;
    return changed;
}
