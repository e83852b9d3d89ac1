/* internal.h — declarations shared between files of formats/ only. */
#ifndef MRPROF_FORMATS_INTERNAL_H
#define MRPROF_FORMATS_INTERNAL_H

#include "formats/formats.h"
#include "formats/json.h"

/* Adds the Profiler.Profile object root to p as one thread. Returns 0 or -errno (e filled). */
int fmt__cpuprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                              const char *thread_name, int64_t tid, struct mp_err *e);

/* The model frame of a DevTools CallFrame object (functionName, url, lineNumber with the given
 * base: 0 in callFrame objects, 1 in the legacy form's nodes). */
uint32_t fmt__frame_of(struct profile *p, const struct json_val *call_frame, int line_base);
/* Sorts samples [base, end) by time and weighs each by the gap to the next sample. */
void fmt__weigh_by_gaps(struct profile *p, size_t base, uint64_t end_ns);
/* A "head" tree (legacy .cpuprofile, .heapprofile) walked into model nodes, sorted by id. */
struct fmt_head_node {
    int64_t id;
    uint32_t model;
    double hits, self_size;
};
struct fmt_head_tree {
    struct fmt_head_node *nodes;
    size_t n, cap;
};
/* Walks head into p's trie (t->nodes freed by the caller). kind names the format in errors. */
int fmt__walk_head(struct profile *p, const struct json_val *head, const char *name,
                   const char *kind, struct fmt_head_tree *t, struct mp_err *e);
const struct fmt_head_node *fmt__head_find(const struct fmt_head_tree *t, int64_t id);

/* Legacy .cpuprofile (a "head" tree) and .heapprofile readers (cpuprofile.c, heapprofile.c). */
int fmt__legacy_cpuprofile_read_json(struct profile *p, const struct json_val *root,
                                     const char *name, struct mp_err *e);
int fmt__heapprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                               struct mp_err *e);
/* Trace Event JSON (object or array form) reader (trace.c). */
int fmt__trace_read_json(struct profile *p, const struct json_val *root, const char *name,
                         struct mp_err *e);
/* pprof's profile.proto, gzipped or not (pprof.c). */
int fmt__pprof_read(struct profile *p, const uint8_t *buf, size_t len, const char *name,
                    struct mp_err *e);
/* speedscope's JSON, evented and sampled profiles, one thread each (speedscope.c). */
int fmt__speedscope_read_json(struct profile *p, const struct json_val *root, const char *name,
                              struct mp_err *e);
/* Folded stacks (folded.c): buf[0..len) is modified (frames are cut in place). */
int fmt__folded_read(struct profile *p, char *buf, size_t len, const char *name, struct mp_err *e);
/* Whether the first non-blank line reads as folded stacks (text ending in a sample count). */
bool fmt__looks_folded(const char *buf, size_t len);
/*
 * Checked conversions of numbers from untrusted files. A JSON number is a double, and a C cast
 * of a double outside the target type's range (or of NaN) is undefined behaviour; so every
 * number a reader turns into an integer goes through one of these. What is out of range is
 * either an error naming the field (ids, times, sizes: the caller says which) or, where
 * DevTools itself shows nothing useful for it, "unknown" (lines) or saturated (informational
 * counters).
 */
/* Times and weights in the model stay below 2^62 ns (146 years), so sums of them cannot wrap. */
#define FMT_MAX_NS ((uint64_t)1 << 62)
/* d truncated to an integer in [lo, hi]: true, or false when NaN, infinite or out of range. */
bool fmt__to_i64(double d, int64_t lo, int64_t hi, int64_t *out);
/* The integer of JSON value v in [lo, hi]; dflt when v is absent, not a number or out of
 * range (for keys such as pid/tid, where a nonsense value is as good as none). */
int64_t fmt__i64_or(const struct json_val *v, int64_t lo, int64_t hi, int64_t dflt);
/* A time or duration in µs (DevTools' unit) or ns as model ns: false when negative, NaN or at
 * or past FMT_MAX_NS. */
bool fmt__us_to_ns(double us, uint64_t *ns);
bool fmt__to_ns(double ns, uint64_t *out);
/* An informational count (the sampler's signals, dropped, ...): NaN and negatives 0, huge
 * values saturate at max. */
uint64_t fmt__clamp_u64(double d, uint64_t max);
/* A 1-based line number: d when 1 <= d <= INT32_MAX, else 0 (unknown). */
int32_t fmt__line(double d);

/* The sampler's own figures in a "$mrprof" object, both ways: writes `"mode":...,"hz":...,
 * "signals":...,"dropped":...,"truncated":...` (no braces) for the .cpuprofile and the trace,
 * and reads them back from object m (counters only inform: saturated, never an error). */
void fmt__put_sampler_meta(FILE *out, const struct profile *p);
void fmt__get_sampler_meta(struct profile *p, const struct json_val *m);
/* mrun's "$mrprof" objects: "pid" (a cluster's processes are told apart by it), and with
 * _process also "processName" (the heap formats, which have no sampler meta). */
void fmt__put_pid(FILE *out, const struct profile *p);
void fmt__get_pid(struct profile *p, const struct json_val *m);
void fmt__put_process(FILE *out, const struct profile *p);
void fmt__get_process(struct profile *p, const struct json_val *m);

/* Fills e with "NAME: looks like KIND, but WHAT" and returns -EINVAL. */
int fmt__bad(struct mp_err *e, const char *name, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
