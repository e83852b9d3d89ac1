/*
 * main.c — the mrun command: parse the command line (its table of options, read by
 * profiler/base/options.h), run the script, run the loop, exit.
 */
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "profiler/base/options.h"
#include "runtime/inspector.h"
#include "runtime/profiling.h"
#include "runtime/rt.h"
#include "profiler/base/version.h"

static const char usage[] = "usage: mrun [options] SCRIPT.rb [ARGS...]\n"
                            "       mrun [options] -e CODE [ARGS...]\n";
static const char about[] =
    "Runs an mruby script on a libuv event loop (timers, Net sockets, Deferred workers).\n"
    "The process exits when the loop has nothing left to do.\n";
static const char footer[] =
    "exit status:\n"
    "  0  the script finished (or called exit(0))\n"
    "  1  uncaught exception or syntax error (or exit(1)), or a Deferred rejected with no\n"
    "     handler (reported when the program ends)\n"
    "  2  usage error: bad option, missing or unreadable script file\n"
    "  n  the script called exit(n)\n"
    "  141 puts/print wrote into a pipe whose reader had gone (SIGPIPE itself is ignored)\n";
static const char *const mode_names[] = {"cpu", "wall", NULL}; /* enum prof_mode */

/* --prof-live [ADDR]: the address is optional, taken when it looks like one. */
static int
live_opt(struct opt_state *st, const struct opt *o, const char *value)
{
    struct rt_prof_opts *prof = o->dst;
    const char *next = st->i + 1 < st->argc ? st->argv[st->i + 1] : "";
    if (!value && (strncmp(next, "unix:", 5) == 0 || strncmp(next, "tcp:", 4) == 0))
        value = st->argv[++st->i];
    prof->live = true;
    prof->live_addr = value;
    return 0;
}

/* --prof-format F: a name from the formats table (formats/formats.c). */
static int
format_opt(struct opt_state *st, const struct opt *o, const char *value)
{
    if (!fmt_by_name(value))
        return opt_error(st->cmd, "%s must be one of %s, not '%s'", st->spelled, fmt_names(),
                         value);
    *(const char **)o->dst = value;
    return 0;
}

/* --inspect[=[HOST:]PORT], --inspect-wait[=[HOST:]PORT]: the address only after '=', as Node. */
static int
inspect_opt(struct opt_state *st, const struct opt *o, const char *value)
{
    struct rt_inspect_opts *in = o->dst;
    in->addr = value ? value : in->addr;
    if (strcmp(o->name, "inspect-wait") == 0)
        in->wait = true;
    in->on = true;
    return 0;
}

static int
usage_error(const char *what, const char *arg)
{
    opt_error_prog("mrun", "%s%s", what, arg);
    return RT_EXIT_USAGE;
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
    const char *code = NULL, *script = NULL, *hz_opt = NULL, *mode_opt = NULL;
    struct rt_prof_opts prof = {.hz = 1000, .mode = PROF_MODE_CPU};
    unsigned long hz = 1000, heap_interval = 0, stall_ms = 0;
    int workers = 0, mode = PROF_MODE_CPU;
    bool version = false;
    struct rt_inspect_opts insp = {0};
    char format_help[320];
    snprintf(format_help, sizeof format_help, "%s;\nelse from PATH's extension, else cpuprofile",
             fmt_names());
    const struct opt opts[] = {
        {OPTION_STRING(NULL, 'e', &code, "CODE",
                       "run CODE instead of a script file (its file name is -e)"),
         .flags = OPTF_STOP},
        {OPTION_FLAG("cpu-prof", 0, &prof.cpu_prof,
                     "profile the whole run; write the profile at exit (also after an\n"
                     "uncaught exception or exit(n))")},
        {OPTION_UINT("prof-hz", 0, &hz, 1, 10000, "N", "sampling rate, 1..10000 Hz (default 1000)"),
         .given = &hz_opt},
        {OPTION_ENUM("prof-mode", 0, &mode, mode_names,
                     "cpu: on-CPU time only (default); wall: also time waiting (idle)"),
         .given = &mode_opt},
        {OPTION_UINT("prof-stall", 0, &stall_ms, 1, 3600000, "MS",
                     "the stall recorder: keep a 50 Hz wall-clock ring of samples and\n"
                     "write one .cpuprofile per callback that holds the loop over MS ms\n"
                     "(into --prof-out DIR; default ./stalls.<pid>/)")},
        {OPTION_PATH("prof-out", 0, &prof.out, "PATH",
                     "output file, or a directory for the default name\n"
                     "(default: ./CPU.<date>.<time>.<pid>.0.001.cpuprofile); with\n"
                     "--prof-stall, the stall directory")},
        {OPTION_CALLBACK("prof-format", 0, format_opt, &prof.format, "F", format_help)},
        {OPTION_FLAG("prof-idle", 0, &prof.idle,
                     "keep (idle) in collapsed, speedscope and pprof files (by default\n"
                     "they leave it out; see docs/formats.md)")},
        {OPTION_CALLBACK("prof-live", 0, live_opt, &prof, "[ADDR]",
                         "serve the growing profile to `mrprof top --attach ADDR`; ADDR is\n"
                         "unix:PATH or tcp:127.0.0.1:PORT (loopback only, with a token);\n"
                         "default: a private Unix socket, printed on stderr"),
         .flags = OPTF_NO_VALUE},
        {OPTION_FLAG("prof-live-wait", 0, &prof.live_wait,
                     "with --prof-live: wait (up to 10 s) for a viewer before running\n"
                     "the script, so it sees the run from the start")},
        {OPTION_FLAG("heap-prof", 0, &prof.heap_prof,
                     "profile memory for the whole run: write a DevTools .heapprofile\n"
                     "of the blocks still live at exit (after a full GC)")},
        {OPTION_UINT("heap-prof-interval", 0, &heap_interval, 1, 1099511627776.0, "N",
                     "mean bytes between allocation samples (default 524288); alone, it\n"
                     "samples allocations for --prof-live viewers without a file")},
        {OPTION_FLAG("heap-prof-all", 0, &prof.heap_all,
                     "with --heap-prof: every allocation made, not only the live ones")},
        {OPTION_PATH("heap-prof-out", 0, &prof.heap_out, "PATH",
                     "its file, or a directory for the default name\n"
                     "(default: ./Heap.<date>.<time>.<pid>.0.001.heapprofile)")},
        {OPTION_INT("workers", 0, &workers, 1, 256, "N",
                    "Deferred worker threads, 1..256 (default: the number of cores;\n"
                    "Deferred.pool_size = N in the script does the same)")},
        {OPTION_CALLBACK("inspect", 0, inspect_opt, &insp, "[=[HOST:]PORT]",
                         "serve the Chrome DevTools Protocol (chrome://inspect) on\n"
                         "HOST:PORT (default 127.0.0.1:9229; port 0 picks a free one)"),
         .flags = OPTF_NO_VALUE},
        {OPTION_CALLBACK("inspect-wait", 0, inspect_opt, &insp, "[=[HOST:]PORT]",
                         "the same, and wait for a debugger's\n"
                         "Runtime.runIfWaitingForDebugger before running the script"),
         .flags = OPTF_NO_VALUE},
        {OPTION_FLAG("inspect-public", 0, &insp.public_ok,
                     "allow --inspect on an address that is not loopback (whoever\n"
                     "reaches it can run any code in the process)")},
        {OPTION_FLAG("no-attach", 0, &rt_no_attach,
                     "ignore SIGUSR2: `mrprof top/record --pid` cannot attach to this\n"
                     "process (MRUN_NO_ATTACH=1 does the same)")},
        {OPTION_FLAG("version", 0, &version, "print the version and exit")},
        {0},
    };
    const struct opt_cmd cmd = {"mrun", usage, about, footer, opts, 25, OPT_STOP_AT_ARG};
    rt_cluster_set_argv(argc, argv); /* before opt_parse reorders argv: a cluster worker's */
    int nargs = opt_parse(&cmd, argc, argv);
    if (nargs < 0)
        return nargs == OPT_HELP ? RT_EXIT_OK : RT_EXIT_USAGE;
    if (version) {
        printf("mrun %s (mruby %s, libuv %s)\n", MRPROF_VERSION, MRUBY_VERSION,
               uv_version_string());
        return RT_EXIT_OK;
    }
    prof.hz = (unsigned)hz;
    prof.mode = (enum prof_mode)mode;
    prof.heap_interval = heap_interval;
    prof.live = prof.live || prof.live_wait;
    prof.heap_prof = prof.heap_prof || prof.heap_all || prof.heap_out;
    bool hz_given = hz_opt != NULL, mode_given = mode_opt != NULL;
    prof.stall_ms = stall_ms;
    if (stall_ms && (prof.cpu_prof || prof.live || prof.heap_prof || prof.heap_interval))
        return usage_error("--prof-stall records its own wall-clock ring and cannot be combined "
                           "with --cpu-prof, --prof-live or --heap-prof",
                           "");
    if (stall_ms && (hz_given || mode_given || prof.format))
        return usage_error(hz_given     ? "--prof-hz"
                           : mode_given ? "--prof-mode"
                                        : "--prof-format",
                           " sets --cpu-prof's sampler or file; --prof-stall has its own (50 Hz "
                           "wall ring, 1000 Hz in a stall, .cpuprofile files)");
    if (stall_ms) {
        prof.stall_dir = prof.out;
        prof.out = NULL;
    }
    /* An option that would have no effect is an error, not silently ignored. */
    if (prof.out && !prof.cpu_prof)
        return usage_error("--prof-out names the CPU profile's file, but no CPU profile is written "
                           "(add --cpu-prof",
                           prof.heap_prof ? "; the heap profile's file is --heap-prof-out)" : ")");
    if (prof.format && !prof.cpu_prof)
        return usage_error(
            "--prof-format is the CPU profile's format, but no CPU profile is written "
            "(add --cpu-prof)",
            "");
    if ((hz_given || mode_given) && !prof.cpu_prof && !prof.live)
        return usage_error(
            hz_given ? "--prof-hz" : "--prof-mode",
            " sets the CPU sampler of --cpu-prof or --prof-live, and neither is given");
    if (prof.heap_interval && !prof.heap_prof && !prof.live)
        return usage_error("--heap-prof-interval sets the allocation sampling of --heap-prof or "
                           "--prof-live, and neither is given",
                           "");
    if (insp.public_ok && !insp.on)
        return usage_error("--inspect-public allows --inspect's address; --inspect is not given",
                           "");
    if (insp.on && rt_inspect_check(&insp) != 0)
        return RT_EXIT_USAGE;
    /* argv[0..nargs): the script (unless -e) and the script's arguments */
    int i = 0;
    if (!code) {
        if (nargs == 0)
            return usage_error("no script given (a file name or -e CODE)", "");
        script = argv[i++];
    }

    /* A cluster worker (runtime/cluster.c) writes its profiles beside the primary's. */
    const char *cluster_worker = getenv("MRUN_CLUSTER_WORKER");
    if (cluster_worker && strtol(cluster_worker, NULL, 10) > 0)
        rt_prof_cluster_worker(&prof, strtol(cluster_worker, NULL, 10));

    ignore_sigpipe();
    struct rt *rt = rt_new(nargs - i, argv + i);
    if (!rt)
        return RT_EXIT_SCRIPT_ERROR;
    rt->deferred_workers = workers;
    bool profiling =
        prof.cpu_prof || prof.live || prof.heap_prof || prof.heap_interval || prof.stall_ms;
    if (profiling && rt_prof_begin(rt, &prof) != 0) {
        rt_free(rt);
        return RT_EXIT_USAGE;
    }
    insp.script = script;
    if (insp.on && rt_inspect_start(rt, &insp) != 0) {
        if (profiling)
            rt_prof_finish(rt, &prof, RT_EXIT_USAGE);
        rt_free(rt);
        return RT_EXIT_USAGE;
    }
    if (code)
        rt_run_main_string(rt, code, "-e");
    else
        rt_run_main_file(rt, script);
    rt_run_loop(rt);
    if (profiling)
        rt_prof_loop_ended(rt);
    rt_finish(rt);
    if (insp.on)
        rt_inspect_finish(rt);
    int status = rt->exit_code;
    if (profiling && rt_prof_finish(rt, &prof, status) != 0 && status == 0)
        status = RT_EXIT_SCRIPT_ERROR;
    rt_free(rt);
    if (fflush(stdout) != 0 && status == 0)
        status = RT_EXIT_SCRIPT_ERROR;
    return status;
}
