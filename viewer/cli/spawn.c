/*
 * spawn.c — fork/exec of mrun and the wait for it (spawn.h), for record, check and top.
 */
#include "viewer/cli/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

/* In the child: fd becomes path (opened with flags), or stays as it was when path cannot open. */
static void
redirect(int fd, const char *path, int flags)
{
    if (!path)
        return;
    int f = open(path, flags, 0600);
    if (f >= 0 && f != fd) {
        dup2(f, fd);
        close(f);
    }
}

pid_t
spawn_mrun(char *const *argv, const struct spawn_opts *o)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setenv("MRUN_QUIET", "1", 1);
    redirect(STDOUT_FILENO, o->out_path, O_WRONLY | O_CREAT | O_TRUNC);
    redirect(STDERR_FILENO, o->err_path, O_WRONLY | O_CREAT | O_TRUNC);
    if (o->null_stdin)
        redirect(STDIN_FILENO, "/dev/null", O_RDONLY);
    execv(argv[0], argv);
    fprintf(stderr, "mrprof %s: cannot run %s: %s%s\n", o->cmd, argv[0], strerror(errno),
            o->hint ? o->hint : "");
    _exit(127);
}

static volatile pid_t forward_to;

static void
forward_term(int signo)
{
    if (forward_to > 0)
        kill(forward_to, signo);
}

int
spawn_wait(pid_t pid, int flags, struct spawn_end *end)
{
    struct sigaction sa = {0}, old_term, old_int;
    if (flags & SPAWN_FORWARD) {
        forward_to = pid;
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sa.sa_handler = forward_term;
        sigaction(SIGTERM, &sa, &old_term);
    }
    int status = 0;
    pid_t r;
    while ((r = waitpid(pid, &status, flags & SPAWN_NOHANG ? WNOHANG : 0)) < 0 && errno == EINTR)
        ;
    if (flags & SPAWN_FORWARD) {
        int e = errno;
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        forward_to = 0;
        errno = e;
    }
    if (r <= 0)
        return r;
    end->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    end->signo = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return 1;
}

int
spawn_status(const struct spawn_end *end)
{
    return end->signo ? 128 + end->signo : end->code;
}

char **
spawn_split(const char *cmd, int *argc)
{
    cmd += strspn(cmd, " \t"); /* argv[0] is then the start of s, which the caller frees */
    char *s = strdup(cmd);
    char **argv = calloc(strlen(cmd) / 2 + 2, sizeof *argv);
    if (!s || !argv) {
        free(s), free(argv);
        return NULL;
    }
    *argc = 0;
    for (char *save = NULL, *w = strtok_r(s, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
        argv[(*argc)++] = w;
    if (*argc == 0)
        free(s), free(argv), argv = NULL;
    return argv;
}
