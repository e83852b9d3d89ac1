/*
 * inspector.h — `mrun --inspect`: the Chrome DevTools Protocol served from a thread of its own
 * (runtime/inspector.c), so DevTools (chrome://inspect) and CDP clients connect to a running
 * script, record CPU and heap sampling profiles and evaluate Ruby in the main VM.
 */
#ifndef MRPROF_RT_INSPECTOR_H
#define MRPROF_RT_INSPECTOR_H

#include <stdbool.h>

#include "runtime/rt.h"

struct rt_inspect_opts {
    bool on;            /* --inspect or --inspect-wait was given */
    const char *addr;   /* [HOST:]PORT as given (NULL: 127.0.0.1:9229) */
    bool wait;          /* --inspect-wait: hold the script until Runtime.runIfWaitingForDebugger */
    bool public_ok;     /* --inspect-public: a HOST that is not loopback is allowed */
    const char *script; /* the script's path, or NULL for -e (the target's title and url) */
};

/* Checks the address (a usage error is printed and -1 returned) without listening. */
int rt_inspect_check(const struct rt_inspect_opts *o);
/* Starts the inspector's thread for rt's main VM and prints where it listens. Returns 0, or prints
 * why and returns -1. With o->wait, returns once a client said runIfWaitingForDebugger (commands
 * that need the VM are served meanwhile). */
int rt_inspect_start(struct rt *rt, const struct rt_inspect_opts *o);
/* Stops it: clients get a close frame (1001), the thread is joined. Call before rt_free. */
void rt_inspect_finish(struct rt *rt);

#endif
