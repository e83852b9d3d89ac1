/*
 * live.c — the live agent of `mrun --prof-live`.
 *
 * A thread with its own libuv loop listens on a Unix socket (or loopback TCP with a token).
 * Every 100 ms it takes the session lock once (prof_read_profile), and for each viewer that has
 * said hello encodes what the profile gained since that viewer's cursor (formats/live.c) and
 * queues it. The profiled program never waits for a viewer:
 *   - a viewer whose queue holds more than LIVE_QUEUE_LIMIT bytes (slow, or not reading) is
 *     skipped for that tick and counted (its cursor stays, so it catches up in one bigger
 *     message when it reads again; memory stays bounded);
 *   - a viewer that sends anything but a valid hello, or says nothing for 2 s, is closed;
 *   - writes never block (libuv), and the lock is held only while encoding.
 * At exit prof_live_finish() hands over the final profile; every viewer gets a reset, that
 * profile whole and the exit status.
 */
#include "profiler/sampler/live.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <uv.h>

#include "formats/live.h"
#include "profiler/sampler/sampler.h"

#define LIVE_TICK_MS 100
#define LIVE_QUEUE_LIMIT (1u << 20)
#define LIVE_HELLO_MS 2000
#define LIVE_MAX_CLIENTS 32
#define LIVE_SAMPLES_PER_TICK 200000

struct client {
    union {
        uv_pipe_t pipe;
        uv_tcp_t tcp;
        uv_stream_t stream;
        uv_handle_t handle;
    } h;
    struct prof_live *l;
    struct client *next;
    uint8_t hello[LIVE_MAX_HELLO + 8];
    size_t nhello;
    bool greeted, closing, last_sent;
    uint64_t since_ms;
    struct live_cursor cur;
    uint64_t generation; /* of the session the cursor follows; 0 before the first */
    uint64_t held_back;
    char rbuf[256];
};

struct prof_live {
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wake;
    uv_timer_t tick, deadline;
    union {
        uv_pipe_t pipe;
        uv_tcp_t tcp;
        uv_stream_t stream;
        uv_handle_t handle;
    } server;
    bool tcp;
    char path[PATH_MAX], dir[64];
    char token[LIVE_TOKEN_LEN + 1];
    struct client *clients;
    int nclients;
    uint64_t refused;

    pthread_mutex_t mu; /* guards the hand-over below and `greeted` */
    pthread_cond_t greeted_cond;
    bool greeted; /* a viewer has said hello */
    bool finishing;
    const struct profile *final;
    int exit_status;

    /* Attach on demand (runtime/attach.c): peers of another uid (but root) are refused, and
     * on_empty is called once, on the agent's thread, when the last viewer has gone (or none
     * came within LIVE_ATTACH_IDLE_MS). */
    bool attach, had_viewer, empty_told;
    uint64_t started_ms;
    void (*on_empty)(void *arg);
    void *empty_arg;
};

#define LIVE_ATTACH_IDLE_MS 10000

/* --- writing to a viewer ------------------------------------------------------------------- */

struct write_req {
    uv_write_t req;
    struct client *c;
    bool last;
    uint8_t data[];
};

static void close_client(struct client *c);

static void
on_write(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct client *c = w->c;
    bool last = w->last;
    free(w);
    if ((status < 0 || last) && !c->closing)
        close_client(c);
}

/* Queues b's bytes to c (copied); b is emptied. */
static void
send_buf(struct client *c, struct live_buf *b, bool last)
{
    if (c->closing || !b->len)
        return;
    struct write_req *w = malloc(sizeof *w + b->len);
    if (!w) {
        close_client(c);
        return;
    }
    memcpy(w->data, b->data, b->len);
    w->c = c;
    w->last = last;
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)b->len);
    b->len = 0;
    if (uv_write(&w->req, &c->h.stream, &buf, 1, on_write) != 0) {
        free(w);
        close_client(c);
    }
}

static void
tell_empty(struct prof_live *l)
{
    if (!l->attach || l->empty_told || l->finishing)
        return;
    l->empty_told = true;
    unlink(l->path); /* nobody looks: the socket goes at once, sampling stops soon after */
    l->on_empty(l->empty_arg);
}

static void
on_client_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    struct prof_live *l = c->l;
    for (struct client **pp = &l->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    l->nclients--;
    live_cursor_free(&c->cur);
    free(c);
    if (l->nclients == 0 && l->had_viewer)
        tell_empty(l);
}

static void
close_client(struct client *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close(&c->h.handle, on_client_closed);
}

static void
drop_client(struct client *c, const char *why)
{
    fprintf(stderr, "mrun: live: closed a viewer connection: %s\n", why);
    close_client(c);
}

/* --- reading a viewer's hello -------------------------------------------------------------- */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct client *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct client *c = s->data;
    if (n == 0)
        return;
    if (n < 0) { /* the viewer went away */
        close_client(c);
        return;
    }
    if (c->greeted) {
        drop_client(c, "it sent data after its hello");
        return;
    }
    if (c->nhello + (size_t)n > sizeof c->hello) {
        drop_client(c, "its hello is too long");
        return;
    }
    memcpy(c->hello + c->nhello, buf->base, (size_t)n);
    c->nhello += (size_t)n;
    size_t used;
    struct mp_err why;
    int r = live_check_hello(c->hello, c->nhello, c->l->tcp ? c->l->token : NULL, &used, &why);
    if (r < 0) {
        drop_client(c, why.msg);
    } else if (r > 0) {
        if (used != c->nhello)
            drop_client(c, "it sent data after its hello");
        else {
            c->greeted = true; /* the next tick sends the welcome and the profile */
            c->l->had_viewer = true;
            pthread_mutex_lock(&c->l->mu);
            c->l->greeted = true;
            pthread_cond_broadcast(&c->l->greeted_cond);
            pthread_mutex_unlock(&c->l->mu);
        }
    }
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_connection(uv_stream_t *server, int status)
{
    struct prof_live *l = server->data;
    if (status < 0)
        return;
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->l = l;
    int rc = l->tcp ? uv_tcp_init(&l->loop, &c->h.tcp) : uv_pipe_init(&l->loop, &c->h.pipe, 0);
    if (rc) {
        free(c);
        return;
    }
    c->h.handle.data = c;
    c->since_ms = now_ms();
    live_cursor_init(&c->cur);
    c->next = l->clients;
    l->clients = c;
    l->nclients++;
    if (uv_accept(server, &c->h.stream) != 0) {
        close_client(c);
        return;
    }
    if (l->attach) { /* the directory is private; the peer's uid is checked all the same */
        struct ucred cred;
        socklen_t clen = sizeof cred;
        uv_os_fd_t fd;
        if (uv_fileno(&c->h.handle, &fd) != 0 ||
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
            drop_client(c, "cannot read its credentials (SO_PEERCRED)");
            return;
        }
        if (cred.uid != geteuid() && cred.uid != 0) {
            char why[96];
            snprintf(why, sizeof why, "its uid %u is neither this process's (%u) nor root's",
                     (unsigned)cred.uid, (unsigned)geteuid());
            drop_client(c, why);
            return;
        }
    }
    if (l->nclients > LIVE_MAX_CLIENTS) {
        l->refused++;
        drop_client(c, "too many viewers");
        return;
    }
    if (uv_read_start(&c->h.stream, on_alloc, on_read) != 0)
        close_client(c);
}

/* --- the tick: what each viewer has not seen yet -------------------------------------------- */

/* Starts c over on p: a reset when c had been welcomed before, a welcome, a fresh cursor. */
static void
start_over(struct client *c, const struct profile *p, struct live_buf *b)
{
    if (c->generation)
        live_encode_reset(b);
    live_cursor_free(&c->cur);
    live_cursor_init(&c->cur);
    live_encode_welcome(b, p, (uint32_t)getpid());
}

static void
send_delta(struct client *c, const struct profile *p, uint64_t generation, struct live_buf *b)
{
    if (c->generation != generation) { /* first contact, or a new session */
        start_over(c, p, b);
        c->generation = generation;
    }
    if (live_encode_delta(b, p, &c->cur, LIVE_SAMPLES_PER_TICK, c->held_back) != 0) {
        b->len = 0;
        drop_client(c, "out of memory");
        return;
    }
    send_buf(c, b, false);
}

static void
tick_profile(const struct profile *p, uint64_t generation, void *arg)
{
    struct prof_live *l = arg;
    struct live_buf b = {0};
    for (struct client *c = l->clients; c; c = c->next) {
        if (!c->greeted || c->closing)
            continue;
        if (uv_stream_get_write_queue_size(&c->h.stream) > LIVE_QUEUE_LIMIT) {
            c->held_back++; /* it does not keep up: skip, never wait */
            continue;
        }
        send_delta(c, p, generation, &b);
    }
    live_buf_free(&b);
}

static void
on_tick(uv_timer_t *t)
{
    struct prof_live *l = t->data;
    uint64_t now = now_ms();
    for (struct client *c = l->clients; c; c = c->next)
        if (!c->greeted && !c->closing && now - c->since_ms > LIVE_HELLO_MS)
            drop_client(c, "no hello within 2 s");
    if (l->clients)
        prof_read_profile(tick_profile, l);
    if (l->attach && !l->had_viewer && !l->clients && now - l->started_ms > LIVE_ATTACH_IDLE_MS)
        tell_empty(l); /* the tool that sent the signal never came */
}

/* --- the end ------------------------------------------------------------------------------- */

static void
on_deadline(uv_timer_t *t)
{
    struct prof_live *l = t->data;
    for (struct client *c = l->clients; c; c = c->next)
        close_client(c); /* a viewer that did not take the end in time */
    uv_close((uv_handle_t *)&l->deadline, NULL);
}

static void
on_wake(uv_async_t *a)
{
    struct prof_live *l = a->data;
    pthread_mutex_lock(&l->mu);
    bool finishing = l->finishing;
    const struct profile *final = l->final;
    int status = l->exit_status;
    pthread_mutex_unlock(&l->mu);
    if (!finishing)
        return;
    uv_close((uv_handle_t *)&l->tick, NULL);
    uv_close((uv_handle_t *)&l->wake, NULL);
    uv_close(&l->server.handle, NULL);
    struct live_buf b = {0};
    for (struct client *c = l->clients; c; c = c->next) {
        if (c->closing)
            continue;
        if (!c->greeted) {
            close_client(c);
            continue;
        }
        if (final) { /* the final profile whole: it is sorted, unlike what was streamed */
            start_over(c, final, &b);
            live_encode_delta(&b, final, &c->cur, SIZE_MAX, c->held_back);
        }
        live_encode_end(&b, status);
        send_buf(c, &b, true);
    }
    live_buf_free(&b);
    uv_timer_start(&l->deadline, on_deadline, 1000, 0);
    uv_unref((uv_handle_t *)&l->deadline); /* ends early once every viewer is closed */
}

static void close_all(uv_handle_t *h, void *arg);

static void
agent_main(void *arg)
{
    struct prof_live *l = arg;
    uv_run(&l->loop, UV_RUN_DEFAULT);
    uv_walk(&l->loop, close_all, NULL); /* the unreferenced deadline timer */
    uv_run(&l->loop, UV_RUN_DEFAULT);
}

/* --- starting ------------------------------------------------------------------------------ */

static int
listen_tcp(struct prof_live *l, const char *spec, struct mp_err *e)
{
    char host[64];
    long port;
    if (live_parse_tcp(spec, host, sizeof host, &port, e) != 0)
        return -1;
    if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0) {
        mp_errf(e, -EINVAL,
                "the live profile is served on loopback only, not on '%s' "
                "(use 127.0.0.1 or ::1)",
                host);
        return -1;
    }
    struct sockaddr_storage ss;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&ss)
                               : uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&ss);
    if (!rc)
        rc = uv_tcp_init(&l->loop, &l->server.tcp);
    if (!rc)
        rc = uv_tcp_bind(&l->server.tcp, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen(&l->server.stream, 16, on_connection);
    if (rc) {
        mp_errf(e, rc, "cannot listen on %s port %ld: %s", host, port, uv_strerror(rc));
        return -1;
    }
    uint8_t raw[LIVE_TOKEN_LEN / 2];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        int en = errno;
        mp_errf(e, -en, "no random bytes for the token: %s", strerror(en));
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(l->token + 2 * i, 3, "%02x", raw[i]);
    int len = sizeof ss;
    uv_tcp_getsockname(&l->server.tcp, (struct sockaddr *)&ss, &len);
    int bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    fprintf(stderr, "mrun: live profile at tcp:%s%s%s:%d token %s\n", strchr(host, ':') ? "[" : "",
            host, strchr(host, ':') ? "]" : "", bound, l->token);
    return 0;
}

static int
listen_unix(struct prof_live *l, const char *path, struct mp_err *e)
{
    if (!path || !*path) {
        snprintf(l->dir, sizeof l->dir, "/tmp/mrprof-live-XXXXXX");
        if (!mkdtemp(l->dir)) { /* 0700: only this user can reach the socket */
            int en = errno;
            mp_errf(e, -en, "cannot make a private directory: %s", strerror(en));
            l->dir[0] = '\0';
            return -1;
        }
        snprintf(l->path, sizeof l->path, "%s/live.sock", l->dir);
    } else if (strlen(path) >= 100) { /* sun_path */
        mp_errf(e, -ENAMETOOLONG, "the socket path is too long (%zu bytes; at most 99)",
                strlen(path));
        return -1;
    } else {
        snprintf(l->path, sizeof l->path, "%s", path);
    }
    int rc = uv_pipe_init(&l->loop, &l->server.pipe, 0);
    mode_t old = umask(0077); /* the socket is born 0600 */
    if (!rc)
        rc = uv_pipe_bind(&l->server.pipe, l->path);
    umask(old);
    if (!rc)
        rc = chmod(l->path, 0600) ? uv_translate_sys_error(errno) : 0;
    if (!rc)
        rc = uv_listen(&l->server.stream, 16, on_connection);
    if (rc) {
        mp_errf(e, rc, "cannot listen on %s: %s%s", l->path, uv_strerror(rc),
                rc == UV_EADDRINUSE ? " (remove the old socket, or pick another path)" : "");
        if (rc != UV_EADDRINUSE)
            unlink(l->path);
        l->path[0] = '\0';
        return -1;
    }
    if (!getenv("MRUN_QUIET") && !l->attach) /* mrprof top knows the address: it chose it */
        fprintf(stderr, "mrun: live profile at unix:%s\n", l->path);
    return 0;
}

static void
cleanup(struct prof_live *l)
{
    if (l->path[0] && !l->tcp)
        unlink(l->path);
    if (l->dir[0])
        rmdir(l->dir);
    uv_loop_close(&l->loop);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->greeted_cond);
    free(l);
}

static void
close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static struct prof_live *
live_start(const char *addr, void (*on_empty)(void *), void *arg, struct mp_err *e)
{
    struct prof_live *l = calloc(1, sizeof *l);
    if (!l || uv_loop_init(&l->loop) != 0) {
        mp_err_oom(e, NULL);
        free(l);
        return NULL;
    }
    l->attach = on_empty != NULL;
    l->on_empty = on_empty;
    l->empty_arg = arg;
    l->started_ms = now_ms();
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->greeted_cond, NULL);
    int rc;
    if (addr && strncmp(addr, "tcp:", 4) == 0) {
        l->tcp = true;
        rc = listen_tcp(l, addr + 4, e);
    } else if (!addr || !*addr || strncmp(addr, "unix:", 5) == 0) {
        rc = listen_unix(l, addr && *addr ? addr + 5 : NULL, e);
    } else {
        mp_errf(e, -EINVAL, "'%s' is not a live address (unix:PATH or tcp:127.0.0.1:PORT)", addr);
        rc = -1;
    }
    l->server.handle.data = l;
    uv_async_init(&l->loop, &l->wake, on_wake);
    l->wake.data = l;
    uv_timer_init(&l->loop, &l->tick);
    l->tick.data = l;
    uv_timer_init(&l->loop, &l->deadline);
    l->deadline.data = l;
    if (rc == 0) {
        uv_timer_start(&l->tick, on_tick, LIVE_TICK_MS, LIVE_TICK_MS);
        /* The agent takes no signal: SIGPROF is for the VM threads, Ctrl-C for the main one. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        rc = uv_thread_create(&l->thread, agent_main, l);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc) {
            mp_errf(e, rc, "cannot start the live agent thread: %s", uv_strerror(rc));
            rc = -1;
        }
    }
    if (rc != 0) {
        uv_walk(&l->loop, close_all, NULL);
        uv_run(&l->loop, UV_RUN_DEFAULT);
        cleanup(l);
        return NULL;
    }
    return l;
}

struct prof_live *
prof_live_start(const char *addr, struct mp_err *e)
{
    return live_start(addr, NULL, NULL, e);
}

struct prof_live *
prof_live_start_attach(const char *path, void (*on_empty)(void *arg), void *arg, struct mp_err *e)
{
    char addr[PATH_MAX + 8];
    snprintf(addr, sizeof addr, "unix:%s", path);
    return live_start(addr, on_empty, arg, e);
}

bool
prof_live_wait_viewer(struct prof_live *l, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->greeted)
        if (pthread_cond_timedwait(&l->greeted_cond, &l->mu, &until) != 0)
            break;
    bool ok = l->greeted;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void
prof_live_finish(struct prof_live *l, const struct profile *final, int exit_status)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->finishing = true;
    l->final = final;
    l->exit_status = exit_status;
    pthread_mutex_unlock(&l->mu);
    uv_async_send(&l->wake);
    uv_thread_join(&l->thread); /* the loop ends when every handle is closed */
    cleanup(l);
}
