/*
 * churn.c — hostile clients for the soak (tests/bench/soak.sh) and tests/e2e/test_robust.sh:
 * connections that end badly, one after another, against a server on 127.0.0.1 or a Unix socket.
 *
 *   churn MODE TARGET COUNT [BYTES] [HOLD_S]
 *     TARGET    a port on 127.0.0.1, or a path (containing '/') of a Unix socket
 *     reset     send a request, then close with SO_LINGER 0: the server sees a reset
 *     halfclose send a request, shut down our side, close without reading the answer
 *     sendclose send BYTES (default 65536) and close without reading (the server's echo then
 *               writes to a closed socket: EPIPE, SIGPIPE if not ignored)
 *     mixed     reset and halfclose in turn
 *     junk      send BYTES (default 512) of pseudo-random bytes, then close
 *     flood     one connection (COUNT is ignored): pipeline HTTP requests, BYTES in all or until
 *               the server has taken nothing for 1 s, never read the answers; print
 *               "flooded N bytes" and hold the connection HOLD_S seconds (default 5)
 * At most 120 s of churning: it stops there and says how far it got. Prints one line:
 *   churn MODE: N connections in S s (F refused or failed)
 * Exit 0 when every connection was made, 1 otherwise (2 on bad arguments).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#define MAX_SECONDS 120

static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

static double
now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
dial(const char *target)
{
    int fd;
    if (strchr(target, '/')) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(target) >= sizeof sa.sun_path)
            return -1;
        strcpy(sa.sun_path, target);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(target))};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Sends all of buf (the socket is blocking); false when the peer is gone. */
static int
send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        buf += n;
        len -= (size_t)n;
    }
    return 1;
}

static void
abort_close(int fd)
{
    struct linger l = {1, 0}; /* close sends RST (TCP); on a Unix socket it is a plain close */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* One connection of the given mode; 0 when it could not be made. */
static int
churn_one(const char *mode, const char *target, const char *payload, size_t bytes, unsigned i)
{
    int fd = dial(target);
    if (fd < 0)
        return 0;
    if (strcmp(mode, "reset") == 0 || (strcmp(mode, "mixed") == 0 && i % 2 == 0)) {
        send_all(fd, request, sizeof request - 1);
        abort_close(fd);
    } else if (strcmp(mode, "halfclose") == 0 || strcmp(mode, "mixed") == 0) {
        send_all(fd, request, sizeof request - 1);
        shutdown(fd, SHUT_WR);
        close(fd);
    } else { /* sendclose, junk */
        send_all(fd, payload, bytes);
        close(fd);
    }
    return 1;
}

/* Pipelines requests without reading until bytes are sent or the server stops taking them. */
static int
flood(const char *target, size_t bytes, double hold)
{
    int fd = dial(target);
    if (fd < 0) {
        fprintf(stderr, "churn: cannot connect to %s: %s\n", target, strerror(errno));
        return 1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static char chunk[64 * 1024];
    size_t per = sizeof request - 1, fill = sizeof chunk / per * per;
    for (size_t at = 0; at < fill; at += per)
        memcpy(chunk + at, request, per);
    size_t sent = 0;
    double last = now();
    while (sent < bytes && now() - last < 1.0) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 100);
        size_t off = sent % per, len = fill - off; /* chunk repeats the request: any offset */
        if (len > bytes - sent)
            len = bytes - sent;
        ssize_t n = send(fd, chunk + off, len, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            last = now();
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            fprintf(stderr, "churn: flood: %s after %zu bytes\n", strerror(errno), sent);
            break;
        }
    }
    printf("flooded %zu bytes\n", sent);
    fflush(stdout);
    struct timespec t = {(time_t)hold, (long)((hold - (double)(time_t)hold) * 1e9)};
    nanosleep(&t, NULL);
    abort_close(fd);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: churn reset|halfclose|sendclose|mixed|junk|flood TARGET COUNT "
                        "[BYTES] [HOLD_S]\n");
        return 2;
    }
    const char *mode = argv[1], *target = argv[2];
    unsigned long count = strtoul(argv[3], NULL, 10);
    int junk = strcmp(mode, "junk") == 0;
    size_t bytes = argc > 4 ? strtoul(argv[4], NULL, 10) : junk ? 512 : 65536;
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(mode, "flood") == 0)
        return flood(target, argc > 4 ? bytes : (size_t)100 << 20,
                     argc > 5 ? atof(argv[5]) : 5.0);
    if (strcmp(mode, "reset") && strcmp(mode, "halfclose") && strcmp(mode, "sendclose") &&
        strcmp(mode, "mixed") && !junk) {
        fprintf(stderr, "churn: unknown mode '%s'\n", mode);
        return 2;
    }
    char *payload = malloc(bytes ? bytes : 1);
    if (!payload)
        return 2;
    uint32_t x = 2463534242u; /* xorshift: the same junk every run */
    for (size_t i = 0; i < bytes; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        payload[i] = junk ? (char)x : 'x';
    }
    double t0 = now();
    unsigned long done = 0, failed = 0;
    for (unsigned long i = 0; i < count && now() - t0 < MAX_SECONDS; i++) {
        if (churn_one(mode, target, payload, bytes, (unsigned)i))
            done++;
        else
            failed++;
    }
    printf("churn %s: %lu connections in %.2f s (%lu refused or failed)\n", mode, done,
           now() - t0, failed);
    free(payload);
    return done == count ? 0 : 1;
}
