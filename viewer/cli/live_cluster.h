/*
 * live_cluster.h — the live streams of one program for `mrprof top`: the process it connected to
 * and, when that is a cluster's primary serving at unix:PATH, each worker's own stream at
 * PATH.worker-<id>.<pid> (docs/live.md, "A cluster"), found by watching PATH's directory.
 *
 * One decoder per process; the profile the viewer shows is the primary's own while it is alone,
 * and a merge of every process's (as profile_merge_process does for `mrprof report A B...`, but
 * kept up to date by copying only what each process's tables gained) once a worker has welcomed:
 * primary first, then the workers in the order they welcomed, so a process keeps its number (the
 * processes panel's filter) while the program runs. A worker whose stream closes stays in the
 * merge, marked ended; one that replaces it is a new process.
 *
 * Ownership: live_cluster_new takes the connected descriptor of the first stream; everything is
 * released by live_cluster_free. The profile put in tv.p is the cluster's, valid until the next
 * pump or live_cluster_free.
 */
#ifndef MRPROF_LIVE_CLUSTER_H
#define MRPROF_LIVE_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "formats/live.h"
#include "viewer/tui/tv.h"

struct live_member;

/* A name in the directory that matched the workers' pattern and was not taken. */
struct live_skip {
    char name[256];
    int tries; /* refused connections; 3 (or a reason that is final): never tried again */
};

struct live_cluster {
    int epfd;      /* the one descriptor to wait on: every stream, the tick, the directory */
    int timerfd;   /* a 100 ms tick (the directory is looked at, a welcome awaited) */
    int inotifyfd; /* names made in the directory (-1: none, or inotify refused) */
    struct live_member *m; /* m[0] is the first stream (the primary) */
    size_t n, cap;
    uint32_t *order; /* members in the merge, in the order they welcomed (m[0] first) */
    size_t norder;
    bool discover; /* unix: watch the socket's directory for workers */
    char dir[4096], base[256];
    struct live_skip *skipped;
    size_t nskipped;
    uint64_t last_scan_ms;
    uint64_t last_full_ms, full_every_ms; /* whole merges (renamed frames): 10x what one took */
    bool merged_stale;                    /* a process's profile changed since the last merge */
    bool force_whole;       /* the next merge starts over (memory ran out in the last) */
    struct profile *merged; /* owned; NULL while the primary is alone */
    uint8_t *state;         /* tv.proc_state: per process of the profile shown */
    size_t nstate;
    const char *want;   /* --process PID|NAME, until it names a process */
    bool want_missing;  /* the program ended and want named none (v.status says so) */
    bool failed;        /* the first stream broke (v.status says why) */
    bool say_on_stderr; /* skipped sockets are named on stderr too (no terminal) */
};

/* Starts with fd, connected to addr (unix:PATH or tcp:...): 0, or -ENOMEM / -errno. */
int live_cluster_init(struct live_cluster *c, int fd, const char *addr, const char *want_process);
void live_cluster_free(struct live_cluster *c);

/* tv_source.pump (arg: the cluster): reads what every stream has, picks up new workers and
 * brings the merged profile up to date (what each process gained is copied in). -1 once the program
 * has ended (the first stream closed and no worker's is open) or the first stream broke. */
int live_cluster_pump(void *arg, struct tv *v);

/* The first stream's decoder (welcome, end and exit status of the program); valid until the
 * next pump (a new worker moves the members). */
const struct live_decoder *live_cluster_primary(const struct live_cluster *c);

#endif
