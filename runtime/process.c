/*
 * process.c — the process itself: Process (pid, clocks, kill, memory, signals), Signal, and the
 * blocking Kernel calls Ruby programs expect (sleep, system, backticks, at_exit).
 *
 * Two halves, as the runtime's modules go:
 *   vm_init  every VM (the main one and each Deferred worker's): pid, ppid, $$, clock_gettime,
 *            kill, Signal.list, sleep, system and backticks. None of them needs the loop; a
 *            worker may sleep or run a command on its own thread.
 *   init     the main VM only: signal handlers on libuv (uv_signal_t), memory_usage, at_exit.
 *
 * Signals. One uv_signal_t per signal number, started while the Ruby half (prelude
 * process.rb: Process is an EventEmitter) has at least one listener for it, and unref'd as
 * Node's are: a listener does not keep the process alive by itself. libuv installs its own
 * sigaction when the first handle of a number starts and puts SIG_DFL back when the last one
 * stops; the action that was there before (the profiler's Ctrl-C handler under --cpu-prof, or
 * SIG_IGN for SIGPIPE) is saved at the start and put back at the stop, so a script's handler
 * never leaves the profiler deaf. SIGPROF (the sampler's timer), and the signals no handler can
 * or should catch (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL), are refused.
 *
 * Blocking calls. sleep, system and backticks block the thread, as in Ruby: the loop does not
 * run meanwhile; the thread's wait mark (rt.h) is set around each wait, so a wall-mode profile
 * shows "(blocked: sleep)" / "(blocked: child process)" under Kernel#sleep / Kernel#system (not
 * (idle): the loop is not polling). Commands start with posix_spawn (vfork-like: cheap even from a
 * big process), with every signal's default action and an empty signal mask (mrun ignores SIGPIPE
 * and Deferred workers block signals; a child must not inherit either).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/error.h>
#include <mruby/gc.h>
#include <mruby/hash.h>
#include <mruby/proc.h>
#include <mruby/range.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "runtime/process.h"
#include "runtime/rt.h"

extern char **environ;

/* --- signal names ---------------------------------------------------------------------------- */

static const struct {
    const char *name; /* without "SIG" */
    int no;
} sig_names[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};
#define N_SIGNAMES (sizeof sig_names / sizeof sig_names[0])

const char *
proc_signal_name(int signo)
{
    for (size_t i = 0; i < N_SIGNAMES; i++)
        if (sig_names[i].no == signo)
            return sig_names[i].name;
    return NULL;
}

int
proc_signal_number(mrb_state *mrb, mrb_value sig)
{
    if (mrb_integer_p(sig)) {
        mrb_int n = mrb_integer(sig);
        if (n < 0 || n >= NSIG)
            mrb_raisef(mrb, E_ARGUMENT_ERROR, "invalid signal number (%i)", n);
        return (int)n;
    }
    const char *name;
    mrb_int len;
    if (mrb_symbol_p(sig)) {
        name = mrb_sym_name_len(mrb, mrb_symbol(sig), &len);
    } else if (mrb_string_p(sig)) {
        name = RSTRING_PTR(sig);
        len = RSTRING_LEN(sig);
    } else {
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "bad signal type %s", mrb_obj_classname(mrb, sig));
    }
    const char *s = name;
    mrb_int n = len;
    if (n > 3 && memcmp(s, "SIG", 3) == 0)
        s += 3, n -= 3;
    for (size_t i = 0; i < N_SIGNAMES; i++)
        if ((mrb_int)strlen(sig_names[i].name) == n && memcmp(sig_names[i].name, s, n) == 0)
            return sig_names[i].no;
    mrb_raisef(mrb, E_ARGUMENT_ERROR, "unsupported signal `SIG%l'", s, (size_t)n);
}

/* Raises Errno::NAME (a SystemCallError with code, syscall and errno) for errno err. */
mrb_noreturn void
proc_raise_errno(mrb_state *mrb, int err, const char *syscall, const char *detail)
{
    const char *code = uv_err_name(-err);
    struct RClass *cls = mrb_class_get(mrb, "SystemCallError");
    if (mrb_const_defined(mrb, mrb_obj_value(mrb->object_class), mrb_intern_lit(mrb, "Errno"))) {
        struct RClass *errno_mod = mrb_module_get(mrb, "Errno");
        mrb_sym csym = mrb_intern_cstr(mrb, code);
        if (mrb_const_defined(mrb, mrb_obj_value(errno_mod), csym))
            cls = mrb_class_ptr(mrb_const_get(mrb, mrb_obj_value(errno_mod), csym));
    }
    mrb_value msg = detail ? mrb_format(mrb, "%s - %s", strerror(err), detail)
                           : mrb_str_new_cstr(mrb, strerror(err));
    mrb_value exc = mrb_exc_new_str(mrb, cls, msg);
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@code"), mrb_str_new_cstr(mrb, code));
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@syscall"), mrb_str_new_cstr(mrb, syscall));
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@errno"), mrb_fixnum_value(err));
    mrb_exc_raise(mrb, exc);
}

/* --- pid, clocks, kill ----------------------------------------------------------------------- */

static mrb_value
p_pid(mrb_state *mrb, mrb_value self)
{
    return mrb_fixnum_value(getpid());
}

static mrb_value
p_ppid(mrb_state *mrb, mrb_value self)
{
    return mrb_fixnum_value(getppid());
}

/* Process.clock_gettime(clock_id, unit = :float_second), CRuby's units. */
static mrb_value
p_clock_gettime(mrb_state *mrb, mrb_value self)
{
    mrb_int id;
    mrb_sym unit = mrb_intern_lit(mrb, "float_second");
    mrb_get_args(mrb, "i|n", &id, &unit);
    struct timespec ts;
    if (clock_gettime((clockid_t)id, &ts) != 0)
        proc_raise_errno(mrb, errno, "clock_gettime", NULL);
    const char *u = mrb_sym_name(mrb, unit);
    double s = (double)ts.tv_sec, ns = (double)ts.tv_nsec;
    int64_t sec = (int64_t)ts.tv_sec, nsec = (int64_t)ts.tv_nsec;
    if (strcmp(u, "float_second") == 0)
        return mrb_float_value(mrb, s + ns / 1e9);
    if (strcmp(u, "float_millisecond") == 0)
        return mrb_float_value(mrb, s * 1e3 + ns / 1e6);
    if (strcmp(u, "float_microsecond") == 0)
        return mrb_float_value(mrb, s * 1e6 + ns / 1e3);
    if (strcmp(u, "second") == 0)
        return mrb_fixnum_value((mrb_int)sec);
    if (strcmp(u, "millisecond") == 0)
        return mrb_fixnum_value((mrb_int)(sec * 1000 + nsec / 1000000));
    if (strcmp(u, "microsecond") == 0)
        return mrb_fixnum_value((mrb_int)(sec * 1000000 + nsec / 1000));
    if (strcmp(u, "nanosecond") == 0)
        return mrb_fixnum_value((mrb_int)(sec * 1000000000 + nsec));
    mrb_raisef(mrb, E_ARGUMENT_ERROR, "unexpected unit: %n", unit);
}

/* Process.kill(signal, *pids) → the number of processes signalled, as CRuby. */
static mrb_value
p_kill(mrb_state *mrb, mrb_value self)
{
    mrb_value sig;
    const mrb_value *pids;
    mrb_int n;
    mrb_get_args(mrb, "o*", &sig, &pids, &n);
    if (n == 0)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "wrong number of arguments (given 1, expected 2+)");
    int signo = proc_signal_number(mrb, sig);
    for (mrb_int i = 0; i < n; i++)
        if (!mrb_integer_p(pids[i]))
            mrb_raisef(mrb, E_TYPE_ERROR, "pid must be an Integer, not %s",
                       mrb_obj_classname(mrb, pids[i]));
    for (mrb_int i = 0; i < n; i++)
        if (kill((pid_t)mrb_integer(pids[i]), signo) != 0)
            proc_raise_errno(mrb, errno, "kill", NULL);
    return mrb_fixnum_value(n);
}

/* Signal.list → {"HUP" => 1, ...} plus "EXIT" => 0, as CRuby. */
static mrb_value
sig_list(mrb_state *mrb, mrb_value self)
{
    mrb_value h = mrb_hash_new(mrb);
    mrb_hash_set(mrb, h, mrb_str_new_lit(mrb, "EXIT"), mrb_fixnum_value(0));
    for (size_t i = 0; i < N_SIGNAMES; i++)
        mrb_hash_set(mrb, h, mrb_str_new_cstr(mrb, sig_names[i].name),
                     mrb_fixnum_value(sig_names[i].no));
    return h;
}

/* Signal.signame(n) → "INT", or nil. */
static mrb_value
sig_signame(mrb_state *mrb, mrb_value self)
{
    mrb_int n;
    mrb_get_args(mrb, "i", &n);
    const char *name = n == 0 ? "EXIT" : proc_signal_name((int)n);
    return name ? mrb_str_new_cstr(mrb, name) : mrb_nil_value();
}

/* Process.__signo(sig) → the number for a name, Symbol or Integer (ArgumentError otherwise). */
static mrb_value
p_signo(mrb_state *mrb, mrb_value self)
{
    return mrb_fixnum_value(proc_signal_number(mrb, mrb_get_arg1(mrb)));
}

/* --- sleep ----------------------------------------------------------------------------------- */

/* Kernel#sleep(seconds = forever): blocks the thread (and so the loop), as Ruby; returns the
 * whole seconds slept as CRuby counts them (the difference of time(2) before and after, so
 * sleep(0.6) is 0 or 1). The profiler's signals interrupt nanosleep: it resumes with what is
 * left. */
static mrb_value
k_sleep(mrb_state *mrb, mrb_value self)
{
    mrb_value arg = mrb_nil_value();
    mrb_get_args(mrb, "|o", &arg);
    time_t t0 = time(NULL);
    sig_atomic_t blocked;
    if (mrb_nil_p(arg)) {
        RT_BLOCK_BEGIN(blocked, RT_BLOCK_SLEEP);
        for (;;)
            pause(); /* for ever, as Ruby's sleep without an argument; a signal may end us */
    }
    double secs;
    if (mrb_integer_p(arg))
        secs = (double)mrb_integer(arg);
    else if (mrb_float_p(arg))
        secs = mrb_float(arg);
    else if (mrb_respond_to(mrb, arg, mrb_intern_lit(mrb, "to_f")) && !mrb_string_p(arg))
        secs = mrb_float(mrb_to_float(mrb, mrb_funcall(mrb, arg, "to_f", 0)));
    else
        mrb_raisef(mrb, E_TYPE_ERROR, "can't convert %s into time interval",
                   mrb_obj_classname(mrb, arg));
    if (secs < 0)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "time interval must not be negative");
    if (secs != secs || secs > 1e15)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "time interval out of range");
    struct timespec req = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    if (req.tv_nsec >= 1000000000L)
        req.tv_nsec = 999999999L;
    struct timespec rem;
    RT_BLOCK_BEGIN(blocked, RT_BLOCK_SLEEP);
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
    RT_BLOCK_END(blocked);
    return mrb_fixnum_value((mrb_int)(time(NULL) - t0));
}

/* --- system and backticks -------------------------------------------------------------------- */

/* CRuby (process.c) runs a one-string command through /bin/sh when it has a shell
 * metacharacter or starts with a reserved word or special built-in; otherwise it splits it on
 * blanks and executes it directly (so a missing program is nil, not the shell's 127). */
static bool
needs_shell(const char *cmd)
{
    if (strpbrk(cmd, "*?{}[]<>()~&|\\$;'`\"\n#=%"))
        return true;
    static const char *const words[] = {"case",  "do",    "done",  "elif",   "else",     "esac",
                                        "fi",    "for",   "if",    "in",     "then",     "until",
                                        "while", "!",     ".",     ":",      "break",    "continue",
                                        "eval",  "exec",  "exit",  "export", "readonly", "return",
                                        "set",   "shift", "times", "trap",   "unset",    NULL};
    while (*cmd == ' ' || *cmd == '\t')
        cmd++;
    size_t n = strcspn(cmd, " \t");
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && strncmp(cmd, words[i], n) == 0)
            return true;
    return false;
}

/* Room for n pointers inside a Ruby String kept in keep (freed by the GC if anything raises).
 * A String's bytes may sit inside its object, unaligned: the vector starts at the next pointer
 * boundary of a buffer one pointer longer. */
static char **
ptr_vector(mrb_state *mrb, mrb_value keep, size_t n)
{
    mrb_value buf = mrb_str_new(mrb, NULL, (n + 1) * sizeof(char *));
    mrb_ary_push(mrb, keep, buf);
    uintptr_t p = (uintptr_t)RSTRING_PTR(buf);
    return (char **)((p + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1));
}

/*
 * Runs a command to its end. argv: the Ruby Array of Strings (one String: a command line, see
 * needs_shell), env: nil or a Hash merged into the environment (nil values unset), as Ruby's
 * system(env, cmd). With out non-NULL the child's stdout is read into it. Returns the pid and
 * sets *status (waitpid's), or returns -errno when the program could not be started.
 */
static pid_t
run_command(mrb_state *mrb, mrb_value env, mrb_value args, mrb_value *out, int *status)
{
    mrb_int argc = RARRAY_LEN(args);
    if (argc == 0)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "wrong number of arguments (given 0, expected 1+)");
    for (mrb_int i = 0; i < argc; i++) {
        mrb_value a = RARRAY_PTR(args)[i];
        if (!mrb_string_p(a))
            mrb_raisef(mrb, E_TYPE_ERROR, "no implicit conversion of %s into String",
                       mrb_obj_classname(mrb, a));
        mrb_string_value_cstr(mrb, &a); /* raises on a NUL byte */
    }
    /* argv and envp live in a Ruby Array of Strings (freed by the GC if anything raises). */
    mrb_value keep = mrb_ary_new(mrb);
    const char *cmd0 = RSTRING_CSTR(mrb, RARRAY_PTR(args)[0]);
    bool shell = argc == 1 && needs_shell(cmd0);
    char **argv = NULL;
    char **envp = environ;
    if (shell) {
        argv = ptr_vector(mrb, keep, 4);
        argv[0] = "sh", argv[1] = "-c", argv[2] = (char *)cmd0, argv[3] = NULL;
    } else if (argc == 1) {
        /* Split on blanks, as CRuby does for a command line without metacharacters. */
        mrb_value copy = mrb_str_dup(mrb, RARRAY_PTR(args)[0]);
        mrb_ary_push(mrb, keep, copy);
        char *p = RSTRING_PTR(copy);
        size_t words = 0;
        argv = ptr_vector(mrb, keep, strlen(p) / 2 + 2);
        for (char *tok = strtok(p, " \t"); tok; tok = strtok(NULL, " \t"))
            argv[words++] = tok;
        argv[words] = NULL;
        if (words == 0)
            return -ENOENT;
    } else {
        argv = ptr_vector(mrb, keep, (size_t)argc + 1);
        for (mrb_int i = 0; i < argc; i++) {
            mrb_value a = RARRAY_PTR(args)[i];
            argv[i] = (char *)mrb_string_value_cstr(mrb, &a); /* may be a terminated copy */
            mrb_ary_push(mrb, keep, a);
        }
        argv[argc] = NULL;
    }
    if (mrb_hash_p(env)) {
        /* The current environment with env's entries merged in (nil unsets). */
        mrb_value merged = mrb_hash_new(mrb);
        mrb_ary_push(mrb, keep, merged);
        for (char **e = environ; e && *e; e++) {
            const char *eq = strchr(*e, '=');
            if (eq)
                mrb_hash_set(mrb, merged, mrb_str_new(mrb, *e, eq - *e), mrb_str_new_cstr(mrb, *e));
        }
        mrb_value keys = mrb_hash_keys(mrb, env);
        for (mrb_int i = 0; i < RARRAY_LEN(keys); i++) {
            mrb_value k = mrb_obj_as_string(mrb, RARRAY_PTR(keys)[i]);
            mrb_value v = mrb_hash_get(mrb, env, RARRAY_PTR(keys)[i]);
            const char *kc = mrb_string_value_cstr(mrb, &k);
            if (!*kc || strchr(kc, '='))
                mrb_raisef(mrb, E_ARGUMENT_ERROR, "invalid environment variable name: '%s'", kc);
            if (mrb_nil_p(v)) {
                mrb_hash_delete_key(mrb, merged, k);
                continue;
            }
            if (!mrb_string_p(v))
                mrb_raisef(mrb, E_TYPE_ERROR, "no implicit conversion of %s into String",
                           mrb_obj_classname(mrb, v));
            mrb_value kv = mrb_format(mrb, "%v=%v", k, v);
            mrb_string_value_cstr(mrb, &kv);
            mrb_hash_set(mrb, merged, k, kv);
        }
        mrb_value vals = mrb_hash_values(mrb, merged);
        mrb_ary_push(mrb, keep, vals);
        mrb_int n = RARRAY_LEN(vals);
        envp = ptr_vector(mrb, keep, (size_t)n + 1);
        for (mrb_int i = 0; i < n; i++)
            envp[i] = RSTRING_PTR(RARRAY_PTR(vals)[i]);
        envp[n] = NULL;
    }

    int fds[2] = {-1, -1};
    if (out && pipe2(fds, O_CLOEXEC) != 0)
        proc_raise_errno(mrb, errno, "pipe", NULL);
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&fa);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (out)
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    fflush(stdout);
    fflush(stderr);
    pid_t pid;
    int err = shell ? posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp)
                    : posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (out)
        close(fds[1]);
    if (err) {
        if (out)
            close(fds[0]);
        return -err;
    }
    if (out) {
        *out = mrb_str_new(mrb, NULL, 0);
        char buf[16384];
        for (;;) {
            sig_atomic_t blocked;
            RT_BLOCK_BEGIN(blocked, RT_BLOCK_CHILD);
            ssize_t n = read(fds[0], buf, sizeof buf);
            RT_BLOCK_END(blocked);
            if (n > 0)
                mrb_str_cat(mrb, *out, buf, (size_t)n);
            else if (n == 0 || errno != EINTR)
                break;
        }
        close(fds[0]);
    }
    sig_atomic_t blocked;
    RT_BLOCK_BEGIN(blocked, RT_BLOCK_CHILD);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    RT_BLOCK_END(blocked);
    return pid;
}

/* Sets $? to Process::Status.new(pid, status) and returns it. */
static mrb_value
set_last_status(mrb_state *mrb, pid_t pid, int status)
{
    struct RClass *cls = mrb_class_get_under(mrb, mrb_module_get(mrb, "Process"), "Status");
    mrb_value v[2] = {mrb_fixnum_value(pid), mrb_fixnum_value(status)};
    mrb_value st = mrb_obj_new(mrb, cls, 2, v);
    mrb_gv_set(mrb, mrb_intern_lit(mrb, "$?"), st);
    return st;
}

/*
 * Kernel#system([env,] command [, args...] [, exception: false]): runs the command to its end,
 * blocking (the event loop waits too), as CRuby: true when it exited 0, false otherwise, nil
 * when it could not be run ($? then says exit 127). In C so that a profile shows the wait as
 * Kernel#system.
 */
static mrb_value
k_system(mrb_state *mrb, mrb_value self)
{
    const mrb_value *argv;
    mrb_int argc;
    mrb_get_args(mrb, "*", &argv, &argc);
    mrb_value env = mrb_nil_value(), opts = mrb_nil_value();
    if (argc > 0 && mrb_hash_p(argv[0]))
        env = argv[0], argv++, argc--;
    if (argc > 1 && mrb_hash_p(argv[argc - 1]))
        opts = argv[argc - 1], argc--;
    bool exception =
        mrb_hash_p(opts) &&
        mrb_test(mrb_hash_get(mrb, opts, mrb_symbol_value(mrb_intern_lit(mrb, "exception"))));
    mrb_value args = mrb_ary_new_from_values(mrb, argc, argv);
    int status = 0;
    pid_t pid = run_command(mrb, env, args, NULL, &status);
    if (pid < 0) {
        set_last_status(mrb, 0, 127 << 8);
        if (exception)
            proc_raise_errno(mrb, -pid, "spawn", RSTRING_CSTR(mrb, RARRAY_PTR(args)[0]));
        return mrb_nil_value();
    }
    set_last_status(mrb, pid, status);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && exception) {
        if (WIFSIGNALED(status))
            mrb_raisef(mrb, E_RUNTIME_ERROR, "Command failed with signal %d: %v", WTERMSIG(status),
                       mrb_ary_join(mrb, args, mrb_str_new_lit(mrb, " ")));
        mrb_raisef(mrb, E_RUNTIME_ERROR, "Command failed with exit %d: %v", WEXITSTATUS(status),
                   mrb_ary_join(mrb, args, mrb_str_new_lit(mrb, " ")));
    }
    return mrb_bool_value(ok);
}

/* Kernel#`(command): its standard output, blocking, as CRuby; sets $?. A program that cannot
 * be started raises Errno::ENOENT. */
static mrb_value
k_backtick(mrb_state *mrb, mrb_value self)
{
    mrb_value cmd;
    mrb_get_args(mrb, "S", &cmd);
    mrb_value args = mrb_ary_new_from_values(mrb, 1, &cmd);
    mrb_value out = mrb_nil_value();
    int status = 0;
    pid_t pid = run_command(mrb, mrb_nil_value(), args, &out, &status);
    if (pid < 0)
        proc_raise_errno(mrb, -pid, "spawn", RSTRING_CSTR(mrb, cmd));
    set_last_status(mrb, pid, status);
    return out;
}

/* --- memory ---------------------------------------------------------------------------------- */

/* Objects per heap page: mruby's default (gc.c), which Debian's build keeps. */
#ifndef MRB_HEAP_PAGE_SIZE
#define MRB_HEAP_PAGE_SIZE 1024
#endif

/* The size of one object slot of mruby's heap (gc.c's RVALUE, a union of these). */
union slot {
    struct RObject o;
    struct RClass c;
    struct RProc p;
    struct RArray a;
    struct RHash h;
    struct RString s;
    struct RData d;
    struct REnv e;
    struct RException x;
};

/* Process.memory_usage → {rss:, heap_total:, heap_used:, external:} in bytes: the resident set;
 * the object heap's pages and its live objects (the slots mruby's GC manages); the bytes
 * malloc'd by the whole process (string bodies, tables, libuv, workers' VMs). */
static mrb_value
p_memory_usage(mrb_state *mrb, mrb_value self)
{
    size_t rss = 0;
    uv_resident_set_memory(&rss);
    size_t pages = 0;
    for (const mrb_heap_page *pg = mrb->gc.heaps; pg; pg = pg->next)
        pages++;
    struct mallinfo2 mi = mallinfo2();
    mrb_value h = mrb_hash_new_capa(mrb, 4);
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "rss")),
                 mrb_fixnum_value((mrb_int)rss));
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "heap_total")),
                 mrb_fixnum_value((mrb_int)(pages * MRB_HEAP_PAGE_SIZE * sizeof(union slot))));
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "heap_used")),
                 mrb_fixnum_value((mrb_int)(mrb->gc.live * sizeof(union slot))));
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "external")),
                 mrb_fixnum_value((mrb_int)(mi.uordblks + mi.hblkhd)));
    return h;
}

/* --- signal handlers (main VM) --------------------------------------------------------------- */

struct sig_watch {
    uv_signal_t h;
    struct rt *rt;
    bool started;
    bool saved_ok;
    struct sigaction saved; /* the action before libuv's, put back when the watch stops */
};

static struct sig_watch *watches[NSIG];
static mrb_sym sym_on_signal;

/* A signal a script may not handle: why, or NULL when it may. */
static const char *
refused(int signo)
{
    switch (signo) {
    case SIGPROF:
        return "SIGPROF is the profiler's sampling timer";
    case SIGKILL:
    case SIGSTOP:
        return "it cannot be caught";
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
        return "it reports a fault in mrun itself; a handler would run the fault again for ever";
    case 0:
        return "0 is not a signal";
    default:
        return NULL;
    }
}

static void
on_signal(uv_signal_t *h, int signo)
{
    struct sig_watch *w = (struct sig_watch *)h;
    struct rt *rt = w->rt;
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value arg = mrb_fixnum_value(signo);
    rt_call(rt, mrb_obj_value(mrb_module_get(mrb, "Process")), sym_on_signal, 1, &arg);
    mrb_gc_arena_restore(mrb, ai);
}

/* Process.__signal_start(signo): handle signo from now on (idempotent). */
static mrb_value
p_signal_start(mrb_state *mrb, mrb_value self)
{
    struct rt *rt = rt_from_mrb(mrb);
    mrb_int signo;
    mrb_get_args(mrb, "i", &signo);
    if (signo < 0 || signo >= NSIG)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "invalid signal number (%i)", signo);
    const char *why = refused((int)signo);
    if (why)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "cannot handle SIG%s: %s",
                   proc_signal_name((int)signo) ? proc_signal_name((int)signo) : "?", why);
    struct sig_watch *w = watches[signo];
    if (w && w->started)
        return mrb_nil_value();
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
        int err = uv_signal_init(&rt->loop, &w->h);
        if (err) {
            free(w);
            rt_raise_uv(mrb, err, "uv_signal_init");
        }
        w->rt = rt;
        w->h.data = rt; /* not an owned handle: this module closes and frees it (stop, free) */
        uv_unref((uv_handle_t *)&w->h);
        watches[signo] = w;
    }
    w->saved_ok = sigaction((int)signo, NULL, &w->saved) == 0;
    int err = uv_signal_start(&w->h, on_signal, (int)signo);
    if (err)
        rt_raise_uv(mrb, err, "uv_signal_start");
    w->started = true;
    return mrb_nil_value();
}

static void
watch_stop(struct sig_watch *w, bool restore)
{
    if (!w->started)
        return;
    int signo = w->h.signum;
    /* Block the signal while libuv puts SIG_DFL back and we put the old action back: one that
     * arrives in between waits for the old action instead of killing the process. */
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, signo);
    pthread_sigmask(SIG_BLOCK, &one, &old);
    uv_signal_stop(&w->h);
    w->started = false;
    struct sigaction now;
    /* libuv left SIG_DFL when this was its last handle for the number (SIGCHLD may still be
     * libuv's own, for uv_spawn: then its handler stays). */
    if (w->saved_ok && sigaction(signo, NULL, &now) == 0 && now.sa_handler == SIG_DFL &&
        !(now.sa_flags & SA_SIGINFO)) {
        if (restore)
            sigaction(signo, &w->saved, NULL);
        else if (signo == SIGPIPE)
            signal(SIGPIPE, SIG_IGN); /* mrun's own choice (main.c) */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Process.__signal_stop(signo): the last listener went. */
static mrb_value
p_signal_stop(mrb_state *mrb, mrb_value self)
{
    mrb_int signo;
    mrb_get_args(mrb, "i", &signo);
    if (signo > 0 && signo < NSIG && watches[signo])
        watch_stop(watches[signo], true);
    return mrb_nil_value();
}

/* --- at_exit --------------------------------------------------------------------------------- */

/* Runs the at_exit blocks (Process's @__at_exit, last registered first), after the loop ended
 * for whatever reason: ran dry, exit(), an uncaught exception, Ctrl-C under --cpu-prof. As in
 * CRuby, an exception in one is reported and the others still run; exit(n) in one sets the
 * status. No loop runs afterwards: timers they set never fire, and signal listeners are
 * switched off first. */
static void
process_finish(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    /* No loop runs from now on, so no listener could run: a signal gets what it had before
     * (its default, or the profiler's Ctrl-C handling while the profile is written) instead of
     * a libuv handler nobody reads. */
    for (int i = 0; i < NSIG; i++)
        if (watches[i])
            watch_stop(watches[i], true);
    int ai = mrb_gc_arena_save(mrb);
    mrb_value mod = mrb_obj_value(mrb_module_get(mrb, "Process"));
    mrb_value list = mrb_iv_get(mrb, mod, mrb_intern_lit(mrb, "@__at_exit"));
    mrb_sym call = mrb_intern_lit(mrb, "call");
    bool exiting = rt->exiting;
    while (mrb_array_p(list) && RARRAY_LEN(list) > 0) {
        mrb_value blk = mrb_ary_pop(mrb, list);
        rt->exiting = false; /* rt_call runs nothing while exiting */
        if (!rt_call(rt, blk, call, 0, NULL))
            exiting = true;
        mrb_gc_arena_restore(mrb, ai);
    }
    rt->exiting = exiting;
    mrb_gc_arena_restore(mrb, ai);
}

/* --- the module ------------------------------------------------------------------------------ */

static void
process_vm_init(mrb_state *mrb)
{
    struct RClass *p = mrb_define_module(mrb, "Process");
    mrb_define_const(mrb, p, "CLOCK_REALTIME", mrb_fixnum_value(CLOCK_REALTIME));
    mrb_define_const(mrb, p, "CLOCK_MONOTONIC", mrb_fixnum_value(CLOCK_MONOTONIC));
    mrb_define_const(mrb, p, "CLOCK_PROCESS_CPUTIME_ID",
                     mrb_fixnum_value(CLOCK_PROCESS_CPUTIME_ID));
    mrb_define_const(mrb, p, "CLOCK_THREAD_CPUTIME_ID", mrb_fixnum_value(CLOCK_THREAD_CPUTIME_ID));
    mrb_define_module_function(mrb, p, "pid", p_pid, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, p, "ppid", p_ppid, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, p, "clock_gettime", p_clock_gettime, MRB_ARGS_ARG(1, 1));
    mrb_define_module_function(mrb, p, "kill", p_kill, MRB_ARGS_ANY());
    mrb_define_module_function(mrb, p, "memory_usage", p_memory_usage, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, p, "__signo", p_signo, MRB_ARGS_REQ(1));
    struct RClass *s = mrb_define_module(mrb, "Signal");
    mrb_define_module_function(mrb, s, "list", sig_list, MRB_ARGS_NONE());
    mrb_define_module_function(mrb, s, "signame", sig_signame, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, mrb->kernel_module, "sleep", k_sleep, MRB_ARGS_OPT(1));
    mrb_define_method(mrb, mrb->kernel_module, "system", k_system, MRB_ARGS_ANY());
    mrb_define_method(mrb, mrb->kernel_module, "`", k_backtick, MRB_ARGS_REQ(1));
    mrb_gv_set(mrb, mrb_intern_lit(mrb, "$$"), mrb_fixnum_value(getpid()));
}

static void
process_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    sym_on_signal = mrb_intern_lit(mrb, "__on_signal");
    struct RClass *p = mrb_module_get(mrb, "Process");
    mrb_define_module_function(mrb, p, "__signal_start", p_signal_start, MRB_ARGS_REQ(1));
    mrb_define_module_function(mrb, p, "__signal_stop", p_signal_stop, MRB_ARGS_REQ(1));
}

/* rt_free, before the loop's handles close: stop every watch (finish did already, unless the
 * runtime ends without it). The old actions are not put back here (the profiler's Ctrl-C
 * handler is gone by now): libuv's SIG_DFL stays, but SIGPIPE goes back to ignored. */
static void
process_stop(struct rt *rt)
{
    for (int i = 0; i < NSIG; i++)
        if (watches[i]) {
            watch_stop(watches[i], false);
            uv_close((uv_handle_t *)&watches[i]->h, NULL);
        }
}

/* After the loop is closed (so the handles' memory is no longer libuv's). */
static void
process_free(struct rt *rt)
{
    for (int i = 0; i < NSIG; i++) {
        free(watches[i]);
        watches[i] = NULL;
    }
}

const struct rt_module rt_module_process = {
    .name = "process",
    .vm_init = process_vm_init,
    .init = process_init,
    .finish = process_finish,
    .stop = process_stop,
    .free = process_free,
};
