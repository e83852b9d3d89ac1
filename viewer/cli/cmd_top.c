/*
 * cmd_top.c — `mrprof top`: the terminal viewer on a live profile.
 *
 *   mrprof top [OPTIONS] -- SCRIPT [ARGS]   runs the script under `mrun --prof-live` on a Unix
 *                                           socket in a private directory and shows it live
 *   mrprof top --attach ADDR [--token T]    connects to an mrun already serving one
 *
 * The stream (formats/live.h) feeds a profile that the viewer redraws from; when the program
 * ends the view stays on the final profile until q. The script's own output is kept in the
 * private directory while the screen is the viewer's, and printed when the viewer closes; the
 * script's exit status becomes mrprof's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "formats/live.h"
#include "viewer/cli/cli.h"
#include "viewer/tui/tv.h"
#include "viewer/tui/tv_curses.h"

static const char help[] =
    "usage: mrprof top [--hz N] [--mode cpu|wall] [-o PATH] [DISPLAY OPTIONS] -- SCRIPT [ARGS]\n"
    "       mrprof top --attach ADDR [--token T] [--for SECONDS] [DISPLAY OPTIONS]\n"
    "\n"
    "Shows a running program's profile live in the terminal (the views of `mrprof view`,\n"
    "refreshed up to 8 times a second). With a SCRIPT it runs it under mrun --prof-live on a\n"
    "private Unix socket; the script's output is shown when the viewer closes, and its exit\n"
    "status is mrprof's. With --attach it connects to an mrun started with --prof-live ADDR.\n"
    "When the program ends the view stays on the final profile until q.\n"
    "\n"
    "  --hz N          sampling rate, 1..10000 (default 1000)\n"
    "  --mode M        cpu (default) or wall\n"
    "  -o PATH         also write the final profile to PATH (format from the extension)\n"
    "  --attach ADDR   unix:PATH, or tcp:127.0.0.1:PORT / tcp:[::1]:PORT\n"
    "  --token T       the token mrun printed for a TCP address (or $MRPROF_LIVE_TOKEN)\n"
    "  --for SECONDS   with --once and --attach: print the profile after SECONDS instead of\n"
    "                  at the program's end\n"
    "  --mrun PATH     the mrun to run (default: $MRUN, else the one beside mrprof)\n"
    "\n"
    "display options (as for mrprof view): --once, --view V, --size WxH, --thread N,\n"
    "--search TEXT. Without a terminal on stdout, top prints the final profile (--once).\n";

struct stream {
    int fd;
    struct live_decoder dec;
    bool failed;
};

/* tv_source.pump: takes what the socket has. */
static int
pump(void *arg, struct tv *v)
{
    struct stream *s = arg;
    uint8_t buf[65536];
    int changed = 0;
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) { /* the program closed the stream: it ended (or died) */
            v->ended = true;
            if (!s->dec.ended && !s->failed)
                snprintf(v->status, sizeof v->status, "the program closed the live stream");
            return -1;
        }
        int r = live_decode(&s->dec, buf, (size_t)n);
        v->p = s->dec.p; /* a reset replaces the profile */
        if (r < 0) {
            s->failed = true;
            v->ended = true;
            snprintf(v->status, sizeof v->status, "live stream error: %.120s", s->dec.err.msg);
            return -1;
        }
        changed |= r;
        if (s->dec.ended) {
            v->ended = true;
            v->exit_code = s->dec.exit_status;
            return -1;
        }
    }
    return changed;
}

static int
connect_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, errlen, "cannot connect to unix:%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int
connect_tcp(const char *spec, char *err, size_t errlen)
{
    char host[64];
    long port;
    if (live_parse_tcp(spec, host, sizeof host, &port, err, errlen) != 0)
        return -1;
    if (port == 0) {
        snprintf(err, errlen, "tcp:%s: port 0 is what mrun was asked for; give the port it printed",
                 spec);
        return -1;
    }
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        len = sizeof *a;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            len = 0;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        len = sizeof *a;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            len = 0;
    }
    if (!len) {
        snprintf(err, errlen, "'%s' is not an IP address (the live profile is on loopback)", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) != 0) {
        snprintf(err, errlen, "cannot connect to tcp:%s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Connects and says hello; the descriptor is left non-blocking. */
static int
open_stream(const char *addr, const char *token, char *err, size_t errlen)
{
    int fd;
    if (strncmp(addr, "unix:", 5) == 0)
        fd = connect_unix(addr + 5, err, errlen);
    else if (strncmp(addr, "tcp:", 4) == 0)
        fd = connect_tcp(addr + 4, err, errlen);
    else {
        snprintf(err, errlen, "'%s' is not a live address (unix:PATH or tcp:HOST:PORT)", addr);
        return -1;
    }
    if (fd < 0)
        return -1;
    struct live_buf b = {0};
    /* send with MSG_NOSIGNAL: an agent that closed at once is an error here, not a SIGPIPE. */
    if (live_encode_hello(&b, token) != 0 ||
        send(fd, b.data, b.len, MSG_NOSIGNAL) != (ssize_t)b.len) {
        snprintf(err, errlen, "cannot send the hello to %s: %s", addr, strerror(errno));
        live_buf_free(&b);
        close(fd);
        return -1;
    }
    live_buf_free(&b);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Without a terminal: read until the end (or --for seconds), then print the snapshot. */
static int
run_once(struct stream *s, struct tv *v, const struct view_opts *o, double for_secs)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(s->fd, &rd);
        struct timeval tmo = {0, 100000};
        select(s->fd + 1, &rd, NULL, NULL, &tmo);
        if (pump(s, v) < 0)
            break;
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (for_secs > 0 && el >= for_secs)
            break;
    }
    tv_mark_dirty(v);
    return cli_view_snapshot(o, v);
}

static void
copy_file(const char *path, FILE *to)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, to);
    fclose(f);
    fflush(to);
}

int
cmd_top(int argc, char **argv)
{
    struct view_opts o;
    cli_view_defaults(&o);
    const char *hz = "1000", *mode = NULL, *attach = NULL, *out = NULL, *mrun_opt = NULL;
    const char *token = getenv("MRPROF_LIVE_TOKEN");
    double for_secs = 0;
    bool hz_given = false, token_given = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        unsigned long n;
        int r = cli_view_opt("top", argc, argv, &i, &o);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        } else if (strcmp(a, "--hz") == 0) {
            if (!cli_parse_uint("top", a, i + 1 < argc ? argv[i + 1] : NULL, 10000, &n) || n < 1)
                return n < 1 ? cli_usage_error("top", "--hz takes 1 to 10000") : CLI_USAGE;
            hz = argv[++i];
            hz_given = true;
        } else if (strcmp(a, "--mode") == 0) {
            mode = i + 1 < argc ? argv[++i] : "";
            if (strcmp(mode, "cpu") != 0 && strcmp(mode, "wall") != 0)
                return cli_usage_error("top", "--mode takes cpu or wall, not '%s'", mode);
        } else if (strcmp(a, "-o") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("top", "-o needs a path");
            out = argv[++i];
        } else if (strcmp(a, "--attach") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("top", "--attach needs an address (unix:PATH or tcp:HOST:PORT)");
            attach = argv[++i];
        } else if (strcmp(a, "--token") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("top", "--token needs a value");
            token = argv[++i];
            token_given = true;
        } else if (strcmp(a, "--for") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            char *end;
            for_secs = strtod(v, &end);
            if (!*v || *end || for_secs <= 0 || for_secs > 86400)
                return cli_usage_error("top", "--for takes seconds, not '%s'", v);
        } else if (strcmp(a, "--mrun") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("top", "--mrun needs a path");
            mrun_opt = argv[++i];
        } else if (a[0] == '-' && a[1] && strcmp(a, "-e") != 0) {
            return cli_usage_error("top", "unknown option '%s'", a);
        } else {
            break; /* the script */
        }
    }
    int nscript = argc - i;
    if (attach && nscript > 0)
        return cli_usage_error("top", "--attach watches a running program; give no script");
    if (!attach && nscript <= 0)
        return cli_usage_error("top", "what to run? (mrprof top -- SCRIPT [ARGS], or --attach ADDR)");
    if (attach && strncmp(attach, "tcp:", 4) == 0 && (!token || !*token))
        return cli_usage_error("top", "a TCP address needs the token mrun printed (--token T)");
    bool interactive = cli_view_interactive(&o);
    /* Options that would do nothing are refused, not ignored. */
    if (attach && (hz_given || mode || out || mrun_opt))
        return cli_usage_error("top", "%s: with --attach the program runs already, under its own mrun options "
                                      "(its --prof-out writes the file)",
                               hz_given ? "--hz" : mode ? "--mode" : out ? "-o" : "--mrun");
    if (!attach && (for_secs > 0 || token_given))
        return cli_usage_error("top", "%s is for --attach (a script's profile shows until it ends)",
                               for_secs > 0 ? "--for" : "--token");
    if (cli_view_check("top", &o) != CLI_OK)
        return CLI_USAGE;
    if (for_secs > 0 && interactive)
        return cli_usage_error("top", "--for prints the profile after SECONDS: with --once, or without a terminal");

    char dir[64] = "", addr[128], sock[96] = "", outlog[96] = "", errlog[96] = "";
    pid_t child = -1;
    int child_status = 0;
    bool child_reaped = false;
    if (!attach) {
        snprintf(dir, sizeof dir, "/tmp/mrprof-top-XXXXXX");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "mrprof top: cannot make a private directory: %s\n", strerror(errno));
            return CLI_USAGE;
        }
        snprintf(sock, sizeof sock, "%s/live.sock", dir);
        snprintf(addr, sizeof addr, "unix:%s", sock);
        snprintf(outlog, sizeof outlog, "%s/stdout", dir);
        snprintf(errlog, sizeof errlog, "%s/stderr", dir);
        char mrun_buf[4096];
        const char *mrun = cli_mrun_path(mrun_opt, mrun_buf, sizeof mrun_buf);
        /* Allocations are sampled too, for the memory view (6). */
        static const char *const memory[] = {"--heap-prof-interval", "524288", NULL};
        char **argv2 = cli_mrun_argv(mrun, out, addr, hz, mode, NULL, memory, argv + i, nscript);
        if (!argv2) {
            rmdir(dir);
            return CLI_USAGE;
        }
        child = fork();
        if (child == 0) {
            setenv("MRUN_QUIET", "1", 1);
            if (interactive) { /* the screen is the viewer's */
                int fo = open(outlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                int fe = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (fo >= 0)
                    dup2(fo, STDOUT_FILENO);
                if (fe >= 0)
                    dup2(fe, STDERR_FILENO);
                int fi = open("/dev/null", O_RDONLY);
                if (fi >= 0)
                    dup2(fi, STDIN_FILENO);
            }
            execv(argv2[0], argv2);
            fprintf(stderr, "mrprof top: cannot run %s: %s\n", argv2[0], strerror(errno));
            _exit(127);
        }
        free(argv2);
        if (child < 0) {
            fprintf(stderr, "mrprof top: cannot start mrun: %s\n", strerror(errno));
            rmdir(dir);
            return CLI_SCRIPT_FAILED;
        }
    } else {
        snprintf(addr, sizeof addr, "%s", attach);
    }

    /* Connect: a script's agent needs a moment to listen; an attach target is there or not. */
    char err[512] = "";
    struct stream s = {.fd = -1};
    for (int tries = 0; s.fd < 0; tries++) {
        s.fd = open_stream(addr, token, err, sizeof err);
        if (s.fd >= 0 || attach || tries > 100)
            break;
        if (waitpid(child, &child_status, WNOHANG) == child) { /* it ended before serving */
            child_reaped = true;
            break;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int rc = CLI_OK;
    if (s.fd < 0) {
        if (attach) {
            fprintf(stderr, "mrprof top: %s\n(is mrun running with --prof-live %s?)\n", err, addr);
            return CLI_USAGE;
        }
        if (!child_reaped) { /* never served: stop it */
            kill(child, SIGTERM);
            waitpid(child, &child_status, 0);
        }
        int st = child_status;
        copy_file(outlog, stdout);
        copy_file(errlog, stderr);
        fprintf(stderr, "mrprof top: the script ended before the live view could connect (%s)\n",
                err);
        rc = WIFEXITED(st) ? (WEXITSTATUS(st) == 0 ? CLI_SCRIPT_FAILED : WEXITSTATUS(st))
                           : CLI_SCRIPT_FAILED;
    } else {
        live_decoder_init(&s.dec);
        char title[256];
        snprintf(title, sizeof title, "%s%s", attach ? "attached to " : "",
                 attach ? attach : argv[i]);
        struct tv v;
        tv_init(&v, s.dec.p, title, tv_locale_utf8());
        v.live = true;
        v.exit_code = -1;
        cli_view_apply(&o, &v);
        if (interactive) {
            struct tv_source src = {s.fd, pump, &s};
            if (tv_run(&v, &src) != 0)
                rc = CLI_USAGE;
        } else {
            rc = run_once(&s, &v, &o, attach ? for_secs : 0);
        }
        if (!s.dec.welcomed && !s.failed) {
            snprintf(v.status, sizeof v.status, "%.100s closed the connection before its welcome%s",
                     addr, attach && strncmp(attach, "tcp:", 4) == 0 ? " (wrong token?)" : "");
            s.failed = true;
        }
        if (s.failed) {
            fprintf(stderr, "mrprof top: %s\n", v.status);
            if (rc == CLI_OK)
                rc = CLI_USAGE;
        }
        bool program_ended = s.dec.ended || (v.ended && !s.failed);
        tv_free(&v);
        close(s.fd);
        live_decoder_free(&s.dec);
        if (child > 0) {
            int st;
            if (!program_ended) /* q before the end: stop it as Ctrl-C does */
                kill(child, SIGINT);
            waitpid(child, &st, 0);
            if (rc == CLI_OK)
                rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (interactive && child > 0) {
            copy_file(outlog, stdout);
            copy_file(errlog, stderr);
        }
    }
    if (dir[0]) {
        unlink(outlog);
        unlink(errlog);
        unlink(sock);
        rmdir(dir);
    }
    return rc;
}
