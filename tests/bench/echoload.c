/*
 * echoload.c — the echo benchmark's load generator: C connections to 127.0.0.1:PORT, each sends
 * a SIZE-byte message, waits until all of it has come back, and sends the next, for SECONDS.
 * The same generator drives mrun's and Node's echo servers.
 *
 *   echoload PORT SIZE CONNECTIONS SECONDS
 * Prints "msgs N bytes N seconds S MB/s X msgs/s Y" (bytes counted once, as echoed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct conn {
    uv_tcp_t tcp;
    size_t got; /* bytes of the current message echoed so far */
};

static uv_loop_t *loop;
static char *msg;
static size_t size;
static unsigned long long msgs, bytes;
static int stopping, failures;
static char rbuf[256 * 1024];

static void send_msg(struct conn *c);

static void
on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void)h, (void)s;
    b->base = rbuf;
    b->len = sizeof rbuf;
}

static void
on_write(uv_write_t *w, int status)
{
    if (status < 0 && !stopping) {
        fprintf(stderr, "echoload: write: %s\n", uv_strerror(status));
        failures++;
    }
    free(w);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    struct conn *c = (struct conn *)s;
    if (n < 0) {
        if (!stopping) {
            fprintf(stderr, "echoload: read: %s\n", uv_strerror((int)n));
            failures++;
        }
        uv_close((uv_handle_t *)s, NULL);
        return;
    }
    c->got += (size_t)n;
    bytes += (unsigned long long)n;
    while (c->got >= size) {
        c->got -= size;
        msgs++;
        if (!stopping)
            send_msg(c);
    }
}

static void
send_msg(struct conn *c)
{
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init(msg, (unsigned)size);
    uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
}

static void
on_connect(uv_connect_t *r, int status)
{
    struct conn *c = r->data;
    free(r);
    if (status < 0) {
        fprintf(stderr, "echoload: connect: %s\n", uv_strerror(status));
        failures++;
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    send_msg(c);
}

static void
close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void
on_timer(uv_timer_t *t)
{
    (void)t;
    stopping = 1;
    uv_walk(loop, close_all, NULL);
}

int
main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: echoload PORT SIZE CONNECTIONS SECONDS\n");
        return 2;
    }
    int port = atoi(argv[1]), nconn = atoi(argv[3]);
    size = (size_t)atol(argv[2]);
    double secs = atof(argv[4]);
    msg = malloc(size);
    for (size_t i = 0; i < size; i++)
        msg[i] = (char)('a' + i % 26);
    loop = uv_default_loop();
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    struct conn *conns = calloc((size_t)nconn, sizeof *conns);
    for (int i = 0; i < nconn; i++) {
        uv_tcp_init(loop, &conns[i].tcp);
        uv_tcp_nodelay(&conns[i].tcp, 1);
        uv_connect_t *r = malloc(sizeof *r);
        r->data = &conns[i];
        uv_tcp_connect(r, &conns[i].tcp, (struct sockaddr *)&addr, on_connect);
    }
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, on_timer, (uint64_t)(secs * 1000), 0);
    uint64_t t0 = uv_hrtime();
    uv_run(loop, UV_RUN_DEFAULT);
    double el = (double)(uv_hrtime() - t0) / 1e9;
    printf("msgs %llu bytes %llu seconds %.2f MB/s %.1f msgs/s %.0f\n", msgs, bytes, el,
           (double)bytes / el / 1e6, (double)msgs / el);
    free(conns);
    free(msg);
    return failures ? 1 : 0;
}
