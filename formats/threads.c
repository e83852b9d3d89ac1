/*
 * threads.c — every thread of a profile to files: one per thread for the one-thread formats.
 */
#include "formats/threads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The number in a thread's file name: "Deferred worker N" -> N, else the thread's index. */
static size_t
file_number(const struct profile *p, size_t th)
{
    const char *name = profile_str(p, profile_threads(p)[th].name);
    static const char prefix[] = "Deferred worker ";
    if (name && strncmp(name, prefix, sizeof prefix - 1) == 0) {
        char *end;
        unsigned long n = strtoul(name + sizeof prefix - 1, &end, 10);
        if (*end == '\0' && n > 0 && n < 100000)
            return n;
    }
    return th;
}

int
fmt_write_threads(const struct profile *p, const char *path, const struct fmt_ops *f,
                  const struct fmt_write_opts *o, struct fmt_written **out, size_t *nout,
                  struct mp_err *e)
{
    *out = NULL;
    *nout = 0;
    struct fmt_write_opts wo = *o;
    size_t nt = profile_nthreads(p);
    bool per_thread = f->write == cpuprofile_write && nt > 1;
    size_t nfiles = per_thread ? nt : 1;
    size_t *count = calloc(nt + 1, sizeof *count), *num = calloc(nt + 1, sizeof *num);
    struct fmt_written *w = calloc(nfiles, sizeof *w);
    if (!count || !num || !w) {
        free(count), free(num), free(w);
        e->code = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return e->code;
    }
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < profile_nsamples(p); i++)
        if (s[i].thread < nt)
            count[s[i].thread]++;
    /* Worker numbers name the files unless two threads would share one (then indices do). */
    bool by_number = true;
    for (size_t th = 1; per_thread && th < nt; th++) {
        num[th] = file_number(p, th);
        if (num[th] == 0)
            by_number = false;
        for (size_t k = 1; k < th; k++)
            if (num[k] == num[th])
                by_number = false;
    }
    /* Files in the order of their numbers (thread 0 first). */
    for (size_t th = 0; th < nt; th++)
        if (!by_number || th == 0)
            num[th] = th;
    size_t *order = calloc(nfiles, sizeof *order);
    if (!order) {
        free(count), free(num), free(w);
        e->code = -ENOMEM;
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return e->code;
    }
    for (size_t i = 0; i < nfiles; i++) {
        size_t j = i;
        for (; j > 0 && num[order[j - 1]] > num[i]; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    int rc = 0;
    size_t n = 0;
    for (size_t k = 0; k < nfiles && rc == 0; k++) {
        size_t th = order[k];
        if (per_thread && th > 0 && count[th] == 0)
            continue;
        struct fmt_written *x = &w[n];
        const char *dot = strrchr(path, '.');
        size_t fnum = num[th];
        if (th == 0)
            snprintf(x->path, sizeof x->path, "%s", path);
        else if (!dot || strchr(dot, '/'))
            snprintf(x->path, sizeof x->path, "%s.thread-%zu", path, fnum);
        else
            snprintf(x->path, sizeof x->path, "%.*s.thread-%zu%s", (int)(dot - path), path, fnum,
                     dot);
        wo.thread = per_thread ? (int)th : o->thread;
        x->thread = per_thread                           ? (int)th
                    : f->write == cpuprofile_write && nt ? fmt_pick_thread(p, &wo)
                                                         : -1;
        x->samples = x->thread < 0 ? profile_nsamples(p) : count[x->thread];
        rc = fmt_write_path(p, x->path, f, &wo, e);
        if (rc == 0)
            n++;
    }
    free(count), free(num), free(order);
    *out = w;
    *nout = n;
    return rc;
}

void
fmt_written_describe(const struct profile *p, const struct fmt_written *w, size_t n, char *buf,
                     size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        const char *th = w[i].thread >= 0 && (size_t)w[i].thread < profile_nthreads(p)
                             ? profile_str(p, profile_threads(p)[w[i].thread].name)
                         : profile_nthreads(p) > 1 ? "every thread"
                                                   : NULL;
        int k = snprintf(buf + len, size - len, "%s%s (%s%s%zu samples)", i ? ", " : "", w[i].path,
                         th ? th : "", th ? ", " : "", w[i].samples);
        if (k < 0)
            break;
        len += (size_t)k;
    }
}
