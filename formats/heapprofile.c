/*
 * heapprofile.c — the DevTools sampling heap profile (.heapprofile, `HeapProfiler.
 * SamplingHeapProfile`): writer and reader.
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

/* --- writer --------------------------------------------------------------------------------- */

/*
 * Writes a memory profile: p itself when its weights are bytes (PROFILE_HEAP), else the view of
 * its allocation samples (live blocks, like `node --heap-prof`, or every allocation with
 * o->heap_allocated). Threads share the stack trie and are merged: the format has no threads.
 * The tree is written depth first with an explicit stack (a deep file must not overflow ours).
 */
int
heapprofile_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                  struct mp_err *e)
{
    struct profile *view = NULL;
    if (p->meta.mode != PROFILE_HEAP) {
        if (profile_nallocs(p) == 0) {
            e->code = -EINVAL;
            snprintf(e->msg, sizeof e->msg,
                     "this profile has no memory samples (record with `mrun --heap-prof` or "
                     "`mrprof record --memory`)");
            return e->code;
        }
        if (!(view = profile_heap_view(p, !(o && o->heap_allocated), NULL)))
            goto nomem;
        p = view;
    }
    size_t nn = profile_nnodes(p), ns = profile_nsamples(p);
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_sample *s = profile_samples(p);
    uint8_t *used = profile_used_nodes(p, -1);
    uint64_t *self = calloc(nn ? nn : 1, sizeof *self);
    uint32_t *child_start = NULL, *child_list = NULL;
    struct dfs {
        uint32_t node, next;
    } *stack = malloc((nn ? nn : 1) * sizeof *stack);
    if (!used || !self || !stack || profile_children(p, used, &child_start, &child_list) != 0) {
        free(used), free(self), free(child_start), free(child_list), free(stack);
        profile_free(view);
        goto nomem;
    }
    for (size_t i = 0; i < ns; i++)
        self[s[i].node] += s[i].weight_ns;

    fputs("{\"head\":", out);
    size_t depth = 0;
    stack[depth++] = (struct dfs){0, child_start[0]};
    for (;;) {
        /* Open the node on top of the stack (its children are written as they are reached). */
        uint32_t n = stack[depth - 1].node;
        if (stack[depth - 1].next == child_start[n]) {
            fputs("{", out);
            fmt_write_call_frame(out, p, &profile_frames(p)[nodes[n].frame], true);
            fputs(",\"selfSize\":", out);
            json_u64(out, self[n]);
            fputs(",\"id\":", out);
            json_u64(out, (uint64_t)n + 1);
            fputs(",\"children\":[", out);
        }
        if (stack[depth - 1].next < child_start[n + 1]) {
            uint32_t c = child_list[stack[depth - 1].next];
            if (stack[depth - 1].next++ > child_start[n])
                putc(',', out);
            stack[depth++] = (struct dfs){c, child_start[c]};
            continue;
        }
        fputs("]}", out);
        if (--depth == 0)
            break;
    }
    fputs(",\n\"samples\":[", out);
    for (size_t i = 0; i < ns; i++) {
        if (i)
            putc(',', out);
        fputs("{\"size\":", out);
        json_u64(out, s[i].weight_ns);
        fputs(",\"nodeId\":", out);
        json_u64(out, (uint64_t)s[i].node + 1);
        fputs(",\"ordinal\":", out);
        json_u64(out, i + 1);
        putc('}', out);
    }
    /* What the allocator hook counted (ignored by DevTools and speedscope, read back by mrprof). */
    const struct profile_heap_meta *hm = &p->meta.heap;
    fputs("],\n\"$mrprof\":{\"version\":1,\"interval\":", out);
    json_u64(out, hm->interval);
    fputs(",\"allocatedBytes\":", out);
    json_u64(out, hm->alloc_bytes);
    fputs(",\"allocations\":", out);
    json_u64(out, hm->alloc_count);
    fputs(",\"frees\":", out);
    json_u64(out, hm->free_count);
    fputs(",\"estimatedBytes\":", out);
    json_u64(out, (uint64_t)(hm->estimated_bytes + 0.5));
    fputs(",\"tool\":", out);
    json_str(out, p->meta.tool);
    fmt__put_process(out, p);
    fputs("}}\n", out);
    free(used), free(self), free(child_start), free(child_list), free(stack);
    profile_free(view);
    return 0;
nomem:
    e->code = -ENOMEM;
    snprintf(e->msg, sizeof e->msg, "out of memory");
    return e->code;
}

/* --- reader --------------------------------------------------------------------------------- */

int
fmt__heapprofile_read_json(struct profile *p, const struct json_val *root, const char *name,
                           struct mp_err *e)
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
    const struct json_val *x = json_get(root, "$mrprof");
    if (x && js) {
        /* mrun's own file: its samples are exactly the tree's bytes, one per allocation sample,
         * and every one names a node of the tree. */
        size_t k = 0;
        JSON_EACH(smp, js)
        {
            const struct fmt_head_node *hn =
                fmt__head_find(&t, fmt__i64_or(json_get(smp, "nodeId"), 0, INT64_MAX, INT64_MIN));
            double size = json_num(json_get(smp, "size"), -1);
            if (!hn || !(size >= 0 && size < (double)FMT_MAX_NS)) {
                rc = fmt__bad(e, name, kind, "sample %zu has no valid nodeId and size", k);
                goto out;
            }
            profile_add_sample(p, th, hn->model, 0, k++, (uint64_t)size);
        }
    } else {
        /* The tree's selfSize is what DevTools and speedscope show (bytes of sampled
         * allocations still live); Node's samples list can name nodes V8 already pruned from
         * the tree, so it is only checked for shape. */
        for (size_t k = 0; k < t.n; k++)
            if (t.nodes[k].self_size > 0)
                profile_add_sample(p, th, t.nodes[k].model, 0, k, (uint64_t)t.nodes[k].self_size);
    }
    p->meta.mode = PROFILE_HEAP;
    snprintf(p->meta.tool, sizeof p->meta.tool, "DevTools/Node heap");
    if (x) { /* written by mrun: what the allocator hook counted */
        const struct json_val *v;
        if ((v = json_get(x, "interval")) && json_is_num(v))
            p->meta.heap.interval = fmt__clamp_u64(v->num, UINT64_MAX);
        if ((v = json_get(x, "allocatedBytes")) && json_is_num(v))
            p->meta.heap.alloc_bytes = fmt__clamp_u64(v->num, UINT64_MAX);
        if ((v = json_get(x, "allocations")) && json_is_num(v))
            p->meta.heap.alloc_count = fmt__clamp_u64(v->num, UINT64_MAX);
        if ((v = json_get(x, "frees")) && json_is_num(v))
            p->meta.heap.free_count = fmt__clamp_u64(v->num, UINT64_MAX);
        if ((v = json_get(x, "estimatedBytes")) && json_is_num(v))
            p->meta.heap.estimated_bytes = (double)fmt__clamp_u64(v->num, FMT_MAX_NS);
        if ((v = json_get(x, "tool")) && json_is_str(v))
            snprintf(p->meta.tool, sizeof p->meta.tool, "%s (heap)", v->str);
        fmt__get_process(p, x);
    }
out:
    free(t.nodes);
    return rc;
}
