/*
 * main.c — the mrun command: parse the command line, run the script, run the loop, exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "  --version              print the version and exit\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "exit status:\n"
    "  0  the script finished (or called exit(0))\n"
    "  1  uncaught exception or syntax error (or exit(1))\n"
    "  2  usage error: bad option, missing or unreadable script file\n"
    "  n  the script called exit(n)\n";

static int
usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "mrun: %s%s\nTry 'mrun --help' for the options.\n", what, arg);
    return RT_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
    const char *code = NULL, *script = NULL;
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
    if (!code) {
        if (i >= argc)
            return usage_error("no script given (a file name or -e CODE)", "");
        script = argv[i++];
    }

    struct rt *rt = rt_new(argc - i, argv + i);
    if (!rt)
        return RT_EXIT_SCRIPT_ERROR;
    if (code)
        rt_run_main_string(rt, code, "-e");
    else
        rt_run_main_file(rt, script);
    rt_run_loop(rt);
    int status = rt->exit_code;
    rt_free(rt);
    if (fflush(stdout) != 0 && status == 0)
        status = RT_EXIT_SCRIPT_ERROR;
    return status;
}
