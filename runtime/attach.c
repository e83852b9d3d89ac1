/*
 * attach.c — attach on demand (issue 26): `mrprof top --pid PID` / `mrprof record --pid PID`
 * profile any running mrun, started with no flag.
 *
 * SIGUSR2 (RT_ATTACH_SIGNAL) asks for the live agent (profiler/sampler/live.c). The handler only
 * sets a flag, raises prof_vm_interrupts and wakes the loop (all async-signal-safe); the main VM
 * takes the request on its own thread, at its next method call or allocation (a script busy in
 * Ruby) or from the loop (a script waiting on events): it starts a CPU session (1000 Hz; with
 * allocation sampling when the signal came by sigqueue with value 1) and the agent on the Unix
 * socket /tmp/mrun-<euid>/<pid>.sock. The directory is made 0700 and refused when it is not a
 * directory of ours with no group/other bits; the agent also checks each peer's uid
 * (SO_PEERCRED: ours or root). When the last viewer leaves (or none came within 10 s) the agent
 * unlinks the socket and asks the main VM, the same way, to stop the agent and the session:
 * nothing samples and nothing listens when nobody looks.
 *
 * --no-attach / MRUN_NO_ATTACH=1: SIGUSR2 is ignored (SIG_IGN, so a stray one does not kill the
 * process, and `mrprof --pid` sees from /proc/PID/status that attach is off). A script that traps
 * SIGUSR2 itself (Process.on) replaces this handler: its handler wins and attach is off.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "profiler/model/profile.h"
#include "profiler/sampler/live.h"
#include "profiler/sampler/sampler.h"
#include "runtime/profiling.h"
#include "runtime/rt.h"

bool rt_no_attach;

static struct rt *g_rt;
/* The main VM, set at init before any other thread runs and never cleared: the hook below is
 * called on every VM's thread (Deferred workers, Workers), which must not read g_rt (the main
 * thread clears it at exit while a Deferred task may still run). */
static mrb_state *g_main_mrb;
static uv_async_t g_async;
static atomic_int g_want_attach, g_want_detach, g_want_memory;
static struct prof_live *g_agent;
static struct prof_session *g_session; /* the session this module started, if any */
static void (*g_prev_hook)(mrb_state *mrb);

static void
on_signal(int signo, siginfo_t *si, void *uc)
{
    (void)signo, (void)uc;
    int saved = errno;
    if (si && si->si_code == SI_QUEUE && (si->si_value.sival_int & 1))
        atomic_store(&g_want_memory, 1);
    if (atomic_exchange(&g_want_attach, 1) == 0)
        atomic_fetch_add(&prof_vm_interrupts, 1);
    uv_async_send(&g_async);
    errno = saved;
}

/* The agent's thread: the last viewer left. */
static void
on_empty(void *arg)
{
    (void)arg;
    if (atomic_exchange(&g_want_detach, 1) == 0)
        atomic_fetch_add(&prof_vm_interrupts, 1);
    uv_async_send(&g_async);
}

/* The directory of the sockets: /tmp/mrun-<euid>, ours and private, or refused. */
static int
private_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/mrun-%u", (unsigned)geteuid());
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "mrun: attach: cannot make %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) != 0) {
        fprintf(stderr, "mrun: attach: cannot stat %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
        fprintf(stderr,
                "mrun: attach: refusing %s: it must be a directory owned by uid %u with mode "
                "0700 (it is %s, uid %u, mode %03o)\n",
                dir, (unsigned)geteuid(), S_ISDIR(st.st_mode) ? "a directory" : "not a directory",
                (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

static void
stop_agent(const struct profile *final)
{
    if (!g_agent)
        return;
    prof_live_finish(g_agent, final, -1);
    g_agent = NULL;
}

static void
stop_session(void)
{
    if (g_session && prof_current() == g_session)
        profile_free(prof_stop(g_session));
    g_session = NULL;
}

static void
start_agent(struct rt *rt)
{
    bool memory = atomic_exchange(&g_want_memory, 0);
    if (g_agent)
        return; /* serving already: the new viewer joins */
    char dir[64], path[128];
    if (private_dir(dir, sizeof dir) != 0)
        return;
    snprintf(path, sizeof path, "%s/%ld.sock", dir, (long)getpid());
    unlink(path); /* a stale one of this pid's: the directory is ours */
    struct mp_err err;
    if (!prof_current()) { /* else a session runs (--cpu-prof, the script's): it is streamed */
        struct prof_session *s = prof_start(PROF_MODE_CPU, 1000, &err);
        if (!s) {
            fprintf(stderr, "mrun: attach: cannot start profiling: %s\n", err.msg);
            return;
        }
        int rc = prof_attach(s, rt->mrb, "main", &rt->loop_state, &rt->main_done);
        if (rc) {
            fprintf(stderr, "mrun: attach: cannot start the sampling timer: %s\n", strerror(-rc));
            profile_free(prof_stop(s));
            return;
        }
        g_session = s;
    }
    if (memory && g_session)
        prof_set_heap_interval(g_session, PROF_HEAP_DEFAULT_INTERVAL);
    if (!(g_agent = prof_live_start_attach(path, on_empty, NULL, &err))) {
        fprintf(stderr, "mrun: attach: %s\n", err.msg);
        stop_session();
        return;
    }
    if (!getenv("MRUN_QUIET"))
        fprintf(stderr, "mrun: attach: live profile at unix:%s\n", path);
}

/* On the main VM's thread: what the signal or the agent asked for. */
static void
service(struct rt *rt)
{
    if (atomic_exchange(&g_want_detach, 0)) {
        atomic_fetch_sub(&prof_vm_interrupts, 1);
        stop_agent(NULL);
        stop_session();
    }
    if (atomic_exchange(&g_want_attach, 0)) {
        atomic_fetch_sub(&prof_vm_interrupts, 1);
        start_agent(rt);
    }
}

/* prof_vm_interrupt_hook: a script busy in Ruby takes the request at its next call. */
static void
vm_interrupt(mrb_state *mrb)
{
    if (mrb == g_main_mrb && g_rt &&
        (atomic_load_explicit(&g_want_attach, memory_order_relaxed) ||
         atomic_load_explicit(&g_want_detach, memory_order_relaxed)))
        service(g_rt);
    if (g_prev_hook)
        g_prev_hook(mrb);
}

static void
on_async(uv_async_t *a)
{
    service(a->data);
}

static void
attach_init(struct rt *rt)
{
    const char *env = getenv("MRUN_NO_ATTACH");
    if (rt_no_attach || (env && *env && strcmp(env, "0") != 0)) {
        signal(RT_ATTACH_SIGNAL, SIG_IGN); /* off, and a stray signal is harmless */
        return;
    }
    if (uv_async_init(&rt->loop, &g_async, on_async) != 0)
        return;
    g_async.data = rt;
    uv_unref((uv_handle_t *)&g_async); /* it keeps no script alive */
    g_rt = rt;
    g_main_mrb = rt->mrb;
    g_prev_hook = prof_vm_interrupt_hook;
    prof_vm_interrupt_hook = vm_interrupt;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigaction(RT_ATTACH_SIGNAL, &sa, NULL);
}

/* The program ends while viewers look: they get the final profile (exit status unknown here). */
static void
attach_free(struct rt *rt)
{
    (void)rt;
    if (!g_rt)
        return;
    signal(RT_ATTACH_SIGNAL, SIG_IGN);
    struct profile *p = NULL;
    if (g_session && prof_current() == g_session)
        p = prof_stop(g_session);
    g_session = NULL;
    stop_agent(p);
    profile_free(p);
    if (atomic_exchange(&g_want_attach, 0))
        atomic_fetch_sub(&prof_vm_interrupts, 1);
    if (atomic_exchange(&g_want_detach, 0))
        atomic_fetch_sub(&prof_vm_interrupts, 1);
    if (prof_vm_interrupt_hook == vm_interrupt)
        prof_vm_interrupt_hook = g_prev_hook;
    /* The runtime's teardown may have closed every handle of the loop already. */
    if (!uv_is_closing((uv_handle_t *)&g_async))
        uv_close((uv_handle_t *)&g_async, NULL);
    g_rt = NULL;
}

const struct rt_module rt_module_attach = {
    .name = "attach",
    .main_only = true, /* one agent per process, for the main VM */
    .init = attach_init,
    .free = attach_free,
};
