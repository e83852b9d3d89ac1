/*
 * attach_pid.h — `mrprof top --pid` / `mrprof record --pid`: ask a running mrun for its live
 * agent (SIGUSR2, runtime/attach.c) and connect to it.
 */
#ifndef MRPROF_ATTACH_PID_H
#define MRPROF_ATTACH_PID_H

#include <stdbool.h>
#include <stddef.h>

/* The exit status of top/record --pid when the process cannot be attached to. */
#define ATTACH_PID_FAILED 4

/* Checks PID (it exists, its program is an mrun, it catches SIGUSR2 and does not ignore it, we
 * may signal it), joins its agent if one serves already, else sends SIGUSR2 (by sigqueue, value
 * 1 with memory: allocations are sampled too) and waits (at most 10 s) for its socket, then
 * connects and says hello. Returns the descriptor (non-blocking) with addr filled
 * ("unix:/tmp/mrun-UID/PID.sock"), or -1 after printing why ("mrprof CMD: pid N: ..."). */
int attach_pid(const char *cmd, long pid, bool memory, char *addr, size_t len);

/* How long `top --for` and `record --duration` wait for the agent's welcome: their time counts
 * from it (profiling has begun), and a loaded agent can welcome after a short duration. */
#define ATTACH_WELCOME_WAIT_S 10

/* The clock of such a viewer: started at the connect, restarted at the welcome. */
struct attach_clock {
    double t0;
    bool welcomed;
};
void attach_clock_start(struct attach_clock *c);
/* With the stream's welcomed flag: 1 once SECS have run since the welcome, -1 when no welcome
 * came within ATTACH_WELCOME_WAIT_S, else 0. SECS <= 0: no limit, always 0. */
int attach_clock_check(struct attach_clock *c, bool welcomed, double secs);

#endif
