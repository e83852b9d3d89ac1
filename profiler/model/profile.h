/*
 * profile.h — the one profile model in the middle of mrprof.
 *
 * The sampler fills it, every format reads or writes it, report/diff/TUI are functions over it.
 * It knows nothing of mruby. Tables grow by realloc, so everything refers to everything else by
 * uint32_t index, never by pointer:
 *
 *   strings  interned; id 0 is ""
 *   frames   {name, file, line, kind}; frame 0 is "(root)"
 *   nodes    the stack trie {parent, frame}; node 0 is the root, and parent < child always
 *   threads  {tid, name, process}: process 0 is the profile's own (meta.pid, meta.process_name);
 *            k > 0 is processes[k - 1], another process of the same program (a cluster worker)
 *   processes {pid, name}: the processes beside the profile's own, empty for one process
 *   samples  {thread, node, line, t_ns, weight_ns}: line is the top frame's current line (0 if
 *            unknown); weight is CPU ns in cpu mode, wall ns in wall mode
 *   spans    {thread, name, start_ns, dur_ns}: Deferred tasks, GC, ...
 *   counters {name, t_ns, value}: heap bytes, RSS, ...
 *   allocs   {thread, node, t_ns, size, bytes, count, freed_ns}: the allocation sampler's
 *            samples; bytes and count are what the sample stands for (estimates that add up
 *            to the real totals), freed_ns is 0 while the block is live
 *
 * Out of memory: the builders below (intern, frames, nodes, add_*) cannot fail in their
 * signature, since every reader calls them per record; when an allocation fails they set
 * p->oom, return id 0 (the empty string, the root frame, the root node: always in range) and add
 * nothing. A profile with profile_oom(p) is incomplete: the formats refuse to read or write it
 * with -ENOMEM "out of memory" (formats.c checks once per file), so nothing aborts
 * (profiler/base/err.h states the policy).
 *
 * Ownership: profile_new() returns a profile the caller frees with profile_free(); the profile
 * owns all its strings. Getters return pointers valid until the next mutation of the profile.
 * Functions taking `const struct profile *` never keep it.
 */
#ifndef MRPROF_PROFILE_H
#define MRPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiler/base/err.h"
#include "profiler/base/hash.h"

enum prof_frame_kind {
    FRAME_RUBY = 0,  /* a Ruby method: Class#m, Class.m */
    FRAME_BLOCK = 1, /* block in Class#m */
    FRAME_CFUNC = 2, /* a method implemented in C */
    FRAME_PSEUDO = 3 /* (root), (idle), (garbage collector), (program) */
};

struct prof_frame {
    uint32_t name, file; /* string ids */
    int32_t line;        /* first line of the function, 0 when unknown */
    uint8_t kind;
};

struct prof_node {
    uint32_t parent, frame;
};

struct prof_thread_info {
    int64_t tid;
    uint32_t name;
    uint32_t process; /* 0: the profile's own process; k: profile_process(p, k) */
};

/* What the allocation sampler counted exactly (0 when memory was not profiled). */
struct profile_heap_meta {
    uint64_t interval;                             /* mean bytes between samples */
    uint64_t alloc_bytes, alloc_count, free_count; /* every allocation and free, counted */
    double estimated_bytes; /* the samples' own estimate, before scaling to alloc_bytes */
};

/* A process of a profile that holds several (a cluster's primary and workers). */
struct prof_process {
    int64_t pid;
    uint32_t name;       /* string id: "cluster worker 1" */
    uint32_t heap_known; /* 1: heap is this process's own count (merged from its own file) */
    struct profile_heap_meta heap;
};

struct prof_sample {
    uint32_t thread, node;
    int32_t line;
    uint32_t pad;
    uint64_t t_ns, weight_ns;
};

struct prof_span {
    uint32_t thread, name;
    uint64_t start_ns, dur_ns;
};

struct prof_counter {
    uint32_t name;
    uint64_t t_ns;
    double value;
};

struct prof_alloc {
    uint32_t thread, node;
    uint64_t t_ns;
    uint64_t size;     /* bytes of the sampled block */
    double bytes;      /* bytes allocated that this sample stands for */
    double count;      /* allocations that this sample stands for */
    uint64_t freed_ns; /* when the block was freed; 0 while it is live */
};

/* A growable array of fixed-size records. */
struct prof_vec {
    void *data;
    size_t len, cap, size;
};

struct strtab {
    char *buf;
    size_t len, cap;
    struct prof_vec offs; /* uint32_t offset of each string in buf (NUL-terminated there) */
    struct mp_hash index; /* string ids by content */
};

enum prof_mode_meta { PROFILE_CPU = 0, PROFILE_WALL = 1, PROFILE_HEAP = 2 /* weights are bytes */ };

struct profile_meta {
    int mode; /* enum prof_mode_meta */
    uint32_t hz;
    uint64_t start_ns, end_ns; /* monotonic, ns */
    uint64_t wall_start_ns;    /* CLOCK_REALTIME at start (Unix ns), 0 when unknown */
    uint64_t signals, dropped, truncated;
    int64_t pid; /* the recording process's id, 0 when unknown */
    /* The process's name when it is one of several (a cluster worker: "cluster worker 1"),
     * "" otherwise: the trace's process_name, speedscope's name, "$mrprof".processName. */
    char process_name[64];
    char tool[64];
    struct profile_heap_meta heap;
};

struct profile {
    struct strtab strings;
    struct prof_vec frames, nodes, threads, samples, spans, counters, allocs, processes;
    struct mp_hash frame_index,
        node_index; /* frames by their four fields, nodes by (parent, frame) */
    struct profile_meta meta;
    uint32_t f_root, f_idle, f_gc, f_program; /* well-known pseudo frames */
    bool oom; /* an allocation failed: the profile is incomplete (see profile_oom) */
};

/* The model's and the aggregations' 64-bit mixer (profiler/base/hash.h's). */
static inline uint64_t
prof_mix64(uint64_t x)
{
    return mp_mix64(x);
}

/* NULL when out of memory. */
struct profile *profile_new(void);
void profile_free(struct profile *p);

/* Strings. */
uint32_t profile_intern(struct profile *p, const char *s);
uint32_t profile_intern_n(struct profile *p, const char *s, size_t n);
const char *profile_str(const struct profile *p, uint32_t id);
/* The id of string s, or UINT32_MAX when p has none (never adds it). */
uint32_t profile_find_str(const struct profile *p, const char *s);

/* Whether a frame of this name is one of the pseudo frames mrprof writes: (root), (idle),
 * (program), (garbage collector), and wall mode's wait states "(blocked: NAME)". Readers of
 * formats that carry no kind (folded stacks, speedscope, pprof) give such frames FRAME_PSEUDO. */
bool profile_pseudo_name(const char *name);
/* Whether it is a wait state, "(blocked: NAME)" (the stall recorder sums their samples). */
bool profile_blocked_name(const char *name);

/* Frames: _intern deduplicates on all four fields; _add always appends (the sampler dedups on
 * its own raw keys, then names the frame later with profile_set_frame). */
uint32_t profile_frame_intern(struct profile *p, const char *name, const char *file, int32_t line,
                              int kind);
uint32_t profile_frame_add(struct profile *p, uint32_t name, uint32_t file, int32_t line, int kind);
void profile_set_frame(struct profile *p, uint32_t frame, uint32_t name, uint32_t file,
                       int32_t line, int kind);

/* The stack trie: the node for frame called from parent (created on first use). */
uint32_t profile_node(struct profile *p, uint32_t parent, uint32_t frame);

uint32_t profile_add_thread(struct profile *p, int64_t tid, const char *name);

/* Processes: a profile holds one (its own: meta.pid, meta.process_name, id 0) plus those added
 * here (ids 1..). profile_add_process returns the new id (0 when out of memory);
 * profile_find_process the id of pid (0 for meta.pid, UINT32_MAX when none). */
uint32_t profile_add_process(struct profile *p, int64_t pid, const char *name);
uint32_t profile_find_process(const struct profile *p, int64_t pid);
static inline size_t
profile_nprocesses(const struct profile *p)
{
    return 1 + p->processes.len;
}
int64_t profile_process_pid(const struct profile *p, uint32_t process);
/* The process's name; for process 0 meta.process_name, or "" when it has none. */
const char *profile_process_name(const struct profile *p, uint32_t process);
/* "cluster worker 1 (pid 123)" or "pid 123" or "this process": a label for reports. */
void profile_process_label(const struct profile *p, uint32_t process, char *buf, size_t len);
/* A process's own exact heap counts (the allocator hook's, meta.heap of its file): for k > 0
 * when set (profile_set_process_heap, by the merge), for 0 meta.heap less every other process's
 * (when all are known). Returns false when they are not known (a live or trace-read cluster). */
bool profile_process_heap(const struct profile *p, uint32_t process, struct profile_heap_meta *out);
void profile_set_process_heap(struct profile *p, uint32_t process,
                              const struct profile_heap_meta *h);

/* Adds src, every thread, sample, span and counter of it, to dst as one more process (pid and
 * name from src's meta; a counter's name gets " (NAME)"). src's own extra processes come along
 * as processes of dst too. Timestamps are kept: both must be on one clock (CLOCK_MONOTONIC).
 * Samples are sorted again. Returns 0 or -ENOMEM. */
int profile_merge_process(struct profile *dst, const struct profile *src);
/* Adds src's time range (the union), signal counts and exact heap totals to dst's. */
void profile_meta_add(struct profile_meta *dst, const struct profile_meta *src);
/* Copies src's allocation samples from index from on into dst, threads and nodes mapped by
 * tmap (nt entries; UINT32_MAX: left out) and nmap (nn entries). Returns the sampled bytes seen
 * from `from` on; *kept gets those copied. */
double profile_copy_allocs(struct profile *dst, const struct profile *src, size_t from,
                           const uint32_t *tmap, size_t nt, const uint32_t *nmap, size_t nn,
                           double *kept);

/* The process a user named: a pid, or a name ("cluster worker 1", or its number "worker 1"
 * matches too), or "primary"/"0" for the profile's own. Returns its id, or -EINVAL with a
 * message listing the processes in e. */
int profile_parse_process(const struct profile *p, const char *sel, uint32_t *process,
                          struct mp_err *e);
/* A new profile of the threads of one process of p (its samples, spans; counters when process
 * is 0): that process becomes the profile's own. NULL when out of memory. */
struct profile *profile_only_process(const struct profile *p, uint32_t process);
void profile_add_sample(struct profile *p, uint32_t thread, uint32_t node, int32_t line,
                        uint64_t t_ns, uint64_t weight_ns);
void profile_add_span(struct profile *p, uint32_t thread, const char *name, uint64_t start_ns,
                      uint64_t dur_ns);
void profile_add_counter(struct profile *p, const char *name, uint64_t t_ns, double value);
/* Returns the new allocation's index (stable: the sampler marks it freed later). */
size_t profile_add_alloc(struct profile *p, uint32_t thread, uint32_t node, uint64_t t_ns,
                         uint64_t size, double bytes, double count);

/* Maps src's stack trie into dst: nmap[i] (src->nodes.len entries) becomes dst's node for src's
 * node i, created on first use. fmap gives dst's frame for each of src's frames; NULL interns
 * src's frames into dst. Returns 0 or -ENOMEM. */
int profile_graft(struct profile *dst, const struct profile *src, const uint32_t *fmap,
                  uint32_t *nmap);
/* A new profile of what memory p's allocation samples show, in bytes (meta.mode PROFILE_HEAP,
 * one sample per allocation sample, weight = bytes): the blocks still live when live_only, else
 * every allocation. The same frames and stack trie; the caller frees it. NULL when out of
 * memory. Weights are scaled to add up to totals->alloc_bytes (NULL: p's meta.heap). */
struct profile *profile_heap_view(const struct profile *p, bool live_only,
                                  const struct profile_heap_meta *totals);

/* Whether an allocation failed while p was built (p is then incomplete). */
static inline bool
profile_oom(const struct profile *p)
{
    return p->oom;
}

/* Table access. */
static inline size_t
profile_nframes(const struct profile *p)
{
    return p->frames.len;
}
static inline size_t
profile_nnodes(const struct profile *p)
{
    return p->nodes.len;
}
static inline size_t
profile_nthreads(const struct profile *p)
{
    return p->threads.len;
}
static inline size_t
profile_nsamples(const struct profile *p)
{
    return p->samples.len;
}
static inline const struct prof_frame *
profile_frames(const struct profile *p)
{
    return p->frames.data;
}
static inline const struct prof_node *
profile_nodes(const struct profile *p)
{
    return p->nodes.data;
}
static inline const struct prof_thread_info *
profile_threads(const struct profile *p)
{
    return p->threads.data;
}
static inline const struct prof_sample *
profile_samples(const struct profile *p)
{
    return p->samples.data;
}
static inline const struct prof_span *
profile_spans(const struct profile *p)
{
    return p->spans.data;
}
static inline const struct prof_counter *
profile_counters(const struct profile *p)
{
    return p->counters.data;
}
static inline size_t
profile_nallocs(const struct profile *p)
{
    return p->allocs.len;
}
static inline const struct prof_alloc *
profile_allocs(const struct profile *p)
{
    return p->allocs.data;
}

/* Checks every invariant (ids in range, parent < child, per-thread timestamps monotonic).
 * Returns 0, or -EINVAL with a message naming the first violation in e (-ENOMEM: out of
 * memory, also when a builder failed: profile_oom). */
int profile_validate(const struct profile *p, struct mp_err *e);

/* Sorts samples by (thread, time) — readers that merge threads call it before validating. */
void profile_sort_samples(struct profile *p);

/* Total sample weight, and the duration in ns (end - start, or derived from samples). */
uint64_t profile_total_weight(const struct profile *p, int thread /* -1: all */);
uint64_t profile_duration_ns(const struct profile *p);

#endif
