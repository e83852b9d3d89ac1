/*
 * record_pid.c — `mrprof record --pid PID [--duration S] [--memory] -o FILE`: attach to a running
 * mrun (attach_pid.c), read its live stream (formats/live.c) until --duration has passed, Ctrl-C
 * (or SIGTERM), or the program ends, then write what came in the format -o names. Leaving closes
 * the connection; the last viewer gone, mrun stops sampling.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/select.h>

#include "formats/formats.h"
#include "formats/live.h"
#include "viewer/cli/attach_pid.h"
#include "viewer/cli/cli.h"
#include "viewer/cli/record_pid.h"

static volatile sig_atomic_t g_stop;

static void
on_stop(int signo)
{
    (void)signo;
    g_stop = 1;
}

/* Reads the stream into d until the end, the duration, a stop signal or an error. 0, or -1
 * (printed). The duration counts from the welcome, when profiling has begun: a loaded agent's
 * welcome can come after a short duration, and that would be no profile of the time asked for. */
static int
read_stream(int fd, struct live_decoder *d, double duration, long pid)
{
    struct attach_clock clk;
    attach_clock_start(&clk);
    uint8_t buf[65536];
    int done;
    while (!g_stop && (done = attach_clock_check(&clk, d->welcomed, duration)) <= 0) {
        if (done < 0) {
            fprintf(stderr, "mrprof record: pid %ld sent no welcome within %d s (see its stderr)\n",
                    pid, ATTACH_WELCOME_WAIT_S);
            return -1;
        }
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        struct timeval tmo = {0, 100000};
        if (select(fd + 1, &rd, NULL, NULL, &tmo) < 0 && errno != EINTR)
            return -1;
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n <= 0) {
                if (!d->welcomed) {
                    fprintf(stderr,
                            "mrprof record: pid %ld closed the connection before its welcome "
                            "(see its stderr)\n",
                            pid);
                    return -1;
                }
                return 0; /* it ended (or died): what came is the profile */
            }
            if (live_decode(d, buf, (size_t)n) < 0) {
                fprintf(stderr, "mrprof record: live stream error: %s\n", d->err.msg);
                return -1;
            }
            if (d->ended)
                return 0;
        }
    }
    return 0;
}

int
record_pid(long pid, double duration, bool memory, const char *out, const char *format)
{
    char addr[128], out_buf[256];
    int fd = attach_pid("record", pid, memory, addr, sizeof addr);
    if (fd < 0)
        return ATTACH_PID_FAILED;
    if (!out) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        const struct fmt_ops *f = fmt_by_name(format ? format : "cpuprofile");
        snprintf(out_buf, sizeof out_buf, "mrun-%ld-%04d%02d%02d-%02d%02d%02d%s", pid,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 f->ext);
        out = out_buf;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    struct live_decoder d;
    live_decoder_init(&d);
    int rc = read_stream(fd, &d, duration, pid);
    close(fd); /* the last viewer gone, mrun stops sampling */
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc == 0 && !d.welcomed) {
        fprintf(stderr, "mrprof record: pid %ld sent no profile before the stop\n", pid);
        rc = -1;
    }
    if (rc == 0) {
        const struct fmt_ops *f = format ? fmt_by_name(format) : fmt_by_path(out);
        if (!f)
            f = fmt_by_name("cpuprofile");
        struct fmt_write_opts wo = {.thread = -1};
        struct mp_err e = {0};
        if (fmt_write_path(d.p, out, f, &wo, &e) != 0) {
            fprintf(stderr, "mrprof record: cannot write %s: %s\n", out, e.msg);
            rc = -1;
        } else {
            fprintf(stderr, "mrprof record: wrote %s (%zu samples from pid %ld)%s\n", out,
                    profile_nsamples(d.p), pid, d.ended ? "; the program ended" : "");
        }
        if (rc == 0 && memory) {
            char heap[512];
            const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
            size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - out) : strlen(out);
            snprintf(heap, sizeof heap, "%.*s.heapprofile", (int)stem, out);
            struct profile *view = profile_heap_view(d.p, false, NULL);
            struct fmt_write_opts ho = {.thread = -1, .heap_allocated = true};
            if (!view || fmt_write_path(view, heap, fmt_by_name("heapprofile"), &ho, &e) != 0) {
                fprintf(stderr, "mrprof record: cannot write %s: %s\n", heap,
                        view ? e.msg : "out of memory");
                rc = -1;
            } else {
                fprintf(stderr, "mrprof record: wrote %s (allocations sampled while attached)\n",
                        heap);
            }
            profile_free(view);
        }
    }
    live_decoder_free(&d);
    return rc == 0 ? CLI_OK : ATTACH_PID_FAILED;
}
