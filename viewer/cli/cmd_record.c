/*
 * cmd_record.c — `mrprof record -- SCRIPT`: run mrun with profiling flags, pass its status on.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "formats/formats.h"
#include "viewer/cli/cli.h"

static const char help[] =
    "usage: mrprof record [-o PATH] [-f FORMAT] [--hz N] [--mode cpu|wall] [--idle] [--memory]\n"
    "                     -- SCRIPT [ARGS...]\n"
    "\n"
    "Runs SCRIPT with mrun under the sampling profiler and writes the profile at exit (also when\n"
    "the script raises or calls exit). Exits with the script's own status; 3 when mrun could not\n"
    "be started or was killed by a signal (then 128+signal is printed).\n"
    "\n"
    "  -o, --output PATH   profile file (default: SCRIPT-YYYYMMDD-HHMMSS.cpuprofile here)\n"
    "  -f, --format F      cpuprofile (default), trace, speedscope, pprof, collapsed; default\n"
    "                      from PATH's extension\n"
    "  --hz N              sampling rate, 1..10000 (default 1000)\n"
    "  --mode cpu|wall     cpu (default): on-CPU time; wall: also time spent waiting, as (idle)\n"
    "  --idle              keep (idle) in collapsed, speedscope and pprof files, which leave it\n"
    "                      out by default (see `mrprof convert --help`)\n"
    "  --memory            also sample allocations: PATH's name with .heapprofile holds the\n"
    "                      blocks still live at exit, and a trace (-f trace) gets the memory\n"
    "                      counters (RSS, live objects, GC cycles, bytes allocated)\n"
    "  --memory-all        --memory, with every allocation in the .heapprofile\n"
    "  --memory-interval N mean bytes between allocation samples (default 524288)\n"
    "  --mrun PATH         the mrun binary (default: beside mrprof, or $MRUN)\n";

static volatile pid_t record_child;

static void
forward_term(int signo)
{
    if (record_child > 0)
        kill(record_child, signo);
}

int
cmd_record(int argc, char **argv)
{
    const char *out = NULL, *format = NULL, *mode = "cpu", *mrun = NULL;
    unsigned long hz = 1000, interval = 0;
    bool memory = false, memory_all = false, idle = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (++i >= argc)
                return cli_usage_error("record", "%s needs a path", a);
            out = argv[i];
        } else if (strcmp(a, "-f") == 0 || strcmp(a, "--format") == 0) {
            if (++i >= argc || !fmt_by_name(argv[i]))
                return cli_usage_error("record", "%s takes one of: %s", a, fmt_names());
            format = argv[i];
        } else if (strcmp(a, "--hz") == 0) {
            if (!cli_parse_uint("record", a, i + 1 < argc ? argv[++i] : NULL, 10000, &hz))
                return CLI_USAGE;
            if (hz < 1)
                return cli_usage_error("record", "--hz must be at least 1");
        } else if (strcmp(a, "--mode") == 0) {
            mode = i + 1 < argc ? argv[++i] : "";
            if (strcmp(mode, "cpu") != 0 && strcmp(mode, "wall") != 0)
                return cli_usage_error("record", "--mode takes cpu or wall, not '%s'", mode);
        } else if (strcmp(a, "--idle") == 0) {
            idle = true;
        } else if (strcmp(a, "--memory") == 0) {
            memory = true;
        } else if (strcmp(a, "--memory-all") == 0) {
            memory = memory_all = true;
        } else if (strcmp(a, "--memory-interval") == 0) {
            if (!cli_parse_uint("record", a, i + 1 < argc ? argv[++i] : NULL, 1ul << 40, &interval))
                return CLI_USAGE;
            if (interval < 1)
                return cli_usage_error("record", "--memory-interval must be at least 1 byte");
            memory = true;
        } else if (strcmp(a, "--mrun") == 0) {
            if (++i >= argc)
                return cli_usage_error("record", "--mrun needs a path");
            mrun = argv[i];
        } else if (a[0] == '-') {
            return cli_usage_error("record", "unknown option '%s'", a);
        } else {
            break; /* the script, without a `--` */
        }
    }
    if (i >= argc)
        return cli_usage_error("record", "no script given (mrprof record -- SCRIPT [ARGS])");
    const char *script = argv[i];

    char mrun_buf[4096], out_buf[4096], hz_buf[16];
    mrun = cli_mrun_path(mrun, mrun_buf, sizeof mrun_buf);
    if (!out) {
        const char *base = strrchr(script, '/');
        base = base ? base + 1 : script;
        size_t blen = strlen(base);
        if (blen > 3 && strcmp(base + blen - 3, ".rb") == 0)
            blen -= 3;
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        const struct fmt_ops *f = format ? fmt_by_name(format) : fmt_by_name("cpuprofile");
        snprintf(out_buf, sizeof out_buf, "%.*s-%04d%02d%02d-%02d%02d%02d%s", (int)blen, base,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 f->ext);
        out = out_buf;
    }
    snprintf(hz_buf, sizeof hz_buf, "%lu", hz);
    /* --memory: the heap profile beside the CPU one, OUT with its extension replaced. */
    char heap_buf[4200], interval_buf[24];
    const char *extra[8] = {NULL};
    if (memory) {
        const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - out) : strlen(out);
        if (stem > 16 && strcmp(out + stem - 16, ".speedscope.json") == 0 && dot == out + strlen(out) - 5)
            stem -= 11;
        snprintf(heap_buf, sizeof heap_buf, "%.*s.heapprofile", (int)stem, out);
        snprintf(interval_buf, sizeof interval_buf, "%lu", interval ? interval : 524288ul);
        const char *e[] = {memory_all ? "--heap-prof-all" : "--heap-prof", "--heap-prof-out", heap_buf,
                           "--heap-prof-interval", interval_buf, NULL};
        memcpy(extra, e, sizeof e);
    }
    if (idle) { /* after the memory options, if any */
        size_t n = 0;
        while (extra[n])
            n++;
        extra[n] = "--prof-idle";
    }

    char **cargv = cli_mrun_argv(mrun, out, NULL, hz_buf, mode, format, extra, argv + i, argc - i);
    if (!cargv)
        return CLI_SCRIPT_FAILED;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mrprof record: cannot fork: %s\n", strerror(errno));
        free(cargv);
        return CLI_SCRIPT_FAILED;
    }
    if (pid == 0) {
        setenv("MRUN_QUIET", "1", 1);
        execv(mrun, cargv);
        fprintf(stderr, "mrprof record: cannot run %s: %s (build it with `make`, or pass --mrun)\n",
                mrun, strerror(errno));
        _exit(127);
    }
    free(cargv);
    /* Ctrl-C goes to the whole process group: let the child decide (mrun stops the script and
     * writes the profile), and report after it. A SIGTERM sent to mrprof alone is passed on. */
    record_child = pid;
    signal(SIGINT, SIG_IGN);
    struct sigaction sa = {0}, old_term;
    sa.sa_handler = forward_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    sigaction(SIGTERM, &old_term, NULL);
    signal(SIGINT, SIG_DFL);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "mrprof record: mrun was killed by signal %d; no profile written\n",
                WTERMSIG(status));
        return CLI_SCRIPT_FAILED;
    }
    int code = WEXITSTATUS(status);
    if (code == 127 && access(mrun, X_OK) != 0)
        return CLI_SCRIPT_FAILED;
    const struct fmt_ops *f = format ? fmt_by_name(format) : fmt_by_path(out);
    if (memory && access(heap_buf, R_OK) == 0)
        fprintf(stderr, "mrprof record: wrote %s (memory; open it in DevTools' Memory panel)\n", heap_buf);
    if (access(out, R_OK) == 0 && (!f || f->readable))
        fprintf(stderr, "mrprof record: wrote %s (script exit status %d); see it with: "
                        "mrprof report %s\n", out, code, out);
    else if (access(out, R_OK) == 0)
        fprintf(stderr, "mrprof record: wrote %s (script exit status %d) for %s\n", out, code, f->about);
    else
        fprintf(stderr, "mrprof record: no profile was written (script exit status %d)\n", code);
    return code;
}
