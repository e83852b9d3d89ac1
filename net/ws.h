/*
 * ws.h — the server side of RFC 6455 WebSocket framing, in plain C: no mruby, no libuv, so the
 * unit tests and the fuzz target drive it alone (tests/unit/test_ws.c, tests/fuzz/fuzz_ws.c).
 * mrun's inspector (runtime/inspector.c) reads its clients' frames with it.
 *
 *     struct ws_parser p;
 *     ws_init(&p, 0);                              // 0: the default message limit
 *     size_t used = ws_feed(&p, buf, n, &callbacks, ud);
 *     if (p.close_code) ... send a close frame with p.close_code (p.error says why), then close
 *     ws_free(&p);
 *
 * Bytes are fed in any split (one byte at a time gives the same events as one call). A message
 * is delivered once whole (its fragments unmasked into the parser's buffer); control frames
 * (ping, pong, close) are delivered as they come, also between the fragments of a message.
 *
 * What is refused, with the close code a server sends (RFC 6455 7.4.1):
 *   - 1002 (protocol error): a frame from the client that is not masked (5.1), RSV bits set
 *     (no extension is negotiated), an unknown opcode, a control frame that is fragmented or
 *     carries more than 125 bytes, a continuation with no message begun, a new text or binary
 *     frame in the middle of a fragmented message, a 64-bit length with the top bit set, a close
 *     frame with a one-byte payload or a code that may not be sent (1004-1006, 1015, < 1000,
 *     1016-2999, >= 5000);
 *   - 1007 (invalid data): a text message, or a close reason, that is not UTF-8;
 *   - 1009 (too big): a message (all its fragments) over the limit. It is refused as soon as a
 *     frame header announces it, before any of its payload is buffered: a client that announces
 *     1 GB is cut off after its header, not after 1 GB.
 * After an error, or after a close frame, ws_feed consumes nothing more.
 */
#ifndef MRPROF_NET_WS_H
#define MRPROF_NET_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 7.4.1) this code sends. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

#define WS_DEFAULT_MAX_MESSAGE (16u << 20) /* 16 MiB: a CDP command is far smaller */

/* Callbacks return 0 to go on or a negative value to stop ws_feed (it then returns the bytes
 * consumed, the event's frame included). A NULL callback ignores its event. */
struct ws_callbacks {
    /* A whole text (UTF-8 checked) or binary message; data is the parser's buffer, valid during
     * the call, with a NUL after the last byte. */
    int (*on_message)(void *ud, enum ws_opcode op, const char *data, size_t len);
    int (*on_ping)(void *ud, const char *data, size_t len);
    int (*on_pong)(void *ud, const char *data, size_t len);
    /* The peer's close frame: code 1005 when it carried none (RFC 6455 7.1.5). */
    int (*on_close)(void *ud, int code, const char *reason, size_t len);
};

struct ws_parser {
    int close_code;    /* after a refusal: the code to close with (1002, 1007, 1009); else 0 */
    const char *error; /* after a refusal: why, a static sentence; else NULL */
    bool closed;       /* the peer's close frame was read */
    /* the rest is private */
    size_t max_message;
    int state;
    uint8_t head[14]; /* the frame header being gathered */
    size_t nhead, head_need;
    uint8_t opcode; /* of the current frame */
    bool fin;
    uint8_t mask[4];
    uint64_t left;     /* payload bytes of the current frame still to come */
    uint64_t frame_at; /* payload bytes of the current frame already read (the mask's phase) */
    uint8_t msg_op;    /* the fragmented message's opcode, 0 when none is open */
    char *buf;         /* the message being gathered (unmasked) */
    size_t len, cap;
    char ctl[126]; /* a control frame's payload */
    size_t nctl;
};

void ws_init(struct ws_parser *p, size_t max_message);
void ws_free(struct ws_parser *p);
size_t ws_feed(struct ws_parser *p, const char *data, size_t len, const struct ws_callbacks *cb,
               void *ud);

/* A server frame's header (unmasked, FIN set) for a payload of len bytes into out; returns its
 * length (2, 4 or 10). */
size_t ws_frame_header(uint8_t out[10], enum ws_opcode op, uint64_t len);
/* A close frame's payload (code, then reason cut to fit 123 bytes) into out; returns its length. */
size_t ws_close_payload(char out[125], int code, const char *reason);

/* Sec-WebSocket-Accept for the client's Sec-WebSocket-Key (RFC 6455 4.2.2): base64 of the SHA-1
 * of the key and the protocol's GUID, NUL-terminated (28 characters). */
void ws_accept_key(const char *key, size_t len, char out[29]);
/* SHA-1 (FIPS 180-4) of data, for the handshake only. */
void ws_sha1(const void *data, size_t len, uint8_t out[20]);
/* Whether s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF). */
bool ws_utf8_valid(const char *s, size_t len);

#endif
