/*
 * formats.h — every profile file format behind one table of readers and writers.
 *
 * Each format is one file (cpuprofile.c, trace.c, heapprofile.c, pprof.c, speedscope.c,
 * collapsed.c) that knows the profile model and nothing of mruby; the JSON readers share json.c.
 * Writers stream into a FILE; fmt_write_path() adds the atomic temp-file + rename so a failed write
 * leaves nothing behind. Readers detect the format from the content.
 *
 * Ownership: fmt_read_path() returns a profile the caller frees with profile_free().
 */
#ifndef MRPROF_FORMATS_H
#define MRPROF_FORMATS_H

#include <stdbool.h>
#include <stdio.h>

#include "profiler/base/err.h"
#include "profiler/model/profile.h"
#include "profiler/model/trie.h" /* the writers walk the trie with it */

/* The error shape of the formats is the project's one (profiler/base/err.h). The old name stays
 * as an alias for viewer/, runtime/ and the tests (transitional: `struct fmt_err` is `struct
 * mp_err`). */
#define fmt_err mp_err

struct fmt_write_opts {
    int thread; /* formats with one thread per file: which one (-1: the first with samples) */
    bool heap_allocated; /* heapprofile from allocation samples: every allocation, not the live */
    bool idle;           /* folded, speedscope, pprof: keep the samples of (idle) as a stack (see
                            fmt_skip_idle) */
    const char *title;   /* svg: the graph's title (NULL: "Flame graph") */
    double min_px;       /* svg: frames narrower than this (px of 1180) are dropped (0: 0.1) */
    /* svg: a differential flame graph (mrprof diff -o OUT.svg) when set: the base's inclusive
     * weight of each node of the profile written (scaled to it), and of all its samples. */
    const double *diff_base;
    double diff_base_all;
    bool diff_absolute; /* the base as measured (else scaled to the new total: shares compare) */
};

struct fmt_ops {
    const char *name;  /* what -f takes */
    const char *ext;   /* chosen when the output path ends with it */
    const char *about; /* one line for --help */
    int (*write)(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                 struct mp_err *e);
    bool readable; /* mrprof's readers accept it too */
};

extern const struct fmt_ops fmt_table[];
extern const size_t fmt_count;

const struct fmt_ops *fmt_by_name(const char *name);
/* The format whose extension ends path, or NULL. */
const struct fmt_ops *fmt_by_path(const char *path);
/* The format names, for error messages. */
const char *fmt_names(void);

int fmt_write_path(const struct profile *p, const char *path, const struct fmt_ops *f,
                   const struct fmt_write_opts *o, struct mp_err *e);

/* Reads any supported file; NULL with e filled ("FILE: looks like X, but ...") on failure. */
struct profile *fmt_read_path(const char *path, struct mp_err *e);
struct profile *fmt_read_buffer(const char *buf, size_t len, const char *name, struct mp_err *e);

/* The writers and readers (one file each). */
int cpuprofile_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                     struct mp_err *e);
int heapprofile_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                      struct mp_err *e);
int perfetto_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                   struct mp_err *e);
int trace_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                struct mp_err *e);
int collapsed_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                    struct mp_err *e);
int speedscope_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                     struct mp_err *e);
int pprof_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                struct mp_err *e);
/* An interactive flame graph, or a differential one with o->diff_base (svg.c). */
int svg_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o, struct mp_err *e);

/* Helpers shared by the writers (jsonout.c). */
void json_str(FILE *out, const char *s);
void json_u64(FILE *out, uint64_t v);
void json_i64(FILE *out, int64_t v);
/* The thread a single-thread format writes: o->thread, or the first thread with samples. */
int fmt_pick_thread(const struct profile *p, const struct fmt_write_opts *o);
/* Whether a writer that leaves idle out (folded stacks, speedscope, pprof, unless o->idle) skips
 * sample s: its leaf frame is (idle). DevTools' formats keep (idle), which DevTools knows. */
bool fmt_skip_idle(const struct profile *p, const struct fmt_write_opts *o,
                   const struct prof_sample *s);
const char *fmt_frame_url(const struct profile *p, const struct prof_frame *f);
/* Writes `"callFrame":{...}` as DevTools' CallFrame: 0-based lineNumber (-1 unknown),
 * columnNumber -1. The .cpuprofile writes scriptId as a string, V8's trace events as a number. */
void fmt_write_call_frame(FILE *out, const struct profile *p, const struct prof_frame *f,
                          bool script_id_as_string);

#endif
