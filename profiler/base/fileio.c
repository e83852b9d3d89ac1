/*
 * fileio.c — bounded whole-file reads and atomic writes shared by mrun and mrprof.
 */
#include "profiler/base/fileio.h"

#include "profiler/base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- reads ---------------------------------------------------------------------------------- */

size_t
fio_max_input(void)
{
    const char *env = getenv("MRPROF_MAX_INPUT");
    if (env && *env) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(env, &end, 10);
        int shift = *end == 'K' || *end == 'k'   ? 10
                    : *end == 'M' || *end == 'm' ? 20
                    : *end == 'G' || *end == 'g' ? 30
                                                 : 0;
        if (shift)
            end++;
        if (!errno && *end == '\0' && v > 0 && v <= (SIZE_MAX >> 31))
            return (size_t)v << shift;
    }
    return (size_t)1 << 30;
}

/* Reads fd to the end (at most the input limit), checking the first bytes with sniff. */
static char *
read_fd(int fd, const char *name, fio_sniff sniff, size_t *len, struct mp_err *e)
{
    struct stat st;
    size_t max = fio_max_input();
    if (fstat(fd, &st) != 0) {
        int en = errno;
        mp_errf(e, -en, "cannot read %s: %s", name, strerror(en));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        mp_errf(e, -EISDIR, "%s is a directory, not a file", name);
        return NULL;
    }
    bool regular = S_ISREG(st.st_mode);
    if (regular && (unsigned long long)st.st_size > max) {
        mp_errf(e, -EFBIG,
                "%s is %lld bytes, more than the input limit of %zu bytes "
                "(MRPROF_MAX_INPUT raises it)",
                name, (long long)st.st_size, max);
        return NULL;
    }
    /* A regular file's size is known (it may still grow: the loop below allows for that);
     * a stream grows from 64 KiB. Never past max + 1 bytes, the +1 telling "more than max". */
    size_t cap = regular ? (size_t)st.st_size + 1 : 65536, n = 0;
    if (cap > max + 1)
        cap = max + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        mp_err_oom(e, name);
        return NULL;
    }
    bool sniffed = !sniff;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                mp_errf(e, -EFBIG,
                        "%s holds more than the input limit of %zu bytes "
                        "(MRPROF_MAX_INPUT raises it)",
                        name, max);
                free(buf);
                return NULL;
            }
            size_t bigger_cap = cap > max / 2 ? max + 1 : cap * 2;
            char *bigger = realloc(buf, bigger_cap + 1);
            if (!bigger) {
                mp_err_oom(e, name);
                free(buf);
                return NULL;
            }
            buf = bigger, cap = bigger_cap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int en = errno;
            mp_errf(e, -en, "cannot read %s: %s", name, strerror(en));
            free(buf);
            return NULL;
        }
        n += (size_t)got;
        /* The format is checked from the first bytes, before the rest is read: /dev/zero or a
         * binary file is refused at once, not when memory runs out. */
        if (!sniffed && n > 0 && (n >= 64 || got == 0)) {
            sniffed = true;
            if (sniff(buf, n, name, e) != 0) {
                free(buf);
                return NULL;
            }
        }
        if (got == 0)
            break;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *
read_path(const char *path, const char *name, fio_sniff sniff, size_t *len, struct mp_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int en = errno;
        mp_errf(e, -en, "cannot open %s: %s", name, strerror(en));
        return NULL;
    }
    char *buf = read_fd(fd, name, sniff, len, e);
    close(fd);
    return buf;
}

char *
fio_read_file(const char *path, size_t *len, struct mp_err *e)
{
    return read_path(path, path, NULL, len, e);
}

char *
fio_read_input(const char *path, fio_sniff sniff, size_t *len, struct mp_err *e)
{
    if (strcmp(path, "-") == 0)
        return read_fd(STDIN_FILENO, "stdin", sniff, len, e);
    return read_path(path, path, sniff, len, e);
}

/* --- removing temporary files on fatal signals ---------------------------------------------- */

/*
 * Each write in progress owns a slot holding its temporary path, prepared before the file is
 * created. While any slot is in use, SIGINT, SIGTERM and SIGHUP go through on_signal, which
 * does only async-signal-safe work: when the signal would have ended the process (its previous
 * disposition was the default), it unlinks every slot's file, restores the default and raises
 * the signal again; when the program had a handler of its own (mrun's loop, curses), it calls
 * that handler and leaves the files alone, since the process lives on and will finish or abort
 * the write itself; an ignored signal stays ignored.
 */
#define FIO_SLOTS 16
static char slot_path[FIO_SLOTS][PATH_MAX];
static volatile sig_atomic_t slot_on[FIO_SLOTS];
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static int slot_users;
static const int cleanup_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction previous[3];

static void
on_signal(int sig, siginfo_t *info, void *ctx)
{
    int saved = errno;
    int k = sig == SIGINT ? 0 : sig == SIGTERM ? 1 : 2;
    const struct sigaction *old = &previous[k];
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, info, ctx);
    } else if (old->sa_handler == SIG_DFL) {
        for (int i = 0; i < FIO_SLOTS; i++)
            if (slot_on[i])
                unlink(slot_path[i]);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
        raise(sig); /* delivered when this handler returns: the process ends as it would have */
    } else if (old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    }
    errno = saved;
}

static int
slot_claim(const char *tmp)
{
    if (strlen(tmp) >= PATH_MAX)
        return -1;
    pthread_mutex_lock(&slot_lock);
    int s = -1;
    for (int i = 0; i < FIO_SLOTS && s < 0; i++)
        if (!slot_on[i])
            s = i;
    if (s >= 0) {
        memcpy(slot_path[s], tmp, strlen(tmp) + 1);
        slot_on[s] = 1;
        if (slot_users++ == 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = on_signal;
            sa.sa_flags = SA_SIGINFO | SA_RESTART;
            sigemptyset(&sa.sa_mask);
            for (int k = 0; k < 3; k++)
                sigaction(cleanup_signals[k], &sa, &previous[k]);
        }
    }
    pthread_mutex_unlock(&slot_lock);
    return s;
}

static void
slot_release(int s)
{
    if (s < 0)
        return;
    pthread_mutex_lock(&slot_lock);
    slot_on[s] = 0;
    if (--slot_users == 0)
        for (int k = 0; k < 3; k++)
            sigaction(cleanup_signals[k], &previous[k], NULL);
    pthread_mutex_unlock(&slot_lock);
}

/* --- writes --------------------------------------------------------------------------------- */

int
fio_begin(struct fio_atomic *a, const char *path, struct mp_err *e)
{
    memset(a, 0, sizeof *a);
    a->slot = -1;
    if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0) {
        a->fp = stdout, a->direct = 2;
        a->final_path = strdup("stdout");
        if (!a->final_path) {
            return mp_err_oom(e, NULL);
        }
        return 0;
    }
    /* A symbolic link is followed: its target is what gets written, the link stays a link. A
     * dangling link is written through (which creates its target). */
    struct stat st;
    char *target = NULL;
    bool dangling = false;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        target = realpath(path, NULL);
        dangling = !target;
    }
    const char *real = target ? target : path;
    bool exists = stat(real, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        free(target);
        return mp_errf(e, -EISDIR, "cannot write %s: it is a directory", path);
    }
    a->final_path = strdup(real);
    free(target);
    if (!a->final_path) {
        return mp_err_oom(e, NULL);
    }
    if (dangling || (exists && !S_ISREG(st.st_mode)) || strncmp(path, "/dev/", 5) == 0 ||
        strncmp(path, "/proc/", 6) == 0) {
        /* A device, FIFO or socket is written in place: replacing /dev/null with a file, or a
         * FIFO someone reads with a file no one reads, is never what was meant. */
        a->direct = 1;
        a->fp = fopen(a->final_path, "wb");
        if (!a->fp) {
            int en = errno;
            fio_abort(a);
            return mp_errf(e, -en, "cannot write %s: %s", path, strerror(en));
        }
        setvbuf(a->fp, NULL, _IOFBF, 1 << 16);
        return 0;
    }
    size_t n = strlen(a->final_path) + 32;
    a->tmp_path = malloc(n);
    if (!a->tmp_path) {
        fio_abort(a);
        return mp_err_oom(e, NULL);
    }
    snprintf(a->tmp_path, n, "%s.tmp.%ld", a->final_path, (long)getpid());
    a->slot = slot_claim(a->tmp_path); /* before the file exists, so a signal finds it */
    /* O_EXCL: never write through something planted at the temporary path. */
    int fd = open(a->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST && unlink(a->tmp_path) == 0) /* left by a killed run of ours */
        fd = open(a->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 && exists)
        (void)fchmod(fd, st.st_mode & 07777); /* the replaced file's permissions */
    a->fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!a->fp) {
        int en = errno;
        if (fd >= 0)
            close(fd), unlink(a->tmp_path);
        free(a->tmp_path), a->tmp_path = NULL; /* nothing of ours to remove */
        fio_abort(a);
        return mp_errf(e, -en, "cannot write %s: %s", path, strerror(en));
    }
    /* A large buffer: the writers emit many small pieces. */
    setvbuf(a->fp, NULL, _IOFBF, 1 << 16);
    return 0;
}

int
fio_commit(struct fio_atomic *a, struct mp_err *e)
{
    int en = 0;
    errno = 0;
    if (fflush(a->fp) != 0 || ferror(a->fp))
        en = errno ? errno : EIO;
    if (a->direct == 2) {
        a->fp = NULL; /* stdout stays open */
    } else {
        if (fclose(a->fp) != 0 && !en)
            en = errno;
        a->fp = NULL;
    }
    if (!en && a->tmp_path && rename(a->tmp_path, a->final_path) != 0)
        en = errno;
    if (en) {
        mp_errf(e, -en, "cannot write %s: %s", a->final_path, strerror(en));
        fio_abort(a);
        return -en;
    }
    slot_release(a->slot);
    free(a->final_path);
    free(a->tmp_path);
    memset(a, 0, sizeof *a);
    a->slot = -1;
    return 0;
}

void
fio_abort(struct fio_atomic *a)
{
    if (a->fp && a->direct != 2)
        fclose(a->fp);
    else if (a->fp)
        fflush(a->fp);
    if (a->tmp_path)
        unlink(a->tmp_path);
    slot_release(a->slot);
    free(a->final_path);
    free(a->tmp_path);
    memset(a, 0, sizeof *a);
    a->slot = -1;
}
