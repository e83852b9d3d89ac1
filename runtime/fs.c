/*
 * fs.c — the C half of FS: files and directories on libuv's fs requests.
 *
 * Every operation is a small state machine over one uv_fs_t (struct fs_op): each stage reads
 * the result of the previous request and issues the next one. The same machine runs both forms:
 *
 *   async  FS.read_file(path) { |err, data| }: each request goes to libuv's thread pool with a
 *          callback (on_fs), which runs the next stage on the loop's thread; the loop polls
 *          meanwhile (the profiler's wall mode shows that as idle), and the pending request
 *          keeps the loop alive. The block is called with (err, value) at the end through
 *          rt_call, so a block that raises is an uncaught error, as in a timer.
 *   sync   FS.read_file_sync(path): the requests run on the calling thread (libuv's fs
 *          functions with no callback), one after the other inside this C method, so a CPU
 *          profile shows the time under FS.read_file_sync; a failure raises.
 *
 * read_file reads in chunks of 512 KiB (Node's size) straight into the String it returns, so a
 * big file never holds a pool thread for long and is never copied; write_file writes in chunks
 * too. Errors are FS::Error (a SystemCallError), built by rt_uv_error_new (runtime/rt.c) with
 * code, errno, syscall and path. The Ruby half (runtime/prelude/fs.rb) holds FS::Stat, the
 * recursive rm, Dir and the File additions.
 *
 * This file knows nothing of the profiler. Ruby values an async op needs (its block, the String
 * being filled or written) sit in one Array rooted with rt_root while the op runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "runtime/rt.h"

#define FS_CHUNK (512 * 1024)
/* The largest file read_file returns (Node's limit too): a bigger one is EFBIG before any memory
 * is taken, rather than an allocation failure inside a loop callback. */
#define FS_MAX_READ ((size_t)2 << 30)

enum op_kind {
    OP_READ_FILE,
    OP_WRITE_FILE, /* also append */
    OP_STAT,
    OP_LSTAT,
    OP_READDIR,
    OP_MKDIR,
    OP_RMDIR,
    OP_UNLINK,
    OP_RENAME,
};

/* What a stage tells the driver. */
enum step { STEP_WAIT, STEP_AGAIN, STEP_DONE };

struct fs_op {
    uv_fs_t req;
    struct rt *rt;
    enum op_kind kind;
    bool sync;
    int stage;
    ssize_t res; /* the result of the request just issued (sync, or a failed submission) */

    /* The first failure: a negative libuv code, the call that failed and about which path. */
    int err;
    const char *err_syscall;
    const char *err_path;
    const char *err_dest;

    char *path;  /* owned copies */
    char *path2; /* rename's destination; write_file's target (after realpath) */
    char *tmp;   /* write_file's temporary file (atomic) */
    uv_file fd;  /* -1 when not open */
    int mode;
    bool atomic, do_fsync, append, keep_mode, recursive, with_types;
    size_t mk_end, mk_len; /* recursive mkdir: the prefix being made, the whole length */
    int mk_steps;
    char *mk_first; /* the first directory recursive mkdir created */

    /* Ruby side: [block, data, result]; rooted while an async op runs. */
    mrb_value holder;
    size_t off, len;      /* bytes done, bytes wanted (write) or capacity (read) */
    int64_t size;         /* read_file: the size fstat gave */
    sig_atomic_t blocked; /* sync: the thread's wait mark before the call (cb_of, issued) */
    uv_stat_t st;
};

#define READ_GC_BYTES (64u << 20)

static uint64_t read_since_gc; /* bytes read_file returned since it last ran the GC */
static struct RClass *fs_error_class;
static struct RClass *fs_stat_class;
static struct RClass *fs_dirent_class;
static mrb_sym sym_call;

static void on_fs(uv_fs_t *req);

/* --- the driver ----------------------------------------------------------------------------- */

/* The callback argument of the next uv_fs_* call of op; it first releases what the previous
 * request of op holds (every stage has read what it needs from it by then). Arguments are all
 * evaluated before the call, so the new request starts clean. A sync call blocks the thread
 * from here to issued(): the thread's wait mark says so (the profile's "(blocked: file
 * system)", see rt.h), around the system call alone, with nothing in between that may raise. */
static uv_fs_cb
cb_of(struct fs_op *op)
{
    uv_fs_req_cleanup(&op->req);
    if (!op->sync)
        return on_fs;
    RT_BLOCK_BEGIN(op->blocked, RT_BLOCK_FILE);
    return NULL;
}

/* Takes what a uv_fs_* call returned: a sync call's result, or an async submission's status. */
static enum step
issued(struct fs_op *op, int rc)
{
    if (op->sync)
        RT_BLOCK_END(op->blocked);
    if (op->sync || rc < 0) {
        op->res = rc;
        return STEP_AGAIN;
    }
    return STEP_WAIT;
}

static void
fail(struct fs_op *op, ssize_t err, const char *syscall, const char *path, const char *dest)
{
    if (op->err)
        return; /* keep the first failure; cleanup steps may fail too */
    op->err = (int)err;
    op->err_syscall = syscall;
    op->err_path = path;
    op->err_dest = dest;
}

static mrb_value
data_of(struct fs_op *op)
{
    return mrb_ary_ref(op->rt->mrb, op->holder, 1);
}

static void
set_result(struct fs_op *op, mrb_value v)
{
    mrb_ary_set(op->rt->mrb, op->holder, 2, v);
}

static mrb_value
stat_value(mrb_state *mrb, const uv_stat_t *st)
{
    mrb_value o = mrb_obj_value(mrb_obj_alloc(mrb, MRB_TT_OBJECT, fs_stat_class));
#define SET(name, v) mrb_iv_set(mrb, o, mrb_intern_lit(mrb, "@" name), mrb_int_value(mrb, (v)))
    SET("dev", (mrb_int)st->st_dev);
    SET("ino", (mrb_int)st->st_ino);
    SET("mode", (mrb_int)st->st_mode);
    SET("nlink", (mrb_int)st->st_nlink);
    SET("uid", (mrb_int)st->st_uid);
    SET("gid", (mrb_int)st->st_gid);
    SET("rdev", (mrb_int)st->st_rdev);
    SET("size", (mrb_int)st->st_size);
    SET("blksize", (mrb_int)st->st_blksize);
    SET("blocks", (mrb_int)st->st_blocks);
    SET("atime_sec", (mrb_int)st->st_atim.tv_sec);
    SET("atime_nsec", (mrb_int)st->st_atim.tv_nsec);
    SET("mtime_sec", (mrb_int)st->st_mtim.tv_sec);
    SET("mtime_nsec", (mrb_int)st->st_mtim.tv_nsec);
    SET("ctime_sec", (mrb_int)st->st_ctim.tv_sec);
    SET("ctime_nsec", (mrb_int)st->st_ctim.tv_nsec);
    SET("birthtime_sec", (mrb_int)st->st_birthtim.tv_sec);
    SET("birthtime_nsec", (mrb_int)st->st_birthtim.tv_nsec);
#undef SET
    return o;
}

/* An FS::Dirent: @name and @type, a Symbol (:file, :directory, :symlink, :fifo, :socket,
 * :char_device, :block_device, or :unknown when the file system does not say). */
static mrb_value
dirent_value(mrb_state *mrb, mrb_value name, uv_dirent_type_t type)
{
    static const char *const types[] = {
        [UV_DIRENT_UNKNOWN] = "unknown",  [UV_DIRENT_FILE] = "file",
        [UV_DIRENT_DIR] = "directory",    [UV_DIRENT_LINK] = "symlink",
        [UV_DIRENT_FIFO] = "fifo",        [UV_DIRENT_SOCKET] = "socket",
        [UV_DIRENT_CHAR] = "char_device", [UV_DIRENT_BLOCK] = "block_device",
    };
    const char *t =
        (unsigned)type < sizeof types / sizeof types[0] && types[type] ? types[type] : "unknown";
    mrb_value o = mrb_obj_value(mrb_obj_alloc(mrb, MRB_TT_OBJECT, fs_dirent_class));
    mrb_iv_set(mrb, o, mrb_intern_lit(mrb, "@name"), name);
    mrb_iv_set(mrb, o, mrb_intern_lit(mrb, "@type"), mrb_symbol_value(mrb_intern_cstr(mrb, t)));
    return o;
}

/* --- read_file: open, fstat, read chunks into the String, close ------------------------------ */

enum { RF_OPEN, RF_OPENED, RF_STATED, RF_READ, RF_CLOSED };

static enum step
close_fd(struct fs_op *op, int next_stage)
{
    uv_file fd = op->fd;
    op->fd = -1;
    op->stage = next_stage;
    return issued(op, uv_fs_close(&op->rt->loop, &op->req, fd, cb_of(op)));
}

static enum step
read_next(struct fs_op *op)
{
    mrb_state *mrb = op->rt->mrb;
    mrb_value data = data_of(op);
    if (op->off == op->len) {
        /* Full (the file grew, or its size was unknown): make room for another chunk. */
        if (op->len >= FS_MAX_READ) {
            fail(op, UV_EFBIG, "read", op->path, NULL);
            return close_fd(op, RF_CLOSED);
        }
        op->len += op->len < FS_CHUNK ? FS_CHUNK : op->len / 2;
        if (op->len > FS_MAX_READ)
            op->len = FS_MAX_READ;
        mrb_str_resize(mrb, data, (mrb_int)op->len);
    }
    size_t n = op->len - op->off;
    if (n > FS_CHUNK)
        n = FS_CHUNK;
    uv_buf_t buf = uv_buf_init(RSTRING_PTR(data) + op->off, (unsigned)n);
    op->stage = RF_READ;
    return issued(op, uv_fs_read(&op->rt->loop, &op->req, op->fd, &buf, 1, -1, cb_of(op)));
}

static enum step
step_read_file(struct fs_op *op, ssize_t res)
{
    mrb_state *mrb = op->rt->mrb;
    switch (op->stage) {
    case RF_OPEN:
        op->stage = RF_OPENED;
        return issued(
            op, uv_fs_open(&op->rt->loop, &op->req, op->path, O_RDONLY | O_CLOEXEC, 0, cb_of(op)));
    case RF_OPENED:
        if (res < 0) {
            fail(op, res, "open", op->path, NULL);
            return STEP_DONE;
        }
        op->fd = (uv_file)res;
        op->stage = RF_STATED;
        return issued(op, uv_fs_fstat(&op->rt->loop, &op->req, op->fd, cb_of(op)));
    case RF_STATED:
        if (res < 0) {
            fail(op, res, "fstat", op->path, NULL);
            return close_fd(op, RF_CLOSED);
        }
        if (S_ISDIR(op->req.statbuf.st_mode)) {
            fail(op, UV_EISDIR, "read", op->path, NULL);
            return close_fd(op, RF_CLOSED);
        }
        op->size = (int64_t)op->req.statbuf.st_size;
        if ((uint64_t)op->size > FS_MAX_READ) {
            fail(op, UV_EFBIG, "read", op->path, NULL);
            return close_fd(op, RF_CLOSED);
        }
        /* mruby's collector counts objects, not bytes: after READ_GC_BYTES of file data,
         * collect in full before the next big String, so that read files the script dropped do
         * not pile up (as Deferred does with its payloads; 200 reads of a 3 MB file took 4.5 s
         * of page faults without it, 0.1 s with it). */
        read_since_gc += (uint64_t)op->size;
        if (read_since_gc > READ_GC_BYTES) {
            mrb_full_gc(mrb);
            read_since_gc = (uint64_t)op->size;
        }
        /* The String is the buffer: its length is the capacity until the end. */
        op->len = op->size > 0 ? (size_t)op->size : 0;
        op->off = 0;
        mrb_ary_set(mrb, op->holder, 1, mrb_str_new(mrb, NULL, (mrb_int)op->len));
        return read_next(op);
    case RF_READ:
        if (res < 0) {
            fail(op, res, "read", op->path, NULL);
            return close_fd(op, RF_CLOSED);
        }
        op->off += (size_t)res;
        /* A regular file is read up to the size fstat gave (as Node); a file that reports no
         * size (/proc) or keeps growing, up to end of file. */
        if (res == 0 || (op->size > 0 && op->off == (size_t)op->size))
            return close_fd(op, RF_CLOSED);
        if (!op->sync && op->rt->exiting) {
            fail(op, UV_ECANCELED, "read", op->path, NULL);
            return close_fd(op, RF_CLOSED);
        }
        return read_next(op);
    case RF_CLOSED:
        if (res < 0)
            fail(op, res, "close", op->path, NULL);
        if (!op->err) {
            mrb_value data = data_of(op);
            mrb_str_resize(mrb, data, (mrb_int)op->off);
            set_result(op, data);
        }
        return STEP_DONE;
    }
    return STEP_DONE;
}

/* --- write_file / append_file ----------------------------------------------------------------
 * Atomic (the default for write_file): realpath (write through a symlink, not over it), stat the
 * target (keep its permission bits; a directory is EISDIR), write a temporary file beside it
 * (O_EXCL), fsync it, close it and rename it over the target. A reader sees the old file or the
 * new one, never a part; after a crash the file is the old or the new one (the directory is not
 * fsynced: the rename itself may be lost, not the data's integrity). On any failure the
 * temporary file is removed. Not atomic (atomic: false, append_file): open with O_TRUNC or
 * O_APPEND and write in place, as Node's writeFile. */

enum {
    WF_START,
    WF_REALPATH,
    WF_STATED,
    WF_OPENED,
    WF_CHMODDED,
    WF_WRITTEN,
    WF_SYNCED,
    WF_CLOSED,
    WF_RENAMED,
    WF_UNLINKED,
};

static char *
temp_name(const char *target)
{
    static unsigned counter;
    const char *slash = strrchr(target, '/');
    size_t dirlen = slash ? (size_t)(slash - target) + 1 : 0;
    const char *base = target + dirlen;
    size_t baselen = strlen(base);
    if (baselen > 200) /* stay under NAME_MAX with the suffix */
        baselen = 200;
    size_t size = dirlen + baselen + 64;
    char *t = malloc(size);
    if (!t)
        return NULL;
    snprintf(t, size, "%.*s.%.*s.%ld.%u.tmp", (int)dirlen, target, (int)baselen, base,
             (long)getpid(), ++counter);
    return t;
}

static enum step
write_next(struct fs_op *op)
{
    mrb_value data = data_of(op);
    size_t n = op->len - op->off;
    if (n > FS_CHUNK)
        n = FS_CHUNK;
    uv_buf_t buf = uv_buf_init(RSTRING_PTR(data) + op->off, (unsigned)n);
    op->stage = WF_WRITTEN;
    return issued(op, uv_fs_write(&op->rt->loop, &op->req, op->fd, &buf, 1, -1, cb_of(op)));
}

/* After an error with the file open: close it, then remove the temporary file. */
static enum step
write_abort(struct fs_op *op)
{
    if (op->fd >= 0)
        return close_fd(op, WF_CLOSED);
    if (op->tmp) {
        op->stage = WF_UNLINKED;
        return issued(op, uv_fs_unlink(&op->rt->loop, &op->req, op->tmp, cb_of(op)));
    }
    return STEP_DONE;
}

static const char *
target_of(struct fs_op *op)
{
    return op->path2 ? op->path2 : op->path;
}

static enum step
write_open(struct fs_op *op)
{
    op->stage = WF_OPENED;
    if (op->atomic) {
        op->tmp = temp_name(target_of(op));
        if (!op->tmp) {
            fail(op, UV_ENOMEM, "open", op->path, NULL);
            return STEP_DONE;
        }
        return issued(op, uv_fs_open(&op->rt->loop, &op->req, op->tmp,
                                     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, op->mode, cb_of(op)));
    }
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (op->append ? O_APPEND : O_TRUNC);
    return issued(op, uv_fs_open(&op->rt->loop, &op->req, op->path, flags, op->mode, cb_of(op)));
}

static enum step
step_write_file(struct fs_op *op, ssize_t res)
{
    switch (op->stage) {
    case WF_START:
        /* /dev/stdout, /dev/fd/N, /proc/self/fd/N name an open file: resolving them and
         * renaming over the result would replace a file the process writes to. */
        if (!strncmp(op->path, "/dev/", 5) || !strncmp(op->path, "/proc/", 6)) {
            op->atomic = false;
            op->do_fsync = false;
        }
        if (!op->atomic)
            return write_open(op);
        op->stage = WF_REALPATH;
        return issued(op, uv_fs_realpath(&op->rt->loop, &op->req, op->path, cb_of(op)));
    case WF_REALPATH:
        /* A target that does not exist yet (ENOENT) is written as named. */
        if (res >= 0 && op->req.ptr) {
            op->path2 = strdup(op->req.ptr);
            if (!op->path2) {
                fail(op, UV_ENOMEM, "realpath", op->path, NULL);
                return STEP_DONE;
            }
        }
        op->stage = WF_STATED;
        return issued(op, uv_fs_stat(&op->rt->loop, &op->req, target_of(op), cb_of(op)));
    case WF_STATED:
        if (res >= 0) {
            if (S_ISDIR(op->req.statbuf.st_mode)) {
                fail(op, UV_EISDIR, "open", op->path, NULL);
                return STEP_DONE;
            }
            if (!S_ISREG(op->req.statbuf.st_mode)) {
                /* A device, a FIFO, a socket (/dev/null, /dev/stdout): renaming a file over it
                 * would replace the node itself; write into it, as Node does. */
                op->atomic = false;
                op->do_fsync = false;
                return write_open(op);
            }
            if (op->keep_mode)
                op->mode = (int)(op->req.statbuf.st_mode & 07777);
        } else {
            op->keep_mode = false; /* a new file: the mode asked for, less the umask */
        }
        return write_open(op);
    case WF_OPENED:
        if (res < 0) {
            fail(op, res, "open", op->path, NULL);
            if (op->atomic) {
                free(op->tmp); /* not created */
                op->tmp = NULL;
            }
            return STEP_DONE;
        }
        op->fd = (uv_file)res;
        if (op->atomic && op->keep_mode) {
            /* The umask applied to open's mode; the replaced file's bits are restored. */
            op->stage = WF_CHMODDED;
            return issued(op, uv_fs_fchmod(&op->rt->loop, &op->req, op->fd, op->mode, cb_of(op)));
        }
        res = 0;
        /* fall through */
    case WF_CHMODDED:
        if (res < 0) {
            fail(op, res, "fchmod", op->path, NULL);
            return write_abort(op);
        }
        if (op->len == 0)
            goto written;
        return write_next(op);
    case WF_WRITTEN:
        if (res < 0) {
            fail(op, res, "write", op->path, NULL);
            return write_abort(op);
        }
        op->off += (size_t)res;
        if (op->off < op->len) {
            if (!op->sync && op->rt->exiting) {
                fail(op, UV_ECANCELED, "write", op->path, NULL);
                return write_abort(op);
            }
            return write_next(op);
        }
    written:
        if (op->do_fsync) {
            op->stage = WF_SYNCED;
            return issued(op, uv_fs_fsync(&op->rt->loop, &op->req, op->fd, cb_of(op)));
        }
        res = 0;
        /* fall through */
    case WF_SYNCED:
        if (res < 0) {
            fail(op, res, "fsync", op->path, NULL);
            return write_abort(op);
        }
        return close_fd(op, WF_CLOSED);
    case WF_CLOSED:
        if (res < 0)
            fail(op, res, "close", op->path, NULL);
        if (op->err)
            return write_abort(op); /* fd is closed now: removes the temporary file */
        if (!op->atomic)
            return STEP_DONE;
        op->stage = WF_RENAMED;
        return issued(op, uv_fs_rename(&op->rt->loop, &op->req, op->tmp, target_of(op), cb_of(op)));
    case WF_RENAMED:
        if (res < 0) {
            fail(op, res, "rename", op->path, NULL);
            return write_abort(op);
        }
        free(op->tmp);
        op->tmp = NULL;
        return STEP_DONE;
    case WF_UNLINKED:
        free(op->tmp);
        op->tmp = NULL;
        return STEP_DONE;
    }
    return STEP_DONE;
}

/* --- mkdir, recursive as Node's: make the missing parents, and an existing directory is no
 * error. It walks up from the whole path on ENOENT, then down again making each component; the
 * result is the first directory it created (nil if none). */

enum { MK_START, MK_MADE, MK_STATED };

static enum step
mk_issue(struct fs_op *op)
{
    char saved = op->path[op->mk_end];
    op->path[op->mk_end] = '\0';
    op->stage = MK_MADE;
    /* libuv copies the path of an async request; a sync one is done when this returns. */
    int rc = uv_fs_mkdir(&op->rt->loop, &op->req, op->path, op->mode, cb_of(op));
    op->path[op->mk_end] = saved;
    return issued(op, rc);
}

/* The end of the next component after mk_end (skipping repeated slashes). */
static size_t
mk_forward(struct fs_op *op)
{
    size_t i = op->mk_end;
    while (i < op->mk_len && op->path[i] == '/')
        i++;
    while (i < op->mk_len && op->path[i] != '/')
        i++;
    return i;
}

static enum step
step_mkdir(struct fs_op *op, ssize_t res)
{
    switch (op->stage) {
    case MK_START:
        op->mk_len = strlen(op->path);
        while (op->mk_len > 1 && op->path[op->mk_len - 1] == '/')
            op->path[--op->mk_len] = '\0';
        op->mk_end = op->mk_len;
        return mk_issue(op);
    case MK_MADE:
        if (++op->mk_steps > 4096) { /* someone keeps removing what we make */
            fail(op, res < 0 ? res : UV_ELOOP, "mkdir", op->path, NULL);
            return STEP_DONE;
        }
        if (!op->recursive) {
            if (res < 0)
                fail(op, res, "mkdir", op->path, NULL);
            return STEP_DONE;
        }
        if (res == 0 || (res == UV_EEXIST && op->mk_end < op->mk_len)) {
            if (res == 0 && !op->mk_first)
                op->mk_first = strndup(op->path, op->mk_end);
            if (op->mk_end >= op->mk_len)
                return STEP_DONE;
            op->mk_end = mk_forward(op);
            return mk_issue(op);
        }
        if (res == UV_EEXIST) { /* the whole path exists: fine if it is a directory */
            op->stage = MK_STATED;
            return issued(op, uv_fs_stat(&op->rt->loop, &op->req, op->path, cb_of(op)));
        }
        if (res == UV_ENOENT) {
            size_t i = op->mk_end;
            while (i > 0 && op->path[i - 1] != '/')
                i--;
            while (i > 1 && op->path[i - 1] == '/')
                i--;
            if (i > 0 && op->path[i] == '/' && i < op->mk_end) {
                op->mk_end = i;
                return mk_issue(op);
            }
        }
        fail(op, res, "mkdir", op->path, NULL);
        return STEP_DONE;
    case MK_STATED:
        if (res < 0 || !S_ISDIR(op->req.statbuf.st_mode))
            fail(op, UV_EEXIST, "mkdir", op->path, NULL);
        return STEP_DONE;
    }
    return STEP_DONE;
}

/* --- one-request operations ------------------------------------------------------------------ */

static enum step
step_single(struct fs_op *op, ssize_t res)
{
    mrb_state *mrb = op->rt->mrb;
    uv_loop_t *loop = &op->rt->loop;
    if (op->stage == 0) {
        op->stage = 1;
        switch (op->kind) {
        case OP_STAT:
            return issued(op, uv_fs_stat(loop, &op->req, op->path, cb_of(op)));
        case OP_LSTAT:
            return issued(op, uv_fs_lstat(loop, &op->req, op->path, cb_of(op)));
        case OP_READDIR:
            return issued(op, uv_fs_scandir(loop, &op->req, op->path, 0, cb_of(op)));
        case OP_RMDIR:
            return issued(op, uv_fs_rmdir(loop, &op->req, op->path, cb_of(op)));
        case OP_UNLINK:
            return issued(op, uv_fs_unlink(loop, &op->req, op->path, cb_of(op)));
        case OP_RENAME:
            return issued(op, uv_fs_rename(loop, &op->req, op->path, op->path2, cb_of(op)));
        default:
            return STEP_DONE;
        }
    }
    static const char *const names[] = {
        [OP_STAT] = "stat",   [OP_LSTAT] = "lstat",   [OP_READDIR] = "scandir",
        [OP_RMDIR] = "rmdir", [OP_UNLINK] = "unlink", [OP_RENAME] = "rename",
    };
    if (res < 0) {
        fail(op, res, names[op->kind], op->path, op->kind == OP_RENAME ? op->path2 : NULL);
        return STEP_DONE;
    }
    if (op->kind == OP_STAT || op->kind == OP_LSTAT) {
        set_result(op, stat_value(mrb, &op->req.statbuf));
    } else if (op->kind == OP_READDIR) {
        /* libuv's scandir sorts the names bytewise (strcmp), as Node's readdir gets them. */
        mrb_value names_ary = mrb_ary_new_capa(mrb, (mrb_int)res);
        set_result(op, names_ary);
        uv_dirent_t ent;
        int ai = mrb_gc_arena_save(mrb);
        while (uv_fs_scandir_next(&op->req, &ent) != UV_EOF) {
            mrb_value name = mrb_str_new_cstr(mrb, ent.name);
            if (op->with_types)
                name = dirent_value(mrb, name, ent.type);
            mrb_ary_push(mrb, names_ary, name);
            mrb_gc_arena_restore(mrb, ai);
        }
    }
    return STEP_DONE;
}

static enum step
step(struct fs_op *op, ssize_t res)
{
    switch (op->kind) {
    case OP_READ_FILE:
        return step_read_file(op, res);
    case OP_WRITE_FILE:
        return step_write_file(op, res);
    case OP_MKDIR:
        return step_mkdir(op, res);
    default:
        return step_single(op, res);
    }
}

static void
op_free(struct fs_op *op)
{
    uv_fs_req_cleanup(&op->req);
    free(op->path);
    free(op->path2);
    free(op->tmp);
    free(op->mk_first);
    free(op);
}

/* The error of a finished op, or nil. */
static mrb_value
op_error(struct fs_op *op)
{
    if (!op->err)
        return mrb_nil_value();
    return rt_uv_error_new(op->rt->mrb, fs_error_class, op->err, op->err_syscall, op->err_path,
                           op->err_dest);
}

static mrb_value
op_value(struct fs_op *op)
{
    mrb_state *mrb = op->rt->mrb;
    if (op->kind == OP_MKDIR)
        return op->mk_first ? mrb_str_new_cstr(mrb, op->mk_first) : mrb_nil_value();
    return mrb_ary_ref(mrb, op->holder, 2);
}

/* Async completion: calls the block with (err, value), or (err) for the ops with no value. */
static void
complete(struct fs_op *op)
{
    struct rt *rt = op->rt;
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value holder = op->holder;
    mrb_gc_protect(mrb, holder);
    rt_unroot(rt, holder);
    if (!rt->exiting) {
        mrb_value args[2] = {op_error(op), mrb_nil_value()};
        if (!op->err)
            args[1] = op_value(op);
        mrb_value block = mrb_ary_ref(mrb, holder, 0);
        bool with_value = op->kind != OP_WRITE_FILE && op->kind != OP_RMDIR &&
                          op->kind != OP_UNLINK && op->kind != OP_RENAME;
        op_free(op);
        rt_call(rt, block, sym_call, with_value ? 2 : 1, args);
    } else {
        op_free(op);
    }
    mrb_gc_arena_restore(mrb, ai);
}

static void
drive(struct fs_op *op, ssize_t res)
{
    for (;;) {
        enum step s = step(op, res);
        if (s == STEP_WAIT)
            return;
        if (s == STEP_DONE) {
            if (!op->sync)
                complete(op);
            return;
        }
        res = op->res;
    }
}

static void
on_fs(uv_fs_t *req)
{
    struct fs_op *op = (struct fs_op *)req;
    ssize_t res = req->result;
    mrb_state *mrb = op->rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    drive(op, res);
    mrb_gc_arena_restore(mrb, ai);
}

/* --- starting an op from Ruby ---------------------------------------------------------------- */

static struct fs_op *
op_new(mrb_state *mrb, enum op_kind kind, const char *path, const char *path2, mrb_value block,
       bool sync)
{
    struct rt *rt = rt_from_mrb(mrb);
    if (!rt)
        mrb_raise(mrb, E_RUNTIME_ERROR, "FS needs the main thread's event loop");
    struct fs_op *op = calloc(1, sizeof *op);
    if (!op)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    op->rt = rt;
    op->kind = kind;
    op->sync = sync;
    op->fd = -1;
    op->path = strdup(path);
    op->path2 = path2 ? strdup(path2) : NULL;
    mrb_value v[3] = {block, mrb_nil_value(), mrb_nil_value()};
    op->holder = mrb_ary_new_from_values(mrb, 3, v);
    if (!op->path || (path2 && !op->path2)) {
        op_free(op);
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    }
    return op;
}

/* Runs an op: sync returns its value or raises; async returns nil and calls the block later. */
static mrb_value
op_run(mrb_state *mrb, struct fs_op *op)
{
    if (op->sync) {
        mrb_value holder = op->holder; /* on the arena: alive until this method returns */
        (void)holder;
        drive(op, 0);
        mrb_value err = op_error(op);
        mrb_value v = op->err ? mrb_nil_value() : op_value(op);
        op_free(op);
        if (!mrb_nil_p(err))
            mrb_exc_raise(mrb, err);
        return v;
    }
    rt_root(op->rt, op->holder);
    drive(op, 0);
    return mrb_nil_value();
}

static mrb_value
block_arg(mrb_state *mrb, mrb_value block)
{
    if (mrb_nil_p(block))
        mrb_raise(mrb, E_ARGUMENT_ERROR, "a block is required: { |err, ...| }");
    return block;
}

/* FS.read_file(path) { |err, data| } and FS.read_file_sync(path) */
static mrb_value
fs_read_file_common(mrb_state *mrb, bool sync)
{
    const char *path;
    mrb_value block = mrb_nil_value();
    mrb_get_args(mrb, "z&", &path, &block);
    if (!sync)
        block_arg(mrb, block);
    return op_run(mrb, op_new(mrb, OP_READ_FILE, path, NULL, block, sync));
}

static mrb_value
fs_read_file(mrb_state *mrb, mrb_value self)
{
    return fs_read_file_common(mrb, false);
}

static mrb_value
fs_read_file_sync(mrb_state *mrb, mrb_value self)
{
    return fs_read_file_common(mrb, true);
}

/* write_file(path, data, atomic: true, fsync: true, mode: nil), append_file(path, data, mode:) */
static mrb_value
fs_write_common(mrb_state *mrb, bool sync, bool append)
{
    const char *path;
    mrb_value data, block = mrb_nil_value();
    mrb_value kwv[3];
    mrb_sym kwn[3] = {mrb_intern_lit(mrb, "atomic"), mrb_intern_lit(mrb, "fsync"),
                      mrb_intern_lit(mrb, "mode")};
    mrb_kwargs kw = {append ? 1 : 3, 0, append ? kwn + 2 : kwn, append ? kwv + 2 : kwv, NULL};
    kwv[0] = kwv[1] = kwv[2] = mrb_undef_value();
    mrb_get_args(mrb, "zS:&", &path, &data, &kw, &block);
    if (!sync)
        block_arg(mrb, block);
    mrb_int mode = 0666;
    if (!mrb_undef_p(kwv[2]) && !mrb_nil_p(kwv[2])) {
        if (!mrb_integer_p(kwv[2]) || mrb_integer(kwv[2]) < 0 || mrb_integer(kwv[2]) > 07777)
            mrb_raise(mrb, E_ARGUMENT_ERROR, "mode must be an Integer from 0 to 0o7777");
        mode = mrb_integer(kwv[2]);
    }
    struct fs_op *op = op_new(mrb, OP_WRITE_FILE, path, NULL, block, sync);
    op->append = append;
    op->atomic = !append && (mrb_undef_p(kwv[0]) || mrb_test(kwv[0]));
    /* fsync: default on for an atomic write (the point of it), off otherwise (as Node). */
    op->do_fsync = mrb_undef_p(kwv[1]) ? op->atomic : mrb_test(kwv[1]);
    op->mode = (int)mode;
    op->keep_mode = mrb_undef_p(kwv[2]) || mrb_nil_p(kwv[2]);
    /* A copy that shares the bytes: the caller may change its String while the write runs. */
    mrb_ary_set(mrb, op->holder, 1, mrb_str_dup(mrb, data));
    op->len = (size_t)RSTRING_LEN(data);
    return op_run(mrb, op);
}

static mrb_value
fs_write_file(mrb_state *mrb, mrb_value self)
{
    return fs_write_common(mrb, false, false);
}

static mrb_value
fs_write_file_sync(mrb_state *mrb, mrb_value self)
{
    return fs_write_common(mrb, true, false);
}

static mrb_value
fs_append_file(mrb_state *mrb, mrb_value self)
{
    return fs_write_common(mrb, false, true);
}

static mrb_value
fs_append_file_sync(mrb_state *mrb, mrb_value self)
{
    return fs_write_common(mrb, true, true);
}

static mrb_value
fs_simple(mrb_state *mrb, enum op_kind kind, bool sync)
{
    const char *path;
    mrb_value block = mrb_nil_value();
    mrb_get_args(mrb, "z&", &path, &block);
    if (!sync)
        block_arg(mrb, block);
    return op_run(mrb, op_new(mrb, kind, path, NULL, block, sync));
}

#define SIMPLE(name, kind)                                                                         \
    static mrb_value fs_##name(mrb_state *mrb, mrb_value self)                                     \
    {                                                                                              \
        return fs_simple(mrb, kind, false);                                                        \
    }                                                                                              \
    static mrb_value fs_##name##_sync(mrb_state *mrb, mrb_value self)                              \
    {                                                                                              \
        return fs_simple(mrb, kind, true);                                                         \
    }
SIMPLE(stat, OP_STAT)
SIMPLE(lstat, OP_LSTAT)
SIMPLE(rmdir, OP_RMDIR)
SIMPLE(unlink, OP_UNLINK)
#undef SIMPLE

/* readdir(path, with_file_types: false): names, or FS::Dirent objects (Node's withFileTypes). */
static mrb_value
fs_readdir_common(mrb_state *mrb, bool sync)
{
    const char *path;
    mrb_value block = mrb_nil_value();
    mrb_value kwv[1];
    mrb_sym kwn[1] = {mrb_intern_lit(mrb, "with_file_types")};
    mrb_kwargs kw = {1, 0, kwn, kwv, NULL};
    mrb_get_args(mrb, "z:&", &path, &kw, &block);
    if (!sync)
        block_arg(mrb, block);
    struct fs_op *op = op_new(mrb, OP_READDIR, path, NULL, block, sync);
    op->with_types = !mrb_undef_p(kwv[0]) && mrb_test(kwv[0]);
    return op_run(mrb, op);
}

static mrb_value
fs_readdir(mrb_state *mrb, mrb_value self)
{
    return fs_readdir_common(mrb, false);
}

static mrb_value
fs_readdir_sync(mrb_state *mrb, mrb_value self)
{
    return fs_readdir_common(mrb, true);
}

static mrb_value
fs_rename_common(mrb_state *mrb, bool sync)
{
    const char *from, *to;
    mrb_value block = mrb_nil_value();
    mrb_get_args(mrb, "zz&", &from, &to, &block);
    if (!sync)
        block_arg(mrb, block);
    return op_run(mrb, op_new(mrb, OP_RENAME, from, to, block, sync));
}

static mrb_value
fs_rename(mrb_state *mrb, mrb_value self)
{
    return fs_rename_common(mrb, false);
}

static mrb_value
fs_rename_sync(mrb_state *mrb, mrb_value self)
{
    return fs_rename_common(mrb, true);
}

/* mkdir(path, recursive: false, mode: 0o777) */
static mrb_value
fs_mkdir_common(mrb_state *mrb, bool sync)
{
    const char *path;
    mrb_value block = mrb_nil_value();
    mrb_value kwv[2];
    mrb_sym kwn[2] = {mrb_intern_lit(mrb, "recursive"), mrb_intern_lit(mrb, "mode")};
    mrb_kwargs kw = {2, 0, kwn, kwv, NULL};
    mrb_get_args(mrb, "z:&", &path, &kw, &block);
    if (!sync)
        block_arg(mrb, block);
    mrb_int mode = 0777;
    if (!mrb_undef_p(kwv[1])) {
        if (!mrb_integer_p(kwv[1]) || mrb_integer(kwv[1]) < 0 || mrb_integer(kwv[1]) > 07777)
            mrb_raise(mrb, E_ARGUMENT_ERROR, "mode must be an Integer from 0 to 0o7777");
        mode = mrb_integer(kwv[1]);
    }
    if (!*path)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "path must not be empty");
    struct fs_op *op = op_new(mrb, OP_MKDIR, path, NULL, block, sync);
    op->recursive = !mrb_undef_p(kwv[0]) && mrb_test(kwv[0]);
    op->mode = (int)mode;
    return op_run(mrb, op);
}

static mrb_value
fs_mkdir(mrb_state *mrb, mrb_value self)
{
    return fs_mkdir_common(mrb, false);
}

static mrb_value
fs_mkdir_sync(mrb_state *mrb, mrb_value self)
{
    return fs_mkdir_common(mrb, true);
}

/* FS.exist?(path): true when stat succeeds (follows symlinks, as Node's existsSync). */
static mrb_value
fs_exist_p(mrb_state *mrb, mrb_value self)
{
    const char *path;
    mrb_get_args(mrb, "z", &path);
    struct stat st;
    return mrb_bool_value(stat(path, &st) == 0);
}

/* FS.__error(code_name, syscall, path = nil): an FS::Error for a code such as "EISDIR" (the
 * Ruby half's errors, built by the same function as every other). */
static mrb_value
fs_error(mrb_state *mrb, mrb_value self)
{
    const char *code, *syscall, *path = NULL;
    mrb_get_args(mrb, "zz|z!", &code, &syscall, &path);
    static const struct {
        const char *name;
        int err;
    } codes[] = {{"EISDIR", UV_EISDIR},       {"ENOENT", UV_ENOENT}, {"ENOTDIR", UV_ENOTDIR},
                 {"EEXIST", UV_EEXIST},       {"EACCES", UV_EACCES}, {"EPERM", UV_EPERM},
                 {"ENOTEMPTY", UV_ENOTEMPTY}, {"EINVAL", UV_EINVAL}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!strcmp(code, codes[i].name))
            return rt_uv_error_new(mrb, fs_error_class, codes[i].err, syscall, path, NULL);
    mrb_raisef(mrb, E_ARGUMENT_ERROR, "unknown error code %s", code);
    return mrb_nil_value();
}

/* Dir.pwd */
static mrb_value
dir_pwd(mrb_state *mrb, mrb_value self)
{
    char buf[4096];
    size_t len = sizeof buf;
    int err = uv_cwd(buf, &len);
    if (err)
        mrb_exc_raise(mrb, rt_uv_error_new(mrb, fs_error_class, err, "getcwd", NULL, NULL));
    return mrb_str_new(mrb, buf, (mrb_int)len);
}

/* Dir.chdir(path) */
static mrb_value
dir_chdir(mrb_state *mrb, mrb_value self)
{
    const char *path;
    mrb_get_args(mrb, "z", &path);
    int err = uv_chdir(path);
    if (err)
        mrb_exc_raise(mrb, rt_uv_error_new(mrb, fs_error_class, err, "chdir", path, NULL));
    return mrb_fixnum_value(0);
}

/* File.fnmatch(pattern, path, flags = 0) with CRuby's flag values, on fnmatch(3). */
static mrb_value
file_fnmatch(mrb_state *mrb, mrb_value self)
{
    const char *pattern, *path;
    mrb_int flags = 0;
    mrb_get_args(mrb, "zz|i", &pattern, &path, &flags);
    int f = 0;
    if (flags & 1) /* File::FNM_NOESCAPE */
        f |= FNM_NOESCAPE;
    if (flags & 2) /* File::FNM_PATHNAME */
        f |= FNM_PATHNAME;
    if (!(flags & 4)) /* without File::FNM_DOTMATCH a leading dot must be matched */
        f |= FNM_PERIOD;
    if (flags & 8) /* File::FNM_CASEFOLD */
        f |= FNM_CASEFOLD;
    if (flags & 16) /* File::FNM_EXTGLOB: braces are expanded by the Ruby half */
        f |= 0;
    return mrb_bool_value(fnmatch(pattern, path, f) == 0);
}

static void
fs_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    sym_call = mrb_intern_lit(mrb, "call");
    struct RClass *fs = mrb_define_module(mrb, "FS");
    /* kernel.rb (loaded after every init) reopens SystemCallError with its readers. */
    struct RClass *syscall_error =
        mrb_define_class(mrb, "SystemCallError", mrb->eStandardError_class);
    fs_error_class = mrb_define_class_under(mrb, fs, "Error", syscall_error);
    fs_stat_class = mrb_define_class_under(mrb, fs, "Stat", mrb->object_class);
    fs_dirent_class = mrb_define_class_under(mrb, fs, "Dirent", mrb->object_class);
#define DEF(name, fn, args) mrb_define_module_function(mrb, fs, name, fn, args)
    DEF("read_file", fs_read_file, MRB_ARGS_REQ(1) | MRB_ARGS_BLOCK());
    DEF("read_file_sync", fs_read_file_sync, MRB_ARGS_REQ(1));
    DEF("write_file", fs_write_file, MRB_ARGS_REQ(2) | MRB_ARGS_KEY(3, 0) | MRB_ARGS_BLOCK());
    DEF("write_file_sync", fs_write_file_sync, MRB_ARGS_REQ(2) | MRB_ARGS_KEY(3, 0));
    DEF("append_file", fs_append_file, MRB_ARGS_REQ(2) | MRB_ARGS_KEY(1, 0) | MRB_ARGS_BLOCK());
    DEF("append_file_sync", fs_append_file_sync, MRB_ARGS_REQ(2) | MRB_ARGS_KEY(1, 0));
    DEF("stat", fs_stat, MRB_ARGS_REQ(1) | MRB_ARGS_BLOCK());
    DEF("stat_sync", fs_stat_sync, MRB_ARGS_REQ(1));
    DEF("lstat", fs_lstat, MRB_ARGS_REQ(1) | MRB_ARGS_BLOCK());
    DEF("lstat_sync", fs_lstat_sync, MRB_ARGS_REQ(1));
    DEF("readdir", fs_readdir, MRB_ARGS_REQ(1) | MRB_ARGS_KEY(1, 0) | MRB_ARGS_BLOCK());
    DEF("readdir_sync", fs_readdir_sync, MRB_ARGS_REQ(1) | MRB_ARGS_KEY(1, 0));
    DEF("mkdir", fs_mkdir, MRB_ARGS_REQ(1) | MRB_ARGS_KEY(2, 0) | MRB_ARGS_BLOCK());
    DEF("mkdir_sync", fs_mkdir_sync, MRB_ARGS_REQ(1) | MRB_ARGS_KEY(2, 0));
    DEF("rmdir", fs_rmdir, MRB_ARGS_REQ(1) | MRB_ARGS_BLOCK());
    DEF("rmdir_sync", fs_rmdir_sync, MRB_ARGS_REQ(1));
    DEF("unlink", fs_unlink, MRB_ARGS_REQ(1) | MRB_ARGS_BLOCK());
    DEF("unlink_sync", fs_unlink_sync, MRB_ARGS_REQ(1));
    DEF("rename", fs_rename, MRB_ARGS_REQ(2) | MRB_ARGS_BLOCK());
    DEF("rename_sync", fs_rename_sync, MRB_ARGS_REQ(2));
    DEF("exist?", fs_exist_p, MRB_ARGS_REQ(1));
    DEF("__error", fs_error, MRB_ARGS_ARG(2, 1));
#undef DEF
    struct RClass *dir = mrb_define_class(mrb, "Dir", mrb->object_class);
    mrb_define_class_method(mrb, dir, "pwd", dir_pwd, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, dir, "getwd", dir_pwd, MRB_ARGS_NONE());
    mrb_define_class_method(mrb, dir, "__chdir", dir_chdir, MRB_ARGS_REQ(1));
    struct RClass *file = mrb_class_get(mrb, "File");
    mrb_define_class_method(mrb, file, "fnmatch", file_fnmatch, MRB_ARGS_ARG(2, 1));
    mrb_define_class_method(mrb, file, "fnmatch?", file_fnmatch, MRB_ARGS_ARG(2, 1));
}

const struct rt_module rt_module_fs = {.name = "fs", .init = fs_init};
