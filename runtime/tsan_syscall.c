/*
 * tsan_syscall.c — in the ThreadSanitizer build only: libuv closes file descriptors with
 * syscall(SYS_close) (uv__close_nocancel), which TSan does not intercept, so when one Worker's
 * loop (runtime/worker.c) closes an fd and another thread gets the same number back (a pipe,
 * an epoll fd, a socket, a file), TSan takes the reuse for a race with the fd's previous life.
 * This syscall() (exported from mrun: -Wl,--export-dynamic-symbol=syscall in the Makefile)
 * passes SYS_close to close(), which TSan sees, and everything else to libc's syscall().
 * Nothing here in the other builds.
 */
#if defined(__SANITIZE_THREAD__)
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*syscall_fn)(long, ...);

long
syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long); /* as glibc's own syscall(): six registers, used or not */
    va_end(ap);
    if (number == SYS_close)
        return close((int)a[0]);
    static syscall_fn real;
    syscall_fn f = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
    if (!f) {
        f = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
        __atomic_store_n(&real, f, __ATOMIC_RELEASE);
    }
    return f(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
#else
typedef int tsan_syscall_unused; /* ISO C: a translation unit is not empty */
#endif
