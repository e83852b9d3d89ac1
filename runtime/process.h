/*
 * process.h — what runtime/process.c shares with the other modules (child.c): signal names and
 * numbers, and the Errno-style exception.
 */
#ifndef MRPROF_PROCESS_H
#define MRPROF_PROCESS_H

#include <mruby.h>

/* "INT" for SIGINT (no "SIG" prefix), NULL for a number without a name. */
const char *proc_signal_name(int signo);
/* The signal number of an Integer, a Symbol or a String ("SIGINT", "INT", :SIGINT, :INT, 2);
 * raises ArgumentError naming an unknown one. */
int proc_signal_number(mrb_state *mrb, mrb_value sig);
/* Raises Errno::CODE (when the prelude defined it, else SystemCallError) for errno err, with
 * code ("ESRCH"), syscall and errno set; the message is strerror's, then " - detail" as CRuby's. */
mrb_noreturn void proc_raise_errno(mrb_state *mrb, int err, const char *syscall,
                                   const char *detail);

#endif
