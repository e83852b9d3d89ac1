/*
 * speedscope.c — speedscope's own file format (https://www.speedscope.app/file-format-schema.json):
 * writer.
 *
 * One shared frame table (name, file, line) and one "evented" profile per thread: open and close
 * events on a value axis that advances by each sample's weight (ns of CPU or wall time, or bytes
 * for heap profiles). Consecutive samples that share a stack prefix share its open frames, so
 * the file grows with the stack changes rather than with samples x depth, and speedscope's
 * "left heavy" and "sandwich" views show exactly mrprof's weights. Zero-weight samples carry no
 * value and are left out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

static void
event(FILE *out, bool *first, char type, uint32_t frame, uint64_t at)
{
    fputs(*first ? "{\"type\":\"" : ",{\"type\":\"", out);
    *first = false;
    putc(type, out);
    fputs("\",\"frame\":", out);
    json_u64(out, frame);
    fputs(",\"at\":", out);
    json_u64(out, at);
    putc('}', out);
}

int
speedscope_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o, struct fmt_err *e)
{
    (void)o;
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);
    size_t ns = profile_nsamples(p), nf = profile_nframes(p);
    /* The deepest stack bounds both paths. */
    size_t depth = fmt_max_depth(p);
    uint32_t *fidx = malloc((nf ? nf : 1) * sizeof *fidx);
    if (!depth || !fidx) {
        free(fidx);
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return e->code = -ENOMEM;
    }
    uint32_t *cur = malloc(depth * sizeof *cur), *next = malloc(depth * sizeof *next);
    if (!cur || !next) {
        free(cur), free(next), free(fidx);
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return e->code = -ENOMEM;
    }

    /* Frames: every model frame but the root, in model order. */
    fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"mrprof\",", out);
    fputs("\"name\":", out);
    json_str(out, p->meta.tool[0] ? p->meta.tool : "mrprof");
    fputs(",\"activeProfileIndex\":0,\"shared\":{\"frames\":[", out);
    uint32_t k = 0;
    for (size_t f = 0; f < nf; f++) {
        if (f == p->f_root) {
            fidx[f] = UINT32_MAX;
            continue;
        }
        fidx[f] = k;
        fputs(k++ ? ",{\"name\":" : "{\"name\":", out);
        json_str(out, profile_str(p, frames[f].name));
        const char *file = profile_str(p, frames[f].file);
        if (*file) {
            fputs(",\"file\":", out);
            json_str(out, file);
            if (frames[f].line > 0) {
                fputs(",\"line\":", out);
                json_i64(out, frames[f].line);
            }
        }
        putc('}', out);
    }
    fputs("]},\"profiles\":[", out);
    const char *unit = p->meta.mode == PROFILE_HEAP ? "bytes" : "nanoseconds";
    bool first_profile = true;
    for (uint32_t th = 0; th < profile_nthreads(p); th++) {
        uint64_t total = 0;
        for (size_t i = 0; i < ns; i++)
            if (s[i].thread == th)
                total += s[i].weight_ns;
        if (!total)
            continue;
        fputs(first_profile ? "{\"type\":\"evented\",\"name\":" : ",{\"type\":\"evented\",\"name\":", out);
        first_profile = false;
        json_str(out, profile_str(p, profile_threads(p)[th].name));
        fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":", unit);
        json_u64(out, total);
        fputs(",\"events\":[", out);
        size_t cd = 0;
        uint64_t at = 0;
        bool first = true;
        for (size_t i = 0; i < ns; i++) {
            if (s[i].thread != th || !s[i].weight_ns)
                continue;
            size_t nd = fmt_node_path(p, s[i].node, next, depth), common = 0;
            while (common < cd && common < nd && cur[common] == next[common])
                common++;
            while (cd > common) {
                cd--;
                event(out, &first, 'C', fidx[nodes[cur[cd]].frame], at);
            }
            for (; cd < nd; cd++) {
                cur[cd] = next[cd];
                event(out, &first, 'O', fidx[nodes[cur[cd]].frame], at);
            }
            at += s[i].weight_ns;
        }
        while (cd > 0) {
            cd--;
            event(out, &first, 'C', fidx[nodes[cur[cd]].frame], at);
        }
        fputs("]}", out);
    }
    fputs("]}\n", out);
    free(cur), free(next), free(fidx);
    if (ferror(out)) {
        snprintf(e->msg, sizeof e->msg, "write error");
        return e->code = -EIO;
    }
    return 0;
}
