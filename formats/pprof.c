/*
 * pprof.c — pprof's gzipped profile.proto (formats/proto/profile.proto, Apache-2.0, as every
 * pprof producer carries it): writer, with Debian's protobuf-c and zlib.
 *
 * What goes where:
 *  - sample_type: samples/count, then cpu/nanoseconds or wall/nanoseconds (inuse_space/bytes
 *    for heap profiles); the second is the default and the period type.
 *  - function: one per model frame (name, file, start line); location: one per (frame, line),
 *    the leaf's line from the sample, a caller's the function's first line (the model keeps no
 *    call-site lines); location ids leaf first, as pprof wants.
 *  - sample: identical (thread, stack, line) samples merged, so a 1M-sample profile becomes as
 *    many samples as it has distinct stacks; a "thread" label names the thread (pprof -tagfocus).
 *  - period 1e9 / hz, time_nanos the recording's wall-clock start when the file knows it
 *    (mrun's do; Node's do not), duration_nanos.
 * One mapping with has_functions/filenames/line_numbers tells pprof there is nothing to
 * symbolize.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/internal.h"
#include "profiler/base/fileio.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__ValueType PbValueType;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Label PbLabel;

/* Strings of the table: the model's string ids shifted by one (index 0 is ""), then a few of
 * pprof's own appended. */
struct strings {
    char **v;
    size_t n, cap;
};

static int64_t
add_str(struct strings *t, const char *s)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -1;
        t->v = v, t->cap = cap;
    }
    t->v[t->n] = (char *)s;
    return (int64_t)t->n++;
}

struct agg { /* a merged sample */
    uint32_t thread, node;
    int32_t line;
    uint64_t count, weight;
};

static int
agg_cmp(const void *a, const void *b)
{
    const struct agg *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* (frame, line) -> location id: profiler/base/hash.h's table over key[location id - 1]. */
struct locmap {
    struct mp_hash ix;
    uint64_t *key; /* [id - 1] frame << 32 | (uint32_t)line */
};

static uint64_t
loc_key(uint32_t frame, int32_t line)
{
    return (uint64_t)frame << 32 | (uint32_t)line;
}

static int
fail_oom(struct mp_err *e)
{
    return mp_err_oom(e, NULL);
}

/* Gzips buf into out. */
static int
write_gzip(FILE *out, const uint8_t *buf, size_t len, struct mp_err *e)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return mp_errf(e, -EIO, "zlib: cannot start compressing");
    }
    uint8_t chunk[1 << 16];
    z.next_in = (uint8_t *)buf;
    z.avail_in = (uInt)len;
    int zr;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        zr = deflate(&z, Z_FINISH);
        size_t have = sizeof chunk - z.avail_out;
        if (have && fwrite(chunk, 1, have, out) != have)
            zr = Z_ERRNO;
    } while (zr == Z_OK);
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        return mp_errf(e, -EIO, "cannot write the compressed profile");
    }
    return 0;
}

int
pprof_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o, struct mp_err *e)
{
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);
    size_t ns = profile_nsamples(p), nf = profile_nframes(p), nstr = p->strings.offs.len;
    int rc = 0;

    /* Merge identical samples. */
    struct agg *ag = malloc((ns ? ns : 1) * sizeof *ag);
    if (!ag)
        return fail_oom(e);
    /* (idle) is left out unless o->idle, as Go's CPU profiles hold no idle time: pprof's top
     * would rank it first; the file's duration still tells the share of the run sampled. */
    size_t nk = 0;
    for (size_t i = 0; i < ns; i++)
        if (!fmt_skip_idle(p, o, &s[i]))
            ag[nk++] = (struct agg){s[i].thread, s[i].node, s[i].line, 1, s[i].weight_ns};
    qsort(ag, nk, sizeof *ag, agg_cmp);
    size_t na = 0;
    for (size_t i = 0; i < nk; i++) {
        if (na && agg_cmp(&ag[na - 1], &ag[i]) == 0) {
            ag[na - 1].count++, ag[na - 1].weight += ag[i].weight;
        } else {
            ag[na++] = ag[i];
        }
    }

    /* Depth of the deepest sampled stack, for the location id arrays. */
    size_t maxd = 1;
    for (size_t i = 0; i < na; i++) {
        size_t d = 0;
        for (uint32_t k = ag[i].node; k != 0; k = nodes[k].parent)
            d++;
        if (d > maxd)
            maxd = d;
    }

    struct strings st = {0};
    for (size_t i = 0; i < nstr; i++)
        if (add_str(&st, i == 0 ? "" : profile_str(p, (uint32_t)i)) < 0)
            goto oom;
    bool heap = p->meta.mode == PROFILE_HEAP;
    int64_t s_samples = add_str(&st, "samples"), s_count = add_str(&st, "count");
    int64_t s_kind = add_str(&st, heap                          ? "inuse_space"
                                  : p->meta.mode == PROFILE_CPU ? "cpu"
                                                                : "wall");
    int64_t s_unit = add_str(&st, heap ? "bytes" : "nanoseconds");
    int64_t s_thread = add_str(&st, "thread"), s_tool = add_str(&st, "mrun");
    if (s_samples < 0 || s_count < 0 || s_kind < 0 || s_unit < 0 || s_thread < 0 || s_tool < 0)
        goto oom;

    PbValueType vt[2] = {PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
                         PERFTOOLS__PROFILES__VALUE_TYPE__INIT};
    PbValueType *vtp[2] = {&vt[0], &vt[1]};
    vt[0].type = s_samples, vt[0].unit = s_count;
    vt[1].type = s_kind, vt[1].unit = s_unit;
    PbValueType period_type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    period_type.type = s_kind, period_type.unit = s_unit;

    PbMapping map = PERFTOOLS__PROFILES__MAPPING__INIT;
    PbMapping *mapp = &map;
    map.id = 1;
    map.filename = s_tool;
    map.has_functions = map.has_filenames = map.has_line_numbers = true;

    /* Functions: model frame f -> id f + 1. */
    PbFunction *fn = calloc(nf ? nf : 1, sizeof *fn);
    PbFunction **fnp = calloc(nf ? nf : 1, sizeof *fnp);
    /* Locations: at most one per frame (callers) plus one per distinct leaf line. */
    size_t loc_cap = nf + na + 1;
    struct locmap lm = {{0}, malloc(loc_cap * sizeof *lm.key)};
    PbLocation *loc = calloc(loc_cap, sizeof *loc);
    PbLocation **locp = calloc(loc_cap, sizeof *locp);
    PbLine *lines = calloc(loc_cap, sizeof *lines);
    PbLine **linep = calloc(loc_cap, sizeof *linep);
    PbSample *smp = calloc(na ? na : 1, sizeof *smp);
    PbSample **smpp = calloc(na ? na : 1, sizeof *smpp);
    PbLabel *lab = calloc(na ? na : 1, sizeof *lab);
    PbLabel **labp = calloc(na ? na : 1, sizeof *labp);
    uint64_t *ids = calloc(na * maxd + 1, sizeof *ids);
    int64_t *vals = calloc(2 * na + 1, sizeof *vals);
    uint8_t *packed = NULL;
    if (!fn || !fnp || !lm.key || mp_hash_reserve(&lm.ix, loc_cap, NULL, NULL) != 0 || !loc ||
        !locp || !lines || !linep || !smp || !smpp || !lab || !labp || !ids || !vals)
        goto oom_free;
    size_t nfn = 0;
    for (size_t f = 0; f < nf; f++) {
        perftools__profiles__function__init(&fn[f]);
        fn[f].id = f + 1;
        fn[f].name = fn[f].system_name = frames[f].name;
        fn[f].filename = frames[f].file;
        fn[f].start_line = frames[f].line;
        fnp[nfn++] = &fn[f];
    }
    size_t nloc = 0;
    for (size_t i = 0; i < na; i++) {
        PbSample *sm = &smp[i];
        perftools__profiles__sample__init(sm);
        sm->location_id = ids + i * maxd;
        size_t d = 0;
        for (uint32_t k = ag[i].node; k != 0; k = nodes[k].parent) {
            uint32_t f = nodes[k].frame;
            int32_t line = k == ag[i].node && ag[i].line > 0 ? ag[i].line : frames[f].line;
            uint64_t key = loc_key(f, line);
            uint64_t h = mp_mix64(key);
            uint32_t at = mp_hash_find(&lm.ix, h, mp_hash_u64_eq, lm.key, &key);
            if (at == UINT32_MAX) { /* a new location; room reserved above */
                at = (uint32_t)nloc++;
                lm.key[at] = key;
                mp_hash_insert(&lm.ix, h, at, mp_hash_u64_rehash, lm.key);
                PbLocation *l = &loc[nloc - 1];
                perftools__profiles__location__init(l);
                perftools__profiles__line__init(&lines[nloc - 1]);
                l->id = nloc;
                l->mapping_id = 1;
                lines[nloc - 1].function_id = f + 1;
                lines[nloc - 1].line = line;
                linep[nloc - 1] = &lines[nloc - 1];
                l->n_line = 1;
                l->line = &linep[nloc - 1];
                locp[nloc - 1] = l;
            }
            sm->location_id[d++] = at + 1;
        }
        sm->n_location_id = d;
        sm->value = vals + 2 * i;
        sm->n_value = 2;
        sm->value[0] = (int64_t)ag[i].count;
        sm->value[1] = (int64_t)ag[i].weight;
        perftools__profiles__label__init(&lab[i]);
        lab[i].key = s_thread;
        lab[i].str = ag[i].thread < profile_nthreads(p) ? profile_threads(p)[ag[i].thread].name : 0;
        labp[i] = &lab[i];
        sm->n_label = 1;
        sm->label = &labp[i];
        smpp[i] = sm;
    }

    PbProfile pb = PERFTOOLS__PROFILES__PROFILE__INIT;
    pb.n_sample_type = 2, pb.sample_type = vtp;
    pb.n_sample = na, pb.sample = smpp;
    pb.n_mapping = 1, pb.mapping = &mapp;
    pb.n_location = nloc, pb.location = locp;
    pb.n_function = nfn, pb.function = fnp;
    pb.n_string_table = st.n, pb.string_table = st.v;
    pb.period_type = &period_type;
    pb.period = p->meta.hz ? 1000000000 / (int64_t)p->meta.hz : 0;
    pb.time_nanos = (int64_t)p->meta.wall_start_ns;
    pb.duration_nanos = (int64_t)profile_duration_ns(p);
    pb.default_sample_type = s_kind;

    size_t len = perftools__profiles__profile__get_packed_size(&pb);
    packed = malloc(len ? len : 1);
    if (!packed)
        goto oom_free;
    perftools__profiles__profile__pack(&pb, packed);
    rc = write_gzip(out, packed, len, e);
    goto done;
oom_free:
    rc = fail_oom(e);
done:
    free(packed), free(fn), free(fnp), free(lm.key), mp_hash_free(&lm.ix), free(loc), free(locp),
        free(lines), free(linep), free(smp), free(smpp), free(lab), free(labp), free(ids),
        free(vals);
    free(st.v), free(ag);
    return rc;
oom:
    free(st.v), free(ag);
    return fail_oom(e);
}

/* --- reader --------------------------------------------------------------------------------- */

#define PPROF_KIND "a pprof profile"

static const char *
pb_str(const PbProfile *pb, int64_t i)
{
    return i >= 0 && (size_t)i < pb->n_string_table ? pb->string_table[i] : "";
}

/* Reads a gzipped (or plain) profile.proto. The weight of a sample is its value: a count is
 * never multiplied into memory. While the counts of the whole file add up to at most
 * PPROF_MAX_EXPAND, a sample with count N becomes N model samples sharing its value (sample
 * counts survive a round trip); past that, each pprof sample is one model sample carrying its
 * whole value (shares stay exact, the count of samples is the number of stacks). */
#define PPROF_MAX_EXPAND ((uint64_t)4 << 20)
int
fmt__pprof_read(struct profile *p, const uint8_t *buf, size_t len, const char *name,
                struct mp_err *e)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
            return fmt__bad(e, name, PPROF_KIND, "zlib cannot start");
        /* Decompression stops at the input limit: a gzip bomb is an error, not an OOM kill. */
        size_t limit = fio_max_input(), cap = len < limit / 4 ? len * 4 + 4096 : limit;
        raw = malloc(cap);
        z.next_in = (uint8_t *)buf;
        z.avail_in = (uInt)len;
        int zr = Z_OK;
        while (raw && zr == Z_OK) {
            if (rawlen == cap) {
                if (cap >= limit) {
                    free(raw);
                    inflateEnd(&z);
                    return fmt__bad(e, name, PPROF_KIND,
                                    "its gzip stream unpacks to more than %zu bytes "
                                    "(the input limit; MRPROF_MAX_INPUT raises it)",
                                    limit);
                }
                size_t bigger_cap = cap > limit / 2 ? limit : cap * 2;
                uint8_t *bigger = realloc(raw, bigger_cap);
                if (!bigger)
                    break;
                raw = bigger, cap = bigger_cap;
            }
            z.next_out = raw + rawlen;
            z.avail_out = (uInt)(cap - rawlen);
            zr = inflate(&z, Z_NO_FLUSH);
            rawlen = cap - z.avail_out;
        }
        inflateEnd(&z);
        if (zr != Z_STREAM_END) {
            free(raw);
            return fmt__bad(e, name, PPROF_KIND, "its gzip stream is %s (byte %lu of %zu)",
                            zr == Z_BUF_ERROR ? "cut short" : "corrupt", z.total_in, len);
        }
    }
    PbProfile *pb = perftools__profiles__profile__unpack(NULL, raw ? rawlen : len, raw ? raw : buf);
    free(raw);
    if (!pb)
        return fmt__bad(e, name, PPROF_KIND, "its profile.proto message does not decode");
    int rc = 0;
    /* Which value is the weight: the default sample type, else the last; a count type if any. */
    size_t wi = pb->n_sample_type ? pb->n_sample_type - 1 : 0, ci = SIZE_MAX;
    for (size_t k = 0; k < pb->n_sample_type; k++) {
        const char *unit = pb_str(pb, pb->sample_type[k]->unit);
        if (pb->default_sample_type && pb->sample_type[k]->type == pb->default_sample_type)
            wi = k;
        if (strcmp(unit, "count") == 0 && ci == SIZE_MAX)
            ci = k;
    }
    const char *wunit = pb->n_sample_type ? pb_str(pb, pb->sample_type[wi]->unit) : "";
    const char *wtype = pb->n_sample_type ? pb_str(pb, pb->sample_type[wi]->type) : "";
    double scale = strcmp(wunit, "microseconds") == 0   ? 1e3
                   : strcmp(wunit, "milliseconds") == 0 ? 1e6
                   : strcmp(wunit, "seconds") == 0      ? 1e9
                                                        : 1.0;
    if (strcmp(wunit, "count") == 0 && pb->period) /* e.g. samples/count only: count x period */
        scale = (double)pb->period;
    /* Functions and locations by id (ids are usually 1..n; a sort would do for others). */
    uint64_t maxf = 0, maxl = 0;
    for (size_t k = 0; k < pb->n_function; k++)
        maxf = pb->function[k]->id > maxf ? pb->function[k]->id : maxf;
    for (size_t k = 0; k < pb->n_location; k++)
        maxl = pb->location[k]->id > maxl ? pb->location[k]->id : maxl;
    if (maxf > 16 * (pb->n_function + 16) || maxl > 16 * (pb->n_location + 16)) {
        rc = fmt__bad(e, name, PPROF_KIND,
                      "its function or location ids are sparse beyond what mrprof reads");
        goto out;
    }
    uint32_t *ffr = calloc(maxf + 1, sizeof *ffr);
    const PbLocation **locs = calloc(maxl + 1, sizeof *locs);
    uint32_t th = profile_add_thread(p, 0, "main");
    if (!ffr || !locs) {
        free(ffr), free(locs);
        rc = e->code = -ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < pb->n_function; k++) {
        const PbFunction *f = pb->function[k];
        const char *fname = pb_str(pb, f->name);
        ffr[f->id] = profile_frame_intern(p, fname, pb_str(pb, f->filename),
                                          fmt__line((double)f->start_line),
                                          profile_pseudo_name(fname) ? FRAME_PSEUDO : FRAME_RUBY);
    }
    for (size_t k = 0; k < pb->n_location; k++)
        locs[pb->location[k]->id] = pb->location[k];
    uint64_t t = 0, counted = 0;
    for (size_t i = 0; i < pb->n_sample; i++) {
        const PbSample *sm = pb->sample[i];
        int64_t n = ci < sm->n_value && ci != wi ? sm->value[ci] : 1;
        counted +=
            n > 1 ? (uint64_t)(n <= (int64_t)PPROF_MAX_EXPAND ? n : (int64_t)PPROF_MAX_EXPAND + 1)
                  : 1;
        if (counted > PPROF_MAX_EXPAND)
            break;
    }
    bool expand = counted <= PPROF_MAX_EXPAND;
    for (size_t i = 0; i < pb->n_sample && rc == 0; i++) {
        const PbSample *sm = pb->sample[i];
        uint32_t node = 0;
        int32_t leaf_line = 0;
        for (size_t d = sm->n_location_id; d-- > 0;) { /* root first: the last id */
            uint64_t id = sm->location_id[d];
            const PbLocation *l = id <= maxl ? locs[id] : NULL;
            if (!l) {
                rc = fmt__bad(e, name, PPROF_KIND,
                              "sample %zu names location %llu, which does not exist", i,
                              (unsigned long long)id);
                break;
            }
            for (size_t li = l->n_line; li-- > 0;) { /* inlined: the last line is the caller */
                uint64_t fid = l->line[li]->function_id;
                uint32_t fr = fid <= maxf && fid ? ffr[fid] : 0;
                if (!fr)
                    fr = profile_frame_intern(p, "(unknown function)", "", 0, FRAME_PSEUDO);
                node = profile_node(p, node, fr);
                leaf_line = fmt__line((double)l->line[li]->line);
            }
        }
        if (rc)
            break;
        double w = wi < sm->n_value ? (double)sm->value[wi] * scale : 0;
        uint64_t wns;
        if (!fmt__to_ns(w, &wns)) {
            rc = fmt__bad(
                e, name, PPROF_KIND, "sample %zu's value %g %s is %s", i, w / scale, wunit,
                w < 0 ? "negative (a difference profile?)" : "beyond what mrprof holds (2^62)");
            break;
        }
        int64_t n = expand && ci < sm->n_value && ci != wi ? sm->value[ci] : 1;
        if (n < 1)
            n = 1;
        for (int64_t k = 0; k < n; k++) {
            uint64_t each = wns / (uint64_t)n + (k == 0 ? wns % (uint64_t)n : 0);
            profile_add_sample(p, th, node, leaf_line, t, each);
            t += each ? each : 1;
            if (t >= FMT_MAX_NS) {
                rc = fmt__bad(e, name, PPROF_KIND, "its samples add up to more than 2^62 ns");
                break;
            }
        }
    }
    p->meta.mode = strcmp(wunit, "bytes") == 0 ? PROFILE_HEAP
                   : strcmp(wtype, "cpu") == 0 ? PROFILE_CPU
                                               : PROFILE_WALL;
    p->meta.hz = pb->period > 0 && strcmp(wunit, "nanoseconds") == 0
                     ? (uint32_t)(1e9 / (double)pb->period)
                     : 0;
    p->meta.wall_start_ns = pb->time_nanos > 0 ? (uint64_t)pb->time_nanos : 0;
    p->meta.end_ns = pb->duration_nanos > 0 ? (uint64_t)pb->duration_nanos : 0;
    snprintf(p->meta.tool, sizeof p->meta.tool, "pprof");
    free(ffr), free(locs);
out:
    perftools__profiles__profile__free_unpacked(pb, NULL);
    return rc;
}
