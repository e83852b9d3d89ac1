/* internal.h — declarations shared between files of formats/ only. */
#ifndef MRPROF_FORMATS_INTERNAL_H
#define MRPROF_FORMATS_INTERNAL_H

#include <cJSON.h>

#include "formats/formats.h"

/* Adds the Profiler.Profile object root to p as one thread. Returns 0 or -errno (e filled). */
int fmt__cpuprofile_read_json(struct profile *p, const cJSON *root, const char *name,
                              const char *thread_name, int64_t tid, struct fmt_err *e);

#endif
