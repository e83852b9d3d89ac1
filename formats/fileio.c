/*
 * fileio.c — whole-file reads and atomic writes shared by mrun and mrprof.
 */
#include "formats/fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *
fio_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is a directory, not a file", path);
        fclose(fp);
        return NULL;
    }
    size_t cap = (st.st_size > 0 ? (size_t)st.st_size : 4096) + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        fclose(fp);
        return NULL;
    }
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (n < cap - 1) {
            if (ferror(fp)) {
                snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
                free(buf);
                fclose(fp);
                return NULL;
            }
            break; /* end of file */
        }
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            snprintf(err, errlen, "%s: out of memory", path);
            free(buf);
            fclose(fp);
            return NULL;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

int
fio_begin(struct fio_atomic *a, const char *path, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(path) + 32;
    a->final_path = strdup(path);
    a->tmp_path = malloc(n);
    if (!a->final_path || !a->tmp_path) {
        fio_abort(a);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(a->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    a->fp = fopen(a->tmp_path, "wb");
    if (!a->fp) {
        int e = errno;
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
        fio_abort(a);
        return -e;
    }
    /* A large buffer: the writers emit many small pieces. */
    setvbuf(a->fp, NULL, _IOFBF, 1 << 16);
    return 0;
}

int
fio_commit(struct fio_atomic *a, char *err, size_t errlen)
{
    int e = 0;
    if (fflush(a->fp) != 0 || ferror(a->fp))
        e = errno ? errno : EIO;
    if (fclose(a->fp) != 0 && !e)
        e = errno;
    a->fp = NULL;
    if (!e && rename(a->tmp_path, a->final_path) != 0)
        e = errno;
    if (e) {
        snprintf(err, errlen, "cannot write %s: %s", a->final_path, strerror(e));
        fio_abort(a);
        return -e;
    }
    free(a->final_path);
    free(a->tmp_path);
    a->final_path = a->tmp_path = NULL;
    return 0;
}

void
fio_abort(struct fio_atomic *a)
{
    if (a->fp)
        fclose(a->fp);
    if (a->tmp_path)
        unlink(a->tmp_path);
    free(a->final_path);
    free(a->tmp_path);
    memset(a, 0, sizeof *a);
}
