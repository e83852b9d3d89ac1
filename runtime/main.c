/*
 * main.c — the mrun command: parse the command line, run the script, run the loop, exit.
 */
#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "runtime/profiling.h"
#include "runtime/rt.h"
#include "runtime/version.h"

static const char usage_text[] =
    "usage: mrun [options] SCRIPT.rb [ARGS...]\n"
    "       mrun [options] -e CODE [ARGS...]\n"
    "\n"
    "Runs an mruby script on a libuv event loop (timers, Net sockets, Deferred workers).\n"
    "The process exits when the loop has nothing left to do.\n"
    "\n"
    "options:\n"
    "  -e CODE                run CODE instead of a script file (its file name is -e)\n"
    "  --cpu-prof             profile the whole run; write the profile at exit (also after an\n"
    "                         uncaught exception or exit(n))\n"
    "  --prof-hz N            sampling rate, 1..10000 Hz (default 1000)\n"
    "  --prof-mode cpu|wall   cpu: on-CPU time only (default); wall: also time waiting (idle)\n"
    "  --prof-out PATH        output file, or a directory for the default name\n"
    "                         (default: ./CPU.<date>.<time>.<pid>.0.001.cpuprofile)\n"
    "  --prof-format F        cpuprofile (default), trace, speedscope, pprof, collapsed; or from\n"
    "                         PATH's extension\n"
    "  --prof-idle            keep (idle) in collapsed, speedscope and pprof files (by default\n"
    "                         they leave it out; see docs/formats.md)\n"
    "  --prof-live [ADDR]     serve the growing profile to `mrprof top --attach ADDR`; ADDR is\n"
    "                         unix:PATH or tcp:127.0.0.1:PORT (loopback only, with a token);\n"
    "                         default: a private Unix socket, printed on stderr\n"
    "  --prof-live-wait       with --prof-live: wait (up to 10 s) for a viewer before running\n"
    "                         the script, so it sees the run from the start\n"
    "  --heap-prof            profile memory for the whole run: write a DevTools .heapprofile\n"
    "                         of the blocks still live at exit (after a full GC)\n"
    "  --heap-prof-interval N mean bytes between allocation samples (default 524288); alone, it\n"
    "                         samples allocations for --prof-live viewers without a file\n"
    "  --heap-prof-all        with --heap-prof: every allocation made, not only the live ones\n"
    "  --heap-prof-out PATH   its file, or a directory for the default name\n"
    "                         (default: ./Heap.<date>.<time>.<pid>.0.001.heapprofile)\n"
    "  --workers N            Deferred worker threads, 1..256 (default: the number of cores;\n"
    "                         Deferred.pool_size = N in the script does the same)\n"
    "  --version              print the version and exit\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "exit status:\n"
    "  0  the script finished (or called exit(0))\n"
    "  1  uncaught exception or syntax error (or exit(1)), or a Deferred rejected with no\n"
    "     handler (reported when the program ends)\n"
    "  2  usage error: bad option, missing or unreadable script file\n"
    "  n  the script called exit(n)\n"
    "  141 puts/print wrote into a pipe whose reader had gone (SIGPIPE itself is ignored)\n";

static int
usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "mrun: %s%s\nTry 'mrun --help' for the options.\n", what, arg);
    return RT_EXIT_USAGE;
}

/* Takes the value of an option given as `--opt VALUE` or `--opt=VALUE`. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

/* A fork'd child (mruby-io's IO.popen) gets SIGPIPE's default action back before it execs, so
 * a pipeline it runs (`yes | head -1`) ends the way it would from a shell. */
static void
restore_sigpipe_in_child(void)
{
    signal(SIGPIPE, SIG_DFL); /* async-signal-safe: allowed after fork in a threaded process */
}

/* As Node does: a peer that closes while we write must be an EPIPE error on that one socket
 * (libuv reports it to the write's callback), not a signal that kills the whole process. That
 * covers the live agent's thread too, whose viewers can go away mid-write. */
static void
ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
    pthread_atfork(NULL, NULL, restore_sigpipe_in_child);
}

int
main(int argc, char **argv)
{
    const char *code = NULL, *script = NULL, *v;
    struct rt_prof_opts prof = {.hz = 1000, .mode = PROF_MODE_CPU};
    int workers = 0;
    bool hz_given = false, mode_given = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return RT_EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("mrun %s (mruby %s, libuv %s)\n", MRPROF_VERSION, MRUBY_VERSION,
                   uv_version_string());
            return RT_EXIT_OK;
        } else if (strcmp(a, "--cpu-prof") == 0) {
            prof.cpu_prof = true;
        } else if (strcmp(a, "--prof-idle") == 0) {
            prof.idle = true;
        } else if (strcmp(a, "--heap-prof") == 0) {
            prof.heap_prof = true;
        } else if (strcmp(a, "--heap-prof-all") == 0) {
            prof.heap_prof = prof.heap_all = true;
        } else if ((v = opt_value(argc, argv, &i, "--heap-prof-interval"))) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(v, &end, 10);
            if (!*v || *end || errno || n < 1 || n > (1ull << 40) || *v == '-')
                return usage_error("--heap-prof-interval takes a number of bytes (1 or more), not: ", v);
            prof.heap_interval = n;
        } else if ((v = opt_value(argc, argv, &i, "--heap-prof-out"))) {
            if (!*v)
                return usage_error("--heap-prof-out needs a path", "");
            prof.heap_prof = true;
            prof.heap_out = v;
        } else if (strcmp(a, "--prof-live-wait") == 0) {
            prof.live = prof.live_wait = true;
        } else if (strcmp(a, "--prof-live") == 0 || strncmp(a, "--prof-live=", 12) == 0) {
            /* The address is optional: taken when it looks like one. */
            prof.live = true;
            if (a[11] == '=')
                prof.live_addr = a + 12;
            else if (i + 1 < argc &&
                     (strncmp(argv[i + 1], "unix:", 5) == 0 || strncmp(argv[i + 1], "tcp:", 4) == 0))
                prof.live_addr = argv[++i];
        } else if ((v = opt_value(argc, argv, &i, "--prof-hz"))) {
            char *end;
            long hz = strtol(v, &end, 10);
            if (!*v || *end || hz < 1 || hz > 10000)
                return usage_error("--prof-hz takes a rate from 1 to 10000 Hz, not: ", v);
            prof.hz = (unsigned)hz;
            hz_given = true;
        } else if ((v = opt_value(argc, argv, &i, "--prof-mode"))) {
            if (strcmp(v, "cpu") == 0)
                prof.mode = PROF_MODE_CPU;
            else if (strcmp(v, "wall") == 0)
                prof.mode = PROF_MODE_WALL;
            else
                return usage_error("--prof-mode takes cpu or wall, not: ", v);
            mode_given = true;
        } else if ((v = opt_value(argc, argv, &i, "--prof-out"))) {
            if (!*v)
                return usage_error("--prof-out needs a path", "");
            prof.out = v;
        } else if ((v = opt_value(argc, argv, &i, "--prof-format"))) {
            if (!fmt_by_name(v))
                return usage_error("--prof-format takes cpuprofile, trace, speedscope, pprof or collapsed, not: ", v);
            prof.format = v;
        } else if ((v = opt_value(argc, argv, &i, "--workers"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 256)
                return usage_error("--workers takes a number of Deferred worker threads from 1 to 256, not: ", v);
            workers = (int)n;
        } else if (strcmp(a, "-e") == 0) {
            if (++i >= argc)
                return usage_error("this option needs an argument: ", a);
            code = argv[i];
            i++;
            break;
        } else {
            return usage_error("unknown option: ", a);
        }
    }
    /* An option that would have no effect is an error, not silently ignored. */
    if (prof.out && !prof.cpu_prof)
        return usage_error("--prof-out names the CPU profile's file, but no CPU profile is written "
                           "(add --cpu-prof",
                           prof.heap_prof ? "; the heap profile's file is --heap-prof-out)" : ")");
    if (prof.format && !prof.cpu_prof)
        return usage_error("--prof-format is the CPU profile's format, but no CPU profile is written "
                           "(add --cpu-prof)", "");
    if ((hz_given || mode_given) && !prof.cpu_prof && !prof.live)
        return usage_error(hz_given ? "--prof-hz" : "--prof-mode",
                           " sets the CPU sampler of --cpu-prof or --prof-live, and neither is given");
    if (prof.heap_interval && !prof.heap_prof && !prof.live)
        return usage_error("--heap-prof-interval sets the allocation sampling of --heap-prof or "
                           "--prof-live, and neither is given", "");
    if (!code) {
        if (i >= argc)
            return usage_error("no script given (a file name or -e CODE)", "");
        script = argv[i++];
    }

    ignore_sigpipe();
    struct rt *rt = rt_new(argc - i, argv + i);
    if (!rt)
        return RT_EXIT_SCRIPT_ERROR;
    rt->deferred_workers = workers;
    bool profiling = prof.cpu_prof || prof.live || prof.heap_prof || prof.heap_interval;
    if (profiling && rt_prof_begin(rt, &prof) != 0) {
        rt_free(rt);
        return RT_EXIT_USAGE;
    }
    if (code)
        rt_run_main_string(rt, code, "-e");
    else
        rt_run_main_file(rt, script);
    rt_run_loop(rt);
    rt_finish(rt);
    int status = rt->exit_code;
    if (profiling && rt_prof_finish(rt, &prof, status) != 0 && status == 0)
        status = RT_EXIT_SCRIPT_ERROR;
    rt_free(rt);
    if (fflush(stdout) != 0 && status == 0)
        status = RT_EXIT_SCRIPT_ERROR;
    return status;
}
