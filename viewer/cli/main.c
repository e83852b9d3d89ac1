/*
 * main.c — the mrprof command: one table of subcommands, one help path, checked stdout.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
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

static void
usage(FILE *out)
{
    fprintf(out, "usage: mrprof COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'mrprof COMMAND --help' shows a command's options.\n\n"
                 "exit status:\n"
                 "  0  success\n"
                 "  1  check found a regression\n"
                 "  2  usage or input error (bad option; missing, unreadable or malformed file)\n"
                 "  3  the profiled script could not be run (record passes the script's own\n"
                 "     exit status through otherwise)\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc >= 3 && strcmp(argv[1], "help") == 0) {
            char *help_argv[] = {argv[2], "--help", NULL};
            argv = help_argv;
            argc = 2;
        } else {
            usage(argc < 2 ? stderr : stdout);
            return argc < 2 ? CLI_USAGE : CLI_OK;
        }
    } else {
        argv++;
        argc--;
    }
    if (strcmp(argv[0], "--version") == 0) {
        printf("mrprof %s\n", MRPROF_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[0], commands[i].name) != 0)
            continue;
        int rc = commands[i].fn(argc, argv);
        /* A full disk or a closed pipe must not look like success (git's run_builtin). */
        if (fflush(stdout) != 0 || ferror(stdout)) {
            if (errno != EPIPE)
                fprintf(stderr, "mrprof %s: cannot write the output: %s\n", argv[0],
                        strerror(errno));
            return rc ? rc : CLI_USAGE;
        }
        return rc;
    }
    fprintf(stderr, "mrprof: '%s' is not a command.\n", argv[0]);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strncmp(argv[0], commands[i].name, 2) == 0)
            fprintf(stderr, "Did you mean 'mrprof %s'?\n", commands[i].name);
    fprintf(stderr, "Try 'mrprof --help'.\n");
    return CLI_USAGE;
}
