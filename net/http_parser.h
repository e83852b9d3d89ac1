/*
 * http_parser.h — an incremental HTTP/1.x message parser (requests for the server, responses for
 * the client), in plain C: no mruby, no libuv, so the unit tests and the fuzz target drive it
 * alone (tests/unit/test_http_parser.c, tests/fuzz/fuzz_http.c).
 *
 * Bytes are fed in any split (one byte at a time gives the same events as one call). The head
 * (start line, header lines, the blank line) is gathered in the parser's own buffer, bounded by
 * the limits, and delivered once whole; body bytes are delivered as spans of the caller's input,
 * never copied. Chunked bodies are decoded; trailers are read and dropped (bounded like a head).
 *
 *     struct hp_parser p;
 *     hp_init(&p, HP_REQUEST, NULL);           // NULL: the default limits
 *     size_t used = hp_feed(&p, buf, n, &callbacks, ud);
 *     if (p.error) ... p.error names the fault, hp_status(&p) the status to answer with
 *     hp_free(&p);
 *
 * hp_feed consumes bytes until they are all used, an error, or a callback asked to pause
 * (HP_PAUSE); it returns how many were consumed. After an error every hp_feed returns 0 and does
 * nothing. After a pause, the caller feeds the rest (from the returned offset) when it is ready.
 *
 * What is refused, and the status a server answers (RFC 9112 and what Node's llhttp does):
 *   - a request line longer than limits.max_line: 414;
 *   - a head (start line + headers) longer than limits.max_head or with more than
 *     limits.max_headers header lines: 431;
 *   - a body (Content-Length, or chunked data so far) over limits.max_body: 413
 *     (0 = no limit);
 *   - an HTTP version other than 1.0 and 1.1: 505;
 *   - everything else malformed: 400 — a method or header name that is not a token, white space
 *     before a header's colon, obs-fold (a line starting with white space), a control character
 *     in a value (other than HTAB), a bare CR, Content-Length that is not digits or differs
 *     between two headers, Content-Length together with Transfer-Encoding, a request whose
 *     Transfer-Encoding does not end in "chunked", a chunk size that is not hex or overflows,
 *     a missing CRLF after chunk data.
 * Line ends are CRLF; a bare LF is accepted as one (RFC 9112 2.2 allows it).
 */
#ifndef MRPROF_NET_HTTP_PARSER_H
#define MRPROF_NET_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

enum hp_kind { HP_REQUEST, HP_RESPONSE };

/* What went wrong: 0 is none. hp_error_code() gives a stable name ("HPE_INVALID_HEADER", ...)
 * for scripts (HTTP::Error#code), hp_error_message() a sentence, hp_status() the status. */
enum hp_error {
    HP_OK = 0,
    HP_E_INVALID_METHOD,      /* 400 */
    HP_E_INVALID_URL,         /* 400: empty target, or a control character / space in it */
    HP_E_INVALID_VERSION,     /* 400 when malformed ("HTTX/1.1"); */
    HP_E_UNSUPPORTED_VERSION, /* 505: well-formed but not 1.0 or 1.1 */
    HP_E_INVALID_STATUS,      /* responses: not three digits */
    HP_E_INVALID_HEADER,      /* 400: name not a token, space before colon, obs-fold, CTL */
    HP_E_INVALID_CONTENT_LENGTH,
    HP_E_UNEXPECTED_CONTENT_LENGTH, /* Content-Length with Transfer-Encoding */
    HP_E_INVALID_TRANSFER_ENCODING,
    HP_E_INVALID_CHUNK_SIZE,
    HP_E_INVALID_EOF_STATE, /* hp_finish in the middle of a message */
    HP_E_LF_EXPECTED,       /* a bare CR, or chunk data not followed by CRLF */
    HP_E_URI_TOO_LONG,      /* 414 */
    HP_E_HEADER_OVERFLOW,   /* 431 */
    HP_E_BODY_TOO_LARGE,    /* 413 */
    HP_E_CALLBACK,          /* a callback returned a negative value */
    HP_E_NOMEM,
};

struct hp_limits {
    size_t max_line;    /* request line, bytes without its CRLF; default 8192 */
    size_t max_head;    /* start line + headers, bytes with line ends; default 16384 */
    size_t max_headers; /* header lines; default 256 */
    uint64_t max_body;  /* body bytes; default 0 = no limit */
};

struct hp_header {
    const char *name; /* as sent (not lower-cased: hp_lower() helps) */
    size_t name_len;
    const char *value; /* leading and trailing white space removed */
    size_t value_len;
};

/* One message's head, valid only during the on_head call (it points into the parser's buffer). */
struct hp_head {
    const char *method; /* requests */
    size_t method_len;
    const char *target; /* requests: the request target as sent ("/a/b?q=1") */
    size_t target_len;
    int status; /* responses */
    const char *reason;
    size_t reason_len;
    int version_major, version_minor; /* 1.0 or 1.1 */
    const struct hp_header *headers;
    size_t nheaders;
    int64_t content_length;       /* -1 when absent */
    unsigned chunked : 1;         /* Transfer-Encoding ends in chunked */
    unsigned keep_alive : 1;      /* 1.1 without "Connection: close", 1.0 with "keep-alive" */
    unsigned upgrade : 1;         /* "Connection: upgrade" with an Upgrade header, or CONNECT */
    unsigned expect_continue : 1; /* "Expect: 100-continue" */
};

/* Callbacks return 0 to go on, HP_PAUSE to stop hp_feed after this event (the event's bytes
 * are consumed), or a negative value to fail with HP_E_CALLBACK. on_head may also return
 * HP_SKIP_BODY: the message has no body whatever its headers say (a response to HEAD, a 1xx,
 * 204 or 304 — the parser already knows 1xx/204/304 itself); it is ignored for a request. */
#define HP_PAUSE 1
#define HP_SKIP_BODY 2

struct hp_callbacks {
    int (*on_head)(void *ud, const struct hp_head *head);
    int (*on_body)(void *ud, const char *data, size_t len);
    int (*on_message_end)(void *ud);
};

struct hp_parser {
    enum hp_kind kind;
    enum hp_error error;
    struct hp_limits limits;
    /* the rest is private */
    int state;
    char *buf; /* the head being gathered */
    size_t len, cap;
    size_t line_start;
    struct hp_header *hdrs;
    size_t nhdrs, hdrs_cap;
    uint64_t body_left; /* Content-Length or chunk bytes still to come */
    uint64_t body_seen;
    unsigned flags;
    const char *err_detail; /* static text, or NULL */
};

void hp_init(struct hp_parser *p, enum hp_kind kind, const struct hp_limits *limits);
void hp_free(struct hp_parser *p);
/* Back to the start of a message (after an upgrade, or to reuse a parser); keeps the limits. */
void hp_reset(struct hp_parser *p);
size_t hp_feed(struct hp_parser *p, const char *data, size_t len, const struct hp_callbacks *cb,
               void *ud);
/* The peer closed. Ends a response read until close (on_message_end); fails with
 * HP_E_INVALID_EOF_STATE in the middle of any other message; nothing between messages.
 * Returns 0 or -1 (p->error set). */
int hp_finish(struct hp_parser *p, const struct hp_callbacks *cb, void *ud);
/* True between messages (nothing of a next message read yet). */
int hp_idle(const struct hp_parser *p);
/* True once parsing stopped for an upgrade: after a request head with upgrade set, or after the
 * end of a 101 response with upgrade set; the bytes after the returned offset are not HTTP. */
int hp_upgraded(const struct hp_parser *p);

int hp_status(const struct hp_parser *p); /* 400, 413, 414, 431, 505; 0 when no error */
const char *hp_error_code(enum hp_error e);
const char *hp_error_message(const struct hp_parser *p);
/* Case-insensitive comparison of a header name with a lower-case literal. */
int hp_name_is(const struct hp_header *h, const char *lower);

#endif
