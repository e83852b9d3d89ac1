/*
 * attach_pid.c — attach on demand, the tool's side (attach_pid.h). Before it signals, it reads
 * /proc/PID: the default action of SIGUSR2 ends a process, so only a process whose program is
 * named mrun* and that catches SIGUSR2 (SigCgt) is signalled; one that ignores it (SigIgn) has
 * attach turned off (--no-attach, MRUN_NO_ATTACH=1).
 */
#include "viewer/cli/attach_pid.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "viewer/cli/attach.h"

#define ATTACH_WAIT_MS 10000

struct proc_info {
    unsigned euid;
    uint64_t caught, ignored;
};

/* 0, or -errno (ENOENT: no such process). */
static int
read_status(long pid, struct proc_info *pi)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    unsigned ruid = 0;
    bool got_uid = false;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Uid: %u %u", &ruid, &pi->euid) == 2)
            got_uid = true;
        else if (strncmp(line, "SigCgt:", 7) == 0)
            pi->caught = strtoull(line + 7, NULL, 16);
        else if (strncmp(line, "SigIgn:", 7) == 0)
            pi->ignored = strtoull(line + 7, NULL, 16);
    }
    fclose(f);
    return got_uid ? 0 : -ESRCH;
}

static int
try_connect(const char *addr)
{
    struct mp_err e;
    return attach_open(addr, NULL, &e);
}

int
attach_pid(const char *cmd, long pid, bool memory, char *addr, size_t len)
{
    if (pid <= 0 || pid > INT_MAX) {
        fprintf(stderr, "mrprof %s: --pid %ld is not a process id\n", cmd, pid);
        return -1;
    }
    if (pid == (long)getpid()) {
        fprintf(stderr, "mrprof %s: pid %ld is this mrprof itself\n", cmd, pid);
        return -1;
    }
    struct proc_info pi = {0};
    int rc = read_status(pid, &pi);
    if ((rc == -ENOENT || rc == -ESRCH) && kill((pid_t)pid, 0) != 0 && errno == EPERM) {
        fprintf(stderr,
                "mrprof %s: pid %ld: permission denied (another user's process: attach as "
                "that user or as root)\n",
                cmd, pid);
        return -1;
    }
    if (rc == -ENOENT || rc == -ESRCH) {
        fprintf(stderr, "mrprof %s: pid %ld: no such process\n", cmd, pid);
        return -1;
    }
    if (rc) {
        fprintf(stderr, "mrprof %s: pid %ld: cannot read /proc/%ld/status: %s\n", cmd, pid, pid,
                strerror(-rc));
        return -1;
    }
    char exe_link[64], exe[PATH_MAX];
    snprintf(exe_link, sizeof exe_link, "/proc/%ld/exe", pid);
    ssize_t n = readlink(exe_link, exe, sizeof exe - 1);
    if (n < 0) {
        int en = errno;
        if (en == EACCES || en == EPERM)
            fprintf(stderr,
                    "mrprof %s: pid %ld: permission denied: it runs as uid %u (attach as that "
                    "user or as root)\n",
                    cmd, pid, pi.euid);
        else
            fprintf(stderr, "mrprof %s: pid %ld: cannot read its program: %s\n", cmd, pid,
                    strerror(en));
        return -1;
    }
    exe[n] = '\0';
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    if (strncmp(base, "mrun", 4) != 0) {
        fprintf(stderr, "mrprof %s: pid %ld is not an mrun (its program is %s); not signalled\n",
                cmd, pid, exe);
        return -1;
    }
    uint64_t bit = 1ull << (SIGUSR2 - 1);
    if (pi.ignored & bit) {
        fprintf(stderr,
                "mrprof %s: pid %ld: attach is disabled in that mrun (--no-attach or "
                "MRUN_NO_ATTACH=1)\n",
                cmd, pid);
        return -1;
    }
    if (!(pi.caught & bit)) {
        fprintf(stderr,
                "mrprof %s: pid %ld does not catch SIGUSR2 (an mrun without attach, or one still "
                "starting); not signalled\n",
                cmd, pid);
        return -1;
    }
    snprintf(addr, len, "unix:/tmp/mrun-%u/%ld.sock", pi.euid, pid);
    int fd = try_connect(addr); /* an agent serves already: join its viewers */
    if (fd >= 0) {
        fprintf(stderr, "mrprof %s: joined the viewers of pid %ld at %s\n", cmd, pid, addr);
        return fd;
    }
    union sigval v = {.sival_int = memory ? 1 : 0};
    if (sigqueue((pid_t)pid, SIGUSR2, v) != 0) {
        int en = errno;
        fprintf(stderr, "mrprof %s: pid %ld: cannot signal it: %s%s\n", cmd, pid, strerror(en),
                en == EPERM ? " (it belongs to another user: attach as that user or root)" : "");
        return -1;
    }
    struct mp_err err = {0};
    for (int waited = 0; waited < ATTACH_WAIT_MS; waited += 10) {
        fd = attach_open(addr, NULL, &err);
        if (fd >= 0) {
            fprintf(stderr, "mrprof %s: attached to pid %ld at %s\n", cmd, pid, addr);
            return fd;
        }
        if (err.code != -ENOENT && err.code != -ECONNREFUSED)
            break;
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            fprintf(stderr, "mrprof %s: pid %ld ended before it served\n", cmd, pid);
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr,
            "mrprof %s: pid %ld did not open %s (%s); it may trap SIGUSR2 itself "
            "(Process.on), be stopped, or have refused its socket directory (see its stderr)\n",
            cmd, pid, addr + 5, err.msg);
    return -1;
}

static double
now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void
attach_clock_start(struct attach_clock *c)
{
    c->t0 = now_s();
    c->welcomed = false;
}

int
attach_clock_check(struct attach_clock *c, bool welcomed, double secs)
{
    if (secs <= 0)
        return 0;
    double t = now_s();
    if (!c->welcomed && welcomed) {
        c->welcomed = true;
        c->t0 = t;
    }
    if (!c->welcomed)
        return t - c->t0 >= ATTACH_WELCOME_WAIT_S ? -1 : 0;
    return t - c->t0 >= secs ? 1 : 0;
}
