/*
 * net.c — the C half of Net: TCP and Unix-domain streams on the runtime's libuv loop.
 *
 * One struct (struct net_stream) serves Net::Server and Net::Socket: a uv_tcp_t or uv_pipe_t
 * owned by its Ruby object (struct rt_owned: the memory goes when both the handle is closed and
 * the object collected). The Ruby half (runtime/prelude/net.rb) holds the Node-style API, the
 * events and the state machine; this file only moves bytes and reports what libuv says, by
 * calling the object's __on_* methods:
 *
 *   __on_connect(err)           a connect finished (err: nil or [code, message])
 *   __on_data(string)           bytes arrived
 *   __on_eof                    the peer half-closed
 *   __on_error(code, message, syscall)
 *   __on_written                a write that asked for notice completed (in write order)
 *   __on_drain                  the write queue emptied after a write returned false
 *   __on_shutdown(err)          our half-close finished
 *   __on_connection(socket)     (server) a new connection was accepted
 *   __on_close                  the handle is closed; the object is unrooted after this
 *
 * An open handle roots its object, so callbacks and listeners stay alive as long as libuv can
 * call them; a Socket that was never opened, or is closed, is an ordinary object the GC may
 * collect (rt_owned_dfree closes a handle still open then, so no fd outlives its object).
 *
 * Writes try uv_try_write first: small writes (an HTTP response) complete at once with no
 * allocation and no callback. The rest is copied into a request queued with uv_write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "net/net.h"
#include "runtime/rt.h"

struct net_stream {
    struct rt_owned base; /* first: the handle (tcp or pipe) */
    bool is_pipe;
    bool is_server;
    bool rooted;     /* self is in the runtime's roots while the handle is open */
    bool want_drain; /* a write returned false: call __on_drain when the queue empties */
    uint64_t bytes_read, bytes_written;
};

struct write_req {
    uv_write_t req;
    struct net_stream *s;
    bool notify;    /* call __on_written when done */
    mrb_value keep; /* a large write: a shared copy of the String (rooted), whose bytes are sent */
    size_t len;
    char data[]; /* a small write: the bytes uv_try_write did not take */
};

/* Above this, the rest of a write is not copied: the request holds a String sharing the
 * caller's bytes (mrb_str_dup shares a long String's buffer; a later change to the caller's
 * String copies it first), rooted until the write completes. A 1 MB response was copied twice
 * (the head + body concatenation, then here) and memcpy of fresh pages is most of its cost. */
#define WRITE_COPY_MAX (16 * 1024)

static const struct mrb_data_type stream_type = {"Net::Stream", rt_owned_dfree};

/* Shared read buffer: the loop is single-threaded, libuv calls on_read right after each
 * on_alloc, and each chunk becomes a String before the next read. */
static __thread char read_buf[64 * 1024]; /* one per runtime thread (runtime/worker.c) */

static __thread struct {
    mrb_sym on_connect, on_data, on_eof, on_error, on_written, on_drain, on_shutdown, on_connection,
        on_close, socket_class;
} sym;

static uv_stream_t *
stream_of(struct net_stream *s)
{
    return (uv_stream_t *)&s->base.u.handle;
}

static struct net_stream *
get_stream(mrb_state *mrb, mrb_value self)
{
    struct net_stream *s = DATA_GET_PTR(mrb, self, &stream_type, struct net_stream);
    if (!s || uv_is_closing(&s->base.u.handle))
        mrb_raise(mrb, E_RUNTIME_ERROR, "the socket is closed");
    return s;
}

/* The stream of self if it is open, else NULL (no raise). */
static struct net_stream *
open_stream(mrb_value self)
{
    if (mrb_type(self) != MRB_TT_DATA || DATA_TYPE(self) != &stream_type)
        return NULL;
    struct net_stream *s = DATA_PTR(self);
    if (!s || s->base.u.handle.type == UV_UNKNOWN_HANDLE || uv_is_closing(&s->base.u.handle))
        return NULL;
    return s;
}

static mrb_value
err_pair(mrb_state *mrb, int err)
{
    mrb_value v[2] = {mrb_str_new_cstr(mrb, uv_err_name(err)),
                      mrb_str_new_cstr(mrb, uv_strerror(err))};
    return mrb_ary_new_from_values(mrb, 2, v);
}

/* Calls self.method(*argv) if the object is still there and the runtime still runs Ruby. */
static void
call(struct net_stream *s, mrb_sym method, mrb_int argc, const mrb_value *argv)
{
    if (mrb_nil_p(s->base.self))
        return;
    rt_call(s->base.rt, s->base.self, method, argc, argv);
}

static void
report_error(struct net_stream *s, int err, const char *syscall)
{
    mrb_state *mrb = s->base.rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value v[3] = {mrb_str_new_cstr(mrb, uv_err_name(err)),
                      mrb_str_new_cstr(mrb, uv_strerror(err)), mrb_str_new_cstr(mrb, syscall)};
    call(s, sym.on_error, 3, v);
    mrb_gc_arena_restore(mrb, ai);
}

static void
on_handle_closed(struct rt_owned *o)
{
    struct net_stream *s = (struct net_stream *)o;
    struct rt *rt = o->rt;
    if (mrb_nil_p(o->self))
        return;
    mrb_value self = o->self;
    int ai = mrb_gc_arena_save(rt->mrb);
    mrb_gc_protect(rt->mrb, self);
    if (s->rooted) {
        s->rooted = false;
        rt_unroot(rt, self);
    }
    call(s, sym.on_close, 0, NULL);
    mrb_gc_arena_restore(rt->mrb, ai);
}

/* Creates the handle of self (kind :tcp or :pipe). */
static struct net_stream *
stream_init(mrb_state *mrb, mrb_value self, bool pipe, bool server)
{
    struct rt *rt = rt_from_mrb(mrb);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_RUNTIME_ERROR, "the socket is already open");
    struct net_stream *s = rt_owned_new(rt, sizeof *s);
    int err =
        pipe ? uv_pipe_init(&rt->loop, &s->base.u.pipe, 0) : uv_tcp_init(&rt->loop, &s->base.u.tcp);
    if (err) {
        free(s);
        rt_raise_uv(mrb, err, pipe ? "uv_pipe_init" : "uv_tcp_init");
    }
    rt_owned_adopt(&s->base);
    s->base.self = self;
    s->base.on_close = on_handle_closed;
    s->is_pipe = pipe;
    s->is_server = server;
    DATA_TYPE(self) = &stream_type;
    DATA_PTR(self) = s;
    rt_root(rt, self);
    s->rooted = true;
    return s;
}

uv_stream_t *
net_socket_pipe(mrb_state *mrb, mrb_value sock)
{
    struct RClass *cls = mrb_class_get_under(mrb, mrb_module_get(mrb, "Net"), "Socket");
    if (!mrb_obj_is_kind_of(mrb, sock, cls))
        mrb_raisef(mrb, E_TYPE_ERROR, "expected a Net::Socket, not %s",
                   mrb_obj_classname(mrb, sock));
    return stream_of(stream_init(mrb, sock, true, false));
}

/* --- addresses ------------------------------------------------------------------------------ */

/* Parses a literal IPv4 or IPv6 address; false when host is not one. */
static bool
parse_ip(const char *host, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return true;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0;
}

bool
net_parse_ip(const char *host, int port, struct sockaddr_storage *ss)
{
    return parse_ip(host, port, ss);
}

/* [address, port, family] for a TCP name, or the path of a pipe. */
static mrb_value
name_value(mrb_state *mrb, struct net_stream *s, bool peer)
{
    if (s->is_pipe) {
        char path[1024];
        size_t len = sizeof path;
        int err = peer ? uv_pipe_getpeername(&s->base.u.pipe, path, &len)
                       : uv_pipe_getsockname(&s->base.u.pipe, path, &len);
        return err ? mrb_nil_value() : mrb_str_new(mrb, path, len);
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int err = peer ? uv_tcp_getpeername(&s->base.u.tcp, (struct sockaddr *)&ss, &len)
                   : uv_tcp_getsockname(&s->base.u.tcp, (struct sockaddr *)&ss, &len);
    if (err)
        return mrb_nil_value();
    char ip[64];
    int port, family;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        family = 6;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
        family = 4;
    }
    mrb_value v[3] = {mrb_str_new_cstr(mrb, ip), mrb_fixnum_value(port), mrb_fixnum_value(family)};
    return mrb_ary_new_from_values(mrb, 3, v);
}

static mrb_value
stream_address(mrb_state *mrb, mrb_value self)
{
    struct net_stream *s = open_stream(self);
    return s ? name_value(mrb, s, false) : mrb_nil_value();
}

static mrb_value
stream_remote_address(mrb_state *mrb, mrb_value self)
{
    struct net_stream *s = open_stream(self);
    return s ? name_value(mrb, s, true) : mrb_nil_value();
}

/* Net.__ip_family(host) → 4, 6 or nil. */
static mrb_value
net_ip_family(mrb_state *mrb, mrb_value self)
{
    (void)self;
    const char *host;
    mrb_get_args(mrb, "z", &host);
    struct sockaddr_storage ss;
    if (!parse_ip(host, 0, &ss))
        return mrb_nil_value();
    return mrb_fixnum_value(ss.ss_family == AF_INET6 ? 6 : 4);
}

/* --- name lookup (getaddrinfo on libuv's thread pool) ----------------------------------------- */

struct lookup_req {
    uv_getaddrinfo_t req;
    struct rt *rt;
    mrb_value block;
};

static void
on_lookup(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct lookup_req *l = (struct lookup_req *)req;
    struct rt *rt = l->rt;
    mrb_state *mrb = rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value args[3] = {mrb_nil_value(), mrb_nil_value(), mrb_nil_value()};
    if (status != 0) {
        args[0] = err_pair(mrb, status);
    } else {
        /* Prefer IPv4 as Node's default "verbatim: false" order did; else the first. */
        struct addrinfo *pick = res;
        for (struct addrinfo *a = res; a; a = a->ai_next)
            if (a->ai_family == AF_INET) {
                pick = a;
                break;
            }
        char ip[64] = "";
        if (pick && pick->ai_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)pick->ai_addr, ip, sizeof ip);
        else if (pick)
            uv_ip4_name((struct sockaddr_in *)pick->ai_addr, ip, sizeof ip);
        args[1] = mrb_str_new_cstr(mrb, ip);
        args[2] = mrb_fixnum_value(pick && pick->ai_family == AF_INET6 ? 6 : 4);
    }
    uv_freeaddrinfo(res);
    mrb_value block = l->block;
    mrb_gc_protect(mrb, block);
    rt_unroot(rt, block);
    free(l);
    rt_call(rt, block, mrb_intern_lit(mrb, "call"), 3, args);
    mrb_gc_arena_restore(mrb, ai);
}

/* Net.__lookup(host, family = 0) { |err, address, family| }: family 4 or 6 asks for that
 * family only (Dgram's udp4 and udp6 sockets); 0 takes either, IPv4 first. */
static mrb_value
net_lookup(mrb_state *mrb, mrb_value self)
{
    (void)self;
    struct rt *rt = rt_from_mrb(mrb);
    const char *host;
    mrb_value block;
    mrb_int family = 0;
    mrb_get_args(mrb, "z|i&!", &host, &family, &block);
    struct lookup_req *l = calloc(1, sizeof *l);
    if (!l)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    l->rt = rt;
    l->block = block;
    struct addrinfo hints = {0};
    hints.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int err = uv_getaddrinfo(&rt->loop, &l->req, on_lookup, host, NULL, &hints);
    if (err) {
        free(l);
        rt_raise_uv(mrb, err, "getaddrinfo");
    }
    rt_root(rt, block);
    return mrb_nil_value();
}

/* --- connecting ----------------------------------------------------------------------------- */

struct connect_req {
    uv_connect_t req;
    struct net_stream *s;
};

static void
on_connect(uv_connect_t *req, int status)
{
    struct net_stream *s = ((struct connect_req *)req)->s;
    free(req);
    if (status == UV_ECANCELED)
        return; /* closed while connecting: __on_close follows */
    mrb_state *mrb = s->base.rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value arg = status ? err_pair(mrb, status) : mrb_nil_value();
    call(s, sym.on_connect, 1, &arg);
    mrb_gc_arena_restore(mrb, ai);
}

/* Socket#__connect_tcp(ip, port): ip is a literal address (Ruby resolved names before). */
static mrb_value
socket_connect_tcp(mrb_state *mrb, mrb_value self)
{
    const char *ip;
    mrb_int port;
    mrb_get_args(mrb, "zi", &ip, &port);
    struct sockaddr_storage ss;
    if (!parse_ip(ip, (int)port, &ss))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "not an IP address: %s", ip);
    struct net_stream *s = stream_init(mrb, self, false, false);
    struct connect_req *c = calloc(1, sizeof *c);
    if (!c)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    c->s = s;
    int err = uv_tcp_connect(&c->req, &s->base.u.tcp, (struct sockaddr *)&ss, on_connect);
    if (err) {
        free(c);
        return err_pair(mrb, err);
    }
    return mrb_nil_value();
}

/* Socket#__connect_pipe(path) */
static mrb_value
socket_connect_pipe(mrb_state *mrb, mrb_value self)
{
    const char *path;
    mrb_get_args(mrb, "z", &path);
    struct net_stream *s = stream_init(mrb, self, true, false);
    struct connect_req *c = calloc(1, sizeof *c);
    if (!c)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    c->s = s;
    uv_pipe_connect(&c->req, &s->base.u.pipe, path, on_connect);
    return mrb_nil_value();
}

/* --- reading -------------------------------------------------------------------------------- */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h, (void)suggested;
    buf->base = read_buf;
    buf->len = sizeof read_buf;
}

static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct net_stream *s = (struct net_stream *)stream;
    mrb_state *mrb = s->base.rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value str = mrb_nil_value();
    if (nread > 0) {
        s->bytes_read += (uint64_t)nread;
        str = mrb_str_new(mrb, buf->base, nread);
    }
    if (nread > 0)
        call(s, sym.on_data, 1, &str);
    else if (nread == UV_EOF) {
        uv_read_stop(stream);
        call(s, sym.on_eof, 0, NULL);
    } else if (nread < 0) {
        uv_read_stop(stream);
        report_error(s, (int)nread, "read");
    }
    mrb_gc_arena_restore(mrb, ai);
}

static mrb_value
socket_read_start(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct net_stream *s = open_stream(self);
    if (s) {
        int err = uv_read_start(stream_of(s), on_alloc, on_read);
        if (err && err != UV_EALREADY)
            report_error(s, err, "read");
    }
    return self;
}

static mrb_value
socket_read_stop(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct net_stream *s = open_stream(self);
    if (s)
        uv_read_stop(stream_of(s));
    return self;
}

/* --- writing -------------------------------------------------------------------------------- */

static void
on_write(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct net_stream *s = w->s;
    bool notify = w->notify;
    if (!mrb_nil_p(w->keep))
        rt_unroot(s->base.rt, w->keep);
    free(w);
    if (status == UV_ECANCELED)
        return; /* the socket was closed first */
    if (status < 0) {
        report_error(s, status, "write");
        return;
    }
    if (notify)
        call(s, sym.on_written, 0, NULL);
    if (s->want_drain && stream_of(s)->write_queue_size == 0 && open_stream(s->base.self)) {
        s->want_drain = false;
        call(s, sym.on_drain, 0, NULL);
    }
}

/* Socket#__write(string, notify, high_water_mark) → :done when every byte went at once, true
 * when the rest is queued and the queue stays under the mark, false (and a later __on_drain)
 * when it is over it, as Node's socket.write. With notify, a queued write calls __on_written
 * when it completes; a :done one is the caller's to announce. */
static mrb_value
socket_write(mrb_state *mrb, mrb_value self)
{
    mrb_value str;
    mrb_bool notify;
    mrb_int hwm;
    mrb_get_args(mrb, "Sbi", &str, &notify, &hwm);
    struct net_stream *s = get_stream(mrb, self);
    uv_stream_t *st = stream_of(s);
    const char *p = RSTRING_PTR(str);
    size_t len = (size_t)RSTRING_LEN(str), done = 0;
    if (st->write_queue_size == 0 && len > 0) {
        int n = uv_try_write(st, &(uv_buf_t){.base = (char *)p, .len = len}, 1);
        if (n > 0)
            done = (size_t)n;
        else if (n != UV_EAGAIN && n != UV_ENOSYS) {
            report_error(s, n, "write");
            return mrb_false_value();
        }
    }
    s->bytes_written += len;
    if (done == len) /* all of it went at once */
        return mrb_symbol_value(mrb_intern_lit(mrb, "done"));
    size_t rest = len - done;
    bool share = rest > WRITE_COPY_MAX;
    struct write_req *w = malloc(sizeof *w + (share ? 0 : rest));
    if (!w)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    w->s = s;
    w->notify = notify;
    w->len = rest;
    w->keep = mrb_nil_value();
    char *base = w->data;
    if (share) {
        w->keep = mrb_str_dup(mrb, str);
        base = RSTRING_PTR(w->keep) + done;
    } else {
        memcpy(w->data, p + done, rest);
    }
    int err = uv_write(&w->req, st, &(uv_buf_t){.base = base, .len = rest}, 1, on_write);
    if (err) {
        free(w);
        report_error(s, err, "write");
        return mrb_false_value();
    }
    if (share)
        rt_root(s->base.rt, w->keep);
    if (st->write_queue_size >= (size_t)hwm) {
        s->want_drain = true;
        return mrb_false_value();
    }
    return mrb_true_value();
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
    struct net_stream *s = req->data;
    free(req);
    if (status == UV_ECANCELED)
        return;
    mrb_state *mrb = s->base.rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value arg = status ? err_pair(mrb, status) : mrb_nil_value();
    call(s, sym.on_shutdown, 1, &arg);
    mrb_gc_arena_restore(mrb, ai);
}

/* Socket#__shutdown: half-close after the queued writes. */
static mrb_value
socket_shutdown(mrb_state *mrb, mrb_value self)
{
    struct net_stream *s = get_stream(mrb, self);
    uv_shutdown_t *req = calloc(1, sizeof *req);
    if (!req)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    req->data = s;
    int err = uv_shutdown(req, stream_of(s), on_shutdown);
    if (err) {
        free(req);
        return err_pair(mrb, err);
    }
    return mrb_nil_value();
}

static mrb_value
stream_close(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct net_stream *s = open_stream(self);
    if (s)
        rt_owned_close(&s->base);
    return self;
}

static mrb_value
stream_open_p(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    return mrb_bool_value(open_stream(self) != NULL);
}

static mrb_value
socket_set_no_delay(mrb_state *mrb, mrb_value self)
{
    mrb_bool on = TRUE;
    mrb_get_args(mrb, "|b", &on);
    struct net_stream *s = open_stream(self);
    if (s && !s->is_pipe)
        uv_tcp_nodelay(&s->base.u.tcp, on);
    return self;
}

static mrb_value
socket_set_keep_alive(mrb_state *mrb, mrb_value self)
{
    mrb_bool on = FALSE;
    mrb_int delay = 0;
    mrb_get_args(mrb, "|bi", &on, &delay);
    struct net_stream *s = open_stream(self);
    if (s && !s->is_pipe)
        uv_tcp_keepalive(&s->base.u.tcp, on, (unsigned)(delay > 0 ? delay : 1));
    return self;
}

static mrb_value
stream_bytes_read(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct net_stream *s = DATA_TYPE(self) == &stream_type ? DATA_PTR(self) : NULL;
    return mrb_fixnum_value(s ? (mrb_int)s->bytes_read : 0);
}

static mrb_value
stream_bytes_written(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct net_stream *s = DATA_TYPE(self) == &stream_type ? DATA_PTR(self) : NULL;
    return mrb_fixnum_value(s ? (mrb_int)s->bytes_written : 0);
}

static mrb_value
stream_write_queue_size(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct net_stream *s = open_stream(self);
    return mrb_fixnum_value(s ? (mrb_int)stream_of(s)->write_queue_size : 0);
}

static mrb_value
stream_ref(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct net_stream *s = open_stream(self);
    if (s)
        uv_ref(&s->base.u.handle);
    return self;
}

static mrb_value
stream_unref(mrb_state *mrb, mrb_value self)
{
    (void)mrb;
    struct net_stream *s = open_stream(self);
    if (s)
        uv_unref(&s->base.u.handle);
    return self;
}

/* --- servers -------------------------------------------------------------------------------- */

static void
on_connection(uv_stream_t *server, int status)
{
    struct net_stream *srv = (struct net_stream *)server;
    struct rt *rt = srv->base.rt;
    mrb_state *mrb = rt->mrb;
    if (status < 0) {
        report_error(srv, status, "accept");
        return;
    }
    if (mrb_nil_p(srv->base.self) || rt->exiting)
        return;
    int ai = mrb_gc_arena_save(mrb);
    /* A server's @socket_class (a subclass of Net::Socket: TLS::Server's TLS::Socket) makes
     * its accepted sockets; by default they are Net::Sockets. */
    struct RClass *cls = mrb_class_get_under(mrb, mrb_module_get(mrb, "Net"), "Socket");
    mrb_value chosen = mrb_iv_get(mrb, srv->base.self, sym.socket_class);
    if (mrb_class_p(chosen))
        for (struct RClass *c = mrb_class_ptr(chosen); c; c = c->super)
            if (c == cls) {
                cls = mrb_class_ptr(chosen);
                break;
            }
    mrb_value sock = mrb_obj_new(mrb, cls, 0, NULL);
    struct net_stream *s = stream_init(mrb, sock, srv->is_pipe, false);
    int err = uv_accept(server, stream_of(s));
    if (err) {
        rt_owned_close(&s->base);
        report_error(srv, err, "accept");
    } else {
        call(srv, sym.on_connection, 1, &sock);
    }
    mrb_gc_arena_restore(mrb, ai);
}

/* Server#__listen_tcp(ip, port, backlog) → nil or [code, message] */
static mrb_value
server_listen_tcp(mrb_state *mrb, mrb_value self)
{
    const char *ip;
    mrb_int port, backlog;
    mrb_get_args(mrb, "zii", &ip, &port, &backlog);
    struct sockaddr_storage ss;
    if (!parse_ip(ip, (int)port, &ss))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "not an IP address: %s", ip);
    struct net_stream *s = stream_init(mrb, self, false, true);
    int err = uv_tcp_bind(&s->base.u.tcp, (struct sockaddr *)&ss,
                          ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (!err)
        err = uv_listen(stream_of(s), (int)backlog, on_connection);
    if (err) {
        rt_owned_close(&s->base);
        return err_pair(mrb, err);
    }
    return mrb_nil_value();
}

/* Server#__listen_fd(fd, backlog) → nil or [code, message]: listens on a TCP socket that is
 * already bound (a cluster worker's: the primary's shared socket that came over the IPC
 * channel, or its own SO_REUSEPORT one; runtime/cluster.c). The server owns fd from here on,
 * also when listening fails. */
static mrb_value
server_listen_fd(mrb_state *mrb, mrb_value self)
{
    mrb_int fd, backlog;
    mrb_get_args(mrb, "ii", &fd, &backlog);
    struct net_stream *s = stream_init(mrb, self, false, true);
    int err = uv_tcp_open(&s->base.u.tcp, (uv_os_sock_t)fd);
    if (err)
        close((int)fd);
    else
        err = uv_listen(stream_of(s), (int)backlog, on_connection);
    if (err) {
        rt_owned_close(&s->base);
        return err_pair(mrb, err);
    }
    return mrb_nil_value();
}

/* Server#__listen_pipe(path, backlog) → nil or [code, message] */
static mrb_value
server_listen_pipe(mrb_state *mrb, mrb_value self)
{
    const char *path;
    mrb_int backlog;
    mrb_get_args(mrb, "zi", &path, &backlog);
    struct net_stream *s = stream_init(mrb, self, true, true);
    int err = uv_pipe_bind(&s->base.u.pipe, path);
    if (!err)
        err = uv_listen(stream_of(s), (int)backlog, on_connection);
    if (err) {
        rt_owned_close(&s->base);
        return err_pair(mrb, err);
    }
    return mrb_nil_value();
}

static void
net_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    sym.on_connect = mrb_intern_lit(mrb, "__on_connect");
    sym.on_data = mrb_intern_lit(mrb, "__on_data");
    sym.on_eof = mrb_intern_lit(mrb, "__on_eof");
    sym.on_error = mrb_intern_lit(mrb, "__on_error");
    sym.on_written = mrb_intern_lit(mrb, "__on_written");
    sym.on_drain = mrb_intern_lit(mrb, "__on_drain");
    sym.on_shutdown = mrb_intern_lit(mrb, "__on_shutdown");
    sym.on_connection = mrb_intern_lit(mrb, "__on_connection");
    sym.on_close = mrb_intern_lit(mrb, "__on_close");
    sym.socket_class = mrb_intern_lit(mrb, "@socket_class");

    struct RClass *net = mrb_define_module(mrb, "Net");
    mrb_define_module_function(mrb, net, "__lookup", net_lookup,
                               MRB_ARGS_REQ(1) | MRB_ARGS_OPT(1) | MRB_ARGS_BLOCK());
    mrb_define_module_function(mrb, net, "__ip_family", net_ip_family, MRB_ARGS_REQ(1));

    struct RClass *sock = mrb_define_class_under(mrb, net, "Socket", mrb->object_class);
    struct RClass *srv = mrb_define_class_under(mrb, net, "Server", mrb->object_class);
    struct RClass *both[2] = {sock, srv};
    for (int i = 0; i < 2; i++) {
        struct RClass *c = both[i];
        MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
        mrb_define_method(mrb, c, "__close", stream_close, MRB_ARGS_NONE());
        mrb_define_method(mrb, c, "__open?", stream_open_p, MRB_ARGS_NONE());
        mrb_define_method(mrb, c, "__address", stream_address, MRB_ARGS_NONE());
        mrb_define_method(mrb, c, "ref", stream_ref, MRB_ARGS_NONE());
        mrb_define_method(mrb, c, "unref", stream_unref, MRB_ARGS_NONE());
    }
    mrb_define_method(mrb, sock, "__connect_tcp", socket_connect_tcp, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, sock, "__connect_pipe", socket_connect_pipe, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, sock, "__read_start", socket_read_start, MRB_ARGS_NONE());
    mrb_define_method(mrb, sock, "__read_stop", socket_read_stop, MRB_ARGS_NONE());
    mrb_define_method(mrb, sock, "__write", socket_write, MRB_ARGS_REQ(3));
    mrb_define_method(mrb, sock, "__shutdown", socket_shutdown, MRB_ARGS_NONE());
    mrb_define_method(mrb, sock, "__remote_address", stream_remote_address, MRB_ARGS_NONE());
    mrb_define_method(mrb, sock, "__set_no_delay", socket_set_no_delay, MRB_ARGS_OPT(1));
    mrb_define_method(mrb, sock, "__set_keep_alive", socket_set_keep_alive, MRB_ARGS_OPT(2));
    mrb_define_method(mrb, sock, "bytes_read", stream_bytes_read, MRB_ARGS_NONE());
    mrb_define_method(mrb, sock, "bytes_written", stream_bytes_written, MRB_ARGS_NONE());
    mrb_define_method(mrb, sock, "write_queue_size", stream_write_queue_size, MRB_ARGS_NONE());
    mrb_define_method(mrb, srv, "__listen_tcp", server_listen_tcp, MRB_ARGS_REQ(3));
    mrb_define_method(mrb, srv, "__listen_pipe", server_listen_pipe, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, srv, "__listen_fd", server_listen_fd, MRB_ARGS_REQ(2));
}

const struct rt_module rt_module_net = {.name = "net", .init = net_init};
