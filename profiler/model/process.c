/*
 * process.c — the processes of one profile: a cluster's primary and its workers recorded as one
 * program (profile.h: threads belong to processes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/model/profile.h"

void
profile_process_label(const struct profile *p, uint32_t process, char *buf, size_t len)
{
    const char *name = profile_process_name(p, process);
    int64_t pid = profile_process_pid(p, process);
    if (*name && pid > 0)
        snprintf(buf, len, "%s (pid %lld)", name, (long long)pid);
    else if (*name)
        snprintf(buf, len, "%s", name);
    else if (pid > 0)
        snprintf(buf, len, "pid %lld", (long long)pid);
    else
        snprintf(buf, len, "process %u", process);
}

/* Copies src's allocation samples from index `from` on into dst, their threads and nodes mapped
 * by tmap and nmap (only those below nt and nn, and not UINT32_MAX, are mapped). Returns the
 * sampled bytes seen and, in *kept, those copied. */
double
profile_copy_allocs(struct profile *dst, const struct profile *src, size_t from,
                    const uint32_t *tmap, size_t nt, const uint32_t *nmap, size_t nn, double *kept)
{
    const struct prof_alloc *a = profile_allocs(src);
    double all = 0;
    *kept = 0;
    for (size_t i = from; i < profile_nallocs(src); i++) {
        all += a[i].bytes;
        if (a[i].thread >= nt || a[i].node >= nn || tmap[a[i].thread] == UINT32_MAX)
            continue;
        *kept += a[i].bytes;
        size_t id = profile_add_alloc(dst, tmap[a[i].thread], nmap[a[i].node], a[i].t_ns, a[i].size,
                                      a[i].bytes, a[i].count);
        if (!dst->oom)
            ((struct prof_alloc *)dst->allocs.data)[id].freed_ns = a[i].freed_ns;
    }
    return all;
}

void
profile_meta_add(struct profile_meta *dst, const struct profile_meta *src)
{
    if (src->start_ns && (!dst->start_ns || src->start_ns < dst->start_ns))
        dst->start_ns = src->start_ns;
    if (src->end_ns > dst->end_ns)
        dst->end_ns = src->end_ns;
    dst->signals += src->signals;
    dst->dropped += src->dropped;
    dst->truncated += src->truncated;
    struct profile_heap_meta *h = &dst->heap; /* exact counts add up; the rate is one */
    h->alloc_bytes += src->heap.alloc_bytes;
    h->alloc_count += src->heap.alloc_count;
    h->free_count += src->heap.free_count;
    h->estimated_bytes += src->heap.estimated_bytes;
    if (!h->interval)
        h->interval = src->heap.interval;
}

int
profile_merge_process(struct profile *dst, const struct profile *src)
{
    uint32_t *nmap = malloc((src->nodes.len + 1) * sizeof *nmap);
    uint32_t *pmap = malloc((src->processes.len + 1) * sizeof *pmap);
    uint32_t *tmap = malloc((src->threads.len + 1) * sizeof *tmap);
    int rc = -ENOMEM;
    if (!nmap || !pmap || !tmap || profile_graft(dst, src, NULL, nmap) != 0)
        goto out;
    char name[96];
    snprintf(name, sizeof name, "%s",
             src->meta.process_name[0] ? src->meta.process_name : "process");
    pmap[0] = profile_add_process(dst, src->meta.pid, name);
    for (size_t i = 0; i < src->processes.len; i++)
        pmap[i + 1] = profile_add_process(dst, profile_process_pid(src, (uint32_t)i + 1),
                                          profile_process_name(src, (uint32_t)i + 1));
    /* Each process's own exact heap counts, for one process cut out later (--process). */
    for (size_t i = 0; i <= src->processes.len; i++) {
        struct profile_heap_meta h;
        if (profile_process_heap(src, (uint32_t)i, &h))
            profile_set_process_heap(dst, pmap[i], &h);
    }
    const struct prof_thread_info *t = src->threads.data;
    for (size_t i = 0; i < src->threads.len; i++) {
        tmap[i] = profile_add_thread(dst, t[i].tid, profile_str(src, t[i].name));
        if (!dst->oom)
            ((struct prof_thread_info *)dst->threads.data)[tmap[i]].process =
                t[i].process <= src->processes.len ? pmap[t[i].process] : pmap[0];
    }
    const struct prof_sample *s = src->samples.data;
    for (size_t i = 0; i < src->samples.len; i++)
        if (s[i].thread < src->threads.len && s[i].node < src->nodes.len)
            profile_add_sample(dst, tmap[s[i].thread], nmap[s[i].node], s[i].line, s[i].t_ns,
                               s[i].weight_ns);
    const struct prof_span *sp = src->spans.data;
    for (size_t i = 0; i < src->spans.len; i++)
        if (sp[i].thread < src->threads.len)
            profile_add_span(dst, tmap[sp[i].thread], profile_str(src, sp[i].name), sp[i].start_ns,
                             sp[i].dur_ns);
    const struct prof_counter *c = src->counters.data;
    for (size_t i = 0; i < src->counters.len; i++) {
        char cn[256];
        snprintf(cn, sizeof cn, "%s (%s)", profile_str(src, c[i].name), name);
        profile_add_counter(dst, cn, c[i].t_ns, c[i].value);
    }
    double kept; /* the memory view of a cluster */
    profile_copy_allocs(dst, src, 0, tmap, src->threads.len, nmap, src->nodes.len, &kept);
    profile_meta_add(&dst->meta, &src->meta);
    profile_sort_samples(dst);
    rc = dst->oom ? -ENOMEM : 0;
out:
    free(nmap), free(pmap), free(tmap);
    return rc;
}

/* Whether sel names process k: its pid, its whole name, or its name's last word ("1" of
 * "cluster worker 1" after "worker "): "worker 1", "cluster worker 1", "primary". */
static bool
process_matches(const struct profile *p, uint32_t k, const char *sel)
{
    char *end;
    long long n = strtoll(sel, &end, 10);
    if (*sel && !*end)
        return (n > 0 && profile_process_pid(p, k) == n) || (n == 0 && k == 0);
    const char *name = profile_process_name(p, k);
    if (strcmp(name, sel) == 0)
        return true;
    size_t nl = strlen(name), sl = strlen(sel);
    if (sl < nl && strcmp(name + nl - sl, sel) == 0 && name[nl - sl - 1] == ' ')
        return true; /* "worker 1" of "cluster worker 1" */
    return k == 0 && (strcmp(sel, "primary") == 0 || strcmp(sel, "cluster primary") == 0);
}

int
profile_parse_process(const struct profile *p, const char *sel, uint32_t *process, struct mp_err *e)
{
    for (uint32_t k = 0; k < profile_nprocesses(p); k++)
        if (process_matches(p, k, sel)) {
            *process = k;
            return 0;
        }
    char list[512] = "";
    size_t at = 0;
    for (uint32_t k = 0; k < profile_nprocesses(p) && at < sizeof list - 1; k++) {
        char label[128];
        profile_process_label(p, k, label, sizeof label);
        int w = snprintf(list + at, sizeof list - at, "%s%s", k ? ", " : "", label);
        at += w > 0 ? (size_t)w : 0;
    }
    return mp_errf(e, -EINVAL, "no process '%s' in the profile (it holds: %s)", sel, list);
}

struct profile *
profile_only_process(const struct profile *src, uint32_t process)
{
    struct profile *p = profile_new();
    uint32_t *nmap = malloc((src->nodes.len + 1) * sizeof *nmap);
    uint32_t *tmap = malloc((src->threads.len + 1) * sizeof *tmap);
    if (!p || !nmap || !tmap || profile_graft(p, src, NULL, nmap) != 0)
        goto fail;
    p->meta = src->meta;
    p->meta.pid = profile_process_pid(src, process);
    snprintf(p->meta.process_name, sizeof p->meta.process_name, "%s",
             profile_process_name(src, process));
    const struct prof_thread_info *t = src->threads.data;
    for (size_t i = 0; i < src->threads.len; i++)
        tmap[i] = t[i].process == process
                      ? profile_add_thread(p, t[i].tid, profile_str(src, t[i].name))
                      : UINT32_MAX;
    const struct prof_sample *s = src->samples.data;
    double sampled = 0, sampled_kept = 0; /* a heap profile's samples weigh bytes */
    for (size_t i = 0; i < src->samples.len; i++) {
        sampled += (double)s[i].weight_ns;
        if (s[i].thread < src->threads.len && tmap[s[i].thread] != UINT32_MAX) {
            sampled_kept += (double)s[i].weight_ns;
            profile_add_sample(p, tmap[s[i].thread], nmap[s[i].node], s[i].line, s[i].t_ns,
                               s[i].weight_ns);
        }
    }
    const struct prof_span *sp = src->spans.data;
    for (size_t i = 0; i < src->spans.len; i++)
        if (sp[i].thread < src->threads.len && tmap[sp[i].thread] != UINT32_MAX)
            profile_add_span(p, tmap[sp[i].thread], profile_str(src, sp[i].name), sp[i].start_ns,
                             sp[i].dur_ns);
    /* Its allocation samples. Its heap counts: its own exact ones when the merge kept them (the
     * profiles were read from files, one per process); else the totals were summed over the
     * processes, and this one's share is estimated by its share of the sampled bytes (the rate
     * is the same): of the allocation samples, or of a .heapprofile's samples (bytes). */
    double kept,
        all = profile_copy_allocs(p, src, 0, tmap, src->threads.len, nmap, src->nodes.len, &kept);
    struct profile_heap_meta own;
    if (all == 0 && src->meta.mode == PROFILE_HEAP)
        all = sampled, kept = sampled_kept;
    if (profile_process_heap(src, process, &own)) {
        if (!own.interval)
            own.interval = src->meta.heap.interval;
        p->meta.heap = own;
    } else if (all > 0 && kept < all) {
        double f = kept / all;
        p->meta.heap.alloc_bytes = (uint64_t)((double)src->meta.heap.alloc_bytes * f + 0.5);
        p->meta.heap.alloc_count = (uint64_t)((double)src->meta.heap.alloc_count * f + 0.5);
        p->meta.heap.free_count = (uint64_t)((double)src->meta.heap.free_count * f + 0.5);
        p->meta.heap.estimated_bytes = src->meta.heap.estimated_bytes * f;
    }
    if (process == 0) {
        const struct prof_counter *c = src->counters.data;
        for (size_t i = 0; i < src->counters.len; i++)
            profile_add_counter(p, profile_str(src, c[i].name), c[i].t_ns, c[i].value);
    }
    free(nmap), free(tmap);
    if (p->oom) {
        profile_free(p);
        return NULL;
    }
    return p;
fail:
    free(nmap), free(tmap);
    profile_free(p);
    return NULL;
}
