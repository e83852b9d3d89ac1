/*
 * cli.h — what the mrprof commands share: exit codes, the command signature, the option rows and
 * value lists several commands use (parsed by profiler/base/options.h), argument helpers.
 */
#ifndef MRPROF_CLI_H
#define MRPROF_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "profiler/base/options.h"
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

/* opt_parse's OPT_HELP / OPT_ERROR as an exit code (CLI_OK / CLI_USAGE). */
int cli_opt_exit(int parsed);
/* opt_parse for a command that takes at most max positionals (-1: any number; more are refused
 * with "WHAT ('X' is one too many)"). Returns their count, or -1 with the exit code in *rc. */
int cli_parse(const struct opt_cmd *c, int argc, char **argv, int max, const char *what, int *rc);

/* Value lists of enum options, in the order of what they select. */
extern const char *const cli_by_names[];   /* function, line, file: enum agg_by */
extern const char *const cli_text_names[]; /* text, tsv: the text output's shape */
extern const char *const cli_mode_names[]; /* cpu, wall: mrun's --prof-mode */

/* Option callback for -f/--format: a file format name from the formats table
 * (formats/formats.c); stores the name (const char *) in the row's dst. */
int cli_format_opt(struct opt_state *st, const struct opt *o, const char *value);

/* The rows of options that mean the same in every command that takes them. */
#define CLI_OPT_BY(dst)                                                                            \
    {                                                                                              \
        OPTION_ENUM("by", 0, (dst), cli_by_names, "group by function (default), line or file"),    \
            .arg = "KEY"                                                                           \
    }
/* --output-format text|tsv (the text's shape); --format is its old spelling, kept working. */
#define CLI_OPT_OUTPUT_FORMAT(d, g, h)                                                             \
    {OPTION_ENUM("output-format", 0, (d), cli_text_names, h), .arg = "F", .given = (g)},           \
    {                                                                                              \
        OPTION_ENUM("format", 0, (d), cli_text_names, NULL), .arg = "F", .given = (g)              \
    }
#define CLI_OPT_MRUN(dst)                                                                          \
    {                                                                                              \
        OPTION_PATH("mrun", 0, (dst), "PATH",                                                      \
                    "the mrun binary (default: $MRUN, else the one beside mrprof)")                \
    }

/* The display options `view` and `top` share (--once, --view, --size, --thread, --search). */
struct tv;
struct view_opts {
    bool once;
    int view;   /* enum tv_view, or -1 for all (with --once) */
    int w, h;   /* --size; 0 = the terminal's */
    int thread; /* -1 = all */
    const char *search;
    bool hide_idle; /* --hide-idle: the key i pressed at the start */
};
void cli_view_defaults(struct view_opts *o);
int cli_view_name_opt(struct opt_state *st, const struct opt *o, const char *value);
int cli_view_size_opt(struct opt_state *st, const struct opt *o, const char *value);
/* Their rows, for a command's table (o: a struct view_opts *). */
#define CLI_VIEW_OPTIONS(o)                                                                        \
    {OPTION_FLAG("once", 0, &(o)->once,                                                            \
                 "print the view as text and exit (what happens anyway\n"                          \
                 "when stdout is not a terminal)")},                                               \
        {OPTION_CALLBACK("view", 0, cli_view_name_opt, &(o)->view, "V",                            \
                         "the view to open or print: top (default), tree, flame, timeline,\n"      \
                         "threads, memory; with --once also all")},                                \
        {OPTION_CALLBACK("size", 0, cli_view_size_opt, (o), "WxH",                                 \
                         "the text size for --once (default: the terminal's, else 100x30)")},      \
        {OPTION_INT("thread", 0, &(o)->thread, 0, 1000000, "N",                                    \
                    "show only thread N (as numbered in the threads view, from 0)")},              \
        {OPTION_FLAG("hide-idle", 0, &(o)->hide_idle,                                              \
                     "start with (idle) hidden, as `report --hide-idle` (the key i)")},            \
    {                                                                                              \
        OPTION_STRING("search", 0, &(o)->search, "TEXT",                                           \
                      "start with a search (function or file names containing TEXT)")              \
    }
void cli_view_apply(const struct view_opts *o, struct tv *v);
/* Interactive unless --once or stdin/stdout is not a terminal. */
bool cli_view_interactive(const struct view_opts *o);
/* A display option that the chosen display would ignore: prints the usage error and returns
 * CLI_USAGE, else CLI_OK. */
int cli_view_check(const char *cmd, const struct view_opts *o);
/* Prints the --once text of the chosen view(s) to stdout; returns an exit code. */
int cli_view_snapshot(const struct view_opts *o, struct tv *v);

/* Prints "mrprof CMD: message" and a hint to stderr (options.h's shape); returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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

/* --process PID|NAME (report, view, diff): p cut to that process (p is freed); NULL after an
 * error message naming the processes p holds (sel NULL: p itself). */
struct profile;
struct profile *cli_only_process(const char *cmd, const char *path, struct profile *p,
                                 const char *sel);
#define CLI_OPT_PROCESS(dst)                                                                       \
    {                                                                                              \
        OPTION_STRING(                                                                             \
            "process", 0, (dst), "PID|NAME",                                                       \
            "only one process of a cluster's profile: its pid, or its name\n"                      \
            "(\"cluster worker 1\", \"worker 1\", \"primary\"); --thread N then counts\n"          \
            "its threads")                                                                         \
    }

/* After `record`: names each file a cluster's workers left beside out (written at or after
 * since); returns how many. */
#include <time.h>
int cli_record_report_workers(const char *out, time_t since);
/* Merges each worker file beside out into p as a process, and removes it (check: a clustered
 * benchmark's samples are all its processes'). 0, or -1 after an error message. */
int cli_merge_workers(const char *cmd, struct profile *p, const char *out);

/* Several files of one program (a cluster's primary, then its workers' .cpuprofile files): the
 * first, with each further one merged in as a process. NULL after an error message. */
struct profile *cli_read_program(const char *cmd, char **paths, int n);

#endif
