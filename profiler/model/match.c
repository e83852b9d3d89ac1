/*
 * match.c — one matching rule for every comparison of two profiles (see match.h).
 */
#include "profiler/model/match.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- paths ------------------------------------------------------------------------------------ */

/* A path's components after normalising: "file://" dropped, "." and empty components gone,
 * "x/.." folded. Returns a malloc'd "/a/b" (absolute) or "a/b" string, or NULL. */
static char *
normalise(const char *path)
{
    if (strncmp(path, "file://", 7) == 0)
        path += 7;
    size_t len = strlen(path);
    char *out = malloc(len + 2), *copy = strdup(path);
    if (!out || !copy) {
        free(out), free(copy);
        return NULL;
    }
    bool abs = path[0] == '/';
    size_t o = 0, kept = 0; /* kept: components that a ".." may fold */
    if (abs)
        out[o++] = '/';
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0 && kept > 0) {
            while (o > 0 && out[o - 1] != '/') /* drop the last component */
                o--;
            if (o > (size_t)abs)
                o--; /* and its slash */
            kept--;
            continue;
        }
        if (strcmp(c, "..") == 0 && abs)
            continue; /* "/.." is "/" */
        if (o > (size_t)abs)
            out[o++] = '/';
        size_t cl = strlen(c);
        memcpy(out + o, c, cl);
        o += cl;
        if (strcmp(c, "..") != 0)
            kept++;
    }
    out[o] = 0;
    free(copy);
    return out;
}

static bool
has_scheme(const char *f)
{
    const char *colon = strchr(f, ':');
    if (!colon || strncmp(f, "file://", 7) == 0)
        return false;
    for (const char *c = f; c < colon; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '+' || *c == '-' || *c == '.'))
            return false;
    return colon > f + 1; /* "node:fs", "http://..." — not "C:" nor "a:b" with a slash first */
}

static const char *
base_name(const char *f)
{
    const char *slash = strrchr(f, '/');
    return slash ? slash + 1 : f;
}

/* Splits a normalised path into its components in place; returns how many (at most max). */
static size_t
components(char *path, char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *c = strtok_r(path, "/", &save); c && n < max; c = strtok_r(NULL, "/", &save))
        out[n++] = c;
    return n;
}

#define MAX_DEPTH 256

char *
match_relative(const char *root, const char *file)
{
    if (!root || !*file || has_scheme(file))
        return strdup(file);
    char *n = normalise(file), *r = strdup(root);
    char *out = NULL;
    if (!n || !r)
        goto done;
    if ((n[0] == '/') != (r[0] == '/')) { /* an absolute path and a relative root do not meet */
        out = strdup(base_name(n));
        goto done;
    }
    char *fc[MAX_DEPTH], *rc[MAX_DEPTH];
    size_t nf = components(n, fc, MAX_DEPTH), nr = components(r, rc, MAX_DEPTH), c = 0;
    while (c < nf && c < nr && strcmp(fc[c], rc[c]) == 0)
        c++;
    size_t len = 1;
    for (size_t k = c; k < nr; k++) {
        if (strcmp(rc[k], "..") == 0) { /* climbing over ".." cannot be undone lexically */
            out = strdup(base_name(file));
            goto done;
        }
        len += 3;
    }
    for (size_t k = c; k < nf; k++)
        len += strlen(fc[k]) + 1;
    if (!(out = malloc(len)))
        goto done;
    out[0] = 0;
    for (size_t k = c; k < nr; k++)
        strcat(out, "../");
    for (size_t k = c; k < nf; k++)
        strcat(strcat(out, fc[k]), k + 1 < nf ? "/" : "");
done:
    free(n), free(r);
    return out;
}

/* The entry script: the file of the `<main>` frame that heads the most sample weight (the
 * runtime's prelude and each worker have a `<main>` of their own, with little time), or of the
 * first `<main>` with a file when none has samples. */
static const char *
entry_script(const struct profile *p)
{
    uint32_t main_name = profile_find_str(p, "<main>");
    if (main_name == UINT32_MAX)
        return NULL;
    const struct prof_frame *f = profile_frames(p);
    const struct prof_node *n = profile_nodes(p);
    size_t nn = profile_nnodes(p), nf = profile_nframes(p);
    uint32_t *top = malloc((nn ? nn : 1) * sizeof *top);
    uint64_t *w = calloc(nf + 1, sizeof *w);
    uint32_t best = UINT32_MAX;
    if (top && w) {
        top[0] = 0;
        for (size_t i = 1; i < nn; i++) /* parents precede children */
            top[i] = n[i].parent == 0 ? (uint32_t)i : top[n[i].parent];
        const struct prof_sample *s = profile_samples(p);
        for (size_t i = 0; i < profile_nsamples(p); i++)
            if (s[i].node)
                w[n[top[s[i].node]].frame] += s[i].weight_ns + 1;
        for (size_t i = 0; i < nf; i++)
            if (f[i].name == main_name && *profile_str(p, f[i].file) && w[i] &&
                (best == UINT32_MAX || w[i] > w[best]))
                best = (uint32_t)i;
    }
    free(top), free(w);
    for (size_t i = 0; i < nf && best == UINT32_MAX; i++)
        if (f[i].name == main_name && *profile_str(p, f[i].file))
            best = (uint32_t)i;
    return best == UINT32_MAX ? NULL : profile_str(p, f[best].file);
}

/* The longest common directory of the profile's absolute (or file://) paths, or NULL. */
static char *
common_directory(const struct profile *p)
{
    char *common = NULL;
    const struct prof_frame *f = profile_frames(p);
    for (size_t i = 0; i < profile_nframes(p); i++) {
        const char *file = profile_str(p, f[i].file);
        if (has_scheme(file) || !(file[0] == '/' || strncmp(file, "file://", 7) == 0))
            continue;
        char *n = normalise(file);
        if (!n)
            break;
        char *slash = strrchr(n, '/');
        slash[slash == n ? 1 : 0] = 0; /* its directory */
        if (!common) {
            common = n;
            continue;
        }
        size_t k = 0;
        while (common[k] && common[k] == n[k])
            k++;
        if (!(common[k] == 0 && (n[k] == 0 || n[k] == '/'))) { /* cut back to a whole component */
            while (k > 1 && common[k] != '/')
                k--;
            common[k > 1 ? k : 1] = 0;
        }
        free(n);
    }
    return common;
}

int
match_paths_init(struct match_paths *m, const struct profile *p)
{
    memset(m, 0, sizeof *m);
    m->p = p;
    m->n = p->strings.offs.len;
    m->rel = calloc(m->n + 1, sizeof *m->rel);
    if (!m->rel)
        return -ENOMEM;
    const char *entry = entry_script(p);
    if (entry && !has_scheme(entry)) {
        m->root = normalise(entry);
        if (!m->root) {
            match_paths_free(m);
            return -ENOMEM;
        }
        char *slash = strrchr(m->root, '/');
        if (!slash)
            m->root[0] = 0; /* "app.rb": the working directory, "" */
        else
            slash[slash == m->root ? 1 : 0] = 0;
    } else {
        m->root = common_directory(p);
    }
    return 0;
}

void
match_paths_free(struct match_paths *m)
{
    if (m->rel)
        for (size_t i = 0; i < m->n; i++)
            free(m->rel[i]);
    free(m->rel), free(m->root);
    memset(m, 0, sizeof *m);
}

const char *
match_file(struct match_paths *m, uint32_t file)
{
    if (file >= m->n)
        return profile_str(m->p, file);
    if (!m->rel[file])
        m->rel[file] = match_relative(m->root, profile_str(m->p, file));
    return m->rel[file];
}

/* --- pairing ---------------------------------------------------------------------------------- */

struct ref {
    const struct match_key *k;
    size_t i;
};

static int
ref_cmp_fn(const struct match_key *x, const struct match_key *y)
{
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->file, y->file);
}

static int
ref_cmp(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    int c = ref_cmp_fn(x->k, y->k);
    if (c)
        return c;
    if (x->k->line != y->k->line)
        return x->k->line < y->k->line ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static struct ref *
sorted_refs(const struct match_key *k, size_t n)
{
    struct ref *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++)
        r[i].k = &k[i], r[i].i = i;
    qsort(r, n, sizeof *r, ref_cmp);
    return r;
}

int
match_pair(const struct match_key *a, size_t na, const struct match_key *b, size_t nb, long *a_to_b)
{
    struct ref *ra = sorted_refs(a, na), *rb = sorted_refs(b, nb);
    bool *used = calloc(nb + 1, sizeof *used);
    if (!ra || !rb || !used) {
        free(ra), free(rb), free(used);
        return -ENOMEM;
    }
    for (size_t i = 0; i < na; i++)
        a_to_b[i] = -1;
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        int c = ref_cmp_fn(ra[i].k, rb[j].k);
        if (c < 0) {
            i++;
            continue;
        }
        if (c > 0) {
            j++;
            continue;
        }
        /* One (name, file) on both sides: [i, ie) and [j, je), each in line order. */
        size_t ie = i, je = j;
        while (ie < na && ref_cmp_fn(ra[ie].k, ra[i].k) == 0)
            ie++;
        while (je < nb && ref_cmp_fn(rb[je].k, rb[j].k) == 0)
            je++;
        for (size_t x = i, y = j; x < ie && y < je;) { /* the same line first */
            if (ra[x].k->line < rb[y].k->line) {
                x++;
            } else if (ra[x].k->line > rb[y].k->line) {
                y++;
            } else {
                a_to_b[ra[x].i] = (long)rb[y].i;
                used[y] = true;
                x++, y++;
            }
        }
        for (size_t x = i, y = j; x < ie; x++) { /* then the rest in line order */
            if (a_to_b[ra[x].i] >= 0)
                continue;
            while (y < je && used[y])
                y++;
            if (y == je)
                break;
            a_to_b[ra[x].i] = (long)rb[y].i;
            used[y++] = true;
        }
        i = ie, j = je;
    }
    free(ra), free(rb), free(used);
    return 0;
}

long
match_distinct(const struct match_key *k, size_t n, uint32_t *id, uint32_t *first)
{
    struct ref *r = sorted_refs(k, n);
    if (!r)
        return -ENOMEM;
    long d = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || ref_cmp_fn(r[i - 1].k, r[i].k) != 0 || r[i - 1].k->line != r[i].k->line)
            first[d++] = (uint32_t)r[i].i; /* sorted by index within equal keys: the lowest */
        id[r[i].i] = (uint32_t)(d - 1);
    }
    free(r);
    return d;
}

/* --- functions named by the user ---------------------------------------------------------------
 */

bool
match_spec_parse(const char *spec, struct match_spec *s)
{
    memset(s, 0, sizeof *s);
    const char *at = strrchr(spec, '@');
    size_t nl = at ? (size_t)(at - spec) : strlen(spec);
    if (nl == 0 || nl >= sizeof s->name)
        return false;
    memcpy(s->name, spec, nl);
    if (!at)
        return true;
    const char *file = at + 1, *colon = strrchr(file, ':');
    size_t fl = strlen(file);
    if (colon && colon[1]) {
        char *end;
        long line = strtol(colon + 1, &end, 10);
        if (!*end && line > 0 && line < INT32_MAX) {
            s->line = (int32_t)line;
            fl = (size_t)(colon - file);
        }
    }
    if (fl == 0 || fl >= sizeof s->file)
        return false;
    memcpy(s->file, file, fl);
    return true;
}

/* Whether file (as match_file gives it) is want, or ends in "/" + want. */
static bool
file_is(const char *file, const char *want)
{
    size_t fl = strlen(file), wl = strlen(want);
    if (fl == wl)
        return strcmp(file, want) == 0;
    return fl > wl && file[fl - wl - 1] == '/' && strcmp(file + fl - wl, want) == 0;
}

long
match_spec_frames(const struct match_spec *s, struct match_paths *m, bool *hit)
{
    const struct profile *p = m->p;
    const struct prof_frame *f = profile_frames(p);
    size_t nf = profile_nframes(p);
    struct match_key *keys = malloc((nf ? nf : 1) * sizeof *keys);
    if (!keys)
        return -ENOMEM;
    size_t nk = 0;
    for (size_t i = 0; i < nf; i++) {
        hit[i] = false;
        if (strcmp(profile_str(p, f[i].name), s->name) != 0 || (s->line && f[i].line != s->line))
            continue;
        const char *file = match_file(m, f[i].file);
        if (!file) {
            free(keys);
            return -ENOMEM;
        }
        if (s->file[0] && !file_is(file, s->file) && !file_is(profile_str(p, f[i].file), s->file))
            continue;
        hit[i] = true;
        bool seen = false;
        for (size_t k = 0; k < nk && !seen; k++)
            seen = keys[k].line == f[i].line && strcmp(keys[k].file, file) == 0;
        if (!seen)
            keys[nk++] = (struct match_key){s->name, file, f[i].line};
    }
    free(keys);
    return (long)nk;
}

double
match_inclusive_pct(const struct profile *p, const bool *hit)
{
    size_t nn = profile_nnodes(p);
    const struct prof_node *n = profile_nodes(p);
    bool *in = malloc(nn ? nn : 1);
    if (!in)
        return 0.0;
    in[0] = false;
    for (size_t i = 1; i < nn; i++) /* parents precede children */
        in[i] = in[n[i].parent] || hit[n[i].frame];
    uint64_t all = 0, part = 0;
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        all += s[i].weight_ns;
        if (in[s[i].node])
            part += s[i].weight_ns;
    }
    free(in);
    return all ? 100.0 * (double)part / (double)all : 0.0;
}
