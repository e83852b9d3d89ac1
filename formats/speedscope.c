/*
 * speedscope.c — speedscope's own file format (https://www.speedscope.app/file-format-schema.json):
 * writer and reader.
 *
 * One shared frame table (name, file, line) and one "evented" profile per thread: open and close
 * events on a value axis that advances by each sample's weight (ns of CPU or wall time, or bytes
 * for heap profiles). Consecutive samples that share a stack prefix share its open frames, so
 * the file grows with the stack changes rather than with samples x depth, and speedscope's
 * "left heavy" and "sandwich" views show exactly mrprof's weights. Zero-weight samples carry no
 * value and are left out; so is (idle) unless o->idle: its time stays on the axis as a gap with no
 * frame open, so the time order view keeps the real times and no view ranks idle as a function.
 *
 * The reader takes both profile types: "evented" (the stack open between two events is one
 * sample weighing the gap) and "sampled" (samples[i], frame indexes root first, weighs
 * weights[i]); each profile becomes a thread. Time units become ns, "bytes" a heap profile and
 * "none" 1 ms a unit (as folded stacks' counts). Events must nest (a close names the innermost
 * open frame), values be finite, in range and in order; a violation is an error naming the
 * profile and event. Memory is bounded by the document: the open-frame stack holds at most one
 * entry per event.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/internal.h"

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
speedscope_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o,
                 struct mp_err *e)
{
    const struct prof_node *nodes = profile_nodes(p);
    const struct prof_frame *frames = profile_frames(p);
    const struct prof_sample *s = profile_samples(p);
    size_t ns = profile_nsamples(p), nf = profile_nframes(p);
    /* The deepest stack bounds both paths. */
    size_t depth = profile_max_depth(p);
    uint32_t *fidx = malloc((nf ? nf : 1) * sizeof *fidx);
    if (!depth || !fidx) {
        free(fidx);
        return mp_err_oom(e, NULL);
    }
    uint32_t *cur = malloc(depth * sizeof *cur), *next = malloc(depth * sizeof *next);
    if (!cur || !next) {
        free(cur), free(next), free(fidx);
        return mp_err_oom(e, NULL);
    }

    /* Frames: every model frame but the root, in model order. */
    /* The samples in each stretch between two events, per profile: "$mrprof" at the end. */
    char *runs = NULL;
    size_t runs_len = 0;
    FILE *rf = open_memstream(&runs, &runs_len);
    if (!rf) {
        free(cur), free(next), free(fidx);
        return mp_err_oom(e, NULL);
    }
    fputs("{\"$schema\":\"https://www.speedscope.app/"
          "file-format-schema.json\",\"exporter\":\"mrprof\",",
          out);
    fputs("\"name\":", out);
    json_str(out, p->meta.process_name[0] ? p->meta.process_name
                  : p->meta.tool[0]       ? p->meta.tool
                                          : "mrprof");
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
        fputs(first_profile ? "{\"type\":\"evented\",\"name\":"
                            : ",{\"type\":\"evented\",\"name\":",
              out);
        fputs(first_profile ? "[" : ",[", rf);
        first_profile = false;
        uint64_t run = 0; /* samples since the last event, while a stack is open */
        bool first_run = true;
        const struct prof_thread_info *ti = &profile_threads(p)[th];
        if (profile_nprocesses(p) > 1) { /* a cluster: "cluster worker 1 (pid 12): main" */
            char label[160], both[384];
            if (ti->process == 0 && !p->meta.process_name[0])
                snprintf(label, sizeof label, "cluster primary (pid %lld)", (long long)p->meta.pid);
            else
                profile_process_label(p, ti->process, label, sizeof label);
            snprintf(both, sizeof both, "%s: %s", label, profile_str(p, ti->name));
            json_str(out, both);
        } else {
            json_str(out, profile_str(p, ti->name));
        }
        fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":", unit);
        json_u64(out, total);
        fputs(",\"events\":[", out);
        size_t cd = 0;
        uint64_t at = 0;
        bool first = true;
        for (size_t i = 0; i < ns; i++) {
            if (s[i].thread != th || !s[i].weight_ns)
                continue;
            /* Idle left out: every frame closes and the time passes as a gap. */
            size_t nd = fmt_skip_idle(p, o, &s[i]) ? 0
                                                   : profile_node_path(p, s[i].node, next, depth),
                   common = 0;
            while (common < cd && common < nd && cur[common] == next[common])
                common++;
            if ((cd > common || nd > common) && run) { /* events end the stretch */
                fprintf(rf, first_run ? "%llu" : ",%llu", (unsigned long long)run);
                first_run = false;
                run = 0;
            }
            while (cd > common) {
                cd--;
                event(out, &first, 'C', fidx[nodes[cur[cd]].frame], at);
            }
            for (; cd < nd; cd++) {
                cur[cd] = next[cd];
                event(out, &first, 'O', fidx[nodes[cur[cd]].frame], at);
            }
            at += s[i].weight_ns;
            run += nd > 0;
        }
        if (run)
            fprintf(rf, first_run ? "%llu" : ",%llu", (unsigned long long)run);
        putc(']', rf);
        while (cd > 0) {
            cd--;
            event(out, &first, 'C', fidx[nodes[cur[cd]].frame], at);
        }
        fputs("]}", out);
    }
    /* Beyond the schema (speedscope ignores it): what mrprof's reader needs to read the file back
     * as it was: the mode, the rate, and how many samples each stretch between two events held
     * (speedscope's evented profiles have no samples; diff's and check's tests count them). */
    fclose(rf);
    fprintf(out, "],\"$mrprof\":{\"mode\":\"%s\",\"hz\":%u,\"samples\":[",
            p->meta.mode == PROFILE_HEAP  ? "heap"
            : p->meta.mode == PROFILE_CPU ? "cpu"
                                          : "wall",
            p->meta.hz);
    fwrite(runs, 1, runs_len, out);
    free(runs);
    fputs("]}}\n", out);
    free(cur), free(next), free(fidx);
    if (ferror(out)) {
        return mp_errf(e, -EIO, "write error");
    }
    return 0;
}

/* --- reader ---------------------------------------------------------------------------------- */

#define SS_KIND "a speedscope file"
/* Values beyond this many ns (about 146 years) are refused rather than cast. */
#define SS_MAX_NS 4.6e18

/* ns per unit of a speedscope ValueUnit (bytes count 1:1, "none" reads as 1 ms a unit, as
 * folded stacks' counts do); 0 for an unknown unit. */
static double
unit_scale(const char *unit, bool *bytes)
{
    static const struct {
        const char *name;
        double scale;
    } units[] = {{"nanoseconds", 1}, {"microseconds", 1e3}, {"milliseconds", 1e6},
                 {"seconds", 1e9},   {"none", 1e6},         {"bytes", 1}};
    *bytes = strcmp(unit, "bytes") == 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].name) == 0)
            return units[i].scale;
    return 0;
}

/* v (a value in the profile's unit, relative to its start) in ns, or -1 when not a finite number
 * in range. */
static double
to_ns(double v, double scale)
{
    double ns = v * scale;
    return isfinite(ns) && ns >= 0 && ns < SS_MAX_NS ? ns : -1;
}

static int
read_frames(struct profile *p, const struct json_val *frames, const char *name, uint32_t *fr,
            struct mp_err *e)
{
    size_t i = 0;
    JSON_EACH(f, frames)
    {
        const struct json_val *jn = json_get(f, "name"), *jf = json_get(f, "file"),
                              *jl = json_get(f, "line");
        if (!json_is_str(jn))
            return fmt__bad(e, name, SS_KIND, "shared.frames[%zu] has no \"name\" string", i);
        if (jf && !json_is_str(jf))
            return fmt__bad(e, name, SS_KIND, "shared.frames[%zu].file is not a string", i);
        if (jl &&
            !(json_is_num(jl) && jl->num >= 0 && jl->num <= INT32_MAX && jl->num == floor(jl->num)))
            return fmt__bad(e, name, SS_KIND, "shared.frames[%zu].line is not a line number", i);
        const char *n = jn->str;
        int kind = strncmp(n, "block ", 6) == 0 && strstr(n, " in ") ? FRAME_BLOCK
                   : profile_pseudo_name(n)                          ? FRAME_PSEUDO
                                                                     : FRAME_RUBY;
        fr[i++] = profile_frame_intern(p, n, json_str_or(jf, ""), jl ? (int32_t)jl->num : 0, kind);
    }
    return 0;
}

/* Samples of mrprof's own evented profiles, from "$mrprof".samples, at most this many in all. */
#define SS_MAX_SPLIT (1u << 23)

/* The stretch [t, t2) of node as samples: runs->num of them when mrprof wrote how many there
 * were (each weighs an equal share), else one. */
static int
add_stretch(struct profile *p, uint32_t th, uint32_t node, uint64_t t, uint64_t t2,
            const struct json_val *run, size_t *split, size_t pi, const char *name,
            struct mp_err *e)
{
    uint64_t w = t2 - t, n = 1;
    if (run) {
        if (!json_is_num(run) ||
            !(run->num >= 1 && run->num <= (double)w && run->num <= SS_MAX_SPLIT) ||
            run->num != floor(run->num) || *split + (size_t)run->num > SS_MAX_SPLIT)
            return fmt__bad(e, name, SS_KIND,
                            "$mrprof.samples[%zu] holds a count that does not fit its "
                            "stretch, or more than %u samples in all",
                            pi, SS_MAX_SPLIT);
        n = (uint64_t)run->num;
        *split += n;
    }
    for (uint64_t k = 0; k < n; k++) {
        uint64_t a = t + w * k / n, b = t + w * (k + 1) / n;
        profile_add_sample(p, th, node, 0, a, b - a);
    }
    return 0;
}

/* An evented profile: the stack open between two events is one sample weighing the gap (or
 * the samples mrprof's writer noted in runs, an array with one count per such stretch). */
static int
read_evented(struct profile *p, const struct json_val *prof, size_t pi, uint32_t th,
             const uint32_t *fr, size_t nf, double scale, double base, const struct json_val *runs,
             size_t *split, const char *name, struct mp_err *e)
{
    const struct json_val *run = json_first(runs), *runs_end = runs ? runs + runs->size : NULL;
    bool use_runs = json_is_arr(runs);
    const struct json_val *events = json_get(prof, "events");
    if (!json_is_arr(events))
        return fmt__bad(e, name, SS_KIND, "profiles[%zu] is evented but has no \"events\" array",
                        pi);
    size_t cap = json_len(events) + 1, depth = 0, i = 0;
    uint32_t *fstack = malloc(cap * sizeof *fstack), *nstack = malloc(cap * sizeof *nstack);
    if (!fstack || !nstack) {
        free(fstack), free(nstack);
        return e->code = -ENOMEM;
    }
    nstack[0] = 0;
    double last = base;
    int rc = 0;
    JSON_EACH(ev, events)
    {
        const struct json_val *jt = json_get(ev, "type"), *jf = json_get(ev, "frame"),
                              *ja = json_get(ev, "at");
        const char *type = json_str_or(jt, "");
        if ((strcmp(type, "O") != 0 && strcmp(type, "C") != 0)) {
            rc = fmt__bad(e, name, SS_KIND, "profiles[%zu].events[%zu].type is not \"O\" or \"C\"",
                          pi, i);
            break;
        }
        if (!json_is_num(jf) || !(jf->num >= 0 && jf->num < (double)nf) ||
            jf->num != floor(jf->num)) {
            rc = fmt__bad(e, name, SS_KIND,
                          "profiles[%zu].events[%zu].frame is not an index into "
                          "shared.frames (0..%zu)",
                          pi, i, nf ? nf - 1 : 0);
            break;
        }
        double at = json_num(ja, NAN);
        if (!json_is_num(ja) || to_ns(at - base, scale) < 0 || at < last) {
            rc = fmt__bad(e, name, SS_KIND, "profiles[%zu].events[%zu].at is %s", pi, i,
                          !json_is_num(ja) ? "missing"
                          : at < last      ? "before the event ahead of it"
                                           : "out of range");
            break;
        }
        if (depth && at > last) {
            uint64_t t = (uint64_t)to_ns(last - base, scale),
                     t2 = (uint64_t)to_ns(at - base, scale);
            if (t2 > t) {
                if (use_runs && !run) {
                    rc = fmt__bad(e, name, SS_KIND,
                                  "$mrprof.samples[%zu] has fewer counts than the "
                                  "profile has stretches",
                                  pi);
                    break;
                }
                if ((rc = add_stretch(p, th, nstack[depth], t, t2, use_runs ? run : NULL, split, pi,
                                      name, e)))
                    break;
                if (run && (run += run->size) >= runs_end)
                    run = NULL;
            }
        }
        last = at;
        uint32_t f = (uint32_t)jf->num;
        if (type[0] == 'O') {
            fstack[depth + 1] = f;
            nstack[depth + 1] = profile_node(p, nstack[depth], fr[f]);
            depth++;
        } else if (!depth || fstack[depth] != f) {
            rc = fmt__bad(e, name, SS_KIND, "profiles[%zu].events[%zu] closes frame %u, but %s", pi,
                          i, f, depth ? "another frame is open above it" : "no frame is open");
            break;
        } else {
            depth--;
        }
        i++;
    }
    /* Frames left open are closed at endValue (speedscope does the same). */
    double endv = json_num(json_get(prof, "endValue"), last);
    if (rc == 0 && depth && endv > last && to_ns(endv - base, scale) >= 0) {
        uint64_t t = (uint64_t)to_ns(last - base, scale), t2 = (uint64_t)to_ns(endv - base, scale);
        if (t2 > t)
            profile_add_sample(p, th, nstack[depth], 0, t, t2 - t);
    }
    if (rc == 0 && use_runs && run)
        rc = fmt__bad(e, name, SS_KIND,
                      "$mrprof.samples[%zu] has more counts than the profile has "
                      "stretches",
                      pi);
    free(fstack), free(nstack);
    return rc;
}

/* A sampled profile: samples[i] (frame indexes, root first) weighs weights[i]. */
static int
read_sampled(struct profile *p, const struct json_val *prof, size_t pi, uint32_t th,
             const uint32_t *fr, size_t nf, double scale, const char *name, struct mp_err *e)
{
    const struct json_val *samples = json_get(prof, "samples"),
                          *weights = json_get(prof, "weights");
    if (!json_is_arr(samples) || !json_is_arr(weights))
        return fmt__bad(e, name, SS_KIND,
                        "profiles[%zu] is sampled but lacks the \"samples\" or "
                        "\"weights\" array",
                        pi);
    if (json_len(samples) != json_len(weights))
        return fmt__bad(e, name, SS_KIND, "profiles[%zu] has %zu samples but %zu weights", pi,
                        json_len(samples), json_len(weights));
    const struct json_val *w = json_first(weights);
    double t = 0;
    size_t i = 0;
    JSON_EACH(s, samples)
    {
        if (!json_is_arr(s))
            return fmt__bad(e, name, SS_KIND,
                            "profiles[%zu].samples[%zu] is not an array of frame indexes", pi, i);
        double wn = json_is_num(w) ? to_ns(w->num, scale) : -1;
        if (wn < 0 || to_ns(t + wn, 1) < 0)
            return fmt__bad(e, name, SS_KIND, "profiles[%zu].weights[%zu] is not a weight in range",
                            pi, i);
        uint32_t node = 0;
        size_t d = 0;
        JSON_EACH(jf, s)
        {
            if (!json_is_num(jf) || !(jf->num >= 0 && jf->num < (double)nf) ||
                jf->num != floor(jf->num))
                return fmt__bad(e, name, SS_KIND,
                                "profiles[%zu].samples[%zu][%zu] is not an index into "
                                "shared.frames (0..%zu)",
                                pi, i, d, nf ? nf - 1 : 0);
            node = profile_node(p, node, fr[(uint32_t)jf->num]);
            d++;
        }
        uint64_t a = (uint64_t)t, b = (uint64_t)(t + wn);
        if (node && b > a)
            profile_add_sample(p, th, node, 0, a, b - a);
        t += wn;
        w += w->size;
        i++;
    }
    return 0;
}

int
fmt__speedscope_read_json(struct profile *p, const struct json_val *root, const char *name,
                          struct mp_err *e)
{
    const struct json_val *frames = json_get(json_get(root, "shared"), "frames");
    const struct json_val *profiles = json_get(root, "profiles");
    if (!json_is_arr(frames))
        return fmt__bad(e, name, SS_KIND, "it has no \"shared\": {\"frames\": [...]} table");
    if (!json_is_arr(profiles))
        return fmt__bad(e, name, SS_KIND, "it has no \"profiles\" array");
    size_t nf = json_len(frames);
    uint32_t *fr = malloc((nf ? nf : 1) * sizeof *fr);
    if (!fr)
        return e->code = -ENOMEM;
    int rc = read_frames(p, frames, name, fr, e);
    /* mrprof's own writer notes the mode and rate; other files are wall time or bytes. */
    const struct json_val *ext = json_get(root, "$mrprof");
    const char *mode = json_str_or(json_get(ext, "mode"), "");
    double hz = json_num(json_get(ext, "hz"), 0);
    int kind = -1; /* bytes (1) or time (0), the same for every profile */
    const struct json_val *runs = json_first(json_get(ext, "samples"));
    const struct json_val *runs_end =
        runs ? json_get(ext, "samples") + json_get(ext, "samples")->size : NULL;
    double end = 0;
    size_t pi = 0, split = 0;
    JSON_EACH(prof, profiles)
    {
        if (rc)
            break;
        const char *type = json_str_or(json_get(prof, "type"), "");
        const char *unit = json_str_or(json_get(prof, "unit"), "");
        bool bytes;
        double scale = unit_scale(unit, &bytes);
        if (!scale) {
            rc = fmt__bad(e, name, SS_KIND,
                          "profiles[%zu].unit \"%.40s\" is not one of nanoseconds, "
                          "microseconds, milliseconds, seconds, bytes, none",
                          pi, unit);
            break;
        }
        if (kind >= 0 && kind != bytes) {
            rc = fmt__bad(e, name, SS_KIND,
                          "profiles[%zu] is in %s, the ones before it in %s: mrprof "
                          "reads one kind of weight per file",
                          pi, unit, kind ? "bytes" : "time");
            break;
        }
        kind = bytes;
        const struct json_val *pn = json_get(prof, "name");
        uint32_t th = profile_add_thread(p, (int64_t)pi, json_str_or(pn, "main"));
        double start = json_num(json_get(prof, "startValue"), 0);
        if (!isfinite(start) || fabs(start) > SS_MAX_NS) {
            rc = fmt__bad(e, name, SS_KIND, "profiles[%zu].startValue is out of range", pi);
            break;
        }
        if (strcmp(type, "evented") == 0) {
            /* Times count from startValue (or the first event, if a file has one before it). */
            const struct json_val *first = json_first(json_get(prof, "events"));
            double at0 = json_num(json_get(first, "at"), start);
            double base = isfinite(at0) && at0 < start ? at0 : start;
            rc = read_evented(p, prof, pi, th, fr, nf, scale, base, runs, &split, name, e);
            double span = to_ns(json_num(json_get(prof, "endValue"), base) - base, scale);
            end = span > end ? span : end;
        } else if (strcmp(type, "sampled") == 0) {
            rc = read_sampled(p, prof, pi, th, fr, nf, scale, name, e);
        } else {
            rc = fmt__bad(e, name, SS_KIND, "profiles[%zu].type is not \"evented\" or \"sampled\"",
                          pi);
        }
        if (runs && (runs += runs->size) >= runs_end)
            runs = NULL;
        pi++;
    }
    free(fr);
    if (rc)
        return rc;
    /* Each profile is bounded; so is their sum, so that totals over all threads cannot wrap. */
    uint64_t sum = 0;
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        sum += profile_samples(p)[i].weight_ns;
        if (sum > (uint64_t)SS_MAX_NS)
            return fmt__bad(e, name, SS_KIND, "its profiles add up to more than %.0f ns (or bytes)",
                            SS_MAX_NS);
    }
    p->meta.mode = kind == 1 ? PROFILE_HEAP : strcmp(mode, "cpu") == 0 ? PROFILE_CPU : PROFILE_WALL;
    p->meta.hz = hz >= 1 && hz <= 1e6 ? (uint32_t)hz : 0;
    p->meta.end_ns = (uint64_t)end;
    const char *exporter = json_str_or(json_get(root, "exporter"), "speedscope");
    snprintf(p->meta.tool, sizeof p->meta.tool, "%s", exporter);
    return 0;
}
