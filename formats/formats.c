/*
 * formats.c — the format table, detection by content, atomic writes, JSON error positions.
 */
#include "formats/formats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "formats/fileio.h"
#include "formats/internal.h"

const struct fmt_ops fmt_table[] = {
    {"cpuprofile", ".cpuprofile", "DevTools/Node CPU profile (one thread)", cpuprofile_write, true},
    {"heapprofile", ".heapprofile", "DevTools/Node sampling heap profile (memory: DevTools Memory, speedscope)",
     heapprofile_write, true},
    {"speedscope", ".speedscope.json", "speedscope's own JSON (one evented profile per thread)",
     speedscope_write, false},
    {"pprof", ".pb.gz", "pprof's gzipped profile.proto: go tool pprof, Pyroscope, Parca, Grafana",
     pprof_write, true},
    {"perfetto", ".perfetto.json", "Trace Event JSON with nested slices: Perfetto UI, chrome://tracing",
     perfetto_write, true},
    {"trace", ".json", "Trace Event JSON: DevTools Performance panel (one track per thread)",
     trace_write, true},
    {"collapsed", ".folded", "folded stacks for flamegraph.pl / inferno / speedscope",
     collapsed_write, false},
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
    return "cpuprofile, heapprofile, speedscope, pprof, trace, perfetto, collapsed";
}

int
fmt_write_path(const struct profile *p, const char *path, const struct fmt_ops *f,
               const struct fmt_write_opts *o, struct fmt_err *e)
{
    struct fio_atomic a;
    int rc = fio_begin(&a, path, e->msg, sizeof e->msg);
    if (rc)
        return e->code = rc;
    rc = f->write(p, a.fp, o, e);
    if (rc) {
        fio_abort(&a);
        return rc;
    }
    rc = fio_commit(&a, e->msg, sizeof e->msg);
    return e->code = rc;
}

int
fmt__bad(struct fmt_err *e, const char *name, const char *kind, const char *fmt, ...)
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

/* After a reader: samples in order and every invariant checked, or p freed and NULL. */
static struct profile *
finish(struct profile *p, int rc, const char *name, struct fmt_err *e)
{
    char verr[256];
    if (rc == 0) {
        profile_sort_samples(p);
        if (profile_validate(p, verr, sizeof verr) != 0) {
            rc = e->code = -EINVAL;
            snprintf(e->msg, sizeof e->msg, "%s: %s", name, verr);
        }
    }
    if (rc == 0)
        return p;
    if (!e->msg[0])
        snprintf(e->msg, sizeof e->msg, "%s: out of memory", name);
    profile_free(p);
    return NULL;
}

/* Reads buf (modified in place: strings are decoded where they lie). */
static struct profile *
read_mutable(char *buf, size_t len, const char *name, struct fmt_err *e)
{
    memset(e, 0, sizeof *e);
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
        i++;
    if (i == len) {
        e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg, "%s: the file is empty; expected a profile (.cpuprofile, "
                 ".heapprofile or trace JSON)", name);
        return NULL;
    }
    /* gzip (pprof's usual form), or a raw profile.proto (starts with field 1, sample_type). */
    if ((len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b) ||
        (len >= 2 && buf[0] == 0x0a && buf[i] != '{' && buf[i] != '[')) {
        struct profile *p = profile_new();
        return finish(p, fmt__pprof_read(p, (const uint8_t *)buf, len, name, e), name, e);
    }
    if (buf[i] != '{' && buf[i] != '[') {
        e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg, "%s: not a profile: expected JSON (a .cpuprofile, a "
                 ".heapprofile or a trace) or a pprof file, but the file starts with byte 0x%02x", name, (unsigned char)buf[i]);
        return NULL;
    }
    struct json_doc doc;
    struct json_error jerr;
    if (json_parse(buf, len, &doc, &jerr) != 0) {
        e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg, "%s: invalid JSON at line %zu, column %zu (byte %zu): %s%s", name,
                 jerr.line, jerr.column, jerr.offset, jerr.what, jerr.truncated ? " (the file is cut short)" : "");
        return NULL;
    }
    const struct json_val *root = json_root(&doc);
    struct profile *p = profile_new();
    int rc;
    const struct json_val *head = json_get(root, "head");
    if (json_get(root, "nodes")) {
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
        snprintf(e->msg, sizeof e->msg, "%s: valid JSON, but not a profile mrprof knows: a .cpuprofile "
                 "has \"nodes\", \"samples\" and \"timeDeltas\", a trace \"traceEvents\", a "
                 ".heapprofile a \"head\" tree", name);
    }
    json_free(&doc);
    return finish(p, rc, name, e);
}

struct profile *
fmt_read_buffer(const char *buf, size_t len, const char *name, struct fmt_err *e)
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

struct profile *
fmt_read_path(const char *path, struct fmt_err *e)
{
    size_t len;
    char *buf = fio_read_file(path, &len, e->msg, sizeof e->msg);
    if (!buf) {
        e->code = -EIO;
        return NULL;
    }
    struct profile *p = read_mutable(buf, len, path, e);
    free(buf);
    return p;
}
