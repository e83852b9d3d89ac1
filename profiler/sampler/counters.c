/*
 * counters.c — memory: GC and process counters (RSS, live objects, heap pages, GC cycles, bytes
 * allocated and in use), recorded into the profile at most every 20 ms while memory is
 * profiled, on the main VM's thread.
 */
#include "profiler/sampler/internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <mruby/gc.h>

#include "profiler/model/profile.h"

static double
rss_bytes(void)
{
    /* /proc/self/statm: size resident shared text lib data dt, in pages. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
        return 0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

void
prof__counters_tick(struct prof_thread *t)
{
    struct prof_session *s = t->session;
    if (!t->loop_state || !atomic_load_explicit(&s->heap_interval, memory_order_relaxed) ||
        prof__naming)
        return; /* the main VM only: the process's counters, and its heap */
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    if (now < t->next_counter_ns)
        return;
    t->next_counter_ns = now + 20 * 1000 * 1000;
    const mrb_gc *gc = &t->mrb->gc;
    size_t pages = 0;
    for (const mrb_heap_page *pg = gc->heaps; pg; pg = pg->next)
        pages++;
    double rss = rss_bytes();
    pthread_mutex_lock(&s->lock);
    if (!s->stopped) {
        struct profile *p = s->profile;
        profile_add_counter(p, "RSS bytes", now, rss);
        profile_add_counter(p, "live objects", now, (double)gc->live);
        profile_add_counter(p, "heap pages", now, (double)pages);
        profile_add_counter(p, "GC cycles", now, (double)t->gc_cycles);
        profile_add_counter(p, "allocated bytes", now,
                            (double)atomic_load_explicit(&t->heap_bytes, memory_order_relaxed));
        profile_add_counter(p, "in-use bytes (sampled)", now,
                            t->heap_in_use > 0 ? t->heap_in_use : 0);
    }
    pthread_mutex_unlock(&s->lock);
}
