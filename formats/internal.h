/* internal.h — declarations shared between files of formats/ only. */
#ifndef MRPROF_FORMATS_INTERNAL_H
#define MRPROF_FORMATS_INTERNAL_H


#include "formats/formats.h"
#include "formats/json.h"

/* Adds the Profiler.Profile object root to p as one thread. Returns 0 or -errno (e filled). */
int fmt__cpuprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                              const char *thread_name, int64_t tid, struct fmt_err *e);

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
int fmt__walk_head(struct profile *p, const struct json_val *head, const char *name, const char *kind,
                   struct fmt_head_tree *t, struct fmt_err *e);
const struct fmt_head_node *fmt__head_find(const struct fmt_head_tree *t, int64_t id);

/* Legacy .cpuprofile (a "head" tree) and .heapprofile readers (cpuprofile.c, heapprofile.c). */
int fmt__legacy_cpuprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                                     struct fmt_err *e);
int fmt__heapprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                               struct fmt_err *e);
/* Trace Event JSON (object or array form) reader (trace.c). */
int fmt__trace_read_json(struct profile *p, const struct json_val *root, const char *name,
                         struct fmt_err *e);
/* pprof's profile.proto, gzipped or not (pprof.c). */
int fmt__pprof_read(struct profile *p, const uint8_t *buf, size_t len, const char *name, struct fmt_err *e);
/* speedscope's JSON, evented and sampled profiles, one thread each (speedscope.c). */
int fmt__speedscope_read_json(struct profile *p, const struct json_val *root, const char *name,
                              struct fmt_err *e);
/* Folded stacks (folded.c): buf[0..len) is modified (frames are cut in place). */
int fmt__folded_read(struct profile *p, char *buf, size_t len, const char *name, struct fmt_err *e);
/* Whether the first non-blank line reads as folded stacks (text ending in a sample count). */
bool fmt__looks_folded(const char *buf, size_t len);
/* Fills e with "NAME: looks like KIND, but WHAT" and returns -EINVAL. */
int fmt__bad(struct fmt_err *e, const char *name, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
