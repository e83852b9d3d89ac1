/*
 * dgram.c — the C half of Dgram: UDP sockets (Node's `dgram`) on the runtime's libuv loop.
 *
 * One struct (struct dgram) per Dgram::Socket: a uv_udp_t owned by its Ruby object (struct
 * rt_owned: the memory goes when both the handle is closed and the object collected). The
 * handle and its fd are made when the socket is (uv_udp_init_ex with the socket's family), so
 * options can be set before bind; it is not active (does not keep the loop alive) until it
 * receives. The Ruby half (runtime/prelude/dgram.rb) holds the Node-style API, the events and
 * the checks of arguments; this file only moves datagrams and reports what libuv says, by
 * calling the object's __on_* methods:
 *
 *   __on_message(string, rinfo)  a datagram arrived: rinfo {address:, family:, port:, size:}
 *                                (+ truncated: true when it was longer than the buffer)
 *   __on_error(code, message, syscall)   a receive failed (ECONNREFUSED on a connected socket)
 *   __on_sent(err, bytes)        a queued send completed (err: nil or [code, message]); one
 *                                call per queued send, in order
 *   __on_close                   the handle is closed; the object is unrooted after this
 *
 * Rooting: a bound socket (it receives: the loop may call it at any time) roots its object
 * until the handle closes. A socket that was never bound is an ordinary object: dropped, the
 * GC frees it and rt_owned_dfree closes its fd.
 *
 * Receiving allocates nothing but the message String and the rinfo Hash: every socket reads
 * into one static buffer (the loop is single-threaded and each datagram becomes a String before
 * the next read). A socket whose largest message is the default 64 KiB reads with recvmmsg
 * (UV_UDP_RECVMMSG), up to RECV_CHUNKS datagrams per system call.
 *
 * Sending tries uv_udp_try_send first: a datagram the kernel takes at once costs no allocation
 * and no callback. When the socket's buffer is full (EAGAIN) the bytes are copied into a request
 * queued with uv_udp_send, which reports through __on_sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/hash.h>
#include <mruby/string.h>

#include "net/net.h"
#include "runtime/rt.h"

/* A UDP payload is at most 65507 bytes over IPv4 and 65527 over IPv6: one chunk of libuv's
 * recvmmsg (64 KiB) holds any datagram whole. */
#define CHUNK (64 * 1024)
#define RECV_CHUNKS 16

struct dgram {
    struct rt_owned base; /* first: the uv_udp_t */
    bool rooted;          /* self is in the runtime's roots while the handle is open */
    int family;           /* 4 or 6 */
    size_t max_message;   /* the receive buffer handed to libuv (CHUNK * RECV_CHUNKS with mmsg) */
};

struct send_req {
    uv_udp_send_t req;
    struct dgram *d;
    size_t len;
    char data[]; /* a copy of the datagram */
};

static const struct mrb_data_type dgram_type = {"Dgram::Socket", rt_owned_dfree};

/* The receive buffer of every socket of this thread's runtime (see the top of the file); one
 * per thread, as each Worker runs a runtime of its own (runtime/worker.c). */
#define RECV_BUF_SIZE (CHUNK * RECV_CHUNKS)
static __thread char *recv_buf;

/* "IPv4" and "IPv6", frozen, shared by every rinfo (registered with the GC at init). */
static __thread mrb_value family_names[2];

static __thread struct {
    mrb_sym on_message, on_error, on_sent, on_close, address, family, port, size, truncated;
} sym;

static uv_udp_t *
udp_of(struct dgram *d)
{
    return &d->base.u.udp;
}

/* The socket of self if its handle is open, else NULL (no raise). */
static struct dgram *
open_dgram(mrb_value self)
{
    if (mrb_type(self) != MRB_TT_DATA || DATA_TYPE(self) != &dgram_type)
        return NULL;
    struct dgram *d = DATA_PTR(self);
    if (!d || d->base.u.handle.type == UV_UNKNOWN_HANDLE || uv_is_closing(&d->base.u.handle))
        return NULL;
    return d;
}

static struct dgram *
get_dgram(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    if (!d)
        mrb_raise(mrb, E_RUNTIME_ERROR, "the socket is closed");
    return d;
}

static mrb_value
err_pair(mrb_state *mrb, int err)
{
    mrb_value v[2] = {mrb_str_new_cstr(mrb, uv_err_name(err)),
                      mrb_str_new_cstr(mrb, uv_strerror(err))};
    return mrb_ary_new_from_values(mrb, 2, v);
}

/* Calls self.method(*argv) if the object is still there. */
static void
call(struct dgram *d, mrb_sym method, mrb_int argc, const mrb_value *argv)
{
    if (mrb_nil_p(d->base.self))
        return;
    rt_call(d->base.rt, d->base.self, method, argc, argv);
}

static void
on_handle_closed(struct rt_owned *o)
{
    struct dgram *d = (struct dgram *)o;
    struct rt *rt = o->rt;
    if (mrb_nil_p(o->self))
        return;
    mrb_value self = o->self;
    int ai = mrb_gc_arena_save(rt->mrb);
    mrb_gc_protect(rt->mrb, self);
    if (d->rooted) {
        d->rooted = false;
        rt_unroot(rt, self);
    }
    call(d, sym.on_close, 0, NULL);
    mrb_gc_arena_restore(rt->mrb, ai);
}

/* The address (into ip) and port of a socket address; returns its family, 4 or 6, or 0 for
 * another kind. */
static int
addr_parts(const struct sockaddr *sa, char ip[64], int *port)
{
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(a, ip, 64);
        *port = ntohs(a->sin6_port);
        return 6;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        uv_ip4_name(a, ip, 64);
        *port = ntohs(a->sin_port);
        return 4;
    }
    return 0;
}

/* [address, port, family] of a socket address, or nil for another family. */
static mrb_value
addr_value(mrb_state *mrb, const struct sockaddr *sa)
{
    char ip[64];
    int port, family = addr_parts(sa, ip, &port);
    if (!family)
        return mrb_nil_value();
    mrb_value v[3] = {mrb_str_new_cstr(mrb, ip), mrb_fixnum_value(port), mrb_fixnum_value(family)};
    return mrb_ary_new_from_values(mrb, 3, v);
}

/* --- creating ------------------------------------------------------------------------------- */

/* Socket#__open(family, max_message_size): the handle and its fd. A largest message of 64 KiB
 * (the default) reads with recvmmsg; a smaller one reads one datagram per call into that many
 * bytes (libuv's recvmmsg needs whole 64 KiB chunks). */
static mrb_value
dgram_open(mrb_state *mrb, mrb_value self)
{
    mrb_int family, max;
    mrb_get_args(mrb, "ii", &family, &max);
    if (family != 4 && family != 6)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "family must be 4 or 6, not %i", family);
    if (max < 1 || max > CHUNK)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "max_message_size must be 1 to %d, not %i", CHUNK, max);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_RUNTIME_ERROR, "the socket is already open");
    struct rt *rt = rt_from_mrb(mrb);
    if (!rt)
        mrb_raise(mrb, E_RUNTIME_ERROR, "Dgram needs the event loop (not in a Deferred worker)");
    if (!recv_buf && !(recv_buf = malloc(RECV_BUF_SIZE)))
        mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
    struct dgram *d = rt_owned_new(rt, sizeof *d);
    bool mmsg = max == CHUNK;
    unsigned flags = (family == 6 ? AF_INET6 : AF_INET) | (mmsg ? UV_UDP_RECVMMSG : 0);
    int err = uv_udp_init_ex(&rt->loop, udp_of(d), flags);
    if (err) {
        free(d);
        rt_raise_uv(mrb, err, "socket");
    }
    rt_owned_adopt(&d->base);
    d->base.self = self;
    d->base.on_close = on_handle_closed;
    d->family = (int)family;
    d->max_message = mmsg ? RECV_BUF_SIZE : (size_t)max;
    DATA_TYPE(self) = &dgram_type;
    DATA_PTR(self) = d;
    return self;
}

/* --- receiving ------------------------------------------------------------------------------ */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    buf->base = recv_buf;
    buf->len = ((struct dgram *)h)->max_message;
}

static void
on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
        unsigned flags)
{
    struct dgram *d = (struct dgram *)h;
    /* The end of a recvmmsg batch, "nothing more" (nread 0, no address), or datagrams of a
     * batch that a listener closed the socket in the middle of: nothing to deliver. */
    if ((flags & UV_UDP_MMSG_FREE) || uv_is_closing((uv_handle_t *)h) || d->base.rt->exiting)
        return;
    mrb_state *mrb = d->base.rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    if (nread < 0) {
        mrb_value v[3] = {mrb_str_new_cstr(mrb, uv_err_name((int)nread)),
                          mrb_str_new_cstr(mrb, uv_strerror((int)nread)),
                          mrb_str_new_lit(mrb, "recvmsg")};
        call(d, sym.on_error, 3, v);
    } else if (addr) {
        char ip[64];
        int port, family = addr_parts(addr, ip, &port);
        if (family) {
            /* Three objects per datagram: the message, the Hash and the address String (the
             * family is one frozen String per family). */
            mrb_value rinfo = mrb_hash_new_capa(mrb, 5);
            mrb_hash_set(mrb, rinfo, mrb_symbol_value(sym.address), mrb_str_new_cstr(mrb, ip));
            mrb_hash_set(mrb, rinfo, mrb_symbol_value(sym.family),
                         family == 6 ? family_names[1] : family_names[0]);
            mrb_hash_set(mrb, rinfo, mrb_symbol_value(sym.port), mrb_fixnum_value(port));
            mrb_hash_set(mrb, rinfo, mrb_symbol_value(sym.size), mrb_fixnum_value(nread));
            if (flags & UV_UDP_PARTIAL)
                mrb_hash_set(mrb, rinfo, mrb_symbol_value(sym.truncated), mrb_true_value());
            mrb_value args[2] = {mrb_str_new(mrb, buf->base, nread), rinfo};
            call(d, sym.on_message, 2, args);
        }
    }
    mrb_gc_arena_restore(mrb, ai);
}

/* Roots the socket and starts receiving: it is bound now, the loop may call it any time. */
static int
start_receiving(struct dgram *d)
{
    if (!d->rooted) {
        rt_root(d->base.rt, d->base.self);
        d->rooted = true;
    }
    int err = uv_udp_recv_start(udp_of(d), on_alloc, on_recv);
    return err == UV_EALREADY ? 0 : err;
}

/* An IPv6 peer for a udp4 socket is the caller's mistake. A udp6 socket may reach an IPv4 peer
 * (Linux sends from a dual-stack socket unless ipv6_only), so that is left to the system. */
static void
check_family(mrb_state *mrb, struct dgram *d, const struct sockaddr_storage *ss, const char *ip)
{
    if (d->family == 4 && ss->ss_family == AF_INET6)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "a udp4 socket cannot reach the IPv6 address %s", ip);
}

/* Socket#__bind(ip, port, reuse_addr, ipv6_only) → nil or [code, message] */
static mrb_value
dgram_bind(mrb_state *mrb, mrb_value self)
{
    const char *ip;
    mrb_int port;
    mrb_bool reuse, v6only;
    mrb_get_args(mrb, "zibb", &ip, &port, &reuse, &v6only);
    struct dgram *d = get_dgram(mrb, self);
    struct sockaddr_storage ss;
    if (!net_parse_ip(ip, (int)port, &ss))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "not an IP address: %s", ip);
    if ((ss.ss_family == AF_INET6) != (d->family == 6))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "a udp%d socket cannot bind to %s", d->family, ip);
    unsigned flags = (reuse ? UV_UDP_REUSEADDR : 0) | (v6only ? UV_UDP_IPV6ONLY : 0);
    int err = uv_udp_bind(udp_of(d), (struct sockaddr *)&ss, flags);
    if (!err)
        err = start_receiving(d);
    return err ? err_pair(mrb, err) : mrb_nil_value();
}

/* Socket#__connect(ip, port) → nil or [code, message]; the socket is bound already. */
static mrb_value
dgram_connect(mrb_state *mrb, mrb_value self)
{
    const char *ip;
    mrb_int port;
    mrb_get_args(mrb, "zi", &ip, &port);
    struct dgram *d = get_dgram(mrb, self);
    struct sockaddr_storage ss;
    if (!net_parse_ip(ip, (int)port, &ss))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "not an IP address: %s", ip);
    check_family(mrb, d, &ss, ip);
    int err = uv_udp_connect(udp_of(d), (struct sockaddr *)&ss);
    return err ? err_pair(mrb, err) : mrb_nil_value();
}

/* Socket#__disconnect → nil or [code, message] */
static mrb_value
dgram_disconnect(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = get_dgram(mrb, self);
    int err = uv_udp_connect(udp_of(d), NULL);
    return err ? err_pair(mrb, err) : mrb_nil_value();
}

/* --- sending -------------------------------------------------------------------------------- */

static void
on_send(uv_udp_send_t *req, int status)
{
    struct send_req *r = (struct send_req *)req;
    struct dgram *d = r->d;
    size_t len = r->len;
    free(r);
    if (status == UV_ECANCELED || d->base.rt->exiting)
        return; /* the socket was closed first */
    mrb_state *mrb = d->base.rt->mrb;
    int ai = mrb_gc_arena_save(mrb);
    mrb_value v[2] = {status < 0 ? err_pair(mrb, status) : mrb_nil_value(),
                      mrb_fixnum_value((mrb_int)len)};
    call(d, sym.on_sent, 2, v);
    mrb_gc_arena_restore(mrb, ai);
}

/* Socket#__send(string, host, port) → the bytes sent (Integer) when the kernel took the
 * datagram at once; :queued when it waits in libuv's queue (one __on_sent later); :lookup when
 * host is not a literal address (the Ruby half resolves it and calls again); [code, message]
 * when the send failed. host nil: the connected peer. */
static mrb_value
dgram_send(mrb_state *mrb, mrb_value self)
{
    mrb_value str, host;
    mrb_int port;
    mrb_get_args(mrb, "Soi", &str, &host, &port);
    struct dgram *d = get_dgram(mrb, self);
    struct sockaddr_storage ss;
    const struct sockaddr *addr = NULL;
    if (!mrb_nil_p(host)) {
        const char *ip = mrb_string_cstr(mrb, host);
        if (!net_parse_ip(ip, (int)port, &ss))
            return mrb_symbol_value(mrb_intern_lit(mrb, "lookup"));
        check_family(mrb, d, &ss, ip);
        addr = (const struct sockaddr *)&ss;
    }
    size_t len = (size_t)RSTRING_LEN(str);
    uv_buf_t b = uv_buf_init(RSTRING_PTR(str), (unsigned)len);
    int n = uv_udp_try_send(udp_of(d), &b, 1, addr);
    if (n >= 0)
        return mrb_fixnum_value(n);
    if (n != UV_EAGAIN)
        return err_pair(mrb, n);
    struct send_req *r = malloc(sizeof *r + len);
    if (!r)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    r->d = d;
    r->len = len;
    memcpy(r->data, RSTRING_PTR(str), len);
    int err =
        uv_udp_send(&r->req, udp_of(d), &(uv_buf_t){.base = r->data, .len = len}, 1, addr, on_send);
    if (err) {
        free(r);
        return err_pair(mrb, err);
    }
    return mrb_symbol_value(mrb_intern_lit(mrb, "queued"));
}

static mrb_value
dgram_send_queue_size(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    return mrb_fixnum_value(d ? (mrb_int)uv_udp_get_send_queue_size(udp_of(d)) : 0);
}

static mrb_value
dgram_send_queue_count(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    return mrb_fixnum_value(d ? (mrb_int)uv_udp_get_send_queue_count(udp_of(d)) : 0);
}

/* --- the handle ----------------------------------------------------------------------------- */

/* Socket#__close: the object stays rooted until the handle is closed, so that :close (and the
 * block given to close) comes even when nothing else holds a socket that was never bound. */
static mrb_value
dgram_close(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    if (d) {
        if (!d->rooted) {
            rt_root(d->base.rt, self);
            d->rooted = true;
        }
        rt_owned_close(&d->base);
    }
    return self;
}

static mrb_value
dgram_open_p(mrb_state *mrb, mrb_value self)
{
    return mrb_bool_value(open_dgram(self) != NULL);
}

static mrb_value
dgram_ref(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    if (d)
        uv_ref(&d->base.u.handle);
    return self;
}

static mrb_value
dgram_unref(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    if (d)
        uv_unref(&d->base.u.handle);
    return self;
}

static mrb_value
dgram_has_ref(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    return mrb_bool_value(d && uv_has_ref(&d->base.u.handle));
}

/* Socket#__address / #__remote_address → [address, port, family] or nil (unbound, not
 * connected, closed). */
static mrb_value
dgram_address(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (!d || uv_udp_getsockname(udp_of(d), (struct sockaddr *)&ss, &len))
        return mrb_nil_value();
    return addr_value(mrb, (struct sockaddr *)&ss);
}

static mrb_value
dgram_remote_address(mrb_state *mrb, mrb_value self)
{
    struct dgram *d = open_dgram(self);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (!d || uv_udp_getpeername(udp_of(d), (struct sockaddr *)&ss, &len))
        return mrb_nil_value();
    return addr_value(mrb, (struct sockaddr *)&ss);
}

/* --- options -------------------------------------------------------------------------------- */

enum opt { OPT_BROADCAST, OPT_TTL, OPT_MULTICAST_TTL, OPT_MULTICAST_LOOP };

/* The level and name of an option for the socket's family. libuv's setters pick IPv4 or IPv6 by
 * whether the handle was bound to an IPv6 address, so a udp6 socket not bound yet would get the
 * IPv4 option: this file sets them itself, by the family the socket was made with. */
static bool
opt_name(struct dgram *d, mrb_int opt, int *level, int *name)
{
    bool v6 = d->family == 6;
    *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    switch (opt) {
    case OPT_BROADCAST:
        *level = SOL_SOCKET;
        *name = SO_BROADCAST;
        return true;
    case OPT_TTL:
        *name = v6 ? IPV6_UNICAST_HOPS : IP_TTL;
        return true;
    case OPT_MULTICAST_TTL:
        *name = v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL;
        return true;
    case OPT_MULTICAST_LOOP:
        *name = v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP;
        return true;
    }
    return false;
}

/* Socket#__set(opt, value) / #__get(opt): the option as an int (Linux takes and gives an int for
 * each of them, IPv4's one-byte multicast options included) → nil / the value, or [code,
 * message]. The Ruby half checks the ranges (a TTL of 1 to 255...). */
static mrb_value
dgram_set(mrb_state *mrb, mrb_value self)
{
    mrb_int opt, value;
    mrb_get_args(mrb, "ii", &opt, &value);
    struct dgram *d = get_dgram(mrb, self);
    int level, name, v = (int)value;
    if (!opt_name(d, opt, &level, &name))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "unknown option %i", opt);
    uv_os_fd_t fd;
    int err = uv_fileno(&d->base.u.handle, &fd);
    if (!err && setsockopt(fd, level, name, &v, sizeof v))
        err = -errno;
    return err ? err_pair(mrb, err) : mrb_nil_value();
}

static mrb_value
dgram_get(mrb_state *mrb, mrb_value self)
{
    mrb_int opt;
    mrb_get_args(mrb, "i", &opt);
    struct dgram *d = get_dgram(mrb, self);
    int level, name, v = 0;
    if (!opt_name(d, opt, &level, &name))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "unknown option %i", opt);
    uv_os_fd_t fd;
    int err = uv_fileno(&d->base.u.handle, &fd);
    socklen_t len = sizeof v;
    if (!err && getsockopt(fd, level, name, &v, &len))
        err = -errno;
    return err ? err_pair(mrb, err) : mrb_fixnum_value(v);
}

/* Socket#__membership(group, iface or nil, join) → nil or [code, message] */
static mrb_value
dgram_membership(mrb_state *mrb, mrb_value self)
{
    const char *group, *iface;
    mrb_bool join;
    mrb_get_args(mrb, "zz!b", &group, &iface, &join);
    struct dgram *d = get_dgram(mrb, self);
    int err = uv_udp_set_membership(udp_of(d), group, iface, join ? UV_JOIN_GROUP : UV_LEAVE_GROUP);
    return err ? err_pair(mrb, err) : mrb_nil_value();
}

/* Socket#__multicast_interface(address) → nil or [code, message] */
static mrb_value
dgram_multicast_interface(mrb_state *mrb, mrb_value self)
{
    const char *iface;
    mrb_get_args(mrb, "z", &iface);
    struct dgram *d = get_dgram(mrb, self);
    int err = uv_udp_set_multicast_interface(udp_of(d), iface);
    return err ? err_pair(mrb, err) : mrb_nil_value();
}

/* Socket#__buffer_size(recv, size) → the size (size 0: read it; Linux reports twice what was
 * set, its bookkeeping included) or [code, message] */
static mrb_value
dgram_buffer_size(mrb_state *mrb, mrb_value self)
{
    mrb_bool recv;
    mrb_int size;
    mrb_get_args(mrb, "bi", &recv, &size);
    struct dgram *d = get_dgram(mrb, self);
    if (size < 0 || size > INT32_MAX)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "buffer size must be 1 to %d, not %i", INT32_MAX, size);
    int v = (int)size;
    int err = recv ? uv_recv_buffer_size(&d->base.u.handle, &v)
                   : uv_send_buffer_size(&d->base.u.handle, &v);
    if (err)
        return err_pair(mrb, err);
    if (size == 0)
        return mrb_fixnum_value(v);
    return mrb_fixnum_value(size);
}

static void
dgram_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    sym.on_message = mrb_intern_lit(mrb, "__on_message");
    sym.on_error = mrb_intern_lit(mrb, "__on_error");
    sym.on_sent = mrb_intern_lit(mrb, "__on_sent");
    sym.on_close = mrb_intern_lit(mrb, "__on_close");
    sym.address = mrb_intern_lit(mrb, "address");
    sym.family = mrb_intern_lit(mrb, "family");
    sym.port = mrb_intern_lit(mrb, "port");
    sym.size = mrb_intern_lit(mrb, "size");
    sym.truncated = mrb_intern_lit(mrb, "truncated");
    family_names[0] = mrb_str_new_lit(mrb, "IPv4");
    family_names[1] = mrb_str_new_lit(mrb, "IPv6");
    for (int i = 0; i < 2; i++) {
        mrb_obj_freeze(mrb, family_names[i]);
        mrb_gc_register(mrb, family_names[i]);
    }

    struct RClass *mod = mrb_define_module(mrb, "Dgram");
    struct RClass *c = mrb_define_class_under(mrb, mod, "Socket", mrb->object_class);
    MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
    mrb_define_method(mrb, c, "__open", dgram_open, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, c, "__bind", dgram_bind, MRB_ARGS_REQ(4));
    mrb_define_method(mrb, c, "__connect", dgram_connect, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, c, "__disconnect", dgram_disconnect, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "__send", dgram_send, MRB_ARGS_REQ(3));
    mrb_define_method(mrb, c, "__close", dgram_close, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "__open?", dgram_open_p, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "__address", dgram_address, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "__remote_address", dgram_remote_address, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "__set", dgram_set, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, c, "__get", dgram_get, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, c, "__membership", dgram_membership, MRB_ARGS_REQ(3));
    mrb_define_method(mrb, c, "__multicast_interface", dgram_multicast_interface, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, c, "__buffer_size", dgram_buffer_size, MRB_ARGS_REQ(2));
    mrb_define_method(mrb, c, "__ref", dgram_ref, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "__unref", dgram_unref, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "__has_ref?", dgram_has_ref, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "get_send_queue_size", dgram_send_queue_size, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "get_send_queue_count", dgram_send_queue_count, MRB_ARGS_NONE());
}

/* After the loop is closed: the receive buffer of this thread's runtime. */
static void
dgram_free(struct rt *rt)
{
    (void)rt;
    free(recv_buf);
    recv_buf = NULL;
}

const struct rt_module rt_module_dgram = {.name = "dgram", .init = dgram_init, .free = dgram_free};
