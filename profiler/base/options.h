/*
 * options.h — one command-line option parser driven by tables, for every mrprof command and
 * for mrun (in the spirit of git's parse_options and htop's CommandLine.c).
 *
 * A command declares a table of `struct opt` rows (long name, short letter, kind, where the
 * value goes, range, value name, help) and a `struct opt_cmd` around it (its name for messages,
 * usage lines, text before and after the options). opt_parse() then does, for every command the
 * same way: `--opt VALUE`, `--opt=VALUE`, `-o VALUE`, `--` (ends the options), range checks,
 * `-h`/`--help` (usage generated from the table) and the error messages, all of one shape:
 *
 *   PROG: --hz must be 1..10000, not 'abc'
 *   PROG: --mode must be cpu or wall, not 'x'
 *   PROG: --hz needs a value (N: 1..10000)
 *   PROG: unknown option '--frob'
 *   Try 'PROG --help'.
 *
 * where PROG is "mrprof top", "mrun", ... This file is the lowest layer (profiler/base/): it
 * depends on nothing but libc, so mrun (runtime/main.c) and mrprof (viewer/cli/) both use it.
 * Who owns what: the tables and everything their rows point at belong to the caller; the
 * parser writes only through the rows' destinations and rearranges argv (see opt_parse).
 */
#ifndef MRPROF_OPTIONS_H
#define MRPROF_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

enum opt_kind {
    OPT_END = 0,  /* ends a table */
    OPT_FLAG,     /* bool *dst = true; takes no value */
    OPT_UINT,     /* unsigned long *dst, a whole number in min..max */
    OPT_INT,      /* int *dst, a whole number in min..max (min >= 0) */
    OPT_DOUBLE,   /* double *dst, a number in min..max (see OPTF_*_EXCL, OPTF_PERCENT) */
    OPT_STRING,   /* const char **dst, any value (also empty) */
    OPT_PATH,     /* const char **dst, a non-empty value */
    OPT_ENUM,     /* int *dst = the index of the value in names[] */
    OPT_CALLBACK, /* cb(st, row, value) checks and stores the value itself */
};

/* Row flags. */
enum {
    OPTF_MIN_EXCL = 1 << 0,  /* OPT_DOUBLE: the value must be over min, not equal to it */
    OPTF_MAX_EXCL = 1 << 1,  /* OPT_DOUBLE: ... and under max */
    OPTF_PERCENT = 1 << 2,   /* OPT_DOUBLE: a trailing '%' is allowed ("5%") */
    OPTF_STOP = 1 << 3,      /* after this option (and its value) every argument is positional */
    OPTF_ARG_START = 1 << 4, /* this word itself is the first positional (mrprof top -e CODE) */
    OPTF_THEN_ARGS = 1 << 5, /* once given, the first positional ends the options (check --runs) */
    OPTF_NO_VALUE = 1 << 6,  /* OPT_CALLBACK: takes no value unless written --opt=VALUE; the
                                callback gets NULL (and may take the next argument itself) */
};

struct opt_state;
struct opt;
/* Checks and stores value; returns 0, or opt_error(...) (a negative number) on a bad value. */
typedef int (*opt_cb)(struct opt_state *st, const struct opt *o, const char *value);

struct opt {
    const char *name; /* long name without "--", or NULL */
    char sname;       /* short letter, or 0 */
    enum opt_kind kind;
    void *dst;                /* where the value goes (see the kinds) */
    double min, max;          /* OPT_UINT, OPT_INT, OPT_DOUBLE */
    const char *const *names; /* OPT_ENUM: the values, NULL-terminated */
    opt_cb cb;                /* OPT_CALLBACK */
    const char *arg;          /* the value's name in --help and messages ("N", "PATH") */
    const char *help;         /* one or more lines ('\n' between); NULL hides the row */
    unsigned flags;           /* OPTF_* */
    const char **given;       /* if set: the option as written ("-o", "--output"), once given */
};

/* Shorthands for rows: each expands to the fields of one row, so a table reads
 *   {OPTION_UINT("hz", 0, &hz, 1, 10000, "N", "sampling rate"), .given = &hz_opt},  */
#define OPTION_FLAG(l, s, d, h) .name = (l), .sname = (s), .kind = OPT_FLAG, .dst = (d), .help = (h)
#define OPTION_UINT(l, s, d, lo, hi, a, h)                                                         \
    .name = (l), .sname = (s), .kind = OPT_UINT, .dst = (d), .min = (lo), .max = (hi), .arg = (a), \
    .help = (h)
#define OPTION_INT(l, s, d, lo, hi, a, h)                                                          \
    .name = (l), .sname = (s), .kind = OPT_INT, .dst = (d), .min = (lo), .max = (hi), .arg = (a),  \
    .help = (h)
#define OPTION_DOUBLE(l, s, d, lo, hi, a, h)                                                       \
    .name = (l), .sname = (s), .kind = OPT_DOUBLE, .dst = (d), .min = (lo), .max = (hi),           \
    .arg = (a), .help = (h)
#define OPTION_STRING(l, s, d, a, h)                                                               \
    .name = (l), .sname = (s), .kind = OPT_STRING, .dst = (d), .arg = (a), .help = (h)
#define OPTION_PATH(l, s, d, a, h)                                                                 \
    .name = (l), .sname = (s), .kind = OPT_PATH, .dst = (d), .arg = (a), .help = (h)
#define OPTION_ENUM(l, s, d, n, h)                                                                 \
    .name = (l), .sname = (s), .kind = OPT_ENUM, .dst = (d), .names = (n), .help = (h)
#define OPTION_CALLBACK(l, s, f, d, a, h)                                                          \
    .name = (l), .sname = (s), .kind = OPT_CALLBACK, .cb = (f), .dst = (d), .arg = (a), .help = (h)

/* Command flags. */
enum {
    OPT_STOP_AT_ARG = 1 << 0, /* the first positional ends the options (a script and its args) */
};

struct opt_cmd {
    const char *prog;       /* starts every message: "mrprof top", "mrun" */
    const char *usage;      /* the usage lines ("usage: ...\n"), first in --help */
    const char *about;      /* paragraphs after the usage, or NULL */
    const char *footer;     /* text after the options, or NULL */
    const struct opt *opts; /* ends with an OPT_END row ({0}) */
    int help_col;           /* the column where the options' help starts (0: 22) */
    unsigned flags;         /* OPT_STOP_AT_ARG */
};

/* What a callback sees: the command, argv and the index of the option being parsed. A
 * callback with OPTF_NO_VALUE may take argv[i + 1] as its value (then it increments i). */
struct opt_state {
    const struct opt_cmd *cmd;
    int argc;
    char **argv;
    int i;
    const char *spelled; /* the option as written, without "=VALUE" */
};

enum { OPT_HELP = -1, OPT_ERROR = -2 };

/*
 * Parses argv[1..argc) (argv[0] is the command's name) by the command's table. Returns the
 * number n of positional arguments, moved in their order to argv[0..n) (with OPT_STOP_AT_ARG,
 * after `--`, or after an OPTF_STOP option: everything from there on, options or not);
 * OPT_HELP when -h/--help printed the usage on stdout (exit 0); OPT_ERROR when a message was
 * printed on stderr (exit 2). "-" alone is a positional. A `--opt=VALUE` argument is cut at the
 * '=' in place (argv's strings are writable).
 */
int opt_parse(const struct opt_cmd *c, int argc, char **argv);

/* Prints the --help text generated from the table to out. */
void opt_usage(const struct opt_cmd *c, FILE *out);

/* Prints "PROG: message" and "Try 'PROG --help'." on stderr; returns OPT_ERROR. */
int opt_error(const struct opt_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with the program named by a string ("mrprof record", "mrun"). */
int opt_error_prog(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The value check of a row, alone (for a callback that adds its own checks, and for tests):
 * parses value by the row's kind into its destination; 0, or OPT_ERROR with the message. */
int opt_set(struct opt_state *st, const struct opt *o, const char *value);

#endif
