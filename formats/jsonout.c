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
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
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

static void
put_name(FILE *out, const struct profile *p)
{
    if (p->meta.process_name[0]) {
        fputs(",\"processName\":", out);
        json_str(out, p->meta.process_name);
    }
}

static void
get_name(struct profile *p, const struct json_val *m)
{
    const char *pn = json_str_or(json_get(m, "processName"), "");
    if (*pn)
        snprintf(p->meta.process_name, sizeof p->meta.process_name, "%s", pn);
}

void
fmt__put_pid(FILE *out, const struct profile *p)
{
    if (p->meta.pid > 0) {
        fputs(",\"pid\":", out);
        json_i64(out, p->meta.pid);
    }
}

void
fmt__get_pid(struct profile *p, const struct json_val *m)
{
    double pid = json_num(json_get(m, "pid"), 0);
    p->meta.pid = pid >= 1 && pid <= 4194304 ? (int64_t)pid : 0; /* Linux's pid_max at most */
}

void
fmt__put_process(FILE *out, const struct profile *p)
{
    fmt__put_pid(out, p);
    put_name(out, p);
}

void
fmt__get_process(struct profile *p, const struct json_val *m)
{
    fmt__get_pid(p, m);
    get_name(p, m);
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
    put_name(out, p);
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
    get_name(p, m);
}
