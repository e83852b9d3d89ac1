/*
 * sigfloor.c — the machine's floor for timer-signal sampling: CPU time of a fixed busy loop
 * with no timer, and with a per-thread CLOCK_MONOTONIC timer (the sampler's kind) delivering
 * SIGPROF to an empty handler at HZ. Prints "plain_cpu signal_cpu signals".
 * Usage: sigfloor HZ
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile long hits;

static void
on_signal(int sig)
{
    (void)sig;
    hits++;
}

static double
cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double
busy(void)
{
    double c0 = cpu_now();
    volatile long x = 0;
    for (long i = 0; i < 600000000L; i++)
        x += i;
    return cpu_now() - c0;
}

int
main(int argc, char **argv)
{
    long hz = argc > 1 ? atol(argv[1]) : 1000;
    if (hz < 1 || hz > 100000) {
        fprintf(stderr, "usage: sigfloor HZ (1..100000)\n");
        return 2;
    }
    double plain = busy();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGPROF;
    ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_t tm;
    if (timer_create(CLOCK_MONOTONIC, &ev, &tm) != 0) {
        perror("timer_create");
        return 1;
    }
    long ns = 1000000000L / hz;
    struct itimerspec its = {{ns / 1000000000L, ns % 1000000000L}, {ns / 1000000000L, ns % 1000000000L}};
    timer_settime(tm, 0, &its, NULL);
    double with = busy();
    printf("%.3f %.3f %ld\n", plain, with, hits);
    return 0;
}
