/*
 * baseline.h — the run set of `mrprof check --runs` (each function's total time in each of N
 * runs) and the baseline files that store one (--save-baseline, read back by --baseline-json).
 *
 * A function is keyed "name\tfile\tline", the file as match_file gives it (relative to the
 * script's root, so another checkout of the script meets its functions); a baseline stored
 * before lines were kept has "name\tfile" (line 0, paired by the rule's second step, match.h).
 * Keys are found through a hash table (insertion order is kept: it is the order of the file).
 *
 * The file (written and read with formats/jsonout.c and formats/json.c; the layout is the one
 * cJSON printed before, so files stay alike byte for byte):
 *   {"runs": [{"functions": {KEY: ms, ...}, "total_ms": ms}, ...], "mrprof_baseline": 1,
 *    "script": "path given to check"}
 * A function with no time in a run is left out of that run.
 *
 * Ownership: a run set owns its keys and arrays (run_set_free); zero-initialise it.
 */
#ifndef MRPROF_CHECK_BASELINE_H
#define MRPROF_CHECK_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiler/base/hash.h"
#include "profiler/model/match.h"
#include "profiler/model/profile.h"

struct run_set {
    size_t nruns, nkeys;
    double *total;        /* [run] total CPU ms */
    char **keys;          /* function keys "name\tfile\tline", the file as match_file gives it */
    double *ms;           /* [key * nruns + run] total (inclusive) ms */
    size_t kcap;          /* keys (and ms rows) allocated */
    struct mp_hash index; /* key -> its index in keys */
};

/* An empty set of nruns runs. 0 or -ENOMEM. */
int run_set_init(struct run_set *r, size_t nruns);
void run_set_free(struct run_set *r);
/* The index of key in r; when it is not there, -1, or with add a new key with no time in any
 * run (-1 when out of memory). */
long key_index(struct run_set *r, const char *key, bool add);
/* Adds each function's total time in p as run `run` of r. 0 or -ENOMEM. */
int add_run(struct run_set *r, size_t run, const struct profile *p);

/* The run set's keys as the matching rule sees them (match.h); the strings live in *bufs (one
 * per key). Free both with free_keys. NULL when out of memory. */
struct match_key *run_keys(const struct run_set *r, char ***bufs);
void free_keys(struct match_key *k, char **bufs, size_t n);

/* Writes r to path as a baseline of `script`. 0, or -1 after a message. */
int save_runs(const struct run_set *r, const char *path, const char *script);
/* A stored baseline's text (len bytes, not changed) into r; path names it in messages. 0, or -1
 * after a message (r is freed by the caller also on failure). */
int parse_runs(struct run_set *r, const char *text, size_t len, const char *path);
/* parse_runs of the file at path. */
int load_runs(struct run_set *r, const char *path);

#endif
