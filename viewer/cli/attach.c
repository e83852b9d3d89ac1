/*
 * attach.c — connecting to a live profile (attach.h): Unix or loopback TCP socket, then the
 * hello of formats/live.h. The stream that follows is decoded by the caller.
 */
#include "viewer/cli/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "formats/live.h"

static int
connect_unix(const char *path, struct mp_err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        mp_errf(e, -ENAMETOOLONG, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int en = errno;
        mp_errf(e, -en, "cannot connect to unix:%s: %s", path, strerror(en));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int
connect_tcp(const char *spec, struct mp_err *e)
{
    char host[64];
    long port;
    if (live_parse_tcp(spec, host, sizeof host, &port, e) != 0)
        return -1;
    if (port == 0) {
        mp_errf(e, -EINVAL, "tcp:%s: port 0 is what mrun was asked for; give the port it printed",
                spec);
        return -1;
    }
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        len = sizeof *a;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            len = 0;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        len = sizeof *a;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            len = 0;
    }
    if (!len) {
        mp_errf(e, -EINVAL, "'%s' is not an IP address (the live profile is on loopback)", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) != 0) {
        int en = errno;
        mp_errf(e, -en, "cannot connect to tcp:%s: %s", spec, strerror(en));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int
attach_open(const char *addr, const char *token, struct mp_err *e)
{
    int fd;
    if (strncmp(addr, "unix:", 5) == 0)
        fd = connect_unix(addr + 5, e);
    else if (strncmp(addr, "tcp:", 4) == 0)
        fd = connect_tcp(addr + 4, e);
    else {
        mp_errf(e, -EINVAL, "'%s' is not a live address (unix:PATH or tcp:HOST:PORT)", addr);
        return -1;
    }
    if (fd < 0)
        return -1;
    struct live_buf b = {0};
    /* send with MSG_NOSIGNAL: an agent that closed at once is an error here, not a SIGPIPE. */
    if (live_encode_hello(&b, token) != 0 ||
        send(fd, b.data, b.len, MSG_NOSIGNAL) != (ssize_t)b.len) {
        int en = errno;
        mp_errf(e, -en, "cannot send the hello to %s: %s", addr, strerror(en));
        live_buf_free(&b);
        close(fd);
        return -1;
    }
    live_buf_free(&b);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}
