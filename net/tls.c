/*
 * tls.c — the C half of TLS: OpenSSL over memory BIOs, driven from Ruby (runtime/prelude/tls.rb).
 *
 * No thread and no socket here: TLS::Socket (a Net::Socket) reads ciphertext from its TCP
 * stream as usual and hands it to its engine; the engine answers with the plaintext that came
 * out and the ciphertext to send back. The crypto therefore runs inside C methods called from
 * Ruby, so a profile names the work (TLS::Engine#feed, TLS::Engine#write) instead of showing it
 * as an anonymous callback.
 *
 *   TLS::Context.new(opts)        an SSL_CTX. opts (Symbol keys): server (bool), cert, key, ca
 *                                 (PEM paths; a client's ca nil = the system's store), verify
 *                                 (client: refuse a bad peer certificate in the handshake),
 *                                 request_cert, reject_unauthorized (server), min_version,
 *                                 max_version ("TLSv1.2", "TLSv1.3"), alpn_protocols (Array of
 *                                 Strings), session_timeout (seconds, server)
 *   ctx.__add_sni(name, ctx2)     server: a ClientHello naming name (or matching "*.domain")
 *                                 switches the connection to ctx2
 *   TLS::Engine.new(ctx, servername, check_name, session)
 *                                 one connection (an SSL with a read and a write memory BIO).
 *                                 Client: servername is sent as SNI (nil: none), check_name is
 *                                 the host name or IP address the certificate must match (nil:
 *                                 none), session a String from #session to resume
 *   engine.feed(cipher_or_nil) -> [plain_or_nil, out_cipher_or_nil, flags, error_or_nil]
 *                                 drives the handshake, then decrypts. flags: SECURE (the
 *                                 handshake completed in this call), PEER_CLOSED (a
 *                                 close_notify arrived), SESSION (a new session ticket
 *                                 arrived: read #session). error: [code, reason, syscall]
 *   engine.write(plain) -> cipher engine.close_notify -> cipher
 *   engine.protocol, cipher, alpn_protocol, servername, peer_certificate, session,
 *   session_reused?, verify_error (a code String or nil), secure?
 *
 * Errors: OpenSSL's error queue is per thread and global to every connection, so each method
 * clears it first and consumes what it left before returning: one connection's failure never
 * shows up as another's. Certificate failures are named as Node names them (X509 codes without
 * "X509_V_ERR_", a host mismatch as ERR_TLS_CERT_ALTNAME_INVALID), other failures
 * "ERR_SSL_" + OpenSSL's reason in upper case ("wrong version number" ->
 * ERR_SSL_WRONG_VERSION_NUMBER), the message being OpenSSL's text.
 *
 * Lifetime: both objects are Data objects freed by the GC (SSL_free / SSL_CTX_free). An engine
 * keeps its Context object in an instance variable, and a Context its SNI Contexts, because
 * OpenSSL's callbacks get the C struct of the context they were set on.
 */
#include <errno.h>
#include <stdio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "runtime/rt.h"

enum { FLAG_SECURE = 1, FLAG_PEER_CLOSED = 2, FLAG_SESSION = 4 };

struct sni_entry {
    char *name;
    SSL_CTX *ctx;
};

struct tls_ctx {
    SSL_CTX *ctx;
    bool server;
    unsigned char *alpn; /* the server's ALPN list, wire format (length-prefixed names) */
    size_t alpn_len;
    struct sni_entry *sni;
    size_t nsni;
};

struct tls_engine {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    bool server;
    bool secure;            /* the handshake completed */
    bool new_session;       /* a session arrived since the last feed */
    unsigned char *session; /* the last session, DER (i2d_SSL_SESSION) */
    size_t session_len;
};

static void
ctx_dfree(mrb_state *mrb, void *p)
{
    (void)mrb;
    struct tls_ctx *c = p;
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    free(c->alpn);
    for (size_t i = 0; i < c->nsni; i++) {
        free(c->sni[i].name);
        SSL_CTX_free(c->sni[i].ctx);
    }
    free(c->sni);
    free(c);
}

static void
engine_dfree(mrb_state *mrb, void *p)
{
    (void)mrb;
    struct tls_engine *e = p;
    if (!e)
        return;
    SSL_free(e->ssl);
    free(e->session);
    free(e);
}

static const struct mrb_data_type ctx_type = {"TLS::Context", ctx_dfree};
static const struct mrb_data_type engine_type = {"TLS::Engine", engine_dfree};

static __thread struct {
    mrb_sym server, cert, key, ca, verify, request_cert, reject_unauthorized, min_version,
        max_version, alpn_protocols, session_timeout, ctx_iv, sni_iv, name, standard_name, version;
} sym;

/* --- error names ------------------------------------------------------------------------------ */

/* Node's names for X509 verification results (its X509_ERROR_CODE list). */
#define X509_CODES(X)                                                                              \
    X(UNABLE_TO_GET_ISSUER_CERT)                                                                   \
    X(UNABLE_TO_GET_CRL)                                                                           \
    X(UNABLE_TO_DECRYPT_CERT_SIGNATURE)                                                            \
    X(UNABLE_TO_DECRYPT_CRL_SIGNATURE)                                                             \
    X(UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY)                                                          \
    X(CERT_SIGNATURE_FAILURE)                                                                      \
    X(CRL_SIGNATURE_FAILURE)                                                                       \
    X(CERT_NOT_YET_VALID)                                                                          \
    X(CERT_HAS_EXPIRED)                                                                            \
    X(CRL_NOT_YET_VALID)                                                                           \
    X(CRL_HAS_EXPIRED)                                                                             \
    X(ERROR_IN_CERT_NOT_BEFORE_FIELD)                                                              \
    X(ERROR_IN_CERT_NOT_AFTER_FIELD)                                                               \
    X(ERROR_IN_CRL_LAST_UPDATE_FIELD)                                                              \
    X(ERROR_IN_CRL_NEXT_UPDATE_FIELD)                                                              \
    X(OUT_OF_MEM)                                                                                  \
    X(DEPTH_ZERO_SELF_SIGNED_CERT)                                                                 \
    X(SELF_SIGNED_CERT_IN_CHAIN)                                                                   \
    X(UNABLE_TO_GET_ISSUER_CERT_LOCALLY)                                                           \
    X(UNABLE_TO_VERIFY_LEAF_SIGNATURE)                                                             \
    X(CERT_CHAIN_TOO_LONG)                                                                         \
    X(CERT_REVOKED)                                                                                \
    X(INVALID_CA)                                                                                  \
    X(PATH_LENGTH_EXCEEDED)                                                                        \
    X(INVALID_PURPOSE)                                                                             \
    X(CERT_UNTRUSTED)                                                                              \
    X(CERT_REJECTED)                                                                               \
    X(EE_KEY_TOO_SMALL)                                                                            \
    X(CA_KEY_TOO_SMALL)                                                                            \
    X(CA_MD_TOO_WEAK)

static const char *
x509_code(long v)
{
    switch (v) {
#define CASE(n)                                                                                    \
    case X509_V_ERR_##n:                                                                           \
        return #n;
        X509_CODES(CASE)
#undef CASE
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
        return "ERR_TLS_CERT_ALTNAME_INVALID";
    default:
        return "UNSPECIFIED";
    }
}

/* [code, reason, syscall] for an error of OpenSSL's queue (or SSL_get_error's kind). */
static mrb_value
ssl_error(mrb_state *mrb, struct tls_engine *e, int kind, const char *syscall)
{
    char code[160];
    const char *reason = NULL;
    unsigned long err = ERR_peek_error();
    long vr = SSL_get_verify_result(e->ssl);
    if (!e->secure && vr != X509_V_OK && ERR_GET_REASON(err) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        snprintf(code, sizeof code, "%s", x509_code(vr));
        reason = X509_verify_cert_error_string(vr);
    } else if (err) {
        reason = ERR_reason_error_string(err);
        if (!reason)
            reason = "unknown error";
        size_t n = (size_t)snprintf(code, sizeof code, "ERR_SSL_");
        for (const char *p = reason; *p && n + 1 < sizeof code; p++)
            code[n++] = (*p >= 'a' && *p <= 'z')                                 ? (char)(*p - 32)
                        : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p
                                                                                 : '_';
        code[n] = 0;
    } else {
        snprintf(code, sizeof code, "ERR_SSL_%s",
                 kind == SSL_ERROR_SYSCALL ? "SYSCALL" : "INTERNAL");
        reason = kind == SSL_ERROR_SYSCALL ? "unexpected end of data" : "internal error";
    }
    ERR_clear_error();
    mrb_value v[3] = {mrb_str_new_cstr(mrb, code), mrb_str_new_cstr(mrb, reason),
                      mrb_str_new_cstr(mrb, syscall)};
    return mrb_ary_new_from_values(mrb, 3, v);
}

/* Raises ArgumentError "what 'path': reason" from OpenSSL's queue. */
static mrb_noreturn void
raise_load(mrb_state *mrb, const char *what, const char *path)
{
    unsigned long err = ERR_peek_last_error();
    const char *reason = err ? ERR_reason_error_string(err) : NULL;
    ERR_clear_error();
    mrb_raisef(mrb, E_ARGUMENT_ERROR, "TLS %s '%s': %s", what, path,
               reason ? reason : "cannot be loaded");
}

/* --- contexts --------------------------------------------------------------------------------- */

static mrb_value
opt(mrb_state *mrb, mrb_value h, mrb_sym key)
{
    return mrb_hash_get(mrb, h, mrb_symbol_value(key));
}

static const char *
opt_path(mrb_state *mrb, mrb_value h, mrb_sym key)
{
    mrb_value v = opt(mrb, h, key);
    if (mrb_nil_p(v))
        return NULL;
    if (!mrb_string_p(v))
        mrb_raisef(mrb, E_TYPE_ERROR, "TLS option %n must be a PEM file path (String), not %T", key,
                   v);
    const char *path = mrb_string_value_cstr(mrb, &v);
    FILE *f = fopen(path, "r"); /* OpenSSL's own report of this is "system lib" */
    if (!f)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "TLS %n '%s': %s", key, path, strerror(errno));
    fclose(f);
    return path;
}

static int
version_of(mrb_state *mrb, mrb_value v, mrb_sym key, int dflt)
{
    if (mrb_nil_p(v))
        return dflt;
    const char *s = mrb_string_p(v) ? mrb_string_value_cstr(mrb, &v) : "";
    if (!strcmp(s, "TLSv1.3"))
        return TLS1_3_VERSION;
    if (!strcmp(s, "TLSv1.2"))
        return TLS1_2_VERSION;
    if (!strcmp(s, "TLSv1.1"))
        return TLS1_1_VERSION;
    if (!strcmp(s, "TLSv1"))
        return TLS1_VERSION;
    mrb_raisef(mrb, E_ARGUMENT_ERROR,
               "TLS option %n must be \"TLSv1\", \"TLSv1.1\", \"TLSv1.2\" or \"TLSv1.3\", not %!v",
               key, v);
}

static int
accept_any_cert(int ok, X509_STORE_CTX *store)
{
    (void)ok, (void)store;
    return 1; /* the result stays in SSL_get_verify_result */
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
            unsigned int inlen, void *arg)
{
    (void)ssl;
    struct tls_ctx *c = arg;
    unsigned char *o;
    /* No name in common: refused with a no_application_protocol alert, as Node's server does
     * (RFC 7301 3.2). A client that offers no ALPN at all never gets here. */
    if (SSL_select_next_proto(&o, outlen, c->alpn, (unsigned)c->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

/* "*.example.com" matches "a.example.com" (one label), as a certificate's wildcard does. */
static bool
sni_match(const char *pattern, const char *name)
{
    if (!strcasecmp(pattern, name))
        return true;
    if (pattern[0] != '*' || pattern[1] != '.')
        return false;
    const char *dot = strchr(name, '.');
    return dot && dot != name && !strcasecmp(pattern + 1, dot);
}

static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    struct tls_ctx *c = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_NOACK;
    for (size_t i = 0; i < c->nsni; i++)
        if (sni_match(c->sni[i].name, name)) {
            SSL_set_SSL_CTX(ssl, c->sni[i].ctx);
            return SSL_TLSEXT_ERR_OK;
        }
    return SSL_TLSEXT_ERR_OK; /* the default certificate */
}

static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct tls_engine *e = SSL_get_app_data(ssl);
    if (!e)
        return 0;
    int n = i2d_SSL_SESSION(sess, NULL);
    if (n <= 0)
        return 0;
    unsigned char *buf = malloc((size_t)n);
    if (!buf)
        return 0;
    unsigned char *p = buf;
    i2d_SSL_SESSION(sess, &p);
    free(e->session);
    e->session = buf;
    e->session_len = (size_t)n;
    e->new_session = true;
    return 0; /* we did not keep a reference to sess */
}

/* ALPN wire format from an Array of Strings (1..255 bytes each). */
static unsigned char *
alpn_wire(mrb_state *mrb, mrb_value list, size_t *len)
{
    if (!mrb_array_p(list))
        mrb_raisef(mrb, E_TYPE_ERROR, "alpn_protocols must be an Array of Strings, not %T", list);
    size_t n = 0;
    for (mrb_int i = 0; i < RARRAY_LEN(list); i++) {
        mrb_value s = RARRAY_PTR(list)[i];
        if (!mrb_string_p(s) || RSTRING_LEN(s) < 1 || RSTRING_LEN(s) > 255)
            mrb_raisef(mrb, E_ARGUMENT_ERROR,
                       "alpn_protocols entries must be Strings of 1 to 255 bytes, not %!v", s);
        n += 1 + (size_t)RSTRING_LEN(s);
    }
    unsigned char *w = malloc(n ? n : 1), *p = w;
    if (!w)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    for (mrb_int i = 0; i < RARRAY_LEN(list); i++) {
        mrb_value s = RARRAY_PTR(list)[i];
        *p++ = (unsigned char)RSTRING_LEN(s);
        memcpy(p, RSTRING_PTR(s), (size_t)RSTRING_LEN(s));
        p += RSTRING_LEN(s);
    }
    *len = n;
    return w;
}

static mrb_value
ctx_initialize(mrb_state *mrb, mrb_value self)
{
    mrb_value h;
    mrb_get_args(mrb, "H", &h);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_RUNTIME_ERROR, "TLS::Context already initialized");
    bool server = mrb_test(opt(mrb, h, sym.server));
    const char *cert = opt_path(mrb, h, sym.cert), *key = opt_path(mrb, h, sym.key),
               *ca = opt_path(mrb, h, sym.ca);
    int minv = version_of(mrb, opt(mrb, h, sym.min_version), sym.min_version, TLS1_2_VERSION);
    int maxv = version_of(mrb, opt(mrb, h, sym.max_version), sym.max_version, TLS1_3_VERSION);
    if (minv > maxv)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "TLS min_version is above max_version");
    mrb_value alpn = opt(mrb, h, sym.alpn_protocols), timeout = opt(mrb, h, sym.session_timeout);
    if (!mrb_nil_p(timeout) && !mrb_integer_p(timeout))
        mrb_raisef(mrb, E_TYPE_ERROR, "session_timeout must be an Integer (seconds), not %T",
                   timeout);
    if (server && (!cert || !key))
        mrb_raise(mrb, E_ARGUMENT_ERROR, "a TLS server needs cert: and key: (PEM file paths)");
    if (!cert != !key)
        mrb_raise(mrb, E_ARGUMENT_ERROR, "TLS cert: and key: go together");

    struct tls_ctx *c = calloc(1, sizeof *c);
    if (!c)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    ERR_clear_error();
    c->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c->ctx) {
        free(c);
        mrb_raise(mrb, E_RUNTIME_ERROR, "SSL_CTX_new failed");
    }
    c->server = server;
    /* Attached now: a raise below frees what was built so far. */
    DATA_TYPE(self) = &ctx_type;
    DATA_PTR(self) = c;
    SSL_CTX *ctx = c->ctx;
    SSL_CTX_set_min_proto_version(ctx, minv);
    SSL_CTX_set_max_proto_version(ctx, maxv);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (cert) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
            raise_load(mrb, "cert", cert);
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
            raise_load(mrb, "key", key);
        if (SSL_CTX_check_private_key(ctx) != 1)
            raise_load(mrb, "key (does it match the cert?)", key);
    }
    if (ca) {
        if (SSL_CTX_load_verify_file(ctx, ca) != 1)
            raise_load(mrb, "ca", ca);
    } else if (!server) {
        SSL_CTX_set_default_verify_paths(ctx);
    }
    ERR_clear_error();
    if (server) {
        static const unsigned char sid[] = "mrun-tls";
        SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_timeout(ctx, mrb_nil_p(timeout) ? 300 : (long)mrb_integer(timeout));
        if (mrb_test(opt(mrb, h, sym.request_cert))) {
            bool reject = mrb_test(opt(mrb, h, sym.reject_unauthorized));
            SSL_CTX_set_verify(ctx,
                               SSL_VERIFY_PEER | (reject ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                               reject ? NULL : accept_any_cert);
            if (ca) {
                STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
                if (names)
                    SSL_CTX_set_client_CA_list(ctx, names);
            }
        }
        if (!mrb_nil_p(alpn)) {
            c->alpn = alpn_wire(mrb, alpn, &c->alpn_len);
            SSL_CTX_set_alpn_select_cb(ctx, alpn_select, c);
        }
        SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
        SSL_CTX_set_tlsext_servername_arg(ctx, c);
    } else {
        bool verify = mrb_test(opt(mrb, h, sym.verify));
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify ? NULL : accept_any_cert);
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
        if (!mrb_nil_p(alpn)) {
            size_t n;
            unsigned char *w = alpn_wire(mrb, alpn, &n);
            SSL_CTX_set_alpn_protos(ctx, w, (unsigned)n); /* copies */
            free(w);
        }
    }
    ERR_clear_error();
    return self;
}

/* ctx.__add_sni(name, other_ctx) */
static mrb_value
ctx_add_sni(mrb_state *mrb, mrb_value self)
{
    const char *name;
    mrb_value other;
    mrb_get_args(mrb, "zo", &name, &other);
    struct tls_ctx *c = DATA_GET_PTR(mrb, self, &ctx_type, struct tls_ctx);
    struct tls_ctx *o = DATA_GET_PTR(mrb, other, &ctx_type, struct tls_ctx);
    struct sni_entry *n = realloc(c->sni, (c->nsni + 1) * sizeof *n);
    if (!n)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    c->sni = n;
    char *copy = strdup(name);
    if (!copy)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    SSL_CTX_up_ref(o->ctx);
    c->sni[c->nsni++] = (struct sni_entry){copy, o->ctx};
    mrb_value list = mrb_iv_get(mrb, self, sym.sni_iv);
    if (mrb_nil_p(list)) {
        list = mrb_ary_new(mrb);
        mrb_iv_set(mrb, self, sym.sni_iv, list);
    }
    mrb_ary_push(mrb, list, other);
    return self;
}

/* --- engines ---------------------------------------------------------------------------------- */

static struct tls_engine *
get_engine(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = DATA_GET_PTR(mrb, self, &engine_type, struct tls_engine);
    if (!e)
        mrb_raise(mrb, E_RUNTIME_ERROR, "TLS::Engine not initialized");
    return e;
}

/* TLS::Engine.new(ctx, servername, check_name, session) */
static mrb_value
engine_initialize(mrb_state *mrb, mrb_value self)
{
    mrb_value ctxv, servername, check, session;
    mrb_get_args(mrb, "oooo", &ctxv, &servername, &check, &session);
    struct tls_ctx *c = DATA_GET_PTR(mrb, ctxv, &ctx_type, struct tls_ctx);
    if (DATA_PTR(self))
        mrb_raise(mrb, E_RUNTIME_ERROR, "TLS::Engine already initialized");
    struct tls_engine *e = calloc(1, sizeof *e);
    if (!e)
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    ERR_clear_error();
    e->ssl = SSL_new(c->ctx);
    e->rbio = BIO_new(BIO_s_mem());
    e->wbio = BIO_new(BIO_s_mem());
    if (!e->ssl || !e->rbio || !e->wbio) {
        SSL_free(e->ssl);
        BIO_free(e->rbio);
        BIO_free(e->wbio);
        free(e);
        ERR_clear_error();
        mrb_raise(mrb, E_RUNTIME_ERROR, "SSL_new failed");
    }
    BIO_set_mem_eof_return(e->rbio, -1); /* empty: "retry", not end of file */
    SSL_set_bio(e->ssl, e->rbio, e->wbio);
    SSL_set_app_data(e->ssl, e);
    e->server = c->server;
    DATA_TYPE(self) = &engine_type;
    DATA_PTR(self) = e;
    mrb_iv_set(mrb, self, sym.ctx_iv, ctxv);
    if (c->server) {
        SSL_set_accept_state(e->ssl);
    } else {
        SSL_set_connect_state(e->ssl);
        if (!mrb_nil_p(servername)) {
            const char *sn = mrb_string_value_cstr(mrb, &servername);
            SSL_set_tlsext_host_name(e->ssl, sn);
        }
        if (!mrb_nil_p(check)) {
            const char *name = mrb_string_value_cstr(mrb, &check);
            X509_VERIFY_PARAM *param = SSL_get0_param(e->ssl);
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) {
                ERR_clear_error();
                X509_VERIFY_PARAM_set1_host(param, name, 0);
            }
        }
        if (!mrb_nil_p(session)) {
            if (!mrb_string_p(session))
                mrb_raisef(mrb, E_TYPE_ERROR, "session must be a String from #session, not %T",
                           session);
            const unsigned char *p = (const unsigned char *)RSTRING_PTR(session);
            SSL_SESSION *s = d2i_SSL_SESSION(NULL, &p, RSTRING_LEN(session));
            if (!s) {
                ERR_clear_error();
                mrb_raise(mrb, E_ARGUMENT_ERROR, "session: not a TLS session (from #session)");
            }
            SSL_set_session(e->ssl, s);
            SSL_SESSION_free(s);
        }
    }
    ERR_clear_error();
    return self;
}

/* What the write BIO holds, as a String (nil when empty). */
static mrb_value
drain(mrb_state *mrb, struct tls_engine *e)
{
    size_t n = BIO_ctrl_pending(e->wbio);
    if (n == 0)
        return mrb_nil_value();
    mrb_value s = mrb_str_new(mrb, NULL, (mrb_int)n);
    int got = BIO_read(e->wbio, RSTRING_PTR(s), (int)n);
    mrb_str_resize(mrb, s, got > 0 ? got : 0);
    return s;
}

static mrb_value
engine_feed(mrb_state *mrb, mrb_value self)
{
    mrb_value in;
    mrb_get_args(mrb, "o", &in);
    struct tls_engine *e = get_engine(mrb, self);
    mrb_int flags = 0;
    mrb_value err = mrb_nil_value(), plain = mrb_nil_value();
    ERR_clear_error();
    if (mrb_string_p(in) && RSTRING_LEN(in) > 0)
        BIO_write(e->rbio, RSTRING_PTR(in), (int)RSTRING_LEN(in));
    if (!e->secure) {
        int r = SSL_do_handshake(e->ssl);
        if (r == 1) {
            e->secure = true;
            flags |= FLAG_SECURE;
        } else {
            int k = SSL_get_error(e->ssl, r);
            if (k != SSL_ERROR_WANT_READ && k != SSL_ERROR_WANT_WRITE)
                err = ssl_error(mrb, e, k, "handshake");
        }
    }
    if (e->secure && mrb_nil_p(err)) {
        /* Room for all the plaintext the ciphertext held plus one record OpenSSL may have kept
         * from before: the String is made once, never grown (a grown 128 KiB String is a fresh
         * mmap whose pages all fault in, which cost more than the decryption). */
        size_t cap = BIO_ctrl_pending(e->rbio) + SSL3_RT_MAX_PLAIN_LENGTH, len = 0;
        char *buf = NULL;
        for (;;) {
            if (!buf) {
                plain = mrb_str_new(mrb, NULL, (mrb_int)cap);
                buf = RSTRING_PTR(plain);
            } else if (len == cap) {
                cap *= 2;
                mrb_str_resize(mrb, plain, (mrb_int)cap);
                buf = RSTRING_PTR(plain);
            }
            size_t got = 0;
            if (SSL_read_ex(e->ssl, buf + len, cap - len, &got) == 1) {
                len += got;
                continue;
            }
            int k = SSL_get_error(e->ssl, 0);
            if (k == SSL_ERROR_ZERO_RETURN)
                flags |= FLAG_PEER_CLOSED;
            else if (k != SSL_ERROR_WANT_READ && k != SSL_ERROR_WANT_WRITE)
                err = ssl_error(mrb, e, k, "read");
            break;
        }
        if (len == 0)
            plain = mrb_nil_value();
        else
            mrb_str_resize(mrb, plain, (mrb_int)len);
    }
    if (e->new_session) {
        e->new_session = false;
        flags |= FLAG_SESSION;
    }
    ERR_clear_error();
    mrb_value v[4] = {plain, drain(mrb, e), mrb_fixnum_value(flags), err};
    return mrb_ary_new_from_values(mrb, 4, v);
}

/* engine.write(plain) -> cipher String (raises TLS::Error when the engine cannot encrypt) */
static mrb_value
engine_write(mrb_state *mrb, mrb_value self)
{
    mrb_value s;
    mrb_get_args(mrb, "S", &s);
    struct tls_engine *e = get_engine(mrb, self);
    if (!e->secure)
        mrb_raise(mrb, E_RUNTIME_ERROR, "TLS::Engine#write before the handshake completed");
    ERR_clear_error();
    size_t done = 0;
    if (RSTRING_LEN(s) > 0 &&
        SSL_write_ex(e->ssl, RSTRING_PTR(s), (size_t)RSTRING_LEN(s), &done) != 1) {
        mrb_value err = ssl_error(mrb, e, SSL_get_error(e->ssl, 0), "write");
        struct RClass *cls = mrb_class_get_under(mrb, mrb_module_get(mrb, "TLS"), "Error");
        mrb_value args[5] = {RARRAY_PTR(err)[0], RARRAY_PTR(err)[2], mrb_nil_value(),
                             mrb_nil_value(), RARRAY_PTR(err)[1]};
        mrb_exc_raise(mrb, mrb_obj_new(mrb, cls, 5, args));
    }
    return drain(mrb, e);
}

static mrb_value
engine_close_notify(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    ERR_clear_error();
    if (e->secure)
        SSL_shutdown(e->ssl);
    ERR_clear_error();
    return drain(mrb, e);
}

static mrb_value
str_or_nil(mrb_state *mrb, const char *s)
{
    return s ? mrb_str_new_cstr(mrb, s) : mrb_nil_value();
}

static mrb_value
engine_protocol(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    return e->secure ? str_or_nil(mrb, SSL_get_version(e->ssl)) : mrb_nil_value();
}

static mrb_value
engine_cipher(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    const SSL_CIPHER *c = e->secure ? SSL_get_current_cipher(e->ssl) : NULL;
    if (!c)
        return mrb_nil_value();
    mrb_value h = mrb_hash_new(mrb);
    mrb_hash_set(mrb, h, mrb_symbol_value(sym.name), str_or_nil(mrb, SSL_CIPHER_get_name(c)));
    mrb_hash_set(mrb, h, mrb_symbol_value(sym.standard_name),
                 str_or_nil(mrb, SSL_CIPHER_standard_name(c)));
    mrb_hash_set(mrb, h, mrb_symbol_value(sym.version), str_or_nil(mrb, SSL_CIPHER_get_version(c)));
    return h;
}

static mrb_value
engine_alpn_protocol(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    const unsigned char *p = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(e->ssl, &p, &len);
    return len ? mrb_str_new(mrb, (const char *)p, len) : mrb_nil_value();
}

static mrb_value
engine_servername(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    return str_or_nil(mrb, SSL_get_servername(e->ssl, TLSEXT_NAMETYPE_host_name));
}

static mrb_value
engine_session(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    if (e->session)
        return mrb_str_new(mrb, (const char *)e->session, (mrb_int)e->session_len);
    return mrb_nil_value();
}

static mrb_value
engine_session_reused(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    return mrb_bool_value(e->secure && SSL_session_reused(e->ssl));
}

static mrb_value
engine_secure(mrb_state *mrb, mrb_value self)
{
    return mrb_bool_value(get_engine(mrb, self)->secure);
}

/* The verification's code (a String) or nil when it passed; "NO_PEER_CERTIFICATE"... no: nil
 * with no certificate too (#peer_certificate tells). */
static mrb_value
engine_verify_error(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    long v = SSL_get_verify_result(e->ssl);
    return v == X509_V_OK ? mrb_nil_value() : mrb_str_new_cstr(mrb, x509_code(v));
}

static mrb_value
engine_verify_reason(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    long v = SSL_get_verify_result(e->ssl);
    return v == X509_V_OK ? mrb_nil_value()
                          : mrb_str_new_cstr(mrb, X509_verify_cert_error_string(v));
}

static mrb_value
bio_string(mrb_state *mrb, BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    mrb_value s = mrb_str_new(mrb, p, n > 0 ? n : 0);
    BIO_free(b);
    return s;
}

static mrb_value
name_hash(mrb_state *mrb, const X509_NAME *name)
{
    mrb_value h = mrb_hash_new(mrb);
    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *ent = X509_NAME_get_entry(name, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ent));
        const char *sn = nid == NID_undef ? "UNDEF" : OBJ_nid2sn(nid);
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
        if (n < 0)
            continue;
        mrb_hash_set(mrb, h, mrb_str_new_cstr(mrb, sn), mrb_str_new(mrb, (char *)utf8, n));
        OPENSSL_free(utf8);
    }
    return h;
}

static mrb_value
engine_peer_certificate(mrb_state *mrb, mrb_value self)
{
    struct tls_engine *e = get_engine(mrb, self);
    mrb_value h = mrb_hash_new(mrb);
    X509 *x = SSL_get0_peer_certificate(e->ssl);
    if (!x)
        return h;
    ERR_clear_error();
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "subject")),
                 name_hash(mrb, X509_get_subject_name(x)));
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "issuer")),
                 name_hash(mrb, X509_get_issuer_name(x)));
    BIO *b = BIO_new(BIO_s_mem());
    ASN1_TIME_print(b, X509_get0_notBefore(x));
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "valid_from")), bio_string(mrb, b));
    b = BIO_new(BIO_s_mem());
    ASN1_TIME_print(b, X509_get0_notAfter(x));
    mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "valid_to")), bio_string(mrb, b));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1) {
        char hex[EVP_MAX_MD_SIZE * 3 + 1];
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(hex + 3 * i, 4, i + 1 < mdlen ? "%02X:" : "%02X", md[i]);
        mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "fingerprint256")),
                     mrb_str_new_cstr(mrb, hex));
    }
    int idx = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
    if (idx >= 0) {
        b = BIO_new(BIO_s_mem());
        X509V3_EXT_print(b, X509_get_ext(x, idx), 0, 0);
        mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "subjectaltname")),
                     bio_string(mrb, b));
    }
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn) {
        char *hex = BN_bn2hex(bn);
        if (hex) {
            mrb_hash_set(mrb, h, mrb_symbol_value(mrb_intern_lit(mrb, "serial_number")),
                         mrb_str_new_cstr(mrb, hex));
            OPENSSL_free(hex);
        }
        BN_free(bn);
    }
    ERR_clear_error();
    return h;
}

static void
tls_init(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
#define S(n) sym.n = mrb_intern_lit(mrb, #n)
    S(server), S(cert), S(key), S(ca), S(verify), S(request_cert), S(reject_unauthorized),
        S(min_version), S(max_version), S(alpn_protocols), S(session_timeout), S(name),
        S(standard_name), S(version);
#undef S
    sym.ctx_iv = mrb_intern_lit(mrb, "@ctx");
    sym.sni_iv = mrb_intern_lit(mrb, "@sni");

    struct RClass *tls = mrb_define_module(mrb, "TLS");
    mrb_define_const(mrb, tls, "OPENSSL_VERSION",
                     mrb_str_new_cstr(mrb, OpenSSL_version(OPENSSL_VERSION)));
    struct RClass *ctx = mrb_define_class_under(mrb, tls, "Context", mrb->object_class);
    MRB_SET_INSTANCE_TT(ctx, MRB_TT_DATA);
    mrb_define_method(mrb, ctx, "initialize", ctx_initialize, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, ctx, "__add_sni", ctx_add_sni, MRB_ARGS_REQ(2));

    struct RClass *eng = mrb_define_class_under(mrb, tls, "Engine", mrb->object_class);
    MRB_SET_INSTANCE_TT(eng, MRB_TT_DATA);
    mrb_define_const(mrb, eng, "SECURE", mrb_fixnum_value(FLAG_SECURE));
    mrb_define_const(mrb, eng, "PEER_CLOSED", mrb_fixnum_value(FLAG_PEER_CLOSED));
    mrb_define_const(mrb, eng, "SESSION", mrb_fixnum_value(FLAG_SESSION));
    mrb_define_method(mrb, eng, "initialize", engine_initialize, MRB_ARGS_REQ(4));
    mrb_define_method(mrb, eng, "feed", engine_feed, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, eng, "write", engine_write, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, eng, "close_notify", engine_close_notify, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "protocol", engine_protocol, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "cipher", engine_cipher, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "alpn_protocol", engine_alpn_protocol, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "servername", engine_servername, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "session", engine_session, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "session_reused?", engine_session_reused, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "secure?", engine_secure, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "verify_error", engine_verify_error, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "verify_reason", engine_verify_reason, MRB_ARGS_NONE());
    mrb_define_method(mrb, eng, "peer_certificate", engine_peer_certificate, MRB_ARGS_NONE());
}

const struct rt_module rt_module_tls = {.name = "tls", .init = tls_init};
