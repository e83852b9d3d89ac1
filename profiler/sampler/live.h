/*
 * live.h — the live agent: serves the growing profile to viewers (`mrprof top`) from a thread of
 * its own, with its own libuv loop, so a script that never yields is still watched.
 */
#ifndef MRPROF_PROF_LIVE_H
#define MRPROF_PROF_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "profiler/base/err.h"
#include "profiler/model/profile.h"

struct prof_live;

/* Starts serving at addr:
 *   NULL or ""            a Unix socket made 0600 in a fresh private (0700) directory
 *   unix:PATH             a Unix socket at PATH (0600)
 *   tcp:PORT, tcp:HOST:PORT   TCP on loopback only (127.0.0.1, ::1, [::1], localhost), with a
 *                         token the viewer must present; port 0 picks a free port
 * Prints "mrun: live profile at ADDR" (and the token) on stderr. NULL with e filled on failure
 * (-EINVAL for an address that is not one, -ENOMEM, or the system's -errno). */
struct prof_live *prof_live_start(const char *addr, struct mp_err *e);

/* Attach on demand (runtime/attach.c): serves at the Unix socket PATH (made 0600; its directory
 * is the caller's to keep private), accepts only peers whose uid (SO_PEERCRED) is this
 * process's effective uid or root's, and calls on_empty(arg) once, on the agent's thread, when
 * the last viewer has left or when no viewer came within 10 s; the socket is unlinked then.
 * The caller then calls prof_live_finish. NULL with e filled on failure. */
struct prof_live *prof_live_start_attach(const char *path, void (*on_empty)(void *arg), void *arg,
                                         struct mp_err *e);

/* Waits until a viewer has said hello, at most timeout_ms. Returns true when one has. */
bool prof_live_wait_viewer(struct prof_live *l, int timeout_ms);

/* Sends every viewer the final profile (may be NULL: the script stopped profiling itself) and
 * the exit status, waits up to a second for them to take it, then stops the agent and frees it
 * (and removes a private socket). */
void prof_live_finish(struct prof_live *l, const struct profile *final, int exit_status);

#endif
