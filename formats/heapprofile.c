/*
 * heapprofile.c — the DevTools sampling heap profile (.heapprofile, `HeapProfiler.
 * SamplingHeapProfile`): reader.
 *
 * Shape: {head: {callFrame, selfSize, id, children: [...]}, samples: [{size, nodeId, ordinal}]}.
 * Chrome and Node write both the tree (bytes still live per allocation site) and, since 2018,
 * the samples. The model gets one sample per node with its selfSize in bytes (meta.mode
 * PROFILE_HEAP): the tree is what DevTools and speedscope show, and Node's samples list names
 * nodes it already pruned from the tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/internal.h"

int
fmt__heapprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                           struct fmt_err *e)
{
    const char *kind = "a .heapprofile";
    struct fmt_head_tree t;
    int rc = fmt__walk_head(p, json_get(root, "head"), name, kind, &t, e);
    if (rc)
        return rc;
    uint32_t th = profile_add_thread(p, 0, "main");
    const struct json_val *js = json_get(root, "samples");
    if (js && !json_is_arr(js)) {
        rc = fmt__bad(e, name, kind, "\"samples\" is not an array");
        goto out;
    }
    /* The tree's selfSize is what DevTools and speedscope show (bytes of sampled allocations
     * still live); the samples list can name nodes V8 already pruned from the tree, so it is
     * only checked for shape. */
    for (size_t k = 0; k < t.n; k++)
        if (t.nodes[k].self_size > 0)
            profile_add_sample(p, th, t.nodes[k].model, 0, k, (uint64_t)t.nodes[k].self_size);
    p->meta.mode = PROFILE_HEAP;
    snprintf(p->meta.tool, sizeof p->meta.tool, "DevTools/Node heap");
out:
    free(t.nodes);
    return rc;
}
