/*
 * trie.c — operations over the stack trie that the formats and the analyses share (see
 * trie.h). Formerly formats/jsonout.c's fmt_* helpers: difftree.c needs them too, and the model
 * must not include formats/.
 */
#include "profiler/model/trie.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint8_t *
profile_used_nodes(const struct profile *p, int thread)
{
    size_t nn = profile_nnodes(p);
    uint8_t *used = calloc(nn ? nn : 1, 1);
    if (!used)
        return NULL;
    const struct prof_sample *s = profile_samples(p);
    const struct prof_node *n = profile_nodes(p);
    for (size_t i = 0; i < profile_nsamples(p); i++)
        if (thread < 0 || s[i].thread == (uint32_t)thread)
            used[s[i].node] = 1;
    used[0] = 1;
    /* Parents come before children, so one backward pass marks every ancestor. */
    for (size_t i = nn; i-- > 1;)
        if (used[i])
            used[n[i].parent] = 1;
    return used;
}

int
profile_children(const struct profile *p, const uint8_t *used, uint32_t **start_out,
                 uint32_t **list_out)
{
    size_t nn = profile_nnodes(p);
    const struct prof_node *n = profile_nodes(p);
    uint32_t *start = calloc(nn + 2, sizeof *start), *list = malloc((nn ? nn : 1) * sizeof *list);
    if (!start || !list) {
        free(start), free(list);
        return -ENOMEM;
    }
    /* Count each node's children one slot ahead, prefix-sum: start[k + 1] is where k's
     * children begin. Filling advances it to where they end, which is where k + 1's begin. */
    for (size_t i = 1; i < nn; i++)
        if (used[i])
            start[n[i].parent + 2]++;
    for (size_t i = 0; i < nn; i++)
        start[i + 2] += start[i + 1];
    for (size_t i = 1; i < nn; i++)
        if (used[i])
            list[start[n[i].parent + 1]++] = (uint32_t)i;
    *start_out = start;
    *list_out = list;
    return 0;
}

size_t
profile_max_depth(const struct profile *p)
{
    size_t nn = profile_nnodes(p), depth = 1;
    const struct prof_node *n = profile_nodes(p);
    uint32_t *d = calloc(nn ? nn : 1, sizeof *d);
    if (!d)
        return 0;
    for (size_t i = 1; i < nn; i++) { /* parent < child: one pass */
        d[i] = d[n[i].parent] + 1;
        if (d[i] > depth)
            depth = d[i];
    }
    free(d);
    return depth;
}

size_t
profile_node_path(const struct profile *p, uint32_t node, uint32_t *path, size_t cap)
{
    const struct prof_node *n = profile_nodes(p);
    size_t d = 0;
    for (uint32_t k = node; k != 0 && d < cap; k = n[k].parent)
        path[d++] = k;
    for (size_t i = 0; i < d / 2; i++) {
        uint32_t t = path[i];
        path[i] = path[d - 1 - i];
        path[d - 1 - i] = t;
    }
    return d;
}
