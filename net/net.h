/*
 * net.h — what net/net.c offers the other runtime modules: Net::Socket's stream code for
 * streams that do not come from connect or accept (a child process's stdio, runtime/child.c),
 * so that those are Net::Sockets with the same events, backpressure and lifetime, as Node's
 * child.stdout is a net.Socket.
 */
#ifndef MRPROF_NET_H
#define MRPROF_NET_H

#include <stdbool.h>
#include <mruby.h>
#include <uv.h>

/* Gives sock (a new Net::Socket) a fresh uv_pipe_t on the runtime's loop and returns it, for
 * the caller to open (uv_spawn's UV_CREATE_PIPE). The socket roots itself until the handle is
 * closed, as any open socket; the Ruby half then calls Socket#__attach_stdio. Raises when sock
 * is not a Net::Socket or is already open. */
uv_stream_t *net_socket_pipe(mrb_state *mrb, mrb_value sock);

/* Parses a literal IPv4 or IPv6 address with a port into ss; false when host is not one
 * (Dgram's sends and binds, net/dgram.c). */
bool net_parse_ip(const char *host, int port, struct sockaddr_storage *ss);

#endif
