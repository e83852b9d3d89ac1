/*
 * fileio.h — reading whole files and writing files atomically, with messages fit for users.
 *
 * Reads are bounded: a regular file larger than the input limit is refused before a byte is
 * read, and a stream (a pipe, stdin, a character device) is read up to the limit and refused
 * past it. The limit is fio_max_input(): 1 GiB, or MRPROF_MAX_INPUT (bytes, with an optional
 * K, M or G suffix). Directories are refused.
 *
 * fio_read_file() returns a malloc'd, NUL-terminated buffer the caller frees. On failure it
 * returns NULL and fills e (err.h: code -errno, -EISDIR, -EFBIG past the limit or -ENOMEM, and a
 * one-line message naming the path and the reason).
 */
#ifndef MRPROF_FILEIO_H
#define MRPROF_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "profiler/base/err.h"

/* The most bytes any read (or a decompression) may produce. */
size_t fio_max_input(void);

char *fio_read_file(const char *path, size_t *len, struct mp_err *e);

/* Looks at the first bytes of an input (n >= 1, fewer only when the input is that short) before
 * the rest is read: 0 to go on, or a negative errno with e filled (its message names path). */
typedef int (*fio_sniff)(const char *head, size_t n, const char *path, struct mp_err *e);
/* fio_read_file with a first-bytes check; path "-" reads standard input (named "stdin"). */
char *fio_read_input(const char *path, fio_sniff sniff, size_t *len, struct mp_err *e);

/*
 * Output. fio_begin() picks how path is written:
 *   "-"                         standard output, directly;
 *   a character device, FIFO or socket, or anything under /dev/ or /proc/ (/dev/stdout,
 *                               /dev/null): opened and written directly, never replaced;
 *   a symbolic link             followed: the file it points to is written (atomically when
 *                               it is a regular file), the link stays;
 *   otherwise                   atomically: a temporary file beside the target, renamed over
 *                               it on commit, so nothing appears at path unless fio_commit()
 *                               succeeds. A SIGINT, SIGTERM or SIGHUP that would end the
 *                               process removes the temporary file first.
 */
struct fio_atomic {
    FILE *fp;
    char *final_path; /* the path written (a link's target) */
    char *tmp_path;   /* NULL when written directly */
    int slot;         /* the signal cleanup slot, -1 if none */
    int direct;       /* 1: a device or stream; 2: standard output (not closed) */
};
/* Returns 0 or -errno (-ENOMEM, -EISDIR, ...), with e filled. */
int fio_begin(struct fio_atomic *a, const char *path, struct mp_err *e);
/* Flushes, checks for write errors, fsyncs nothing (profiles are not databases), renames.
 * Returns 0 or -errno, with e filled. */
int fio_commit(struct fio_atomic *a, struct mp_err *e);
/* Discards the temporary file. Safe after a failed commit. */
void fio_abort(struct fio_atomic *a);

#endif
