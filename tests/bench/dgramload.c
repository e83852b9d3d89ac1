/*
 * dgramload.c — the UDP load generator of tests/bench/dgram.sh: SOCKETS connected sockets on
 * 127.0.0.1 each keep WINDOW datagrams of SIZE bytes in flight against an echo server for
 * SECONDS, answering every echo with a new datagram; prints
 *   "N messages in S s: R msgs/s (lost L)"
 * A poll that waits 200 ms with nothing back counts the windows as lost and sends them again, so
 * a dropped datagram slows the run down but never stops it (on a busy machine a server can stall
 * for tens of milliseconds without losing anything: a shorter wait counted those as losses).
 *
 *   cc -O2 -o dgramload tests/bench/dgramload.c && ./dgramload PORT SIZE WINDOW SECONDS [SOCKETS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: dgramload PORT SIZE WINDOW SECONDS [SOCKETS]\n");
        return 2;
    }
    int port = atoi(argv[1]), size = atoi(argv[2]), window = atoi(argv[3]);
    double seconds = atof(argv[4]);
    int n = argc > 5 ? atoi(argv[5]) : 4;
    if (n < 1 || n > MAX_SOCKETS || size < 0 || size > 65507 || window < 1) {
        fprintf(stderr, "dgramload: bad arguments\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct pollfd pfd[MAX_SOCKETS];
    char *out = calloc(1, (size_t)size + 1), *in = malloc(65536);
    if (!out || !in)
        return 1;
    memset(out, 'x', (size_t)size);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
            perror("dgramload: socket");
            return 1;
        }
        pfd[i] = (struct pollfd){.fd = fd, .events = POLLIN};
        for (int k = 0; k < window; k++)
            send(fd, out, (size_t)size, 0);
    }
    long count = 0, lost = 0;
    double t0 = now(), end = t0 + seconds;
    while (now() < end) {
        int r = poll(pfd, (nfds_t)n, 200);
        if (r < 0 && errno != EINTR)
            break;
        if (r == 0) { /* nothing came back: the windows were dropped, send them again */
            for (int i = 0; i < n; i++)
                for (int k = 0; k < window; k++)
                    send(pfd[i].fd, out, (size_t)size, 0);
            lost += (long)n * window;
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            for (int k = 0; k < 64; k++) {
                ssize_t got = recv(pfd[i].fd, in, 65536, 0);
                if (got < 0)
                    break;
                count++;
                send(pfd[i].fd, out, (size_t)size, 0);
            }
        }
    }
    double dt = now() - t0;
    printf("%ld messages in %.2f s: %.0f msgs/s (lost %ld)\n", count, dt, count / dt, lost);
    return 0;
}
