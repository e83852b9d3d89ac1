/*
 * cli.h — what the mrprof commands share: exit codes, the command signature, argument helpers.
 */
#ifndef MRPROF_CLI_H
#define MRPROF_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "profiler/model/aggregate.h"

/* Exit codes of mrprof (documented in `mrprof --help` and docs/cli.md). */
enum cli_exit {
    CLI_OK = 0,
    CLI_REGRESSION = 1,    /* check: a regression was found */
    CLI_USAGE = 2,         /* usage or input error (bad option, unreadable or malformed file) */
    CLI_SCRIPT_FAILED = 3, /* the profiled script could not be started or was killed */
};

/* A command consumes argv[1..argc) (argv[0] is its name) and returns an exit code. */
typedef int (*cli_cmd_fn)(int argc, char **argv);

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* The display options `view` and `top` share (--once, --view, --size, --thread, --search). */
struct tv;
struct view_opts {
    bool once;
    int view;   /* enum tv_view, or -1 for all (with --once) */
    int w, h;   /* --size; 0 = the terminal's */
    int thread; /* -1 = all */
    const char *search;
};
void cli_view_defaults(struct view_opts *o);
/* Parses the display option at argv[*i] (advancing *i past its value): 1 when it was one, 0
 * when it is not a display option, -1 on a usage error (message printed). */
int cli_view_opt(const char *cmd, int argc, char **argv, int *i, struct view_opts *o);
void cli_view_apply(const struct view_opts *o, struct tv *v);
/* Interactive unless --once or stdin/stdout is not a terminal. */
bool cli_view_interactive(const struct view_opts *o);
/* A display option that the chosen display would ignore: prints the usage error and returns
 * CLI_USAGE, else CLI_OK. */
int cli_view_check(const char *cmd, const struct view_opts *o);
/* Prints the --once text of the chosen view(s) to stdout; returns an exit code. */
int cli_view_snapshot(const struct view_opts *o, struct tv *v);

/* Prints "mrprof CMD: message" and a hint to stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a non-negative integer option value; false (and a message) when it is not one. */
bool cli_parse_uint(const char *cmd, const char *opt, const char *v, unsigned long max,
                    unsigned long *out);
/* --by function|line|file; false (and a message) for anything else. */
bool cli_parse_by(const char *cmd, const char *v, enum agg_by *out);
/* --format text|tsv: sets *tsv; false (and a message) for anything else. */
bool cli_parse_tsv(const char *cmd, const char *v, bool *tsv);
/* Reads a profile; on failure prints "mrprof CMD: <why>" and returns NULL. */
struct profile *cli_read_profile(const char *cmd, const char *path);
/* The mrun to run: opt (--mrun) if given, else $MRUN, else the mrun beside mrprof (in buf). */
const char *cli_mrun_path(const char *opt, char *buf, size_t len);
/* The argv that runs SCRIPT [ARGS] (or -e CODE) under mrun: `--cpu-prof --prof-out OUT` when
 * out is given, `--prof-live LIVE` when live is, then the NULL-terminated extra flags (or
 * NULL). calloc'd and NULL-terminated, its strings borrowed. mode and format may be NULL
 * (mrun's defaults). */
char **cli_mrun_argv(const char *mrun, const char *out, const char *live, const char *hz,
                     const char *mode, const char *format, const char *const *extra, char **script,
                     int nscript);
/* The directory of the running mrprof binary (for finding mrun beside it). */
const char *cli_self_dir(void);

#endif
