/*
 * fileio.h — reading whole files and writing files atomically, with messages fit for users.
 *
 * fio_read_file() returns a malloc'd, NUL-terminated buffer the caller frees. On failure it
 * returns NULL and writes a one-line message naming the path and the reason into err.
 */
#ifndef MRPROF_FILEIO_H
#define MRPROF_FILEIO_H

#include <stddef.h>
#include <stdio.h>

char *fio_read_file(const char *path, size_t *len, char *err, size_t errlen);

/* Atomic output: write into a temporary file beside path, then rename over path on commit.
 * Nothing appears at path unless fio_commit() succeeds. */
struct fio_atomic {
    FILE *fp;
    char *final_path;
    char *tmp_path;
};
int fio_begin(struct fio_atomic *a, const char *path, char *err, size_t errlen);
/* Flushes, checks for write errors, fsyncs nothing (profiles are not databases), renames.
 * Returns 0 or -errno, with a message in err. */
int fio_commit(struct fio_atomic *a, char *err, size_t errlen);
/* Discards the temporary file. Safe after a failed commit. */
void fio_abort(struct fio_atomic *a);

#endif
