/*
 * main.c — the mrprof command: one table of subcommands, mrprof's own options (--help,
 * --version) through the option parser (profiler/base/options.h), checked stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiler/base/version.h"
#include "viewer/cli/cli.h"

struct command {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
};

static const struct command commands[] = {
    {"check", cmd_check, "CI gate: fail (exit 1) when code got slower, and say where"},
    {"convert", cmd_convert, "convert a profile to another format"},
    {"diff", cmd_diff, "compare two profiles function by function"},
    {"record", cmd_record, "run a script under the profiler and write a profile"},
    {"report", cmd_report, "print where the time went: header, top functions, call tree"},
    {"top", cmd_top, "watch a running script's profile live in the terminal"},
    {"view", cmd_view, "open a profile in the terminal: top, call tree, flame graph, timeline"},
};

static const char exit_text[] =
    "'mrprof COMMAND --help' shows a command's options.\n\n"
    "exit status:\n"
    "  0  success\n"
    "  1  check found a regression\n"
    "  2  usage or input error (bad option; missing, unreadable or malformed file)\n"
    "  3  the profiled script could not be run (record passes the script's own\n"
    "     exit status through otherwise)\n";

int
main(int argc, char **argv)
{
    char about[1024];
    size_t k = 0;
    k += (size_t)snprintf(about, sizeof about, "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0] && k < sizeof about; i++)
        k += (size_t)snprintf(about + k, sizeof about - k, "  %-9s %s\n", commands[i].name,
                              commands[i].summary);
    bool version = false;
    const struct opt opts[] = {
        {OPTION_FLAG("version", 0, &version, "print the version and exit")},
        {0},
    };
    const struct opt_cmd cmd = {
        "mrprof", "usage: mrprof COMMAND [ARGS...]\n", about, exit_text, opts, 14, OPT_STOP_AT_ARG};
    if (argc < 2) {
        opt_usage(&cmd, stderr);
        return CLI_USAGE;
    }
    /* mrprof's own options end at the command; the command's argv starts with its name. */
    int n = opt_parse(&cmd, argc, argv);
    if (n < 0)
        return cli_opt_exit(n);
    if (version) {
        printf("mrprof %s\n", MRPROF_VERSION);
        return CLI_OK;
    }
    char *help_argv[] = {NULL, "--help", NULL};
    if (n == 0) {
        opt_usage(&cmd, stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[0], "help") == 0) { /* mrprof help [COMMAND] */
        if (n < 2) {
            opt_usage(&cmd, stdout);
            return CLI_OK;
        }
        help_argv[0] = argv[1];
        argv = help_argv;
        n = 2;
    }
    const char *name = argv[0];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        int rc = commands[i].fn(n, argv);
        /* A full disk or a closed pipe must not look like success (git's run_builtin). */
        if (fflush(stdout) != 0 || ferror(stdout)) {
            if (errno != EPIPE)
                fprintf(stderr, "mrprof %s: cannot write the output: %s\n", name, strerror(errno));
            return rc ? rc : CLI_USAGE;
        }
        return rc;
    }
    fprintf(stderr, "mrprof: '%s' is not a command.\n", name);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strncmp(name, commands[i].name, 2) == 0)
            fprintf(stderr, "Did you mean 'mrprof %s'?\n", commands[i].name);
    fprintf(stderr, "Try 'mrprof --help'.\n");
    return CLI_USAGE;
}
