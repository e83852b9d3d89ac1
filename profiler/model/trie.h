/*
 * trie.h — operations over a profile's stack trie (parents before children, node 0 the root),
 * shared by the formats' writers and the model's analyses (difftree.c). All iterative: a stack a
 * million frames deep costs memory, not C stack.
 *
 * Ownership: arrays returned are the caller's to free(); the profile is only read.
 */
#ifndef MRPROF_TRIE_H
#define MRPROF_TRIE_H

#include <stddef.h>
#include <stdint.h>

#include "profiler/model/profile.h"

/* A calloc'd flag per node: 1 when a sample of thread (-1: any) is at it or below it. NULL when
 * out of memory. */
uint8_t *profile_used_nodes(const struct profile *p, int thread);
/* The used nodes' children in CSR form: node k's are (*list)[(*start)[k] .. (*start)[k + 1]),
 * in increasing id. 0 or -ENOMEM; the caller frees both. */
int profile_children(const struct profile *p, const uint8_t *used, uint32_t **start,
                     uint32_t **list);
/* The deepest stack's length in frames (at least 1; 0 when out of memory). */
size_t profile_max_depth(const struct profile *p);
/* node's path from the root's child down to node into path[0..cap): its length. */
size_t profile_node_path(const struct profile *p, uint32_t node, uint32_t *path, size_t cap);

#endif
