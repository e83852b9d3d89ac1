/*
 * profile.c — the profile model: interned strings, frames, the stack trie, samples.
 *
 * Deduplication (strings, frames, trie nodes) uses profiler/base/hash.h's table of ids, which
 * compares through a callback over the owning table (inlined here). It grows at 50 % load, so an
 * insert is amortised O(1) and a 1 000 000-sample profile builds in one pass.
 * Out of memory never aborts: a builder that cannot allocate sets p->oom, adds nothing and
 * returns id 0 (see profile.h); readers and writers refuse such a profile.
 */
#include "profiler/model/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- vectors -------------------------------------------------------------------------------- */

static void
vec_init(struct prof_vec *v, size_t size)
{
    memset(v, 0, sizeof *v);
    v->size = size;
}

/* A new record at the end of v, or NULL (p->oom set) when out of memory. */
static void *
vec_push(struct profile *p, struct prof_vec *v)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        void *data = cap <= SIZE_MAX / v->size ? realloc(v->data, cap * v->size) : NULL;
        if (!data) {
            p->oom = true;
            return NULL;
        }
        v->data = data;
        v->cap = cap;
    }
    void *slot = (char *)v->data + v->len * v->size;
    v->len++;
    return slot;
}

static void
vec_free(struct prof_vec *v)
{
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}

/* --- strings -------------------------------------------------------------------------------- */

struct str_key {
    const char *s;
    size_t n;
};

static inline uint64_t
hash_bytes(const char *s, size_t n)
{
    return mp_hash_bytes(s, n);
}

static const char *
str_at(const struct strtab *t, uint32_t id)
{
    return t->buf + ((const uint32_t *)t->offs.data)[id];
}

/* The stored length of string id: it runs to the next string's offset (or the buffer's end)
 * less its NUL. Strings may hold NUL bytes (the live stream's do), so never strlen. */
static size_t
str_len(const struct strtab *t, uint32_t id)
{
    const uint32_t *off = t->offs.data;
    size_t end = id + 1 < t->offs.len ? off[id + 1] : t->len;
    return end - off[id] - 1;
}

static bool
str_eq(const void *ctx, uint32_t id, const void *key)
{
    const struct strtab *t = ctx;
    const struct str_key *k = key;
    return str_len(t, id) == k->n && memcmp(str_at(t, id), k->s, k->n) == 0;
}

static uint64_t
str_rehash(const void *ctx, uint32_t id)
{
    return hash_bytes(str_at(ctx, id), str_len(ctx, id));
}

uint32_t
profile_intern_n(struct profile *p, const char *s, size_t n)
{
    struct strtab *t = &p->strings;
    struct str_key k = {s, n};
    uint64_t h = hash_bytes(s, n);
    uint32_t id = mp_hash_find(&t->index, h, str_eq, t, &k);
    if (id != UINT32_MAX)
        return id;
    if (t->len + n + 1 > t->cap) {
        /* s may point into the buffer itself (a caller passing profile_str() of this profile):
         * find it again after the realloc moves the buffer. */
        uintptr_t b = (uintptr_t)t->buf, at = (uintptr_t)s - b;
        bool inside = t->buf && (uintptr_t)s >= b && at < t->len;
        size_t cap = t->cap;
        while (t->len + n + 1 > cap)
            cap = cap ? cap * 2 : 4096;
        char *buf = realloc(t->buf, cap);
        if (!buf) {
            p->oom = true;
            return 0;
        }
        t->buf = buf;
        t->cap = cap;
        if (inside)
            s = t->buf + at;
    }
    id = (uint32_t)t->offs.len;
    uint32_t *off = vec_push(p, &t->offs);
    if (!off)
        return 0;
    *off = (uint32_t)t->len;
    memcpy(t->buf + t->len, s, n);
    t->buf[t->len + n] = '\0';
    t->len += n + 1;
    if (mp_hash_insert(&t->index, h, id, str_rehash, t) != 0) {
        t->len -= n + 1; /* not findable, so not kept */
        t->offs.len--;
        p->oom = true;
        return 0;
    }
    return id;
}

uint32_t
profile_find_str(const struct profile *p, const char *s)
{
    size_t n = strlen(s);
    struct str_key k = {s, n};
    return mp_hash_find(&p->strings.index, hash_bytes(s, n), str_eq, &p->strings, &k);
}

uint32_t
profile_intern(struct profile *p, const char *s)
{
    return profile_intern_n(p, s ? s : "", s ? strlen(s) : 0);
}

const char *
profile_str(const struct profile *p, uint32_t id)
{
    if (id >= p->strings.offs.len)
        return "";
    return str_at(&p->strings, id);
}

/* --- frames --------------------------------------------------------------------------------- */

static uint64_t
frame_hash(const struct prof_frame *f)
{
    return prof_mix64(((uint64_t)f->name << 32 | f->file) ^
                      prof_mix64((uint64_t)(uint32_t)f->line << 8 | f->kind));
}

static bool
frame_eq(const void *ctx, uint32_t id, const void *key)
{
    const struct prof_frame *a =
        (const struct prof_frame *)((const struct profile *)ctx)->frames.data + id;
    const struct prof_frame *b = key;
    return a->name == b->name && a->file == b->file && a->line == b->line && a->kind == b->kind;
}

static uint64_t
frame_rehash(const void *ctx, uint32_t id)
{
    return frame_hash((const struct prof_frame *)((const struct profile *)ctx)->frames.data + id);
}

uint32_t
profile_frame_add(struct profile *p, uint32_t name, uint32_t file, int32_t line, int kind)
{
    uint32_t id = (uint32_t)p->frames.len;
    struct prof_frame *f = vec_push(p, &p->frames);
    if (!f)
        return 0;
    f->name = name;
    f->file = file;
    f->line = line;
    f->kind = (uint8_t)kind;
    return id;
}

bool
profile_blocked_name(const char *name)
{
    size_t n = strlen(name);
    return n > 11 && strncmp(name, "(blocked: ", 10) == 0 && name[n - 1] == ')';
}

bool
profile_pseudo_name(const char *name)
{
    if (name[0] != '(')
        return false;
    return strcmp(name, "(idle)") == 0 || strcmp(name, "(garbage collector)") == 0 ||
           strcmp(name, "(program)") == 0 || strcmp(name, "(root)") == 0 ||
           profile_blocked_name(name);
}

uint32_t
profile_frame_intern(struct profile *p, const char *name, const char *file, int32_t line, int kind)
{
    struct prof_frame k = {profile_intern(p, name), profile_intern(p, file), line, (uint8_t)kind};
    uint64_t h = frame_hash(&k);
    uint32_t id = mp_hash_find(&p->frame_index, h, frame_eq, p, &k);
    if (id != UINT32_MAX || p->oom)
        return id != UINT32_MAX ? id : 0;
    id = profile_frame_add(p, k.name, k.file, k.line, k.kind);
    if (p->oom || mp_hash_insert(&p->frame_index, h, id, frame_rehash, p) != 0) {
        p->oom = true;
        return 0;
    }
    return id;
}

void
profile_set_frame(struct profile *p, uint32_t frame, uint32_t name, uint32_t file, int32_t line,
                  int kind)
{
    struct prof_frame *f = (struct prof_frame *)p->frames.data + frame;
    f->name = name;
    f->file = file;
    f->line = line;
    f->kind = (uint8_t)kind;
}

/* --- the stack trie ------------------------------------------------------------------------- */

static uint64_t
node_hash(uint32_t parent, uint32_t frame)
{
    return prof_mix64((uint64_t)parent << 32 | frame);
}

static bool
node_eq(const void *ctx, uint32_t id, const void *key)
{
    const struct prof_node *a =
        (const struct prof_node *)((const struct profile *)ctx)->nodes.data + id;
    const struct prof_node *b = key;
    return a->parent == b->parent && a->frame == b->frame;
}

static uint64_t
node_rehash(const void *ctx, uint32_t id)
{
    const struct prof_node *n =
        (const struct prof_node *)((const struct profile *)ctx)->nodes.data + id;
    return node_hash(n->parent, n->frame);
}

uint32_t
profile_node(struct profile *p, uint32_t parent, uint32_t frame)
{
    struct prof_node k = {parent, frame};
    uint64_t h = node_hash(parent, frame);
    uint32_t id = mp_hash_find(&p->node_index, h, node_eq, p, &k);
    if (id != UINT32_MAX)
        return id;
    id = (uint32_t)p->nodes.len;
    struct prof_node *n = vec_push(p, &p->nodes);
    if (!n)
        return 0;
    *n = k;
    if (mp_hash_insert(&p->node_index, h, id, node_rehash, p) != 0) {
        p->nodes.len--;
        p->oom = true;
        return 0;
    }
    return id;
}

/* --- threads, samples, spans, counters ------------------------------------------------------ */

uint32_t
profile_add_thread(struct profile *p, int64_t tid, const char *name)
{
    uint32_t id = (uint32_t)p->threads.len;
    struct prof_thread_info *t = vec_push(p, &p->threads);
    if (!t)
        return 0;
    t->tid = tid;
    t->name = profile_intern(p, name);
    t->process = 0;
    return id;
}

uint32_t
profile_add_process(struct profile *p, int64_t pid, const char *name)
{
    uint32_t n = profile_intern(p, name);
    struct prof_process *pr = vec_push(p, &p->processes);
    if (!pr)
        return 0;
    *pr = (struct prof_process){.pid = pid, .name = n};
    return (uint32_t)p->processes.len;
}

void
profile_set_process_heap(struct profile *p, uint32_t process, const struct profile_heap_meta *h)
{
    if (process == 0 || process > p->processes.len)
        return;
    struct prof_process *pr = (struct prof_process *)p->processes.data + (process - 1);
    pr->heap = *h;
    pr->heap_known = 1;
}

static uint64_t
less(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

bool
profile_process_heap(const struct profile *p, uint32_t process, struct profile_heap_meta *out)
{
    const struct prof_process *pr = p->processes.data;
    if (process > p->processes.len)
        return false;
    if (process > 0) {
        if (!pr[process - 1].heap_known)
            return false;
        *out = pr[process - 1].heap;
        return true;
    }
    *out = p->meta.heap;
    for (size_t i = 0; i < p->processes.len; i++) {
        if (!pr[i].heap_known)
            return false;
        out->alloc_bytes = less(out->alloc_bytes, pr[i].heap.alloc_bytes);
        out->alloc_count = less(out->alloc_count, pr[i].heap.alloc_count);
        out->free_count = less(out->free_count, pr[i].heap.free_count);
        out->estimated_bytes -= pr[i].heap.estimated_bytes;
        if (out->estimated_bytes < 0)
            out->estimated_bytes = 0;
    }
    return true;
}

uint32_t
profile_find_process(const struct profile *p, int64_t pid)
{
    if (pid == p->meta.pid)
        return 0;
    const struct prof_process *pr = p->processes.data;
    for (size_t i = 0; i < p->processes.len; i++)
        if (pr[i].pid == pid)
            return (uint32_t)i + 1;
    return UINT32_MAX;
}

int64_t
profile_process_pid(const struct profile *p, uint32_t process)
{
    if (process == 0 || process > p->processes.len)
        return p->meta.pid;
    return ((const struct prof_process *)p->processes.data)[process - 1].pid;
}

const char *
profile_process_name(const struct profile *p, uint32_t process)
{
    if (process == 0 || process > p->processes.len)
        return p->meta.process_name;
    return profile_str(p, ((const struct prof_process *)p->processes.data)[process - 1].name);
}

void
profile_add_sample(struct profile *p, uint32_t thread, uint32_t node, int32_t line, uint64_t t_ns,
                   uint64_t weight_ns)
{
    struct prof_sample *s = vec_push(p, &p->samples);
    if (!s)
        return;
    s->thread = thread;
    s->node = node;
    s->line = line;
    s->pad = 0;
    s->t_ns = t_ns;
    s->weight_ns = weight_ns;
}

void
profile_add_span(struct profile *p, uint32_t thread, const char *name, uint64_t start_ns,
                 uint64_t dur_ns)
{
    uint32_t name_id = profile_intern(p, name);
    struct prof_span *s = vec_push(p, &p->spans);
    if (!s)
        return;
    s->thread = thread;
    s->name = name_id;
    s->start_ns = start_ns;
    s->dur_ns = dur_ns;
}

void
profile_add_counter(struct profile *p, const char *name, uint64_t t_ns, double value)
{
    uint32_t name_id = profile_intern(p, name);
    struct prof_counter *c = vec_push(p, &p->counters);
    if (!c)
        return;
    c->name = name_id;
    c->t_ns = t_ns;
    c->value = value;
}

size_t
profile_add_alloc(struct profile *p, uint32_t thread, uint32_t node, uint64_t t_ns, uint64_t size,
                  double bytes, double count)
{
    size_t id = p->allocs.len;
    struct prof_alloc *a = vec_push(p, &p->allocs);
    if (!a)
        return SIZE_MAX;
    *a = (struct prof_alloc){thread, node, t_ns, size, bytes, count, 0};
    return id;
}

int
profile_graft(struct profile *dst, const struct profile *src, const uint32_t *fmap, uint32_t *nmap)
{
    uint32_t *own = NULL;
    if (!fmap) {
        own = malloc((src->frames.len + 1) * sizeof *own);
        if (!own)
            return -ENOMEM;
        const struct prof_frame *f = src->frames.data;
        for (size_t i = 0; i < src->frames.len; i++)
            own[i] = profile_frame_intern(dst, profile_str(src, f[i].name),
                                          profile_str(src, f[i].file), f[i].line, f[i].kind);
        fmap = own;
    }
    const struct prof_node *n = src->nodes.data;
    nmap[0] = 0;
    for (size_t i = 1; i < src->nodes.len; i++) /* parents come first */
        nmap[i] = profile_node(dst, nmap[n[i].parent], fmap[n[i].frame]);
    free(own);
    return dst->oom ? -ENOMEM : 0;
}

/* A weight of bytes, rounded; NaN and negatives 0, saturated at 2^62 (the allocation samples of a
 * file or the live stream are not trusted to be sane numbers, and a cast of one would be UB). */
static uint64_t
bytes_weight(double b)
{
    if (!(b > 0))
        return 0;
    return b >= 0x1p62 ? (uint64_t)1 << 62 : (uint64_t)(b + 0.5);
}

struct profile *
profile_heap_view(const struct profile *src, bool live_only, const struct profile_heap_meta *totals)
{
    if (!totals)
        totals = &src->meta.heap;
    struct profile *p = profile_new();
    uint32_t *nmap = malloc((src->nodes.len + 1) * sizeof *nmap);
    if (!p || !nmap || profile_graft(p, src, NULL, nmap) != 0) {
        free(nmap), profile_free(p);
        return NULL;
    }
    const struct prof_thread_info *t = src->threads.data;
    for (size_t i = 0; i < src->threads.len; i++)
        profile_add_thread(p, t[i].tid, profile_str(src, t[i].name));
    const struct prof_process *pr = src->processes.data;
    for (size_t i = 0; i < src->processes.len; i++) {
        uint32_t k = profile_add_process(p, pr[i].pid, profile_str(src, pr[i].name));
        if (pr[i].heap_known)
            profile_set_process_heap(p, k, &pr[i].heap);
    }
    for (size_t i = 0; i < src->threads.len && i < p->threads.len; i++)
        ((struct prof_thread_info *)p->threads.data)[i].process = t[i].process;
    /* Each sample's estimate is unbiased; scaled by one factor they also add up to the bytes
     * the allocator hook counted exactly. */
    const struct prof_alloc *a = src->allocs.data;
    double estimated = 0;
    for (size_t i = 0; i < src->allocs.len; i++)
        estimated += a[i].bytes;
    double scale =
        estimated > 0 && totals->alloc_bytes ? (double)totals->alloc_bytes / estimated : 1.0;
    for (size_t i = 0; i < src->allocs.len; i++)
        if (!live_only || a[i].freed_ns == 0)
            profile_add_sample(p, a[i].thread, nmap[a[i].node], 0, a[i].t_ns,
                               bytes_weight(a[i].bytes * scale));
    const struct prof_counter *c = src->counters.data;
    for (size_t i = 0; i < src->counters.len; i++)
        profile_add_counter(p, profile_str(src, c[i].name), c[i].t_ns, c[i].value);
    free(nmap);
    p->meta = src->meta;
    p->meta.heap = *totals;
    p->meta.heap.estimated_bytes = estimated;
    p->meta.mode = PROFILE_HEAP;
    p->meta.hz = 0;
    if (p->oom) {
        profile_free(p);
        return NULL;
    }
    profile_sort_samples(p);
    return p;
}

/* --- lifetime ------------------------------------------------------------------------------- */

struct profile *
profile_new(void)
{
    struct profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    vec_init(&p->strings.offs, sizeof(uint32_t));
    vec_init(&p->frames, sizeof(struct prof_frame));
    vec_init(&p->nodes, sizeof(struct prof_node));
    vec_init(&p->threads, sizeof(struct prof_thread_info));
    vec_init(&p->samples, sizeof(struct prof_sample));
    vec_init(&p->spans, sizeof(struct prof_span));
    vec_init(&p->counters, sizeof(struct prof_counter));
    vec_init(&p->allocs, sizeof(struct prof_alloc));
    vec_init(&p->processes, sizeof(struct prof_process));
    profile_intern(p, "");
    p->f_root = profile_frame_intern(p, "(root)", "", 0, FRAME_PSEUDO);
    struct prof_node *root = vec_push(p, &p->nodes);
    if (root)
        *root = (struct prof_node){0, p->f_root};
    p->f_idle = profile_frame_intern(p, "(idle)", "", 0, FRAME_PSEUDO);
    p->f_gc = profile_frame_intern(p, "(garbage collector)", "", 0, FRAME_PSEUDO);
    p->f_program = profile_frame_intern(p, "(program)", "", 0, FRAME_PSEUDO);
    snprintf(p->meta.tool, sizeof p->meta.tool, "mrprof");
    if (p->oom) { /* the ids 0 that the builders fall back on must exist */
        profile_free(p);
        return NULL;
    }
    return p;
}

void
profile_free(struct profile *p)
{
    if (!p)
        return;
    free(p->strings.buf);
    vec_free(&p->strings.offs);
    mp_hash_free(&p->strings.index);
    vec_free(&p->frames);
    vec_free(&p->nodes);
    vec_free(&p->threads);
    vec_free(&p->samples);
    vec_free(&p->spans);
    vec_free(&p->counters);
    vec_free(&p->allocs);
    vec_free(&p->processes);
    mp_hash_free(&p->frame_index);
    mp_hash_free(&p->node_index);
    free(p);
}

/* --- checks and sums ------------------------------------------------------------------------ */

int
profile_validate(const struct profile *p, struct mp_err *e)
{
    if (p->oom)
        return mp_err_oom(e, NULL);
    size_t nf = p->frames.len, nn = p->nodes.len, nt = p->threads.len;
    size_t ns = p->strings.offs.len;
    const struct prof_frame *f = p->frames.data;
    for (size_t i = 0; i < nf; i++)
        if (f[i].name >= ns || f[i].file >= ns)
            return mp_errf(e, -EINVAL, "frame %zu names string %u, but only %zu strings exist", i,
                           f[i].name >= ns ? f[i].name : f[i].file, ns);
    const struct prof_node *n = p->nodes.data;
    if (nn == 0 || n[0].parent != 0)
        return mp_errf(e, -EINVAL, "the stack trie has no root node");
    for (size_t i = 1; i < nn; i++) {
        if (n[i].parent >= i)
            return mp_errf(e, -EINVAL, "node %zu has parent %u: parents must come before children",
                           i, n[i].parent);
        if (n[i].frame >= nf)
            return mp_errf(e, -EINVAL, "node %zu refers to frame %u, but only %zu frames exist", i,
                           n[i].frame, nf);
    }
    const struct prof_thread_info *th = p->threads.data;
    for (size_t i = 0; i < nt; i++)
        if (th[i].process > p->processes.len)
            return mp_errf(e, -EINVAL, "thread %zu belongs to process %u, but only %zu exist", i,
                           th[i].process, 1 + p->processes.len);
    const struct prof_sample *s = p->samples.data;
    uint64_t *last = calloc(nt ? nt : 1, sizeof *last);
    if (!last)
        return mp_err_oom(e, NULL);
    int rc = 0;
    for (size_t i = 0; i < p->samples.len && rc == 0; i++) {
        if (s[i].thread >= nt) {
            mp_errf(e, -EINVAL, "sample %zu refers to thread %u, but only %zu threads exist", i,
                    s[i].thread, nt);
            rc = -EINVAL;
        } else if (s[i].node >= nn) {
            mp_errf(e, -EINVAL, "sample %zu refers to node %u, but only %zu nodes exist", i,
                    s[i].node, nn);
            rc = -EINVAL;
        } else if (s[i].t_ns < last[s[i].thread]) {
            mp_errf(e, -EINVAL, "sample %zu goes back in time on thread %u", i, s[i].thread);
            rc = -EINVAL;
        } else {
            last[s[i].thread] = s[i].t_ns;
        }
    }
    free(last);
    const struct prof_alloc *a = p->allocs.data;
    for (size_t i = 0; i < p->allocs.len && rc == 0; i++)
        if (a[i].thread >= nt || a[i].node >= nn) {
            mp_errf(
                e, -EINVAL,
                "allocation sample %zu refers to thread %u, node %u (%zu threads, %zu nodes exist)",
                i, a[i].thread, a[i].node, nt, nn);
            rc = -EINVAL;
        }
    return rc;
}

static int
sample_cmp(const void *a, const void *b)
{
    const struct prof_sample *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    return 0;
}

void
profile_sort_samples(struct profile *p)
{
    const struct prof_sample *s = p->samples.data;
    size_t i = 1;
    while (i < p->samples.len && sample_cmp(&s[i - 1], &s[i]) <= 0)
        i++;
    if (i < p->samples.len) /* usually already in order: readers and the sampler append so */
        qsort(p->samples.data, p->samples.len, sizeof(struct prof_sample), sample_cmp);
}

uint64_t
profile_total_weight(const struct profile *p, int thread)
{
    uint64_t w = 0;
    const struct prof_sample *s = p->samples.data;
    for (size_t i = 0; i < p->samples.len; i++)
        if (thread < 0 || s[i].thread == (uint32_t)thread)
            w += s[i].weight_ns;
    return w;
}

uint64_t
profile_duration_ns(const struct profile *p)
{
    if (p->meta.end_ns > p->meta.start_ns)
        return p->meta.end_ns - p->meta.start_ns;
    uint64_t lo = UINT64_MAX, hi = 0;
    const struct prof_sample *s = p->samples.data;
    for (size_t i = 0; i < p->samples.len; i++) {
        if (s[i].t_ns < lo)
            lo = s[i].t_ns;
        if (s[i].t_ns + s[i].weight_ns > hi)
            hi = s[i].t_ns + s[i].weight_ns;
    }
    return hi > lo ? hi - lo : 0;
}
