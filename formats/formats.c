/*
 * formats.c — the format table, detection by content, atomic writes, JSON error positions.
 */
#include "formats/formats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/fileio.h"
#include "formats/internal.h"

const struct fmt_ops fmt_table[] = {
    {"cpuprofile", ".cpuprofile", "DevTools/Node CPU profile (one thread)", cpuprofile_write},
    {"trace", ".json", "Trace Event JSON: DevTools Performance, Perfetto, chrome://tracing",
     trace_write},
    {"collapsed", ".folded", "folded stacks for flamegraph.pl / inferno / speedscope",
     collapsed_write},
};
const size_t fmt_count = sizeof fmt_table / sizeof fmt_table[0];

const struct fmt_ops *
fmt_by_name(const char *name)
{
    for (size_t i = 0; i < fmt_count; i++)
        if (strcmp(fmt_table[i].name, name) == 0)
            return &fmt_table[i];
    if (strcmp(name, "json") == 0 || strcmp(name, "perfetto") == 0)
        return fmt_by_name("trace");
    if (strcmp(name, "folded") == 0)
        return fmt_by_name("collapsed");
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
    return NULL;
}

const char *
fmt_names(void)
{
    return "cpuprofile, trace, collapsed";
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

/* Line and column (1-based) of byte offset off in buf. */
static void
position(const char *buf, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

struct profile *
fmt_read_buffer(const char *buf, size_t len, const char *name, struct fmt_err *e)
{
    memset(e, 0, sizeof *e);
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
        i++;
    if (i == len) {
        e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg, "%s: the file is empty; expected a profile (.cpuprofile "
                 "or trace JSON)", name);
        return NULL;
    }
    if (buf[i] != '{' && buf[i] != '[') {
        e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg, "%s: not a profile: expected JSON (a .cpuprofile or a "
                 "trace) but the file starts with byte 0x%02x", name, (unsigned char)buf[i]);
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
    if (!root) {
        size_t off = end && end >= buf ? (size_t)(end - buf) : len;
        int line, col;
        position(buf, off, &line, &col);
        /* cJSON stops at the last byte it looked at: only white space after it means the
         * document simply ended too early. */
        size_t rest = off < len ? off + 1 : len;
        while (rest < len && (buf[rest] == ' ' || buf[rest] == '\n' || buf[rest] == '\r' || buf[rest] == '\t'))
            rest++;
        if (rest >= len)
            off = len;
        e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg, "%s: invalid JSON at line %d, column %d (byte %zu)%s",
                 name, line, col, off, off >= len ? ": the file is cut short" : "");
        return NULL;
    }
    struct profile *p = profile_new();
    int rc;
    if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "nodes")) {
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "$mrprof");
        const cJSON *tn = meta ? cJSON_GetObjectItemCaseSensitive(meta, "thread") : NULL;
        rc = fmt__cpuprofile_read_json(p, root, name, cJSON_IsString(tn) ? tn->valuestring : "main", 0, e);
    } else if (cJSON_IsArray(root) || cJSON_GetObjectItemCaseSensitive(root, "traceEvents")) {
        rc = e->code = -ENOTSUP;
        snprintf(e->msg, sizeof e->msg, "%s: looks like a Trace Event file; reading traces is not "
                 "supported yet (convert it from the .cpuprofile instead)", name);
    } else if (cJSON_GetObjectItemCaseSensitive(root, "head")) {
        rc = e->code = -ENOTSUP;
        snprintf(e->msg, sizeof e->msg, "%s: looks like a legacy profile or a .heapprofile (a "
                 "\"head\" tree); that form is not supported yet", name);
    } else {
        rc = e->code = -EINVAL;
        snprintf(e->msg, sizeof e->msg, "%s: valid JSON, but not a profile: a .cpuprofile has "
                 "\"nodes\", \"samples\" and \"timeDeltas\"", name);
    }
    cJSON_Delete(root);
    if (rc == 0) {
        profile_sort_samples(p);
        char verr[256];
        if (profile_validate(p, verr, sizeof verr) != 0) {
            rc = e->code = -EINVAL;
            snprintf(e->msg, sizeof e->msg, "%s: %s", name, verr);
        }
    }
    if (rc) {
        profile_free(p);
        return NULL;
    }
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
    struct profile *p = fmt_read_buffer(buf, len, path, e);
    free(buf);
    return p;
}
