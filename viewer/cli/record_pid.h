/* record_pid.h — `mrprof record --pid` (record_pid.c). */
#ifndef MRPROF_RECORD_PID_H
#define MRPROF_RECORD_PID_H

#include <stdbool.h>

/* Attaches to pid, records until duration seconds (0: until Ctrl-C or the program ends), writes
 * out (NULL: mrun-PID-DATE.cpuprofile) in format (NULL: from out's name). Returns the exit
 * status: 0, or ATTACH_PID_FAILED (4) with the reason printed. */
int record_pid(long pid, double duration, bool memory, const char *out, const char *format);

#endif
