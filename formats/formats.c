/*
 * formats.c — the format table, detection by content, atomic writes, JSON error positions.
 *
 * Detection: gzip or a raw profile.proto is pprof; text whose first line ends with a count is
 * folded stacks; JSON is told apart by its members (speedscope's "shared" + "profiles", a
 * .cpuprofile's "nodes", a trace's "traceEvents" or array, a "head" tree).
 */
#include "formats/formats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "formats/internal.h"
#include "profiler/base/fileio.h"

const struct fmt_ops fmt_table[] = {
    {"cpuprofile", ".cpuprofile", "DevTools/Node CPU profile (one thread)", cpuprofile_write, true},
    {"heapprofile", ".heapprofile",
     "DevTools/Node sampling heap profile (memory: DevTools Memory, speedscope)", heapprofile_write,
     true},
    {"speedscope", ".speedscope.json", "speedscope's own JSON (one evented profile per thread)",
     speedscope_write, true},
    {"pprof", ".pb.gz", "pprof's gzipped profile.proto: go tool pprof, Pyroscope, Parca, Grafana",
     pprof_write, true},
    {"perfetto", ".perfetto.json",
     "Trace Event JSON with nested slices: Perfetto UI, chrome://tracing", perfetto_write, true},
    {"trace", ".json", "Trace Event JSON: DevTools Performance panel (one track per thread)",
     trace_write, true},
    {"collapsed", ".folded", "folded stacks for flamegraph.pl / inferno / speedscope",
     collapsed_write, true},
    {"svg", ".svg", "an interactive flame graph (any browser; image viewers show it still)",
     svg_write, false},
};
const size_t fmt_count = sizeof fmt_table / sizeof fmt_table[0];

const struct fmt_ops *
fmt_by_name(const char *name)
{
    for (size_t i = 0; i < fmt_count; i++)
        if (strcmp(fmt_table[i].name, name) == 0)
            return &fmt_table[i];
    if (strcmp(name, "json") == 0)
        return fmt_by_name("trace");
    if (strcmp(name, "folded") == 0)
        return fmt_by_name("collapsed");
    if (strcmp(name, "proto") == 0)
        return fmt_by_name("pprof");
    return NULL;
}

const struct fmt_ops *
fmt_by_path(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < fmt_count; i++) {
        size_t m = strlen(fmt_table[i].ext);
        if (n >= m && strcmp(path + n - m, fmt_table[i].ext) == 0)
            return &fmt_table[i];
    }
    if (n >= 10 && strcmp(path + n - 10, ".collapsed") == 0)
        return fmt_by_name("collapsed");
    if (n >= 6 && strcmp(path + n - 6, ".pprof") == 0)
        return fmt_by_name("pprof");
    return NULL;
}

const char *
fmt_names(void)
{
    static char names[256]; /* from the table, so that no list of names is typed twice */
    size_t k = 0;
    for (size_t i = 0; i < fmt_count && k < sizeof names; i++)
        k +=
            (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "", fmt_table[i].name);
    return names;
}

int
fmt_write_path(const struct profile *p, const char *path, const struct fmt_ops *f,
               const struct fmt_write_opts *o, struct mp_err *e)
{
    struct fio_atomic a;
    if (profile_oom(p)) { /* a builder failed (profile.h): never write an incomplete profile */
        snprintf(e->msg, sizeof e->msg,
                 "%s: out of memory (the profile is incomplete; not written)", path);
        return e->code = -ENOMEM;
    }
    int rc = fio_begin(&a, path, e);
    if (rc)
        return rc;
    rc = f->write(p, a.fp, o, e);
    if (rc) {
        fio_abort(&a);
        return rc;
    }
    rc = fio_commit(&a, e);
    return e->code = rc;
}

bool
fmt_skip_idle(const struct profile *p, const struct fmt_write_opts *o, const struct prof_sample *s)
{
    return !(o && o->idle) && s->node < profile_nnodes(p) &&
           profile_nodes(p)[s->node].frame == p->f_idle;
}

int
fmt__bad(struct mp_err *e, const char *name, const char *kind, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    e->code = -EINVAL;
    snprintf(e->msg, sizeof e->msg, "%s: looks like %s, but %s", name, kind, what);
    return e->code;
}

bool
fmt__to_i64(double d, int64_t lo, int64_t hi, int64_t *out)
{
    /* [-2^63, 2^63) is exactly what converts to int64_t; NaN fails both comparisons. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return false;
    int64_t v = (int64_t)d;
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int64_t
fmt__i64_or(const struct json_val *v, int64_t lo, int64_t hi, int64_t dflt)
{
    int64_t x;
    return json_is_num(v) && fmt__to_i64(v->num, lo, hi, &x) ? x : dflt;
}

bool
fmt__to_ns(double ns, uint64_t *out)
{
    if (!(ns >= 0 && ns < (double)FMT_MAX_NS))
        return false;
    *out = (uint64_t)ns;
    return true;
}

bool
fmt__us_to_ns(double us, uint64_t *ns)
{
    return fmt__to_ns(us * 1000.0, ns);
}

uint64_t
fmt__clamp_u64(double d, uint64_t max)
{
    if (!(d > 0))
        return 0;
    return d >= (double)max ? max : (uint64_t)d;
}

int32_t
fmt__line(double d)
{
    return d >= 1 && d <= (double)INT32_MAX ? (int32_t)d : 0;
}

/* After a reader: samples in order and every invariant checked, or p freed and NULL. */
static struct profile *
finish(struct profile *p, int rc, const char *name, struct mp_err *e)
{
    struct mp_err verr = {0};
    if (!p)
        rc = -ENOMEM;
    else if (rc == 0 && profile_oom(p))
        rc = e->code = -ENOMEM; /* a builder failed (profile.h): the profile is incomplete */
    if (rc == 0) {
        profile_sort_samples(p);
        if (profile_validate(p, &verr) != 0)
            rc = mp_errf(e, -EINVAL, "%s: %.255s", name, verr.msg);
    }
    if (rc == 0)
        return p;
    if (!e->msg[0]) {
        if (!e->code)
            e->code = rc;
        snprintf(e->msg, sizeof e->msg, "%s: out of memory", name);
    }
    profile_free(p);
    return NULL;
}

/* Reads buf (modified in place: strings are decoded where they lie). */
static struct profile *
read_mutable(char *buf, size_t len, const char *name, struct mp_err *e)
{
    memset(e, 0, sizeof *e);
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
        i++;
    if (i == len) {
        e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg,
                 "%s: the file is empty; expected a profile (.cpuprofile, "
                 ".heapprofile, trace or speedscope JSON, pprof, folded stacks)",
                 name);
        return NULL;
    }
    /* Folded stacks: text whose first line ends with a sample count. (Before the raw pprof test:
     * a text file may start with '\n', 0x0a, as a profile.proto does.) */
    if (fmt__looks_folded(buf, len)) {
        struct profile *p = profile_new();
        return finish(p, p ? fmt__folded_read(p, buf, len, name, e) : -ENOMEM, name, e);
    }
    /* gzip (pprof's usual form), or a raw profile.proto (starts with field 1, sample_type). */
    if ((len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b) ||
        (len >= 2 && buf[0] == 0x0a && buf[i] != '{' && buf[i] != '[')) {
        struct profile *p = profile_new();
        return finish(p, p ? fmt__pprof_read(p, (const uint8_t *)buf, len, name, e) : -ENOMEM, name,
                      e);
    }
    if (buf[i] != '{' && buf[i] != '[') {
        e->code = -EINVAL;
        size_t line = 1;
        for (size_t k = 0; k < i; k++)
            line += buf[k] == '\n';
        if ((unsigned char)buf[i] >= 0x20 && (unsigned char)buf[i] < 0x7f)
            snprintf(
                e->msg, sizeof e->msg,
                "%s: not a profile: expected JSON (a .cpuprofile, a "
                ".heapprofile, a trace, a speedscope file), a pprof file or folded stacks, but "
                "line %zu does not end with a sample count as folded stacks do (`a;b;c 12`)",
                name, line);
        else
            snprintf(
                e->msg, sizeof e->msg,
                "%s: not a profile: expected JSON (a .cpuprofile, a "
                ".heapprofile, a trace, a speedscope file), a pprof file or folded stacks, but "
                "the file starts with byte 0x%02x",
                name, (unsigned char)buf[i]);
        return NULL;
    }
    struct json_doc doc;
    struct json_error jerr;
    if (json_parse(buf, len, &doc, &jerr) != 0) {
        e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg,
                 "%s: invalid JSON at line %zu, column %zu (byte %zu): %.95s%s", name, jerr.line,
                 jerr.column, jerr.offset, jerr.what.msg,
                 jerr.truncated ? " (the file is cut short)" : "");
        return NULL;
    }
    const struct json_val *root = json_root(&doc);
    struct profile *p = profile_new();
    int rc;
    const struct json_val *head = json_get(root, "head");
    if (!p) {
        rc = -ENOMEM;
    } else if (json_get(root, "shared") && json_get(root, "profiles")) {
        rc = fmt__speedscope_read_json(p, root, name, e);
    } else if (json_get(root, "nodes")) {
        const struct json_val *tn = json_get(json_get(root, "$mrprof"), "thread");
        rc = fmt__cpuprofile_read_json(p, root, name, json_str_or(tn, "main"), 0, e);
    } else if (json_is_arr(root) || json_get(root, "traceEvents")) {
        rc = fmt__trace_read_json(p, root, name, e);
    } else if (head && (json_get(head, "selfSize") || !json_get(root, "startTime"))) {
        rc = fmt__heapprofile_read_json(p, root, name, e);
    } else if (head) {
        rc = fmt__legacy_cpuprofile_read_json(p, root, name, e);
    } else {
        rc = e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg,
                 "%s: valid JSON, but not a profile mrprof knows: a .cpuprofile "
                 "has \"nodes\", \"samples\" and \"timeDeltas\", a trace \"traceEvents\", a "
                 ".heapprofile a \"head\" tree",
                 name);
    }
    json_free(&doc);
    return finish(p, rc, name, e);
}

struct profile *
fmt_read_buffer(const char *buf, size_t len, const char *name, struct mp_err *e)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        e->code = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "%s: out of memory", name);
        return NULL;
    }
    memcpy(copy, buf, len);
    copy[len] = 0;
    struct profile *p = read_mutable(copy, len, name, e);
    free(copy);
    return p;
}

/* The first bytes of an input: pprof's gzip or raw profile.proto, or text (every other format
 * is). Anything else (/dev/zero, an executable, an image) is refused before it is read whole. */
static int
sniff_profile(const char *head, size_t n, const char *path, struct mp_err *e)
{
    const unsigned char *h = (const unsigned char *)head;
    if ((n >= 2 && h[0] == 0x1f && h[1] == 0x8b) || h[0] == 0x0a)
        return 0;
    for (size_t i = 0; i < n && i < 512; i++)
        if (h[i] == 0 || h[i] == 0x7f ||
            (h[i] < 0x20 && h[i] != '\t' && h[i] != '\n' && h[i] != '\r')) {
            return mp_errf(e, -EINVAL,
                           "%s: not a profile: byte %zu is 0x%02x, but profiles are text (JSON) "
                           "or pprof's gzip or protobuf",
                           path, i, h[i]);
        }
    return 0;
}

struct profile *
fmt_read_path(const char *path, struct mp_err *e)
{
    size_t len;
    char *buf = fio_read_input(path, sniff_profile, &len, e);
    if (!buf) {
        e->code = -EIO; /* what callers have always seen for an input that could not be read */
        return NULL;
    }
    struct profile *p = read_mutable(buf, len, strcmp(path, "-") == 0 ? "stdin" : path, e);
    free(buf);
    return p;
}
