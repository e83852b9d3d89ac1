/*
 * live.h — the live profile stream between `mrun --prof-live` and `mrprof top` (docs/live.md).
 *
 * A stream of framed messages: a 4-byte little-endian length L (1 <= L <= LIVE_MAX_MESSAGE),
 * then L bytes: a type byte and its payload. The viewer opens with a hello (version and, for
 * TCP, the token); the runtime answers with a welcome (mode, rate, start time), then sends what
 * its profile gained since the last message to that viewer: new strings, frames, trie nodes,
 * threads and samples, frame names found since (the sampler names frames later than it records
 * them), and counters. Tables are only appended to, so each message says where its records
 * start and the viewer checks that against what it has. At the end of the program: a reset, the
 * whole final profile (the one written to the file, sorted), and an end message with the exit
 * status.
 *
 * Both sides are here, over the profile model: the encoder that profiler/live.c runs for each
 * viewer and the decoder that `mrprof top` feeds with what it reads. The decoder validates
 * everything (lengths, ids in range, the order of tables) and reports the first violation
 * instead of applying it.
 */
#ifndef MRPROF_LIVE_H
#define MRPROF_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiler/base/err.h"
#include "profiler/model/profile.h"

#define LIVE_VERSION 1
#define LIVE_MAGIC "MRPROF-LIVE"
#define LIVE_MAX_MESSAGE (64u << 20)
#define LIVE_MAX_HELLO 128u
#define LIVE_TOKEN_LEN 32 /* hex characters */

enum live_type {
    LIVE_HELLO = 'H',    /* viewer -> runtime: magic, u16 version, token */
    LIVE_WELCOME = 'W',  /* u16 version, u8 mode, u8 0, u32 hz, u64 start_ns, u64 wall_start_ns,
                            u32 pid, tool name */
    LIVE_STRINGS = 'S',  /* u32 first id, then (u32 length, bytes)... */
    LIVE_FRAMES = 'F',   /* u32 first id, then (u32 name, u32 file, i32 line, u8 kind)... */
    LIVE_RENAMES = 'R',  /* (u32 frame, u32 name, u32 file, i32 line, u8 kind)... */
    LIVE_NODES = 'N',    /* u32 first id, then (u32 parent, u32 frame)... */
    LIVE_THREADS = 'T',  /* u32 first id, then (i64 tid, u32 name)... */
    LIVE_SAMPLES = 'X',  /* (u32 thread, u32 node, i32 line, u64 t_ns, u64 weight_ns)... */
    LIVE_COUNTERS = 'C', /* u64 signals, dropped, truncated, now_ns, held_back */
    LIVE_METRICS = 'M',  /* (u32 name, u64 t_ns, f64 value)...: the profile's counters (RSS, ...) */
    LIVE_ALLOCS = 'A',   /* (u32 thread, u32 node, u64 t_ns, u64 size, f64 bytes, f64 count,
                            u64 freed_ns)...: allocation samples, as they were when sent */
    LIVE_RESET = 'Z',    /* forget everything: a whole profile follows */
    LIVE_END = 'E',      /* i32 exit status (-1: unknown); nothing follows */
};

struct live_buf {
    uint8_t *data;
    size_t len, cap;
};
void live_buf_free(struct live_buf *b);

/* What one viewer has been sent. */
struct live_cursor {
    uint32_t strings, frames, nodes, threads;
    size_t samples, counters, allocs;
    uint32_t *unnamed; /* frames sent before the sampler named them */
    size_t nunnamed, capunnamed;
};
/* A cursor at the contents every fresh profile starts with (profile_new()). */
void live_cursor_init(struct live_cursor *c);
void live_cursor_free(struct live_cursor *c);

/* Encoders append one or more messages to b; they return 0 or -ENOMEM. */
int live_encode_hello(struct live_buf *b, const char *token);
int live_encode_welcome(struct live_buf *b, const struct profile *p, uint32_t pid);
/* Everything p holds that c has not been sent (at most max_samples samples: the rest waits
 * for the next call), then the counters; advances c. held_back: ticks this viewer was skipped
 * because it did not keep up. */
int live_encode_delta(struct live_buf *b, const struct profile *p, struct live_cursor *c,
                      size_t max_samples, uint64_t held_back);
int live_encode_reset(struct live_buf *b);
int live_encode_end(struct live_buf *b, int exit_status);

/* The runtime's check of a viewer's hello in buf[0..len): 1 when it is a good one (*used bytes),
 * 0 when more bytes are needed, -1 when it is not (why filled: -EPROTO and what was wrong). */
int live_check_hello(const uint8_t *buf, size_t len, const char *token, size_t *used,
                     struct mp_err *why);

/* Parses the part after "tcp:" — PORT, HOST:PORT or [V6]:PORT — into host (127.0.0.1 when
 * absent; "localhost" becomes 127.0.0.1) and port. Returns 0, or -1 with e filled (-EINVAL).
 * Loopback checks are the caller's. */
int live_parse_tcp(const char *spec, char *host, size_t hostlen, long *port, struct mp_err *e);

struct live_decoder {
    struct profile *p; /* owned; replaced on a reset */
    bool welcomed, ended;
    int exit_status;
    uint32_t pid;
    uint64_t held_back; /* from the last counters */
    uint32_t resets;    /* resets so far (p was replaced), and renames messages applied: a */
    uint32_t renames;   /* reader that copies from p sees by these what it must read again */
    uint8_t *pend;      /* bytes of an incomplete message */
    size_t npend, cappend;
    struct mp_err err; /* the protocol error (-EPROTO) or -ENOMEM; code 0 while none */
};
void live_decoder_init(struct live_decoder *d);
void live_decoder_free(struct live_decoder *d);
/* Feeds bytes as they came. Returns 1 when the profile changed, 0 when not, -1 on a protocol
 * error (d->err.msg says which; the profile keeps what was valid before it). */
int live_decode(struct live_decoder *d, const uint8_t *data, size_t len);

#endif
