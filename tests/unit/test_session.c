/*
 * test_session.c — profiler/sampler: a profile that stops while one of its threads has a
 * SIGPROF pending (its timer fired, the thread has not run since) does not kill the process.
 *
 * Seen under valgrind (tests/scripts/valgrind_inspect_threads.sh, status 155 = 128 + SIGPROF
 * after the last Profiler.stop), possible on any loaded machine: a descheduled Deferred worker
 * holds the signal of its last tick, prof_stop deletes the timers (a signal already queued
 * stays queued on the kernels that keep it) and put SIG_DFL back, whose action for SIGPROF is
 * to end the process (Criterion reports the test as crashed). Here the thread blocks SIGPROF to
 * hold the signal as long as the test needs, and unblocks it once the profile has stopped.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include <mruby.h>

#include "profiler/model/profile.h"
#include "profiler/sampler/sampler.h"

struct held {
    struct prof_session *s;
    atomic_int step; /* 1: the signal is pending on the thread; 2: the profile has stopped */
    atomic_int survived;
    int attach_rc;
    int held; /* SIGPROF was pending on the thread when the profile stopped */
};

static void
wait_step(atomic_int *step, int want)
{
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 10000 && atomic_load(step) < want; i++) /* 10 s at most */
        nanosleep(&ms, NULL);
}

static void *
holder(void *arg)
{
    struct held *h = arg;
    mrb_state *mrb = mrb_open();
    sigset_t prof, pending;
    sigemptyset(&prof);
    sigaddset(&prof, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &prof, NULL);
    h->attach_rc = prof_attach(h->s, mrb, "held", NULL, NULL);
    /* The signal is sent by hand, to a session with no timer (hz 0): a timer's own signal is
     * dropped at timer_delete by kernels from 6.13 on (and a second SIGPROF merges into it),
     * but stays queued on 6.1 (Debian 12's) and is held by valgrind, as this one stays. */
    pthread_kill(pthread_self(), SIGPROF);
    sigpending(&pending);
    h->held = sigismember(&pending, SIGPROF);
    atomic_store(&h->step, 1);
    wait_step(&h->step, 2);
    pthread_sigmask(SIG_UNBLOCK, &prof, NULL); /* the held signal is delivered here */
    atomic_store(&h->survived, 1);
    prof_detach(mrb); /* lets go of the stopped session's stub */
    mrb_close(mrb);
    return NULL;
}

Test(session, a_sigprof_pending_on_a_thread_when_the_profile_stops_is_harmless)
{
    struct mp_err e = {0};
    struct held h = {.s = prof_start(PROF_MODE_WALL, 0, &e)};
    cr_assert(h.s, "prof_start: %s", e.msg);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, holder, &h), 0);
    wait_step(&h.step, 1);
    cr_assert_eq(h.attach_rc, 0);
    cr_assert(h.held, "no SIGPROF pending on the thread");
    profile_free(prof_stop(h.s));
    atomic_store(&h.step, 2);
    pthread_join(th, NULL);
    cr_assert(atomic_load(&h.survived), "the thread did not get past its held SIGPROF");
}
