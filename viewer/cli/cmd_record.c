/*
 * cmd_record.c — `mrprof record -- SCRIPT`: run mrun with profiling flags, pass its status on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/formats.h"
#include "viewer/cli/cli.h"
#include "viewer/cli/record_pid.h"
#include "viewer/cli/spawn.h"

static const char usage[] =
    "usage: mrprof record [-o PATH] [-f FORMAT] [--hz N] [--mode cpu|wall] [--idle] [--memory]\n"
    "                     -- SCRIPT [ARGS...]\n"
    "       mrprof record --stall MS [-o DIR] -- SCRIPT [ARGS...]\n"
    "       mrprof record --pid PID [--duration SECONDS] [--memory] [-o PATH] [-f FORMAT]\n";
static const char about[] =
    "Runs SCRIPT with mrun under the sampling profiler and writes the profile at exit (also when\n"
    "the script raises or calls exit). Exits with the script's own status; 3 when mrun could not\n"
    "be started or was killed by a signal (then 128+signal is printed).\n"
    "With --stall MS it records stalls instead (mrun --prof-stall): one .cpuprofile per callback\n"
    "that held the event loop over MS ms, and an index, in DIR (default ./stalls.<pid>/).\n"
    "With --pid it attaches to a running mrun (SIGUSR2; see docs/cli.md), records until\n"
    "--duration, Ctrl-C or the program's end, and writes PATH; exits 4 when it cannot attach.\n";

/* Starts mrun with ARGV (frees it) and waits for it, passing signals on. 0 with *PID and the
 * exit status in *CODE; else the command's status (the reason printed, LOST after a signal). */
static int
record_run(char **argv, pid_t *pidp, int *code, const char *mrun, const char *lost)
{
    const struct spawn_opts so = {.cmd = "record",
                                  .hint = " (build it with `make`, or pass --mrun)"};
    pid_t pid = spawn_mrun(argv, &so);
    free(argv);
    if (pid < 0) {
        fprintf(stderr, "mrprof record: cannot fork: %s\n", strerror(errno));
        return CLI_SCRIPT_FAILED;
    }
    /* Ctrl-C goes to the whole process group: let the child decide (mrun stops the script and
     * writes the profile), and report after it. A SIGTERM sent to mrprof alone is passed on. */
    struct spawn_end end;
    if (spawn_wait(pid, SPAWN_FORWARD, &end) != 1) {
        fprintf(stderr, "mrprof record: cannot wait for mrun: %s\n", strerror(errno));
        return CLI_SCRIPT_FAILED;
    }
    if (end.signo) {
        fprintf(stderr, "mrprof record: mrun was killed by signal %d%s\n", end.signo, lost);
        return CLI_SCRIPT_FAILED;
    }
    if (end.code == 127 && access(mrun, X_OK) != 0)
        return CLI_SCRIPT_FAILED;
    *pidp = pid;
    *code = end.code;
    return 0;
}

/* --stall MS: mrun --prof-stall MS [--prof-out DIR] -- SCRIPT ARGS. */
static int
record_stalls(const char *mrun, unsigned long ms, const char *dir, bool other, char **script,
              int nscript)
{
    if (other)
        return cli_usage_error("record", "--stall records stalls with its own sampler: -f, --hz, "
                                         "--mode, --idle and --memory do not apply");
    char ms_buf[24];
    snprintf(ms_buf, sizeof ms_buf, "%lu", ms);
    char **v = calloc((size_t)nscript + 8, sizeof *v);
    if (!v)
        return CLI_SCRIPT_FAILED;
    int k = 0;
    v[k++] = (char *)mrun;
    v[k++] = "--prof-stall";
    v[k++] = ms_buf;
    if (dir) {
        v[k++] = "--prof-out";
        v[k++] = (char *)dir;
    }
    v[k++] = "--";
    for (int j = 0; j < nscript; j++)
        v[k++] = script[j];
    pid_t pid;
    int code, st = record_run(v, &pid, &code, mrun, "");
    if (st)
        return st;
    char def[64], index[4200];
    snprintf(def, sizeof def, "stalls.%ld", (long)pid);
    snprintf(index, sizeof index, "%s/index.json", dir ? dir : def);
    if (access(index, R_OK) == 0)
        fprintf(stderr,
                "mrprof record: stalls in %s (script exit status %d); see them with: "
                "mrprof report %s\n",
                dir ? dir : def, code, dir ? dir : def);
    return code;
}

int
cmd_record(int argc, char **argv)
{
    const char *out = NULL, *format = NULL, *mrun = NULL, *interval_opt = NULL;
    const char *hz_opt = NULL, *mode_opt = NULL;
    unsigned long hz = 1000, interval = 0, stall = 0;
    int mode_i = 0;
    bool memory = false, memory_all = false, idle = false;
    unsigned long attach_pid_n = 0;
    double duration = 0;
    const char *pid_opt = NULL, *duration_opt = NULL;
    char format_help[320];
    snprintf(format_help, sizeof format_help, "%s;\ndefault from PATH's extension, else cpuprofile",
             fmt_names());
    const struct opt opts[] = {
        {OPTION_PATH("output", 'o', &out, "PATH",
                     "profile file (default: SCRIPT-YYYYMMDD-HHMMSS.cpuprofile here)")},
        {OPTION_CALLBACK("format", 'f', cli_format_opt, &format, "F", format_help)},
        {OPTION_UINT("hz", 0, &hz, 1, 10000, "N", "sampling rate, 1..10000 (default 1000)"),
         .given = &hz_opt},
        {OPTION_ENUM("mode", 0, &mode_i, cli_mode_names,
                     "cpu (default): on-CPU time; wall: also time spent waiting, as (idle)"),
         .given = &mode_opt},
        {OPTION_UINT("stall", 0, &stall, 1, 3600000, "MS",
                     "record stalls, not a profile: -o names their directory (see above)")},
        {OPTION_FLAG("idle", 0, &idle,
                     "keep (idle) in collapsed, speedscope and pprof files, which leave it\n"
                     "out by default (see `mrprof convert --help`)")},
        {OPTION_FLAG("memory", 0, &memory,
                     "also sample allocations: PATH's name with .heapprofile holds the\n"
                     "blocks still live at exit, and a trace (-f trace) gets the memory\n"
                     "counters (RSS, live objects, GC cycles, bytes allocated)")},
        {OPTION_FLAG("memory-all", 0, &memory_all,
                     "--memory, with every allocation in the .heapprofile")},
        {OPTION_UINT("memory-interval", 0, &interval, 1, 1099511627776.0, "N",
                     "mean bytes between allocation samples (default 524288)"),
         .given = &interval_opt},
        {OPTION_UINT("pid", 0, &attach_pid_n, 1, 4194304, "PID",
                     "attach to the running mrun PID instead of starting a script"),
         .given = &pid_opt},
        {OPTION_DOUBLE("duration", 0, &duration, 0, 1e6, "SECONDS",
                       "with --pid: stop SECONDS after profiling begins (the agent's welcome;\n"
                       "default: Ctrl-C or the program's end)"),
         .flags = OPTF_MIN_EXCL, .given = &duration_opt},
        CLI_OPT_MRUN(&mrun),
        {0},
    };
    const struct opt_cmd cmd = {"mrprof record", usage, about, NULL, opts, 22, OPT_STOP_AT_ARG};
    int rc, nargs = cli_parse(&cmd, argc, argv, -1, NULL, &rc);
    if (nargs < 0)
        return rc;
    memory = memory || memory_all || interval_opt;
    const char *mode = cli_mode_names[mode_i];
    if (pid_opt) {
        if (nargs > 0)
            return cli_usage_error("record", "--pid records a running program; give no script");
        if (stall || hz_opt || mode_opt || memory_all || interval_opt || idle || mrun)
            return cli_usage_error("record", "with --pid the program runs already: --stall, "
                                             "--hz, --mode, --memory-all, --memory-interval, "
                                             "--idle and --mrun do not apply");
        return record_pid((long)attach_pid_n, duration, memory, out, format);
    }
    if (duration_opt)
        return cli_usage_error("record", "--duration is for --pid");
    if (nargs == 0)
        return cli_usage_error("record", "no script given (mrprof record -- SCRIPT [ARGS])");
    const char *script = argv[0]; /* argv[0..nargs): the script and its arguments */
    if (stall)
        return record_stalls(cli_mrun_path(mrun, (char[4096]){0}, 4096), stall, out,
                             format || hz_opt || mode_opt || memory || idle, argv, nargs);

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
        if (stem > 16 && strcmp(out + stem - 16, ".speedscope.json") == 0 &&
            dot == out + strlen(out) - 5)
            stem -= 11;
        snprintf(heap_buf, sizeof heap_buf, "%.*s.heapprofile", (int)stem, out);
        snprintf(interval_buf, sizeof interval_buf, "%lu", interval ? interval : 524288ul);
        const char *e[] = {memory_all ? "--heap-prof-all" : "--heap-prof",
                           "--heap-prof-out",
                           heap_buf,
                           "--heap-prof-interval",
                           interval_buf,
                           NULL};
        memcpy(extra, e, sizeof e);
    }
    if (idle) { /* after the memory options, if any */
        size_t n = 0;
        while (extra[n])
            n++;
        extra[n] = "--prof-idle";
    }

    char **cargv = cli_mrun_argv(mrun, out, NULL, hz_buf, mode, format, extra, argv, nargs);
    if (!cargv)
        return CLI_SCRIPT_FAILED;
    pid_t pid;
    time_t started = time(NULL);
    int code, st = record_run(cargv, &pid, &code, mrun, "; no profile written");
    if (st)
        return st;
    const struct fmt_ops *f = format ? fmt_by_name(format) : fmt_by_path(out);
    if (memory && access(heap_buf, R_OK) == 0)
        fprintf(stderr, "mrprof record: wrote %s (memory; open it in DevTools' Memory panel)\n",
                heap_buf);
    if (access(out, R_OK) == 0 && (!f || f->readable))
        fprintf(stderr,
                "mrprof record: wrote %s (script exit status %d); see it with: "
                "mrprof report %s\n",
                out, code, out);
    else if (access(out, R_OK) == 0)
        fprintf(stderr, "mrprof record: wrote %s (script exit status %d) for %s\n", out, code,
                f->about);
    else
        fprintf(stderr, "mrprof record: no profile was written (script exit status %d)\n", code);
    cli_record_report_workers(out, started);
    return code;
}
