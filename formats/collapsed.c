/*
 * collapsed.c — Brendan Gregg's folded stacks: `root;caller;callee count`, one line per stack,
 * the count being the number of samples (all threads, each under its thread's name). Samples of
 * (idle) are left out unless o->idle, as py-spy leaves idle out unless --idle: flamegraph.pl and
 * speedscope would otherwise draw idle as the widest function. The reader is folded.c.
 */
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

/* The frames of node's stack, root first: iterative (profile_node_path), so that a stack a million
 * frames deep is no deeper on the C stack than one frame. */
static void
put_path(const struct profile *p, FILE *out, uint32_t node, uint32_t *path, size_t cap)
{
    size_t d = profile_node_path(p, node, path, cap);
    for (size_t k = 0; k < d; k++) {
        if (k)
            putc(';', out);
        const char *name = profile_str(p, profile_frames(p)[profile_nodes(p)[path[k]].frame].name);
        for (const char *c = name; *c; c++) /* ';' separates frames and '\n' lines: replace */
            putc(*c == ';' || *c == '\n' ? '_' : *c, out);
    }
}

int
collapsed_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                struct mp_err *e)
{
    size_t nn = profile_nnodes(p), nt = profile_nthreads(p);
    uint64_t *count = calloc(nn * (nt ? nt : 1), sizeof *count);
    size_t depth = profile_max_depth(p);
    uint32_t *path = malloc((depth ? depth : 1) * sizeof *path);
    if (!count || !depth || !path) {
        free(count), free(path);
        return mp_err_oom(e, NULL);
    }
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < profile_nsamples(p); i++)
        if (!fmt_skip_idle(p, o, &s[i]))
            count[(size_t)s[i].thread * nn + s[i].node]++;
    for (size_t t = 0; t < (nt ? nt : 1); t++)
        for (size_t i = 0; i < nn; i++) {
            uint64_t c = count[t * nn + i];
            if (!c)
                continue;
            if (nt > 1) {
                fputs(profile_str(p, profile_threads(p)[t].name), out);
                if (i)
                    putc(';', out);
            }
            put_path(p, out, (uint32_t)i, path, depth);
            putc(' ', out);
            json_u64(out, c);
            putc('\n', out);
        }
    free(count), free(path);
    return 0;
}
