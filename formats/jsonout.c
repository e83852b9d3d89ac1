/*
 * jsonout.c — small, fast JSON output helpers shared by the writers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/internal.h"
#include "formats/json.h"

void
json_str(FILE *out, const char *s)
{
    putc_unlocked('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*c < 0x20)
                fprintf(out, "\\u%04x", *c);
            else
                putc_unlocked(*c, out);
        }
    }
    putc_unlocked('"', out);
}

void
json_u64(FILE *out, uint64_t v)
{
    char buf[24];
    int i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fwrite_unlocked(buf + i, 1, sizeof buf - (size_t)i, out);
}

void
json_i64(FILE *out, int64_t v)
{
    if (v < 0) {
        putc_unlocked('-', out);
        json_u64(out, (uint64_t)0 - (uint64_t)v);
    } else {
        json_u64(out, (uint64_t)v);
    }
}

int
fmt_pick_thread(const struct profile *p, const struct fmt_write_opts *o)
{
    if (o && o->thread >= 0 && (size_t)o->thread < profile_nthreads(p))
        return o->thread;
    const struct prof_sample *s = profile_samples(p);
    int best = -1;
    for (size_t i = 0; i < profile_nsamples(p) && best != 0; i++)
        if (best < 0 || s[i].thread < (uint32_t)best)
            best = (int)s[i].thread;
    return best < 0 ? 0 : best;
}

uint8_t *
fmt_used_nodes(const struct profile *p, int thread)
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
fmt_children(const struct profile *p, const uint8_t *used, uint32_t **start_out, uint32_t **list_out)
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
fmt_max_depth(const struct profile *p)
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
fmt_node_path(const struct profile *p, uint32_t node, uint32_t *path, size_t cap)
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

/* Pseudo frames carry no file; everything else is named with its location. */
const char *
fmt_frame_url(const struct profile *p, const struct prof_frame *f)
{
    return profile_str(p, f->file);
}

void
fmt_write_call_frame(FILE *out, const struct profile *p, const struct prof_frame *f,
                     bool script_id_as_string)
{
    fputs("\"callFrame\":{\"functionName\":", out);
    json_str(out, profile_str(p, f->name));
    fputs(script_id_as_string ? ",\"scriptId\":\"" : ",\"scriptId\":", out);
    json_u64(out, f->file);
    fputs(script_id_as_string ? "\",\"url\":" : ",\"url\":", out);
    json_str(out, fmt_frame_url(p, f));
    fputs(",\"lineNumber\":", out);
    json_i64(out, f->line > 0 ? f->line - 1 : -1);
    fputs(",\"columnNumber\":-1}", out);
}

void
fmt__put_sampler_meta(FILE *out, const struct profile *p)
{
    fputs("\"mode\":", out);
    json_str(out, p->meta.mode == PROFILE_CPU ? "cpu" : "wall");
    fputs(",\"hz\":", out);
    json_u64(out, p->meta.hz);
    fputs(",\"signals\":", out);
    json_u64(out, p->meta.signals);
    fputs(",\"dropped\":", out);
    json_u64(out, p->meta.dropped);
    fputs(",\"truncated\":", out);
    json_u64(out, p->meta.truncated);
}

void
fmt__get_sampler_meta(struct profile *p, const struct json_val *m)
{
    const char *mode = json_str_or(json_get(m, "mode"), "");
    if (strcmp(mode, "cpu") == 0 || strcmp(mode, "wall") == 0)
        p->meta.mode = mode[0] == 'c' ? PROFILE_CPU : PROFILE_WALL;
    p->meta.hz = (uint32_t)fmt__clamp_u64(json_num(json_get(m, "hz"), 0), UINT32_MAX);
    p->meta.signals = fmt__clamp_u64(json_num(json_get(m, "signals"), 0), UINT64_MAX);
    p->meta.dropped = fmt__clamp_u64(json_num(json_get(m, "dropped"), 0), UINT64_MAX);
    p->meta.truncated = fmt__clamp_u64(json_num(json_get(m, "truncated"), 0), UINT64_MAX);
}
