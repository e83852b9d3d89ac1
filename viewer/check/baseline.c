/*
 * baseline.c — the run set of `mrprof check --runs` and its baseline files (see baseline.h).
 *
 * The keys are indexed by the project's hash table (profiler/base/hash.h); it replaces a linear
 * scan per key, which made reading a baseline or adding a run O(keys^2).
 */
#include "viewer/check/baseline.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/base/fileio.h"
#include "formats/formats.h"
#include "formats/json.h"
#include "profiler/base/hash.h"
#include "profiler/model/aggregate.h"
#include "viewer/check/check_parse.h"

/* --- the run set ---------------------------------------------------------------------------- */

int
run_set_init(struct run_set *r, size_t nruns)
{
    r->nruns = nruns;
    r->total = calloc(nruns, sizeof *r->total);
    return r->total ? 0 : -ENOMEM;
}

void
run_set_free(struct run_set *r)
{
    for (size_t k = 0; k < r->nkeys; k++)
        free(r->keys[k]);
    free(r->keys), free(r->ms), free(r->total);
    mp_hash_free(&r->index);
    memset(r, 0, sizeof *r);
}

/* The hash table's view of the keys (profiler/base/hash.h). */
static bool
key_eq(const void *ctx, uint32_t id, const void *key)
{
    return strcmp(((const struct run_set *)ctx)->keys[id], key) == 0;
}

static uint64_t
key_hash(const char *key)
{
    return mp_hash_bytes(key, strlen(key));
}

static uint64_t
key_rehash(const void *ctx, uint32_t id)
{
    return key_hash(((const struct run_set *)ctx)->keys[id]);
}

/* Room for one more key: keys and ms rows double. */
static int
key_reserve(struct run_set *r)
{
    if (r->nkeys >= UINT32_MAX - 1)
        return -ENOMEM;
    if (r->nkeys == r->kcap) {
        size_t cap = r->kcap ? r->kcap * 2 : 64;
        char **keys = realloc(r->keys, cap * sizeof *keys);
        if (keys)
            r->keys = keys;
        double *ms = keys ? realloc(r->ms, (cap * r->nruns + 1) * sizeof *ms) : NULL;
        if (!ms)
            return -ENOMEM;
        r->ms = ms;
        r->kcap = cap;
    }
    return 0;
}

long
key_index(struct run_set *r, const char *key, bool add)
{
    uint64_t h = key_hash(key);
    uint32_t id = mp_hash_find(&r->index, h, key_eq, r, key);
    if (id != UINT32_MAX)
        return (long)id;
    if (!add || key_reserve(r) != 0 || !(r->keys[r->nkeys] = strdup(key)))
        return -1;
    if (mp_hash_insert(&r->index, h, (uint32_t)r->nkeys, key_rehash, r) != 0) {
        free(r->keys[r->nkeys]);
        return -1;
    }
    memset(r->ms + r->nkeys * r->nruns, 0, r->nruns * sizeof *r->ms);
    return (long)r->nkeys++;
}

int
add_run(struct run_set *r, size_t run, const struct profile *p)
{
    struct agg_table t;
    struct match_paths m;
    if (agg_compute(p, -1, AGG_FUNCTION, &t) != 0)
        return -ENOMEM;
    if (match_paths_init(&m, p) != 0) {
        agg_free(&t);
        return -ENOMEM;
    }
    r->total[run] = (double)t.total_w / 1e6;
    char key[1024];
    int rc = 0;
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        /* The file relative to the script's root (match.h): the same script run from another
         * checkout (a baseline made on main, an --against command in ../main) meets its
         * functions; the line keeps two blocks of one method apart. */
        const char *file = match_file(&m, t.rows[i].file);
        snprintf(key, sizeof key, "%s\t%s\t%d", profile_str(p, t.rows[i].name), file ? file : "",
                 (int)t.rows[i].line);
        long k = file ? key_index(r, key, true) : -1;
        if (k < 0)
            rc = -ENOMEM;
        else
            r->ms[(size_t)k * r->nruns + run] += (double)t.rows[i].total_w / 1e6;
    }
    match_paths_free(&m);
    agg_free(&t);
    return rc;
}

/* The run set's keys as the matching rule sees them: "name\tfile\tline" (a baseline stored
 * before lines were kept has "name\tfile": line 0, paired by the rule's second step). The
 * strings live in *bufs (one per key, freed by free_keys). */
struct match_key *
run_keys(const struct run_set *r, char ***bufs)
{
    struct match_key *k = calloc(r->nkeys + 1, sizeof *k);
    *bufs = calloc(r->nkeys + 1, sizeof **bufs);
    if (!k || !*bufs) {
        free(k), free(*bufs);
        *bufs = NULL;
        return NULL;
    }
    for (size_t i = 0; i < r->nkeys; i++) {
        char *b = (*bufs)[i] = strdup(r->keys[i]);
        if (!b) {
            for (size_t j = 0; j < i; j++)
                free((*bufs)[j]);
            free(k), free(*bufs);
            *bufs = NULL;
            return NULL;
        }
        char *t1 = strchr(b, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t1)
            *t1 = 0;
        if (t2)
            *t2 = 0;
        k[i] = (struct match_key){b, t1 ? t1 + 1 : "", t2 ? (int32_t)strtol(t2 + 1, NULL, 10) : 0};
    }
    return k;
}

void
free_keys(struct match_key *k, char **bufs, size_t n)
{
    if (bufs)
        for (size_t i = 0; i < n; i++)
            free(bufs[i]);
    free(bufs), free(k);
}

/* --- the baseline file ---------------------------------------------------------------------- */

/* A number as cJSON printed it: an integer that fits an int as one, else the shortest of %.15g
 * and %.17g that reads back the same; null for NaN and infinities. */
static void
put_number(FILE *out, double d)
{
    char buf[32];
    if (!isfinite(d))
        snprintf(buf, sizeof buf, "null");
    else if (d >= -2147483648.0 && d <= 2147483647.0 && d == (double)(int)d)
        snprintf(buf, sizeof buf, "%d", (int)d);
    else if (snprintf(buf, sizeof buf, "%1.15g", d), strtod(buf, NULL) != d)
        snprintf(buf, sizeof buf, "%1.17g", d);
    fputs(buf, out);
}

/* The file, laid out as cJSON_Print laid it out (tabs, "key":<tab>value, arrays inline). */
static void
put_runs(FILE *out, const struct run_set *r, const char *script)
{
    fputs("{\n\t\"runs\":\t[", out);
    for (size_t i = 0; i < r->nruns; i++) {
        fputs(i ? ", {\n" : "{\n", out);
        fputs("\t\t\t\"functions\":\t{\n", out);
        bool first = true;
        for (size_t k = 0; k < r->nkeys; k++) {
            double ms = r->ms[k * r->nruns + i];
            if (!(ms > 0))
                continue;
            fputs(first ? "\t\t\t\t" : ",\n\t\t\t\t", out);
            json_str(out, r->keys[k]);
            fputs(":\t", out);
            put_number(out, ms);
            first = false;
        }
        fputs(first ? "\t\t\t},\n" : "\n\t\t\t},\n", out);
        fputs("\t\t\t\"total_ms\":\t", out);
        put_number(out, r->total[i]);
        fputs("\n\t\t}", out);
    }
    fputs("],\n\t\"mrprof_baseline\":\t1,\n\t\"script\":\t", out);
    json_str(out, script);
    fputs("\n}", out);
}

int
save_runs(const struct run_set *r, const char *path, const char *script)
{
    struct fio_atomic a;
    struct mp_err err;
    int rc = fio_begin(&a, path, &err);
    if (rc == 0) {
        put_runs(a.fp, r, script);
        rc = fio_commit(&a, &err);
    }
    if (rc)
        fprintf(stderr, "mrprof check: cannot write %s: %s\n", path, err.msg);
    return rc;
}

/* A stored baseline's text into r (r freed by the caller also on failure). */
int
parse_runs(struct run_set *r, const char *text, size_t len, const char *path)
{
    char *buf = malloc(len + 1); /* json_parse decodes strings in place */
    struct json_doc doc = {0};
    struct json_error jerr;
    if (!buf) {
        fprintf(stderr, "mrprof check: %s: out of memory\n", path);
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = 0;
    const struct json_val *root = json_parse(buf, len, &doc, &jerr) == 0 ? json_root(&doc) : NULL;
    const struct json_val *runs = json_get(root, "runs");
    int rc = -1;
    if (!json_is_obj(root) || !json_is_num(json_get(root, "mrprof_baseline")) ||
        !json_is_arr(runs) || json_len(runs) < 1) {
        fprintf(stderr,
                "mrprof check: %s is not a baseline written by 'mrprof check --save-baseline' "
                "(expected an object with \"mrprof_baseline\" and a non-empty \"runs\" array)\n",
                path);
        goto done;
    }
    if (run_set_init(r, json_len(runs)) != 0) {
        fprintf(stderr, "mrprof check: %s: out of memory\n", path);
        goto done;
    }
    size_t i = 0;
    JSON_EACH(run, runs)
    {
        const struct json_val *tot = json_get(run, "total_ms"), *fns = json_get(run, "functions");
        if (!json_is_num(tot) || !json_is_obj(fns)) {
            fprintf(stderr, "mrprof check: %s: run %zu lacks total_ms or functions\n", path, i + 1);
            goto done;
        }
        r->total[i] = tot->num;
        JSON_EACH(fn, fns)
        {
            if (!json_is_num(fn)) {
                fprintf(stderr, "mrprof check: %s: run %zu: the time of '%s' is not a number\n",
                        path, i + 1, fn->key);
                goto done;
            }
            long k = key_index(r, fn->key, true);
            if (k < 0) {
                fprintf(stderr, "mrprof check: %s: out of memory\n", path);
                goto done;
            }
            r->ms[(size_t)k * r->nruns + i] = fn->num;
        }
        i++;
    }
    rc = 0;
done:
    json_free(&doc);
    free(buf);
    return rc;
}

int
load_runs(struct run_set *r, const char *path)
{
    size_t len;
    struct mp_err err;
    char *text = fio_read_file(path, &len, &err);
    if (!text) {
        fprintf(stderr, "mrprof check: %s\n", err.msg);
        return -1;
    }
    int rc = parse_runs(r, text, len, path);
    free(text);
    return rc;
}

int
check_parse_baseline(const char *text, size_t len)
{
    struct run_set r = {0};
    int rc = parse_runs(&r, text, len, "baseline");
    run_set_free(&r);
    return rc;
}
