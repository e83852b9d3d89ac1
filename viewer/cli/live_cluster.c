/*
 * live_cluster.c — the live streams of a cluster for `mrprof top` (live_cluster.h).
 *
 * Workers are found by name: the primary serves unix:DIR/BASE, a worker unix:DIR/BASE.worker-
 * <id>.<pid> (runtime/profiling.c, rt_prof_cluster_worker). The directory is read when inotify
 * says a name was made in it (at once: a short-lived worker is not missed for want of a look),
 * and every 200 ms besides; a new name is connected to with the same hello as the primary's
 * (attach.c). Anything that is
 * not a worker's stream is skipped with a line in the status bar and never tried again: a file
 * that is not a socket, a socket nobody listens on (after three tries: a worker binds its socket
 * a moment before it listens), one that sends what is not a live profile, or one that sends no
 * welcome within 5 s. The streams are non-blocking and read only when epoll says so (the viewer
 * waits on one descriptor), so a stalled peer costs nothing and cannot hang the viewer.
 */
#include "viewer/cli/live_cluster.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "viewer/cli/attach.h"

enum member_state { M_OPEN, M_ENDED, M_FAILED };

/* How far a member's profile has been copied into the merged one, and its ids there. */
struct live_map {
    const struct profile *src; /* the decoder's profile copied from (a reset replaces it) */
    uint32_t resets, renames;  /* the decoder's counts when copied */
    uint32_t proc;             /* its process in the merged profile */
    uint32_t *fmap, *nmap, *tmap;
    size_t capf, capn, capt;
    size_t nf, nn, nt, ns, nspans, ncounters, nallocs; /* records copied */
};

struct live_member {
    int fd; /* -1 once closed */
    struct live_decoder dec;
    struct live_map map;
    long id;        /* worker id (0: the first stream) */
    char name[256]; /* its name in the directory ("" for the first stream) */
    enum member_state st;
    bool merged; /* in order[] (it has welcomed) */
    uint64_t opened_ms;
};

#define SCAN_MS 200
#define FULL_MS 1000 /* the least time between two whole merges for renamed frames */
#define WELCOME_MS 5000
#define REFUSED_TRIES 3

/* A line for the status bar; on stderr too without a terminal (--once). */
static void __attribute__((format(printf, 3, 4)))
say(const struct live_cluster *c, struct tv *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->status, sizeof v->status, fmt, ap);
    va_end(ap);
    if (c->say_on_stderr)
        fprintf(stderr, "mrprof top: %s\n", v->status);
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
add_member(struct live_cluster *c, int fd, long id, const char *name)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        struct live_member *m = realloc(c->m, cap * sizeof *m);
        uint32_t *o = realloc(c->order, cap * sizeof *o);
        if (m)
            c->m = m;
        if (o)
            c->order = o;
        if (!m || !o)
            return -ENOMEM;
        c->cap = cap;
    }
    struct live_member *m = &c->m[c->n];
    memset(m, 0, sizeof *m);
    m->fd = fd;
    m->id = id;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->opened_ms = now_ms();
    live_decoder_init(&m->dec);
    if (!m->dec.p)
        return -ENOMEM;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = c->n};
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int en = errno;
        live_decoder_free(&m->dec);
        return -en;
    }
    c->n++;
    return 0;
}

int
live_cluster_init(struct live_cluster *c, int fd, const char *addr, const char *want_process)
{
    memset(c, 0, sizeof *c);
    c->timerfd = c->inotifyfd = -1;
    c->want = want_process;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (c->epfd < 0)
        return -errno;
    c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {{0, 100 * 1000 * 1000}, {0, 100 * 1000 * 1000}};
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    if (c->timerfd < 0 || timerfd_settime(c->timerfd, 0, &its, NULL) != 0 ||
        epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->timerfd, &ev) != 0)
        return -errno;
    if (strncmp(addr, "unix:", 5) == 0) {
        const char *path = addr + 5, *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        size_t dl = slash ? (size_t)(slash - path) : 0;
        if (strlen(base) + 32 < sizeof c->base && dl < sizeof c->dir) {
            c->discover = true;
            snprintf(c->dir, sizeof c->dir, "%.*s", (int)dl, slash == path ? "/" : path);
            if (!slash)
                snprintf(c->dir, sizeof c->dir, ".");
            snprintf(c->base, sizeof c->base, "%s.worker-", base);
            c->inotifyfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
            struct epoll_event iev = {.events = EPOLLIN, .data.u64 = UINT64_MAX - 1};
            if (c->inotifyfd >= 0 &&
                (inotify_add_watch(c->inotifyfd, c->dir, IN_CREATE | IN_MOVED_TO) < 0 ||
                 epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->inotifyfd, &iev) != 0)) {
                close(c->inotifyfd); /* the periodic look is enough */
                c->inotifyfd = -1;
            }
        }
    }
    int rc = add_member(c, fd, 0, "");
    if (rc == 0) {
        c->order[0] = 0;
        c->norder = 1;
        c->m[0].merged = true;
    }
    return rc;
}

static void
close_member(struct live_cluster *c, struct live_member *m, enum member_state st)
{
    if (m->fd >= 0) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, m->fd, NULL);
        close(m->fd);
        m->fd = -1;
    }
    m->st = st;
}

void
live_cluster_free(struct live_cluster *c)
{
    for (size_t i = 0; i < c->n; i++) {
        close_member(c, &c->m[i], c->m[i].st);
        live_decoder_free(&c->m[i].dec);
        free(c->m[i].map.fmap);
        free(c->m[i].map.nmap);
        free(c->m[i].map.tmap);
    }
    free(c->m);
    free(c->order);
    free(c->skipped);
    free(c->state);
    profile_free(c->merged);
    if (c->timerfd >= 0)
        close(c->timerfd);
    if (c->inotifyfd >= 0)
        close(c->inotifyfd);
    if (c->epfd >= 0)
        close(c->epfd);
    memset(c, 0, sizeof *c);
    c->epfd = c->timerfd = c->inotifyfd = -1;
}

const struct live_decoder *
live_cluster_primary(const struct live_cluster *c)
{
    return &c->m[0].dec;
}

/* How a stream's reading stopped (drain). */
enum drain_end { D_AGAIN, D_CLOSED, D_BAD, D_ENDED };

/* Reads m's stream into its decoder until it would block, closes, breaks the protocol or says
 * its end; *changed is set when the profile changed. */
static enum drain_end
drain(struct live_member *m, int *changed)
{
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(m->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return D_AGAIN;
        if (n <= 0)
            return D_CLOSED;
        int r = live_decode(&m->dec, buf, (size_t)n);
        if (r < 0)
            return D_BAD;
        *changed |= r;
        if (m->dec.ended)
            return D_ENDED;
    }
}

/* A worker's stream: what it has, or its end. Returns 1 when its profile changed. */
static int
read_worker(struct live_cluster *c, struct live_member *m, struct tv *v)
{
    int changed = 0;
    switch (drain(m, &changed)) {
    case D_CLOSED:
        if (!m->dec.welcomed) {
            say(c, v, "skipped %.200s: it closed before a live profile's welcome", m->name);
            close_member(c, m, M_FAILED);
        } else {
            snprintf(v->status, sizeof v->status, "cluster worker %ld (pid %u) ended", m->id,
                     m->dec.pid);
            close_member(c, m, M_ENDED);
        }
        return 1;
    case D_BAD:
        say(c, v, "skipped %.200s: not a live profile (%.200s)", m->name, m->dec.err.msg);
        close_member(c, m, m->merged ? M_ENDED : M_FAILED);
        return 1;
    case D_ENDED:
        close_member(c, m, M_ENDED);
        return 1;
    case D_AGAIN:
        break;
    }
    if (!m->dec.welcomed && now_ms() - m->opened_ms > WELCOME_MS) {
        say(c, v, "skipped %.200s: no welcome within %d s", m->name, WELCOME_MS / 1000);
        close_member(c, m, M_FAILED);
        return 1;
    }
    return changed;
}

/* The first stream: as `mrprof top` of one process. Returns 1 changed, 0, or -1 at its end. */
static int
read_primary(struct live_cluster *c, struct tv *v)
{
    struct live_member *m = &c->m[0];
    int changed = 0;
    switch (drain(m, &changed)) {
    case D_CLOSED: /* the program closed the stream: it ended (or died) */
        v->ended = true;
        if (!m->dec.ended)
            snprintf(v->status, sizeof v->status, "the program closed the live stream");
        close_member(c, m, M_ENDED);
        return -1;
    case D_BAD:
        c->failed = true;
        v->ended = true;
        snprintf(v->status, sizeof v->status, "live stream error: %.120s", m->dec.err.msg);
        close_member(c, m, M_FAILED);
        return -1;
    case D_ENDED:
        v->ended = true;
        v->exit_code = m->dec.exit_status;
        close_member(c, m, M_ENDED);
        return -1;
    case D_AGAIN:
        break;
    }
    return changed;
}

/* The name's entry among those tried and not taken, or NULL. */
static struct live_skip *
skipped(const struct live_cluster *c, const char *name)
{
    for (size_t i = 0; i < c->nskipped; i++)
        if (strcmp(c->skipped[i].name, name) == 0)
            return &c->skipped[i];
    return NULL;
}

static bool
taken(const struct live_cluster *c, const char *name)
{
    for (size_t i = 1; i < c->n; i++)
        if (strcmp(c->m[i].name, name) == 0)
            return true;
    const struct live_skip *s = skipped(c, name);
    return s && s->tries >= REFUSED_TRIES;
}

/* One more failed try of name; the last (or a final one: why it is not a worker) goes to the
 * status line, and the name is not tried again. */
static void
skip(struct live_cluster *c, struct tv *v, const char *name, const char *why, bool final)
{
    struct live_skip *s = skipped(c, name);
    if (!s) {
        struct live_skip *more = realloc(c->skipped, (c->nskipped + 1) * sizeof *more);
        if (!more)
            return; /* tried again at the next scan */
        c->skipped = more;
        s = &c->skipped[c->nskipped++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", name);
    }
    s->tries = final ? REFUSED_TRIES : s->tries + 1;
    if (s->tries >= REFUSED_TRIES)
        say(c, v, "skipped %.200s: %.300s", name, why);
}

/* Looks for workers' sockets in the directory; connects to the new ones. */
static void
scan(struct live_cluster *c, struct tv *v)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return;
    size_t bl = strlen(c->base);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, c->base, bl) != 0 || strlen(e->d_name) >= 256 || taken(c, e->d_name))
            continue;
        char *end;
        long id = strtol(e->d_name + bl, &end, 10);
        if (end == e->d_name + bl || *end != '.' || id <= 0)
            continue; /* not the workers' naming: not ours */
        const char *pid = end + 1;
        strtol(pid, &end, 10);
        if (end == pid || *end)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "unix:%s/%s", c->dir, e->d_name);
        struct stat st;
        if (lstat(path + 5, &st) != 0)
            continue; /* gone since readdir */
        if (!S_ISSOCK(st.st_mode)) {
            skip(c, v, e->d_name, "not a socket", true);
            continue;
        }
        struct mp_err err = {0};
        int fd = attach_open(path, NULL, &err);
        if (fd < 0) {
            /* A worker binds its socket a moment before it listens: a refusal is tried again at
             * the next scans before the name is left. */
            skip(c, v, e->d_name, err.msg, err.code != -ECONNREFUSED);
            continue;
        }
        if (add_member(c, fd, id, e->d_name) != 0) {
            close(fd);
            skip(c, v, e->d_name, "out of memory", true);
        }
    }
    closedir(d);
}

static bool
grow_map(uint32_t **map, size_t *cap, size_t n)
{
    if (n <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    uint32_t *m = realloc(*map, c * sizeof *m);
    if (!m)
        return false;
    *map = m;
    *cap = c;
    return true;
}

/* Copies what member m's profile gained since the last copy into dst (as process m->map.proc):
 * the tables only grow between resets, so only their new records are read. 0 or -ENOMEM. */
static int
copy_new(struct profile *dst, struct live_member *m, bool primary)
{
    struct live_map *mp = &m->map;
    const struct profile *s = m->dec.p;
    size_t nf = profile_nframes(s), nn = profile_nnodes(s), nt = profile_nthreads(s);
    if (!grow_map(&mp->fmap, &mp->capf, nf) || !grow_map(&mp->nmap, &mp->capn, nn) ||
        !grow_map(&mp->tmap, &mp->capt, nt))
        return -ENOMEM;
    const struct prof_frame *f = profile_frames(s);
    for (size_t i = mp->nf; i < nf; i++)
        mp->fmap[i] = profile_frame_intern(dst, profile_str(s, f[i].name),
                                           profile_str(s, f[i].file), f[i].line, f[i].kind);
    mp->nf = nf;
    const struct prof_node *n = profile_nodes(s);
    if (nn && !mp->nn)
        mp->nmap[0] = 0, mp->nn = 1;     /* the root */
    for (size_t i = mp->nn; i < nn; i++) /* parents come first */
        mp->nmap[i] = profile_node(dst, mp->nmap[n[i].parent], mp->fmap[n[i].frame]);
    mp->nn = nn;
    const struct prof_thread_info *t = profile_threads(s);
    for (size_t i = mp->nt; i < nt; i++) {
        mp->tmap[i] = profile_add_thread(dst, t[i].tid, profile_str(s, t[i].name));
        if (!dst->oom)
            ((struct prof_thread_info *)dst->threads.data)[mp->tmap[i]].process = mp->proc;
    }
    mp->nt = nt;
    const struct prof_sample *sm = profile_samples(s);
    for (size_t i = mp->ns; i < profile_nsamples(s); i++)
        if (sm[i].thread < nt && sm[i].node < nn)
            profile_add_sample(dst, mp->tmap[sm[i].thread], mp->nmap[sm[i].node], sm[i].line,
                               sm[i].t_ns, sm[i].weight_ns);
    mp->ns = profile_nsamples(s);
    const struct prof_span *sp = s->spans.data;
    for (size_t i = mp->nspans; i < s->spans.len; i++)
        if (sp[i].thread < nt)
            profile_add_span(dst, mp->tmap[sp[i].thread], profile_str(s, sp[i].name),
                             sp[i].start_ns, sp[i].dur_ns);
    mp->nspans = s->spans.len;
    const struct prof_counter *cn = s->counters.data;
    for (size_t i = mp->ncounters; i < s->counters.len; i++) {
        char name[256]; /* a worker's counters are named with it, as profile_merge_process does */
        snprintf(name, sizeof name, primary ? "%s" : "%s (%s)", profile_str(s, cn[i].name),
                 s->meta.process_name);
        profile_add_counter(dst, name, cn[i].t_ns, cn[i].value);
    }
    mp->ncounters = s->counters.len;
    double kept;
    profile_copy_allocs(dst, s, mp->nallocs, mp->tmap, nt, mp->nmap, nn, &kept);
    mp->nallocs = profile_nallocs(s);
    return dst->oom ? -ENOMEM : 0;
}

/* The merged profile of every welcomed process, brought up to date: what each gained is copied
 * in; a reset (or, at most once a second, renamed frames) makes a whole new merge. The old
 * profile is kept when memory runs out. Returns true while renamed frames wait for a whole
 * merge. */
static bool
merge(struct live_cluster *c, struct tv *v, bool over)
{
    uint64_t now = now_ms();
    bool whole = !c->merged || c->force_whole, renamed = false;
    for (size_t j = 0; j < c->norder; j++) {
        struct live_member *m = &c->m[c->order[j]];
        /* A worker's name and pid, from its socket's name and its welcome. */
        if (j > 0) {
            m->dec.p->meta.pid = m->dec.pid;
            snprintf(m->dec.p->meta.process_name, sizeof m->dec.p->meta.process_name,
                     "cluster worker %ld", m->id);
        }
        if (m->map.src && (m->map.src != m->dec.p || m->map.resets != m->dec.resets))
            whole = true;
        renamed |= m->map.src && m->map.renames != m->dec.renames;
    }
    if (renamed && (over || now - c->last_full_ms >= c->full_every_ms))
        whole = true;
    renamed &= !whole;
    struct profile *dst = c->merged;
    if (whole) {
        dst = profile_new();
        if (!dst)
            goto oom;
        for (size_t j = 0; j < c->norder; j++)
            c->m[c->order[j]].map.src = NULL;
    }
    for (size_t j = 0; j < c->norder; j++) {
        struct live_member *m = &c->m[c->order[j]];
        if (!m->map.src) { /* first copied into this merge */
            struct live_map *mp = &m->map;
            mp->nf = mp->nn = mp->nt = mp->ns = mp->nspans = mp->ncounters = mp->nallocs = 0;
            mp->src = m->dec.p;
            mp->resets = m->dec.resets;
            mp->renames = m->dec.renames;
            mp->proc =
                j == 0 ? 0 : profile_add_process(dst, m->dec.pid, m->dec.p->meta.process_name);
        }
        if (copy_new(dst, m, j == 0) != 0)
            goto oom;
    }
    /* The primary's meta (mode, rate, tool), over the time and the counts of every process. */
    const struct profile *pp = c->m[0].dec.p;
    dst->meta = pp->meta;
    dst->meta.pid = c->m[0].dec.pid;
    snprintf(dst->meta.process_name, sizeof dst->meta.process_name, "cluster primary");
    for (size_t j = 1; j < c->norder; j++) {
        profile_meta_add(&dst->meta, &c->m[c->order[j]].dec.p->meta);
    }
    if (whole) {
        v->p = dst; /* before the old one goes: the viewer never sees a freed profile */
        profile_free(c->merged);
        c->merged = dst;
        uint64_t took = now_ms() - now;
        c->last_full_ms = now_ms();
        c->full_every_ms = took * 10 > FULL_MS ? took * 10 : FULL_MS;
        c->force_whole = false;
    }
    v->p = c->merged;
    return renamed;
oom:
    if (whole)
        profile_free(dst);
    c->force_whole = true; /* the merge shown is not up to date: the next is a whole one */
    snprintf(v->status, sizeof v->status, "out of memory merging the processes");
    if (c->merged)
        v->p = c->merged;
    return false;
}

static uint8_t
shown_state(const struct live_member *m)
{
    return m->st == M_OPEN ? TV_PROC_LIVE : TV_PROC_ENDED;
}

/* tv.proc_state for the profile shown. */
static void
fill_state(struct live_cluster *c, struct tv *v)
{
    size_t np = profile_nprocesses(v->p);
    if (np > c->nstate) {
        uint8_t *s = realloc(c->state, np);
        if (!s) {
            v->proc_state = NULL;
            return;
        }
        c->state = s;
    }
    c->nstate = np;
    memset(c->state, TV_PROC_UNKNOWN, np);
    c->state[0] = shown_state(&c->m[0]);
    if (c->merged)
        for (size_t j = 1; j < c->norder && j < np; j++)
            c->state[j] = shown_state(&c->m[c->order[j]]);
    v->proc_state = c->state;
    v->nproc_state = np;
}

int
live_cluster_pump(void *arg, struct tv *v)
{
    struct live_cluster *c = arg;
    uint64_t ticks, now = now_ms();
    while (read(c->timerfd, &ticks, sizeof ticks) > 0)
        ;
    bool made = false; /* a name was made in the directory */
    char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (c->inotifyfd >= 0 && read(c->inotifyfd, ev, sizeof ev) > 0)
        made = true;
    int changed = 0;
    bool primary_over = c->m[0].fd < 0;
    if (!primary_over) {
        int r = read_primary(c, v);
        if (r != 0)
            changed = 1, c->merged_stale = true;
        primary_over = r < 0;
    }
    for (size_t i = 1; i < c->n; i++) {
        struct live_member *m = &c->m[i];
        if (m->fd < 0)
            continue;
        if (read_worker(c, m, v) > 0) {
            changed = 1;
            if (m->merged)
                c->merged_stale = true;
        }
        if (m->dec.welcomed && !m->merged && m->st != M_FAILED) {
            m->merged = true;
            c->order[c->norder++] = (uint32_t)i;
            c->merged_stale = true;
        }
    }
    if (c->discover && !c->failed && (made || now - c->last_scan_ms >= SCAN_MS)) {
        c->last_scan_ms = now;
        scan(c, v);
    }
    bool open = false;
    for (size_t i = 1; i < c->n; i++)
        open |= c->m[i].fd >= 0;
    bool over = c->failed || (primary_over && !open);
    if (c->norder > 1) {
        if (c->merged_stale || !c->merged || c->force_whole) {
            c->merged_stale = merge(c, v, over); /* true: again at the next pump */
            changed = 1;
        }
    } else {
        v->p = c->m[0].dec.p; /* alone: its own profile (a reset replaces it) */
    }
    fill_state(c, v);
    if (c->want) {
        uint32_t k;
        struct mp_err e = {0};
        if (profile_parse_process(v->p, c->want, &k, &e) == 0) {
            v->filter.process = k + 1;
            v->proc_sel = (int)k + 1;
            c->want = NULL;
            changed = 1;
        } else if (over) {
            snprintf(v->status, sizeof v->status, "--process: %.300s", e.msg);
            c->want_missing = true;
        }
    }
    if (over)
        return -1;
    return changed;
}
