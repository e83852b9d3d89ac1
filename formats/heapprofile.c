/*
 * heapprofile.c — the DevTools sampling heap profile (.heapprofile, `HeapProfiler.
 * SamplingHeapProfile`): reader.
 *
 * Shape: {head: {callFrame, selfSize, id, children: [...]}, samples: [{size, nodeId, ordinal}]}.
 * Chrome and Node write both the tree (bytes still live per allocation site) and, since 2018,
 * the samples. The model's samples then weigh bytes (meta.mode PROFILE_HEAP): one per sample
 * (time = ordinal, the order of allocation), or one per node with its selfSize when the file has
 * no samples.
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
    if (json_len(js) > 0) {
        size_t k = 0;
        JSON_EACH(sv, js) {
            double size = json_num(json_get(sv, "size"), -1);
            const struct json_val *id = json_get(sv, "nodeId");
            const struct fmt_head_node *n = json_is_num(id) ? fmt__head_find(&t, (int64_t)id->num) : NULL;
            if (!n || size < 0) {
                rc = fmt__bad(e, name, kind, "samples[%zu] %s", k,
                              size < 0 ? "lacks a non-negative \"size\"" : "names a node that does not exist");
                goto out;
            }
            double ord = json_num(json_get(sv, "ordinal"), (double)k);
            profile_add_sample(p, th, n->model, 0, (uint64_t)(ord > 0 ? ord : 0), (uint64_t)size);
            k++;
        }
    } else {
        for (size_t k = 0; k < t.n; k++)
            if (t.nodes[k].self_size > 0)
                profile_add_sample(p, th, t.nodes[k].model, 0, k, (uint64_t)t.nodes[k].self_size);
    }
    p->meta.mode = PROFILE_HEAP;
    snprintf(p->meta.tool, sizeof p->meta.tool, "DevTools/Node heap");
out:
    free(t.nodes);
    return rc;
}
