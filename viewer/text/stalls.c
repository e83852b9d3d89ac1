/*
 * stalls.c — the report of a stall directory (stalls.h). The index's format is in
 * docs/formats.md ("Stall directories"); it is read with the one JSON parser (formats/json.c),
 * leniently: a stall missing a field shows "?" there, a document that is not an index is an
 * error naming the file.
 */
#include "viewer/text/stalls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "formats/json.h"
#include "profiler/base/fileio.h"

struct row {
    int n;
    double length_ms, detected_ms;
    const char *profile, *function, *file, *callback;
    int line;
};

struct group {
    const char *function, *file;
    int line, count;
    double total_ms, max_ms;
};

bool
stalls_is_dir(const char *dir)
{
    struct stat st;
    char path[4200];
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
    snprintf(path, sizeof path, "%s/index.json", dir);
    return access(path, F_OK) == 0;
}

static int
by_length(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    return x->length_ms < y->length_ms ? 1 : x->length_ms > y->length_ms ? -1 : x->n - y->n;
}

static int
by_total(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    if (x->total_ms != y->total_ms)
        return x->total_ms < y->total_ms ? 1 : -1;
    return strcmp(x->function, y->function);
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void
location(char *buf, size_t len, const char *file, int line)
{
    if (!file || !*file)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%s:%d", base_name(file), line);
}

int
stalls_report(FILE *out, const char *dir, int top, struct mp_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.json", dir);
    size_t len;
    char *buf = fio_read_file(path, &len, e);
    if (!buf)
        return -1;
    struct json_doc doc = {0};
    struct json_error je = {0};
    if (json_parse(buf, len, &doc, &je) != 0) {
        mp_errf(e, -EINVAL, "%s:%zu:%zu: %s", path, je.line, je.column, je.what.msg);
        free(buf);
        return -1;
    }
    const struct json_val *root = json_root(&doc), *list = json_get(root, "stalls");
    if (strcmp(json_str_or(json_get(root, "format"), ""), "mrprof-stalls") != 0 || !list ||
        !json_is_arr(list)) {
        mp_errf(e, -EINVAL, "%s is not a stall index (no \"format\":\"mrprof-stalls\")", path);
        json_free(&doc), free(buf);
        return -1;
    }
    size_t n = json_len(list);
    struct row *rows = calloc(n + 1, sizeof *rows);
    struct group *groups = calloc(n + 1, sizeof *groups);
    if (!rows || !groups) {
        free(rows), free(groups), json_free(&doc), free(buf);
        mp_err_oom(e, NULL);
        return -1;
    }
    size_t k = 0, ng = 0;
    JSON_EACH(s, list)
    {
        const struct json_val *b = json_get(s, "blocking");
        struct row *r = &rows[k++];
        r->n = (int)json_num(json_get(s, "n"), 0);
        r->length_ms = json_num(json_get(s, "length_ms"), 0);
        r->detected_ms = json_num(json_get(s, "detected_after_ms"), 0);
        r->profile = json_str_or(json_get(s, "profile"), "?");
        r->function = json_str_or(json_get(b, "function"), "?");
        r->file = json_str_or(json_get(b, "file"), "");
        r->line = (int)json_num(json_get(b, "line"), 0);
        r->callback = json_str_or(json_get(json_get(s, "callback"), "function"), "?");
        size_t g = 0;
        while (g < ng && !(strcmp(groups[g].function, r->function) == 0 &&
                           strcmp(groups[g].file, r->file) == 0 && groups[g].line == r->line))
            g++;
        if (g == ng)
            groups[ng++] = (struct group){r->function, r->file, r->line, 0, 0, 0};
        groups[g].count++;
        groups[g].total_ms += r->length_ms;
        if (r->length_ms > groups[g].max_ms)
            groups[g].max_ms = r->length_ms;
    }
    qsort(rows, k, sizeof *rows, by_length);
    qsort(groups, ng, sizeof *groups, by_total);
    fprintf(out, "%s: %zu stall%s over %g ms (pid %.0f; ring %g Hz, %g Hz in a stall)\n", dir, k,
            k == 1 ? "" : "s", json_num(json_get(root, "threshold_ms"), 0),
            json_num(json_get(root, "pid"), 0), json_num(json_get(root, "ring_hz"), 0),
            json_num(json_get(root, "stall_hz"), 0));
    if (k == 0) {
        free(rows), free(groups), json_free(&doc), free(buf);
        return 0;
    }
    char loc[512];
    fprintf(out, "\nStalls by length:\n%4s %11s  %-32s %-24s %-24s %s\n", "#", "LENGTH",
            "BLOCKING FUNCTION", "LOCATION", "CALLBACK", "PROFILE");
    for (size_t i = 0; i < k && (top <= 0 || i < (size_t)top); i++) {
        location(loc, sizeof loc, rows[i].file, rows[i].line);
        fprintf(out, "%4d %8.1f ms  %-32s %-24s %-24s %s/%s\n", rows[i].n, rows[i].length_ms,
                rows[i].function, loc, rows[i].callback, dir, rows[i].profile);
    }
    fprintf(out, "\nStalls by blocking function:\n%6s %11s %11s  %-32s %s\n", "STALLS", "TOTAL",
            "LONGEST", "BLOCKING FUNCTION", "LOCATION");
    for (size_t i = 0; i < ng && (top <= 0 || i < (size_t)top); i++) {
        location(loc, sizeof loc, groups[i].file, groups[i].line);
        fprintf(out, "%6d %8.1f ms %8.1f ms  %-32s %s\n", groups[i].count, groups[i].total_ms,
                groups[i].max_ms, groups[i].function, loc);
    }
    free(rows), free(groups), json_free(&doc), free(buf);
    return 0;
}
