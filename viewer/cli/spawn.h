/*
 * spawn.h — starting mrun for the commands that run a script (record, check, top), and waiting
 * for it: one fork/exec, one wait that retries on EINTR, one account of how the child ended.
 * Who owns what: the argv passed in stays the caller's (the child execs it; the parent does not
 * keep it).
 */
#ifndef MRPROF_SPAWN_H
#define MRPROF_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct spawn_opts {
    const char *cmd;      /* the mrprof command, for "mrprof CMD: cannot run ..." */
    const char *hint;     /* appended to that message, or NULL */
    const char *out_path; /* the child's stdout goes to this file (truncated), or NULL */
    const char *err_path; /* the child's stderr likewise */
    bool null_stdin;      /* the child reads /dev/null */
};

/* How a child ended: exited with code, or was killed by signo (then code is -1). */
struct spawn_end {
    int code;
    int signo;
};

/* Starts argv[0] (mrun) with MRUN_QUIET=1 in its environment (stdout flushed first). Returns
 * the pid, or -1 with errno when it could not fork. A child that cannot exec says why on
 * stderr and exits 127. */
pid_t spawn_mrun(char *const *argv, const struct spawn_opts *o);

enum {
    SPAWN_NOHANG = 1 << 0,  /* do not wait: 0 when the child still runs */
    SPAWN_FORWARD = 1 << 1, /* while waiting, Ctrl-C is the child's to handle (it gets it from
                               the terminal's process group) and a SIGTERM to mrprof is passed on */
};
/* Waits for pid (retrying on EINTR); fills *end and returns 1 when it ended, 0 (SPAWN_NOHANG)
 * when it still runs, -1 with errno on error. */
int spawn_wait(pid_t pid, int flags, struct spawn_end *end);

/* Splits a command line at spaces and tabs (no quoting) into a NULL-terminated argv of *argc
 * words; NULL when it has none or memory ran out. Free argv[0] and argv. */
char **spawn_split(const char *cmd, int *argc);

/* The exit status a shell would report: the code, or 128 + the signal. */
int spawn_status(const struct spawn_end *end);

#endif
