/*
 * threads.h — writing every thread of a profile, whatever the format holds.
 *
 * A .cpuprofile holds one thread (DevTools' rule). As Node does for worker threads, each other
 * thread with samples gets a file of its own beside the first: PATH for thread 0, and
 * PATH-without-extension.thread-N.cpuprofile for the others, N being the worker's number for a
 * thread named "Deferred worker N" (else its index). The other formats hold every thread in one
 * file. `mrun --cpu-prof`, Profile#save and the viewer's `s` all write through here.
 */
#ifndef MRPROF_FORMATS_THREADS_H
#define MRPROF_FORMATS_THREADS_H

#include "formats/formats.h"

/* One file written: its path, the thread it holds (-1: every thread) and its sample count. */
struct fmt_written {
    char path[4200];
    int thread;
    size_t samples;
};

/* Writes p to path in format f (o's other fields as given; its thread is set per file). On
 * success returns 0 with *out (malloc'd, the caller frees it) holding the *nout files written,
 * the first at path. On failure returns a negative errno with e filled; files already written
 * stay and are listed in *out. */
int fmt_write_threads(const struct profile *p, const char *path, const struct fmt_ops *f,
                      const struct fmt_write_opts *o, struct fmt_written **out, size_t *nout,
                      struct mp_err *e);

/* "PATH (THREAD, N samples), PATH (...)" for the files written, into buf. */
void fmt_written_describe(const struct profile *p, const struct fmt_written *w, size_t n, char *buf,
                          size_t size);

#endif
