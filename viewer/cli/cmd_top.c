/*
 * cmd_top.c — `mrprof top`: the terminal viewer on a live profile.
 *
 *   mrprof top [OPTIONS] -- SCRIPT [ARGS]   runs the script under `mrun --prof-live` on a Unix
 *                                           socket in a private directory and shows it live
 *   mrprof top --attach ADDR [--token T]    connects to an mrun already serving one
 *                                           (the socket client is attach.c)
 *
 * The stream (formats/live.h) feeds a profile that the viewer redraws from; when the program
 * ends the view stays on the final profile until q. A cluster's workers serve streams of their
 * own beside the primary's socket: live_cluster.c finds them and merges every process's profile
 * for the views (the processes panel, key P, lists them). The script's own output is kept in the
 * private directory while the screen is the viewer's, and printed when the viewer closes; the
 * script's exit status becomes mrprof's.
 */
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/select.h>

#include "formats/live.h"
#include "viewer/cli/attach.h"
#include "viewer/cli/attach_pid.h"
#include "viewer/cli/cli.h"
#include "viewer/cli/live_cluster.h"
#include "viewer/cli/spawn.h"
#include "viewer/tui/tv.h"
#include "viewer/tui/tv_curses.h"

static const char usage[] =
    "usage: mrprof top [--hz N] [--mode cpu|wall] [-o PATH] [DISPLAY OPTIONS] -- SCRIPT [ARGS]\n"
    "       mrprof top --attach ADDR [--token T] [--for SECONDS] [DISPLAY OPTIONS]\n"
    "       mrprof top --pid PID [--for SECONDS] [DISPLAY OPTIONS]\n";
static const char about[] =
    "Shows a running program's profile live in the terminal (the views of `mrprof view`,\n"
    "refreshed up to 8 times a second). With a SCRIPT it runs it under mrun --prof-live on a\n"
    "private Unix socket; the script's output is shown when the viewer closes, and its exit\n"
    "status is mrprof's. With --attach it connects to an mrun started with --prof-live ADDR.\n"
    "A cluster (Cluster.fork) is followed whole: each worker's stream beside a unix: address\n"
    "is picked up as the worker starts, the views show every process merged, and the\n"
    "processes panel (key P) lists them and picks one. When the program ends the view stays\n"
    "on the final profile until q.\n";
static const char footer[] =
    "The display options are those of mrprof view. Without a terminal on stdout, top prints the\n"
    "final profile (--once).\n";

/* Without a terminal: read until the end (or --for seconds), then print the snapshot. */
static int
run_once(struct live_cluster *c, struct tv *v, const struct view_opts *o, double for_secs)
{
    /* --for counts from the welcome, when profiling has begun: a loaded agent's welcome can
     * come later than a short --for, and that is no profile of the time asked for. */
    struct attach_clock clk;
    attach_clock_start(&clk);
    for (;;) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(c->epfd, &rd);
        struct timeval tmo = {0, 100000};
        select(c->epfd + 1, &rd, NULL, NULL, &tmo);
        if (live_cluster_pump(c, v) < 0)
            break;
        int done = attach_clock_check(&clk, live_cluster_primary(c)->welcomed, for_secs);
        if (done < 0) {
            snprintf(v->status, sizeof v->status, "the agent sent no welcome within %d s",
                     ATTACH_WELCOME_WAIT_S);
            c->failed = true;
        }
        if (done)
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

/* What a cluster's workers killed before they could unlink their sockets left in dir. */
static void
remove_worker_sockets(const char *dir)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "%s/live.sock.worker-*", dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++)
        unlink(g.gl_pathv[i]);
    globfree(&g);
}

int
cmd_top(int argc, char **argv)
{
    struct view_opts o;
    cli_view_defaults(&o);
    const char *attach = NULL, *out = NULL, *out_opt = NULL, *mrun_opt = NULL, *hz_opt = NULL,
               *mode_opt = NULL;
    const char *token = getenv("MRPROF_LIVE_TOKEN"), *token_opt = NULL, *for_opt = NULL;
    unsigned long hz_n = 1000;
    int mode_i = 0;
    double for_secs = 0;
    unsigned long pid = 0;
    const char *pid_opt = NULL, *process = NULL;
    char pid_addr[128] = "unix:";
    const struct opt opts[] = {
        {OPTION_UINT("hz", 0, &hz_n, 1, 10000, "N", "sampling rate, 1..10000 (default 1000)"),
         .given = &hz_opt},
        {OPTION_ENUM("mode", 0, &mode_i, cli_mode_names, "cpu (default) or wall"), .arg = "M",
         .given = &mode_opt},
        {OPTION_PATH("output", 'o', &out, "PATH",
                     "also write the final profile to PATH (format from the extension)"),
         .given = &out_opt},
        {OPTION_PATH("attach", 0, &attach, "ADDR",
                     "unix:PATH, or tcp:127.0.0.1:PORT / tcp:[::1]:PORT")},
        {OPTION_STRING("token", 0, &token, "T",
                       "the token mrun printed for a TCP address (or $MRPROF_LIVE_TOKEN)"),
         .given = &token_opt},
        {OPTION_DOUBLE("for", 0, &for_secs, 0, 86400, "SECONDS",
                       "with --once and --attach: print the profile after SECONDS (from the\n"
                       "agent's welcome, when profiling begins) instead of at the program's end"),
         .flags = OPTF_MIN_EXCL, .given = &for_opt},
        {OPTION_UINT("pid", 0, &pid, 1, 4194304, "PID",
                     "attach to the running mrun PID, started with no flag (SIGUSR2;\n"
                     "exits 4 when it cannot: see docs/cli.md)"),
         .given = &pid_opt},
        CLI_OPT_MRUN(&mrun_opt),
        CLI_VIEW_OPTIONS(&o),
        {OPTION_STRING("process", 0, &process, "PID|NAME",
                       "only one process of a cluster: its pid, or its name (\"cluster\n"
                       "worker 1\", \"worker 1\", \"primary\"), as the processes panel's\n"
                       "pick (key P); --thread N counts every process's threads")},
        {.sname = 'e',
         .kind = OPT_FLAG,
         .flags = OPTF_ARG_START}, /* mrun's -e CODE is the script */
        {0},
    };
    const struct opt_cmd cmd = {"mrprof top", usage, about, footer, opts, 18, OPT_STOP_AT_ARG};
    int rc, nscript = cli_parse(&cmd, argc, argv, -1, NULL, &rc);
    if (nscript < 0)
        return rc;
    char hz[16];
    snprintf(hz, sizeof hz, "%lu", hz_n);
    const char *mode = mode_opt ? cli_mode_names[mode_i] : NULL;
    if (pid_opt && attach)
        return cli_usage_error("top", "--pid and --attach both name the program: give one");
    if (pid_opt)
        attach = pid_addr; /* filled by attach_pid below; the --attach rules apply */
    if (attach && nscript > 0)
        return cli_usage_error("top", "--attach watches a running program; give no script");
    if (!attach && nscript <= 0)
        return cli_usage_error("top",
                               "what to run? (mrprof top -- SCRIPT [ARGS], or --attach ADDR)");
    if (attach && strncmp(attach, "tcp:", 4) == 0 && (!token || !*token))
        return cli_usage_error("top", "a TCP address needs the token mrun printed (--token T)");
    bool interactive = cli_view_interactive(&o);
    /* Options that would do nothing are refused, not ignored. */
    if (attach && (hz_opt || mode_opt || out_opt || mrun_opt))
        return cli_usage_error(
            "top",
            "%s: with --attach the program runs already, under its own mrun options "
            "(its --prof-out writes the file)",
            hz_opt     ? hz_opt
            : mode_opt ? mode_opt
            : out_opt  ? out_opt
                       : "--mrun");
    if (!attach && (for_opt || token_opt))
        return cli_usage_error("top", "%s is for --attach (a script's profile shows until it ends)",
                               for_opt ? "--for" : "--token");
    if (cli_view_check("top", &o) != CLI_OK)
        return CLI_USAGE;
    if (for_secs > 0 && interactive)
        return cli_usage_error(
            "top", "--for prints the profile after SECONDS: with --once, or without a terminal");

    char dir[64] = "", addr[128], sock[96] = "", outlog[96] = "", errlog[96] = "";
    pid_t child = -1;
    struct spawn_end end = {0};
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
        char **argv2 = cli_mrun_argv(mrun, out, addr, hz, mode, NULL, memory, argv, nscript);
        if (!argv2) {
            rmdir(dir);
            return CLI_USAGE;
        }
        /* Interactive: the screen is the viewer's; the script's output waits in the directory. */
        const struct spawn_opts so = {.cmd = "top",
                                      .out_path = interactive ? outlog : NULL,
                                      .err_path = interactive ? errlog : NULL,
                                      .null_stdin = interactive};
        child = spawn_mrun(argv2, &so);
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
    struct mp_err err = {0};
    int fd = -1;
    if (pid_opt && (fd = attach_pid("top", (long)pid, false, pid_addr, sizeof pid_addr)) < 0)
        return ATTACH_PID_FAILED;
    if (pid_opt)
        snprintf(addr, sizeof addr, "%s", pid_addr); /* for the messages */
    for (int tries = 0; fd < 0; tries++) {
        fd = attach_open(addr, token, &err);
        if (fd >= 0 || attach || tries > 100)
            break;
        if (spawn_wait(child, SPAWN_NOHANG, &end) == 1) { /* it ended before serving */
            child_reaped = true;
            break;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    rc = CLI_OK;
    struct live_cluster lc;
    int lerr = fd >= 0 ? live_cluster_init(&lc, fd, pid_opt ? pid_addr : addr, process) : 0;
    if (lerr) {
        fprintf(stderr, "mrprof top: cannot follow the live stream: %s\n", strerror(-lerr));
        if (lc.n == 0) /* not taken yet */
            close(fd);
        live_cluster_free(&lc);
        fd = -1;
        if (child > 0)
            kill(child, SIGTERM);
    }
    if (fd < 0) {
        if (attach) {
            fprintf(stderr, "mrprof top: %s\n(is mrun running with --prof-live %s?)\n", err.msg,
                    addr);
            return CLI_USAGE;
        }
        if (!child_reaped) { /* never served: stop it */
            kill(child, SIGTERM);
            spawn_wait(child, 0, &end);
        }
        copy_file(outlog, stdout);
        copy_file(errlog, stderr);
        fprintf(stderr, "mrprof top: the script ended before the live view could connect (%s)\n",
                err.msg);
        rc = end.signo || end.code == 0 ? CLI_SCRIPT_FAILED : end.code;
    } else {
        const struct live_decoder *dec = live_cluster_primary(&lc);
        lc.say_on_stderr = !interactive;
        char title[256];
        snprintf(title, sizeof title, "%s%s", attach ? "attached to " : "",
                 attach ? attach : argv[0]);
        struct tv v;
        tv_init(&v, dec->p, title, tv_locale_utf8());
        v.live = true;
        v.exit_code = -1;
        cli_view_apply(&o, &v);
        if (interactive) {
            struct tv_source src = {lc.epfd, live_cluster_pump, &lc};
            if (tv_run(&v, &src) != 0)
                rc = CLI_USAGE;
        } else {
            rc = run_once(&lc, &v, &o, attach ? for_secs : 0);
        }
        dec = live_cluster_primary(&lc); /* the members moved as workers came */
        if (!dec->welcomed && !lc.failed) {
            snprintf(v.status, sizeof v.status, "%.100s closed the connection before its welcome%s",
                     addr, attach && strncmp(attach, "tcp:", 4) == 0 ? " (wrong token?)" : "");
            lc.failed = true;
        }
        if (lc.failed || lc.want_missing) {
            fprintf(stderr, "mrprof top: %s\n", v.status);
            if (rc == CLI_OK)
                rc = CLI_USAGE;
        }
        bool program_ended = dec->ended || (v.ended && !lc.failed);
        tv_free(&v);
        live_cluster_free(&lc);
        if (child > 0) {
            if (!program_ended) /* q before the end: stop it as Ctrl-C does */
                kill(child, SIGINT);
            if (spawn_wait(child, 0, &end) == 1 && rc == CLI_OK)
                rc = spawn_status(&end);
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
        remove_worker_sockets(dir);
        rmdir(dir);
    }
    return rc;
}
