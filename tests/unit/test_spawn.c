/*
 * test_spawn.c — viewer/cli/spawn.c: how a child ended (code, signal), the wait that survives
 * a signal (EINTR), MRUN_QUIET and output redirection, and the --against command splitter.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>

#include "viewer/cli/spawn.h"

static volatile sig_atomic_t alarms;

static void
on_alarm(int signo)
{
    (void)signo;
    alarms++;
}

Test(spawn, exit_code_and_signal)
{
    char *ok[] = {"/bin/sh", "-c", "exit 3", NULL};
    const struct spawn_opts so = {.cmd = "test"};
    struct spawn_end end;
    pid_t pid = spawn_mrun(ok, &so);
    cr_assert_gt(pid, 0);
    cr_assert_eq(spawn_wait(pid, 0, &end), 1);
    cr_assert_eq(end.code, 3);
    cr_assert_eq(end.signo, 0);
    cr_assert_eq(spawn_status(&end), 3);
    char *killed[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    pid = spawn_mrun(killed, &so);
    cr_assert_eq(spawn_wait(pid, 0, &end), 1);
    cr_assert_eq(end.signo, SIGTERM);
    cr_assert_eq(spawn_status(&end), 128 + SIGTERM);
    char *missing[] = {"/nonexistent/mrun", NULL};
    const struct spawn_opts quiet = {.cmd = "test", .err_path = "/dev/null"};
    pid = spawn_mrun(missing, &quiet);
    cr_assert_eq(spawn_wait(pid, 0, &end), 1);
    cr_assert_eq(end.code, 127, "a child that cannot exec exits 127");
}

Test(spawn, wait_is_retried_after_a_signal)
{
    /* A handler without SA_RESTART makes waitpid fail with EINTR when the alarm comes. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    char *slow[] = {"/bin/sh", "-c", "sleep 1; exit 5", NULL};
    const struct spawn_opts so = {.cmd = "test"};
    pid_t pid = spawn_mrun(slow, &so);
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct spawn_end end;
    cr_assert_eq(spawn_wait(pid, 0, &end), 1);
    cr_assert_eq(end.code, 5);
    cr_assert_eq(alarms, 1, "the wait was interrupted once");
    cr_assert_eq(spawn_wait(pid, SPAWN_NOHANG, &end), -1, "reaped once");
}

Test(spawn, nohang_and_environment_and_output_file)
{
    char out[] = "/tmp/test_spawn.XXXXXX";
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    close(fd);
    char *child[] = {"/bin/sh", "-c", "sleep 0.3; echo \"quiet=$MRUN_QUIET\"", NULL};
    const struct spawn_opts so = {.cmd = "test", .out_path = out, .null_stdin = true};
    pid_t pid = spawn_mrun(child, &so);
    struct spawn_end end;
    cr_assert_eq(spawn_wait(pid, SPAWN_NOHANG, &end), 0, "still running");
    cr_assert_eq(spawn_wait(pid, 0, &end), 1);
    FILE *f = fopen(out, "r");
    char line[64] = "";
    cr_assert(fgets(line, sizeof line, f));
    fclose(f);
    unlink(out);
    cr_assert_str_eq(line, "quiet=1\n");
}

Test(spawn, split_at_spaces)
{
    int argc;
    char **argv = spawn_split("  ../main/bench.rb\t--n 3 ", &argc);
    cr_assert_eq(argc, 3);
    cr_assert_str_eq(argv[0], "../main/bench.rb");
    cr_assert_str_eq(argv[1], "--n");
    cr_assert_str_eq(argv[2], "3");
    cr_assert_null(argv[3]);
    free(argv[0]), free(argv);
    cr_assert_null(spawn_split(" \t ", &argc));
}
