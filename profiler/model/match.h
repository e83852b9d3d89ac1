/*
 * match.h — the one rule by which functions of two profiles meet: diff's table and call tree,
 * view --diff, check --baseline, check --runs (runs and stored baselines) and budgets.
 *
 * A function is (name, file, first line), as in the aggregations. Between two profiles:
 *   - files are compared relative to the script's root: the directory of the entry script (the
 *     file of `<main>`), or for profiles without one (Node, Chrome) the longest common directory
 *     of their absolute paths. Two checkouts of one program, run as `../main/app.rb` and
 *     `app.rb` or from /ci/a and /ci/b, name their files alike. A file that cannot be put
 *     relative to the root (an absolute path from require_relative when the script was given
 *     as a relative path) is compared by its base name. URLs other than file:// stay as they are.
 *   - functions pair on exact (name, file, line) first; then the rest of each (name, file)
 *     are paired in line order, so a method whose definition moved still meets its old self,
 *     while blocks that differ only by line stay apart within each profile.
 * What is left is new (only in the second profile) or gone (only in the first).
 */
#ifndef MRPROF_MATCH_H
#define MRPROF_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiler/model/profile.h"

struct match_key {
    const char *name, *file; /* file as match_file gives it */
    int32_t line;
};

/* One profile's file names relative to its script's root, made on demand per string id. */
struct match_paths {
    const struct profile *p;
    char *root; /* normalised root directory; NULL when the profile has none */
    char **rel; /* [string id], NULL until asked for */
    size_t n;
};

int match_paths_init(struct match_paths *m, const struct profile *p);
void match_paths_free(struct match_paths *m);
/* The file string id as comparisons see it; NULL when out of memory. Valid until _free. */
const char *match_file(struct match_paths *m, uint32_t file);
/* The same rule for a path string (normalised, relative to root: NULL root keeps it whole);
 * the caller frees the result. */
char *match_relative(const char *root, const char *file);

/* Pairs a's keys with b's by the rule above: a_to_b[i] is the index in b of a[i]'s partner or
 * -1. Keys repeated within one side pair one to one. Returns 0 or -ENOMEM. */
int match_pair(const struct match_key *a, size_t na, const struct match_key *b, size_t nb,
               long *a_to_b);

/* Numbers the distinct keys of k[0..n): equal keys share an id in id[i]; first[d] is the lowest
 * i of id d. Returns the number of distinct keys, or -ENOMEM. */
long match_distinct(const struct match_key *k, size_t n, uint32_t *id, uint32_t *first);

/* A function named by a user (a budget): "NAME", "NAME@FILE" or "NAME@FILE:LINE", where FILE
 * is compared as match_file gives it, or as its trailing path components. */
struct match_spec {
    char name[256], file[256];
    int32_t line; /* 0: any */
};
/* Parses spec into s; false when it is empty or too long. */
bool match_spec_parse(const char *spec, struct match_spec *s);
/* Marks in hit[f] (profile_nframes(p) entries) the frames s names; returns how many distinct
 * functions (name, file, line) it names: 0 means no such function in p. -ENOMEM when out of
 * memory. */
long match_spec_frames(const struct match_spec *s, struct match_paths *m, bool *hit);
/* The inclusive share (% of all samples) of the frames marked in hit, a sample counted once
 * however many of them are on its stack. */
double match_inclusive_pct(const struct profile *p, const bool *hit);

#endif
