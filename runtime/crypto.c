/*
 * crypto.c — the Crypto module on OpenSSL 3's EVP: digests (Crypto.digest, Crypto::Hash), HMAC
 * (Crypto.hmac, Crypto::Hmac), random bytes, integers and UUIDs, PBKDF2, scrypt, HKDF, a
 * constant-time comparison, and hex and base64 codecs. Node's `crypto` is the reference for
 * names and rules (in Ruby spelling); docs/script-api.md "## Crypto" lists where it differs.
 *
 * A module with a vm_init only: nothing here needs the loop, so every VM has Crypto, the main
 * one and each Deferred worker's, and hashing can run on the pool. The block forms of pbkdf2,
 * scrypt and hkdf (Node's callbacks) hand the work to a Deferred (runtime/prelude/vm/crypto.rb,
 * main VM only).
 *
 * Threads. OpenSSL 3 is thread-safe; what this file shares between threads is the table of
 * fetched digests (md_cache): each entry is fetched once, published with a compare-and-swap
 * and never freed while the process runs (an EVP_MD may be used by any number of contexts on
 * any number of threads at once). Fetching per call would cost a name lookup under OpenSSL's
 * lock each time, and so would the legacy EVP_sha256() (OpenSSL 3 fetches behind it): in C,
 * the digest of a 64-byte message took 2.3-2.4x as long either way.
 *
 * Memory. Every mruby allocation (the result String) is made before the OpenSSL work that
 * needs freeing, so no raise (which longjmps) can leak a context; a context that outlives one
 * call lives in its Ruby object (struct digest_obj) and is freed with it. An OpenSSL failure
 * clears the thread's error queue and raises Crypto::Error with OpenSSL's reason.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "runtime/rt.h"

#define MAX_LENGTH 2147483647 /* Node's limit for lengths and counts (INT_MAX) */
#define SCRYPT_MAXMEM_DEFAULT (32 * 1024 * 1024)
#define HKDF_MAX_INFO 1024 /* OpenSSL 3.0's HKDF keeps at most this much info (Node: the same) */

/* ---- errors ------------------------------------------------------------------------------ */

static struct RClass *
crypto_module(mrb_state *mrb)
{
    return mrb_module_get(mrb, "Crypto");
}

/* Raises Crypto::Error with code (Node's error codes, e.g. "ERR_CRYPTO_HASH_FINALIZED"). */
static mrb_noreturn void
raise_code(mrb_state *mrb, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mrb_value msg = mrb_vformat(mrb, fmt, ap);
    va_end(ap);
    mrb_value exc =
        mrb_exc_new_str(mrb, mrb_class_get_under(mrb, crypto_module(mrb), "Error"), msg);
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, "@code"), mrb_str_new_cstr(mrb, code));
    mrb_exc_raise(mrb, exc);
}

/* OpenSSL failed at `what`: Crypto::Error with the reason of the last error in the thread's
 * queue ("malloc failure", "invalid digest"...), and the queue cleared. */
static mrb_noreturn void
raise_ossl(mrb_state *mrb, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    raise_code(mrb, "ERR_CRYPTO_OPERATION_FAILED", "%s failed: %s", what,
               reason ? reason : "OpenSSL gave no reason");
}

/* ---- arguments --------------------------------------------------------------------------- */

/* A String argument (the bytes are used as they are; any encoding). */
static mrb_value
str_arg(mrb_state *mrb, mrb_value v, const char *what)
{
    if (!mrb_string_p(v))
        mrb_raisef(mrb, E_TYPE_ERROR, "%s must be a String, not %s", what,
                   mrb_obj_classname(mrb, v));
    return v;
}

/* An Integer argument in lo..hi (ArgumentError outside: Node's RangeError). */
static mrb_int
int_arg(mrb_state *mrb, mrb_value v, const char *what, mrb_int lo, mrb_int hi)
{
    if (!mrb_integer_p(v))
        mrb_raisef(mrb, E_TYPE_ERROR, "%s must be an Integer, not %s", what,
                   mrb_obj_classname(mrb, v));
    mrb_int n = mrb_integer(v);
    if (n < lo || n > hi)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "%s must be between %i and %i, not %i", what, lo, hi, n);
    return n;
}

/* A String's length as the int OpenSSL's older interfaces take. */
static int
int_len(mrb_state *mrb, mrb_value s, const char *what)
{
    if (RSTRING_LEN(s) > MAX_LENGTH)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "%s is longer than %i bytes", what, (mrb_int)MAX_LENGTH);
    return (int)RSTRING_LEN(s);
}

/* opts[:name] or undef; opts is a Hash or nil. */
static mrb_value
opt_get(mrb_state *mrb, mrb_value opts, const char *name)
{
    if (mrb_nil_p(opts))
        return mrb_undef_value();
    return mrb_hash_fetch(mrb, opts, mrb_symbol_value(mrb_intern_cstr(mrb, name)),
                          mrb_undef_value());
}

/* Every key of opts is one of the NULL-terminated names, or an ArgumentError names it. */
static void
opts_check(mrb_state *mrb, mrb_value opts, const char *method, const char *const *names)
{
    if (mrb_nil_p(opts))
        return;
    mrb_value keys = mrb_hash_keys(mrb, opts);
    for (mrb_int i = 0; i < RARRAY_LEN(keys); i++) {
        mrb_value k = RARRAY_PTR(keys)[i];
        bool known = false;
        for (const char *const *n = names; *n && !known; n++)
            known = mrb_symbol_p(k) && strcmp(mrb_sym_name(mrb, mrb_symbol(k)), *n) == 0;
        if (!known)
            mrb_raisef(mrb, E_ARGUMENT_ERROR, "%s: unknown option %v", method, mrb_inspect(mrb, k));
    }
}

/* ---- digests ----------------------------------------------------------------------------- */

/* The digests Crypto knows by Node's names (lower case, sorted), with OpenSSL's name for each.
 * Other names OpenSSL gives them ("SHA2-256", "SHA-256", "RSA-SHA256", an OID) are accepted
 * too. An entry OpenSSL cannot fetch (a build without SM3, say) is left out of Crypto.hashes. */
struct digest_def {
    const char *name;
    const char *ossl;
};

static const struct digest_def digests[] = {
    {"blake2b512", "BLAKE2B-512"},
    {"blake2s256", "BLAKE2S-256"},
    {"md5", "MD5"},
    {"md5-sha1", "MD5-SHA1"},
    {"ripemd160", "RIPEMD-160"},
    {"sha1", "SHA1"},
    {"sha224", "SHA2-224"},
    {"sha256", "SHA2-256"},
    {"sha3-224", "SHA3-224"},
    {"sha3-256", "SHA3-256"},
    {"sha3-384", "SHA3-384"},
    {"sha3-512", "SHA3-512"},
    {"sha384", "SHA2-384"},
    {"sha512", "SHA2-512"},
    {"sha512-224", "SHA2-512/224"},
    {"sha512-256", "SHA2-512/256"},
    {"shake128", "SHAKE-128"},
    {"shake256", "SHAKE-256"},
    {"sm3", "SM3"},
};
#define N_DIGESTS (sizeof digests / sizeof *digests)

static _Atomic(EVP_MD *) md_cache[N_DIGESTS];
static atomic_bool md_missing[N_DIGESTS];

/* The fetched digest of entry i, fetched at the first use; NULL when OpenSSL has none. */
static EVP_MD *
md_get(size_t i)
{
    EVP_MD *md = atomic_load_explicit(&md_cache[i], memory_order_acquire);
    if (md || atomic_load_explicit(&md_missing[i], memory_order_relaxed))
        return md;
    EVP_MD *fetched = EVP_MD_fetch(NULL, digests[i].ossl, NULL);
    if (!fetched) {
        ERR_clear_error();
        atomic_store_explicit(&md_missing[i], true, memory_order_relaxed);
        return NULL;
    }
    EVP_MD *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&md_cache[i], &expected, fetched,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        EVP_MD_free(fetched); /* another thread was first: use its copy */
        return expected;
    }
    return fetched;
}

/* Crypto.hashes: the names of the digests this OpenSSL has, sorted. */
static mrb_value
crypto_hashes(mrb_state *mrb, mrb_value self)
{
    mrb_value a = mrb_ary_new_capa(mrb, N_DIGESTS);
    for (size_t i = 0; i < N_DIGESTS; i++)
        if (md_get(i))
            mrb_ary_push(mrb, a, mrb_str_new_cstr(mrb, digests[i].name));
    return a;
}

static mrb_noreturn void
raise_unknown_digest(mrb_state *mrb, const char *s, mrb_int len)
{
    mrb_value known = mrb_str_new_lit(mrb, "");
    for (size_t i = 0; i < N_DIGESTS; i++) {
        if (!md_get(i))
            continue;
        if (RSTRING_LEN(known))
            mrb_str_cat_lit(mrb, known, ", ");
        mrb_str_cat_cstr(mrb, known, digests[i].name);
    }
    mrb_raisef(mrb, E_ARGUMENT_ERROR, "unknown digest '%v' (known: %v)", mrb_str_new(mrb, s, len),
               known);
}

/* The digest a name (String or Symbol, any case) stands for: its index in digests[]. */
static size_t
digest_lookup(mrb_state *mrb, mrb_value name)
{
    const char *s;
    mrb_int len;
    if (mrb_string_p(name)) {
        s = RSTRING_PTR(name);
        len = RSTRING_LEN(name);
    } else if (mrb_symbol_p(name)) {
        s = mrb_sym_name_len(mrb, mrb_symbol(name), &len);
    } else {
        mrb_raisef(mrb, E_TYPE_ERROR, "a digest name must be a String or a Symbol, not %s",
                   mrb_obj_classname(mrb, name));
    }
    char low[64];
    if (len <= 0 || (size_t)len >= sizeof low || memchr(s, 0, (size_t)len))
        raise_unknown_digest(mrb, s, len);
    for (mrb_int i = 0; i < len; i++)
        low[i] = (char)TOLOWER(s[i]);
    low[len] = 0;

    size_t lo = 0, hi = N_DIGESTS; /* Node's names: a binary search */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(low, digests[mid].name);
        if (c == 0) {
            if (!md_get(mid))
                break;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    /* OpenSSL's other names for one of them: its provider names and OIDs (EVP_MD_is_a), and
     * the legacy aliases such as "RSA-SHA256" (EVP_get_digestbyname). */
    const EVP_MD *legacy = EVP_get_digestbyname(low);
    const char *canonical = legacy ? EVP_MD_get0_name(legacy) : NULL;
    for (size_t i = 0; i < N_DIGESTS; i++) {
        EVP_MD *md = md_get(i);
        if (md && (EVP_MD_is_a(md, low) || (canonical && EVP_MD_is_a(md, canonical))))
            return i;
    }
    ERR_clear_error();
    raise_unknown_digest(mrb, s, len);
}

static bool
md_is_xof(const EVP_MD *md)
{
    return (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0;
}

/* The output length for digest i: output_length: from opts (only an extendable-output
 * function, shake128/shake256, takes another than its size), else the digest's size. */
static size_t
digest_out_len(mrb_state *mrb, size_t i, mrb_value opts, const char *method)
{
    static const char *const names[] = {"output_length", NULL};
    opts_check(mrb, opts, method, names);
    EVP_MD *md = md_get(i);
    size_t size = (size_t)EVP_MD_get_size(md);
    mrb_value v = opt_get(mrb, opts, "output_length");
    if (mrb_undef_p(v) || mrb_nil_p(v))
        return size;
    size_t n = (size_t)int_arg(mrb, v, "output_length", 0, MAX_LENGTH);
    if (n != size && !md_is_xof(md))
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "output_length %i is invalid for %s, which is not an extendable-output "
                   "function (its digest is %i bytes; shake128 and shake256 take any length)",
                   (mrb_int)n, digests[i].name, (mrb_int)size);
    return n;
}

/* A digest that HMAC and the KDFs can use: not an extendable-output function. */
static EVP_MD *
mac_md(mrb_state *mrb, mrb_value name, const char *what, size_t *index)
{
    size_t i = digest_lookup(mrb, name);
    if (index)
        *index = i;
    EVP_MD *md = md_get(i);
    if (md_is_xof(md))
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "%s cannot use %s: it needs a digest of a fixed size, not an "
                   "extendable-output function",
                   what, digests[i].name);
    return md;
}

/* ---- hex and base64 ---------------------------------------------------------------------- */

static const char hex_digits[] = "0123456789abcdef";

static mrb_value
hex_of(mrb_state *mrb, const unsigned char *p, size_t n)
{
    mrb_value s = mrb_str_new(mrb, NULL, n * 2);
    char *o = RSTRING_PTR(s);
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = hex_digits[p[i] >> 4];
        o[2 * i + 1] = hex_digits[p[i] & 15];
    }
    return s;
}

/* Crypto.hex(bytes) -> lower-case hex */
static mrb_value
crypto_hex(mrb_state *mrb, mrb_value self)
{
    mrb_value s;
    mrb_get_args(mrb, "o", &s);
    str_arg(mrb, s, "bytes");
    return hex_of(mrb, (const unsigned char *)RSTRING_PTR(s), (size_t)RSTRING_LEN(s));
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Printable form of byte c for an error message. */
static mrb_value
byte_repr(mrb_state *mrb, unsigned char c)
{
    if (c >= 0x20 && c < 0x7f) {
        char b[4] = {'\'', (char)c, '\'', 0};
        return mrb_str_new_cstr(mrb, b);
    }
    char b[8] = {'0', 'x', hex_digits[c >> 4], hex_digits[c & 15], 0};
    return mrb_str_new_cstr(mrb, b);
}

/* Crypto.from_hex(str) -> bytes; upper or lower case; anything else raises. */
static mrb_value
crypto_from_hex(mrb_state *mrb, mrb_value self)
{
    mrb_value s;
    mrb_get_args(mrb, "o", &s);
    str_arg(mrb, s, "hex");
    const unsigned char *p = (const unsigned char *)RSTRING_PTR(s);
    mrb_int n = RSTRING_LEN(s);
    for (mrb_int i = 0; i < n; i++)
        if (hex_value(p[i]) < 0)
            mrb_raisef(mrb, E_ARGUMENT_ERROR, "not hex: %v at offset %i", byte_repr(mrb, p[i]), i);
    if (n % 2)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "hex must have an even number of digits, not %i", n);
    mrb_value out = mrb_str_new(mrb, NULL, (size_t)n / 2);
    p = (const unsigned char *)RSTRING_PTR(s); /* (s may not move, but read it again) */
    unsigned char *o = (unsigned char *)RSTRING_PTR(out);
    for (mrb_int i = 0; i < n / 2; i++)
        o[i] = (unsigned char)(hex_value(p[2 * i]) << 4 | hex_value(p[2 * i + 1]));
    return out;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Crypto.base64(bytes, url_safe: false, padding: !url_safe) */
static mrb_value
crypto_base64(mrb_state *mrb, mrb_value self)
{
    static const char *const names[] = {"url_safe", "padding", NULL};
    mrb_value s, opts = mrb_nil_value();
    mrb_get_args(mrb, "o|H!", &s, &opts);
    str_arg(mrb, s, "bytes");
    opts_check(mrb, opts, "Crypto.base64", names);
    mrb_value v = opt_get(mrb, opts, "url_safe");
    bool url = !mrb_undef_p(v) && mrb_test(v);
    v = opt_get(mrb, opts, "padding");
    bool pad = mrb_undef_p(v) ? !url : mrb_test(v);
    const char *alpha = url ? b64_url : b64_std;

    size_t n = (size_t)RSTRING_LEN(s), full = n / 3, rest = n % 3;
    size_t outlen = full * 4 + (rest ? (pad ? 4 : rest + 1) : 0);
    mrb_value out = mrb_str_new(mrb, NULL, outlen);
    const unsigned char *p = (const unsigned char *)RSTRING_PTR(s);
    char *o = RSTRING_PTR(out);
    for (size_t i = 0; i < full; i++, p += 3) {
        uint32_t w = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        *o++ = alpha[w >> 18];
        *o++ = alpha[(w >> 12) & 63];
        *o++ = alpha[(w >> 6) & 63];
        *o++ = alpha[w & 63];
    }
    if (rest) {
        uint32_t w = (uint32_t)p[0] << 16 | (rest == 2 ? (uint32_t)p[1] << 8 : 0);
        *o++ = alpha[w >> 18];
        *o++ = alpha[(w >> 12) & 63];
        if (rest == 2)
            *o++ = alpha[(w >> 6) & 63];
        else if (pad)
            *o++ = '=';
        if (pad)
            *o++ = '=';
    }
    return out;
}

static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Crypto.from_base64(str) -> bytes. Either alphabet (standard or URL-safe), padded or not;
 * line breaks and spaces are skipped; any other character, a '=' before the end, or a length
 * no encoder makes raises. */
static mrb_value
crypto_from_base64(mrb_state *mrb, mrb_value self)
{
    mrb_value s;
    mrb_get_args(mrb, "o", &s);
    str_arg(mrb, s, "base64");
    const unsigned char *p = (const unsigned char *)RSTRING_PTR(s);
    mrb_int n = RSTRING_LEN(s);
    /* First pass: check, count the digits and the padding. */
    size_t digits = 0, pads = 0;
    for (mrb_int i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            if (++pads > 2)
                mrb_raisef(mrb, E_ARGUMENT_ERROR, "invalid base64: too much padding at offset %i",
                           i);
            continue;
        }
        if (b64_value(c) < 0)
            mrb_raisef(mrb, E_ARGUMENT_ERROR, "invalid base64: %v at offset %i", byte_repr(mrb, c),
                       i);
        if (pads)
            mrb_raisef(mrb, E_ARGUMENT_ERROR,
                       "invalid base64: data after the padding '=' at offset %i", i);
        digits++;
    }
    if (digits % 4 == 1)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "invalid base64: %i digits (a group of 4 cannot end with a single digit)",
                   (mrb_int)digits);
    if (pads && (digits + pads) % 4)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "invalid base64: %i digits and %i '=' (padding must complete a group of 4)",
                   (mrb_int)digits, (mrb_int)pads);
    size_t outlen = digits / 4 * 3 + (digits % 4 ? digits % 4 - 1 : 0);
    mrb_value out = mrb_str_new(mrb, NULL, outlen);
    p = (const unsigned char *)RSTRING_PTR(s);
    unsigned char *o = (unsigned char *)RSTRING_PTR(out);
    uint32_t w = 0;
    size_t k = 0, written = 0;
    for (mrb_int i = 0; i < n; i++) {
        int v = b64_value(p[i]);
        if (v < 0)
            continue;
        w = w << 6 | (uint32_t)v;
        if (++k == 4) {
            o[written++] = (unsigned char)(w >> 16);
            o[written++] = (unsigned char)(w >> 8);
            o[written++] = (unsigned char)w;
            k = 0;
            w = 0;
        }
    }
    if (k == 2) {
        o[written++] = (unsigned char)(w >> 4);
    } else if (k == 3) {
        o[written++] = (unsigned char)(w >> 10);
        o[written++] = (unsigned char)(w >> 2);
    }
    return out;
}

/* ---- one-shot digest and HMAC ------------------------------------------------------------ */

/* The digest of data by md into out (len bytes: the digest's size, or any for an XOF). */
static bool
digest_into(const EVP_MD *md, const char *data, size_t n, unsigned char *out, size_t len)
{
    if (!md_is_xof(md))
        return EVP_Digest(data, n, out, NULL, md, NULL) == 1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex2(ctx, md, NULL) == 1 &&
              EVP_DigestUpdate(ctx, data, n) == 1 && EVP_DigestFinalXOF(ctx, out, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static mrb_value
digest_common(mrb_state *mrb, bool hex)
{
    mrb_value name, data, opts = mrb_nil_value();
    mrb_get_args(mrb, "oo|H!", &name, &data, &opts);
    size_t i = digest_lookup(mrb, name);
    str_arg(mrb, data, "data");
    size_t len = digest_out_len(mrb, i, opts, hex ? "Crypto.hexdigest" : "Crypto.digest");
    unsigned char small[EVP_MAX_MD_SIZE];
    mrb_value out = mrb_nil_value();
    unsigned char *o = small;
    if (len > sizeof small || !hex) {
        out = mrb_str_new(mrb, NULL, len);
        o = (unsigned char *)RSTRING_PTR(out);
    }
    if (!digest_into(md_get(i), RSTRING_PTR(data), (size_t)RSTRING_LEN(data), o, len))
        raise_ossl(mrb, "digest");
    return hex ? hex_of(mrb, o, len) : out;
}

/* Crypto.digest(name, data, output_length: nil) -> raw bytes */
static mrb_value
crypto_digest(mrb_state *mrb, mrb_value self)
{
    return digest_common(mrb, false);
}

/* Crypto.hexdigest(name, data, output_length: nil) -> lower-case hex */
static mrb_value
crypto_hexdigest(mrb_state *mrb, mrb_value self)
{
    return digest_common(mrb, true);
}

static _Atomic(EVP_MAC *) hmac_cache;

static EVP_MAC *
hmac_get(void)
{
    EVP_MAC *mac = atomic_load_explicit(&hmac_cache, memory_order_acquire);
    if (mac)
        return mac;
    EVP_MAC *fetched = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!fetched)
        return NULL;
    EVP_MAC *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&hmac_cache, &expected, fetched,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        EVP_MAC_free(fetched);
        return expected;
    }
    return fetched;
}

/* A new HMAC context keyed with key over md; NULL when OpenSSL failed (errors queued). */
static EVP_MAC_CTX *
hmac_new(const EVP_MD *md, const char *key, size_t keylen)
{
    EVP_MAC *mac = hmac_get();
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!ctx)
        return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0),
        OSSL_PARAM_construct_end(),
    };
    /* A NULL key would mean "keep the key you have" (there is none yet): an empty key is "". */
    if (EVP_MAC_init(ctx, (const unsigned char *)(key ? key : ""), keylen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Crypto.hmac(name, key, data) -> raw bytes */
static mrb_value
crypto_hmac(mrb_state *mrb, mrb_value self)
{
    mrb_value name, key, data;
    mrb_get_args(mrb, "ooo", &name, &key, &data);
    EVP_MD *md = mac_md(mrb, name, "HMAC", NULL);
    str_arg(mrb, key, "key");
    str_arg(mrb, data, "data");
    size_t len = (size_t)EVP_MD_get_size(md), outl = 0;
    mrb_value out = mrb_str_new(mrb, NULL, len);
    EVP_MAC_CTX *ctx = hmac_new(md, RSTRING_PTR(key), (size_t)RSTRING_LEN(key));
    bool ok = ctx &&
              EVP_MAC_update(ctx, (const unsigned char *)RSTRING_PTR(data),
                             (size_t)RSTRING_LEN(data)) == 1 &&
              EVP_MAC_final(ctx, (unsigned char *)RSTRING_PTR(out), &outl, len) == 1;
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        raise_ossl(mrb, "HMAC");
    return out;
}

/* ---- Crypto::Hash and Crypto::Hmac ------------------------------------------------------- */

/* One streaming digest (Crypto::Hash: md_ctx) or HMAC (Crypto::Hmac: mac_ctx). The context is
 * freed once the result has been taken: the object is finished then (Node's rule). */
struct digest_obj {
    EVP_MD_CTX *md_ctx;
    EVP_MAC_CTX *mac_ctx;
    size_t def;     /* index in digests[] */
    size_t out_len; /* bytes of the result */
    bool xof;
    bool finished;
};

static void
digest_obj_free(mrb_state *mrb, void *p)
{
    struct digest_obj *d = p;
    if (!d)
        return;
    EVP_MD_CTX_free(d->md_ctx);
    EVP_MAC_CTX_free(d->mac_ctx);
    mrb_free(mrb, d);
}

static const struct mrb_data_type hash_type = {"Crypto::Hash", digest_obj_free};
static const struct mrb_data_type hmac_type = {"Crypto::Hmac", digest_obj_free};

/* The object behind self (either class), raising when it was never initialised or, with
 * live, when it is finished. */
static struct digest_obj *
digest_obj_get(mrb_state *mrb, mrb_value self, bool live)
{
    struct digest_obj *d = mrb_data_check_get_ptr(mrb, self, &hash_type);
    if (!d)
        d = mrb_data_check_get_ptr(mrb, self, &hmac_type);
    if (!d)
        mrb_raisef(mrb, E_TYPE_ERROR, "uninitialized %s", mrb_obj_classname(mrb, self));
    if (live && d->finished)
        raise_code(mrb, "ERR_CRYPTO_HASH_FINALIZED",
                   "Digest already called: a %s is finished once its digest has been taken "
                   "(take a copy before to go on)",
                   mrb_obj_classname(mrb, self));
    return d;
}

/* A fresh struct attached to self (which must not have one yet), so that the GC frees it
 * whatever raises next. */
static struct digest_obj *
digest_obj_attach(mrb_state *mrb, mrb_value self, const struct mrb_data_type *type)
{
    if (DATA_PTR(self))
        mrb_raisef(mrb, E_TYPE_ERROR, "%s is initialized already", mrb_obj_classname(mrb, self));
    struct digest_obj *d = mrb_calloc(mrb, 1, sizeof *d);
    mrb_data_init(self, d, type);
    return d;
}

/* Crypto::Hash.new(name, output_length: nil) */
static mrb_value
hash_initialize(mrb_state *mrb, mrb_value self)
{
    mrb_value name, opts = mrb_nil_value();
    mrb_get_args(mrb, "o|H!", &name, &opts);
    size_t i = digest_lookup(mrb, name);
    size_t len = digest_out_len(mrb, i, opts, "Crypto::Hash.new");
    struct digest_obj *d = digest_obj_attach(mrb, self, &hash_type);
    d->def = i;
    d->out_len = len;
    d->xof = md_is_xof(md_get(i));
    d->md_ctx = EVP_MD_CTX_new();
    if (!d->md_ctx || EVP_DigestInit_ex2(d->md_ctx, md_get(i), NULL) != 1)
        raise_ossl(mrb, "Crypto::Hash.new");
    return self;
}

/* Crypto::Hmac.new(name, key) */
static mrb_value
hmac_initialize(mrb_state *mrb, mrb_value self)
{
    mrb_value name, key;
    mrb_get_args(mrb, "oo", &name, &key);
    size_t i;
    EVP_MD *md = mac_md(mrb, name, "HMAC", &i);
    str_arg(mrb, key, "key");
    struct digest_obj *d = digest_obj_attach(mrb, self, &hmac_type);
    d->def = i;
    d->out_len = (size_t)EVP_MD_get_size(md);
    d->mac_ctx = hmac_new(md, RSTRING_PTR(key), (size_t)RSTRING_LEN(key));
    if (!d->mac_ctx)
        raise_ossl(mrb, "Crypto::Hmac.new");
    return self;
}

/* dup, clone and #copy: the copy goes on from the same state, independently. */
static mrb_value
digest_init_copy(mrb_state *mrb, mrb_value self)
{
    mrb_value src;
    mrb_get_args(mrb, "o", &src);
    if (mrb_obj_equal(mrb, self, src))
        return self;
    if (!mrb_obj_is_kind_of(mrb, src, mrb_obj_class(mrb, self)))
        mrb_raise(mrb, E_TYPE_ERROR, "initialize_copy should take the same class");
    struct digest_obj *s = digest_obj_get(mrb, src, true);
    struct digest_obj *d = digest_obj_attach(mrb, self, s->md_ctx ? &hash_type : &hmac_type);
    d->def = s->def;
    d->out_len = s->out_len;
    d->xof = s->xof;
    if (s->md_ctx) {
        d->md_ctx = EVP_MD_CTX_new();
        if (!d->md_ctx || EVP_MD_CTX_copy_ex(d->md_ctx, s->md_ctx) != 1)
            raise_ossl(mrb, "copy");
    } else {
        d->mac_ctx = EVP_MAC_CTX_dup(s->mac_ctx);
        if (!d->mac_ctx)
            raise_ossl(mrb, "copy");
    }
    return self;
}

/* #update(data) -> self (also <<) */
static mrb_value
digest_update(mrb_state *mrb, mrb_value self)
{
    mrb_value data;
    mrb_get_args(mrb, "o", &data);
    struct digest_obj *d = digest_obj_get(mrb, self, true);
    str_arg(mrb, data, "data");
    const char *p = RSTRING_PTR(data);
    size_t n = (size_t)RSTRING_LEN(data);
    bool ok = d->md_ctx ? EVP_DigestUpdate(d->md_ctx, p, n) == 1
                        : EVP_MAC_update(d->mac_ctx, (const unsigned char *)p, n) == 1;
    if (!ok)
        raise_ossl(mrb, "update");
    return self;
}

/* Takes the result (raw) and finishes the object. */
static mrb_value
digest_finish(mrb_state *mrb, mrb_value self)
{
    struct digest_obj *d = digest_obj_get(mrb, self, true);
    mrb_value out = mrb_str_new(mrb, NULL, d->out_len);
    unsigned char *o = (unsigned char *)RSTRING_PTR(out);
    bool ok;
    if (d->md_ctx) {
        ok = d->xof ? EVP_DigestFinalXOF(d->md_ctx, o, d->out_len) == 1
                    : EVP_DigestFinal_ex(d->md_ctx, o, NULL) == 1;
        EVP_MD_CTX_free(d->md_ctx);
        d->md_ctx = NULL;
    } else {
        size_t outl = 0;
        ok = EVP_MAC_final(d->mac_ctx, o, &outl, d->out_len) == 1;
        EVP_MAC_CTX_free(d->mac_ctx);
        d->mac_ctx = NULL;
    }
    d->finished = true;
    if (!ok)
        raise_ossl(mrb, "digest");
    return out;
}

/* #digest -> raw bytes */
static mrb_value
digest_digest(mrb_state *mrb, mrb_value self)
{
    return digest_finish(mrb, self);
}

/* #hexdigest -> lower-case hex */
static mrb_value
digest_hexdigest(mrb_state *mrb, mrb_value self)
{
    mrb_value raw = digest_finish(mrb, self);
    return hex_of(mrb, (const unsigned char *)RSTRING_PTR(raw), (size_t)RSTRING_LEN(raw));
}

/* #name -> Node's name of the digest */
static mrb_value
digest_name(mrb_state *mrb, mrb_value self)
{
    return mrb_str_new_cstr(mrb, digests[digest_obj_get(mrb, self, false)->def].name);
}

/* #digest_length -> bytes of the result */
static mrb_value
digest_length(mrb_state *mrb, mrb_value self)
{
    return mrb_int_value(mrb, (mrb_int)digest_obj_get(mrb, self, false)->out_len);
}

/* #block_length -> the digest's block size in bytes */
static mrb_value
digest_block_length(mrb_state *mrb, mrb_value self)
{
    struct digest_obj *d = digest_obj_get(mrb, self, false);
    return mrb_int_value(mrb, EVP_MD_get_block_size(md_get(d->def)));
}

/* #finished? */
static mrb_value
digest_finished_p(mrb_state *mrb, mrb_value self)
{
    return mrb_bool_value(digest_obj_get(mrb, self, false)->finished);
}

/* ---- random ------------------------------------------------------------------------------ */

static void
random_fill(mrb_state *mrb, void *p, size_t n)
{
    /* RAND_bytes takes an int; random_bytes caps n at INT_MAX already. */
    if (n && RAND_bytes(p, (int)n) != 1)
        raise_ossl(mrb, "RAND_bytes");
}

/* Crypto.random_bytes(n) -> n random bytes (OpenSSL's DRBG, seeded from getrandom(2)) */
static mrb_value
crypto_random_bytes(mrb_state *mrb, mrb_value self)
{
    mrb_value nv;
    mrb_get_args(mrb, "o", &nv);
    mrb_int n = int_arg(mrb, nv, "size", 0, MAX_LENGTH);
    mrb_value out = mrb_str_new(mrb, NULL, (size_t)n);
    random_fill(mrb, RSTRING_PTR(out), (size_t)n);
    return out;
}

/* Crypto.random_int(max) / random_int(min, max) -> an Integer in min...max, uniform (Node's
 * randomInt: max - min at most 2**48 - 1). */
static mrb_value
crypto_random_int(mrb_state *mrb, mrb_value self)
{
    mrb_value a, b = mrb_undef_value();
    mrb_get_args(mrb, "o|o", &a, &b);
    const mrb_int safe = ((mrb_int)1 << 53) - 1; /* Node's safe integers */
    mrb_int lo = 0, hi;
    if (mrb_undef_p(b)) {
        hi = int_arg(mrb, a, "max", -safe, safe);
    } else {
        lo = int_arg(mrb, a, "min", -safe, safe);
        hi = int_arg(mrb, b, "max", -safe, safe);
    }
    if (hi <= lo)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "max (%i) must be greater than min (%i)", hi, lo);
    uint64_t range = (uint64_t)(hi - lo);
    const uint64_t limit = (uint64_t)1 << 48;
    if (range >= limit)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "max - min must be less than 2**48 (281474976710656), not %i", hi - lo);
    /* Rejection sampling on 48-bit draws: no bias toward the low values. */
    uint64_t cut = limit - limit % range;
    for (;;) {
        unsigned char r[6];
        random_fill(mrb, r, sizeof r);
        uint64_t x = 0;
        for (int i = 0; i < 6; i++)
            x = x << 8 | r[i];
        if (x < cut)
            return mrb_int_value(mrb, lo + (mrb_int)(x % range));
    }
}

/* Crypto.random_uuid -> a version 4 UUID, "xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx" */
static mrb_value
crypto_random_uuid(mrb_state *mrb, mrb_value self)
{
    unsigned char r[16];
    random_fill(mrb, r, sizeof r);
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    char s[37];
    int k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            s[k++] = '-';
        s[k++] = hex_digits[r[i] >> 4];
        s[k++] = hex_digits[r[i] & 15];
    }
    return mrb_str_new(mrb, s, 36);
}

/* ---- comparison -------------------------------------------------------------------------- */

/* Crypto.timing_safe_equal(a, b): same bytes, in a time that depends only on the length. */
static mrb_value
crypto_timing_safe_equal(mrb_state *mrb, mrb_value self)
{
    mrb_value a, b;
    mrb_get_args(mrb, "oo", &a, &b);
    str_arg(mrb, a, "a");
    str_arg(mrb, b, "b");
    if (RSTRING_LEN(a) != RSTRING_LEN(b))
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "Input buffers must have the same byte length (a: %i bytes, b: %i bytes)",
                   RSTRING_LEN(a), RSTRING_LEN(b));
    return mrb_bool_value(CRYPTO_memcmp(RSTRING_PTR(a), RSTRING_PTR(b), (size_t)RSTRING_LEN(a)) ==
                          0);
}

/* ---- key derivation ---------------------------------------------------------------------- */

/* A block given to a KDF: hand the work to Crypto.__on_pool (crypto.rb), which runs `method`
 * with args on a Deferred worker and calls the block with (err, key); returns nil. */
static mrb_value
to_pool(mrb_state *mrb, mrb_value self, mrb_value blk, const char *method, mrb_int argc,
        const mrb_value *argv)
{
    mrb_value args = mrb_ary_new_from_values(mrb, argc, argv);
    mrb_funcall(mrb, self, "__on_pool", 3, blk, mrb_symbol_value(mrb_intern_cstr(mrb, method)),
                args);
    return mrb_nil_value();
}

/* Crypto.pbkdf2(password, salt, iterations, length, digest) -> key; with a block, on the pool:
 * { |err, key| } */
static mrb_value
crypto_pbkdf2(mrb_state *mrb, mrb_value self)
{
    mrb_value argv[5], blk = mrb_nil_value();
    mrb_get_args(mrb, "ooooo&", &argv[0], &argv[1], &argv[2], &argv[3], &argv[4], &blk);
    str_arg(mrb, argv[0], "password");
    str_arg(mrb, argv[1], "salt");
    int pwlen = int_len(mrb, argv[0], "password"), saltlen = int_len(mrb, argv[1], "salt");
    mrb_int iter = int_arg(mrb, argv[2], "iterations", 1, MAX_LENGTH);
    mrb_int len = int_arg(mrb, argv[3], "length", 0, MAX_LENGTH);
    EVP_MD *md = mac_md(mrb, argv[4], "pbkdf2", NULL);
    if (!mrb_nil_p(blk))
        return to_pool(mrb, self, blk, "pbkdf2", 5, argv);
    mrb_value out = mrb_str_new(mrb, NULL, (size_t)len);
    if (len &&
        PKCS5_PBKDF2_HMAC(RSTRING_PTR(argv[0]), pwlen, (const unsigned char *)RSTRING_PTR(argv[1]),
                          saltlen, (int)iter, md, (int)len, (unsigned char *)RSTRING_PTR(out)) != 1)
        raise_ossl(mrb, "pbkdf2");
    return out;
}

/* Bytes of physical memory, 0 when unknown. */
static uint64_t
phys_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

/* Crypto.scrypt(password, salt, length, n: 16384, r: 8, p: 1, maxmem: 32 MiB) -> key; with a
 * block, on the pool: { |err, key| } */
static mrb_value
crypto_scrypt(mrb_state *mrb, mrb_value self)
{
    static const char *const names[] = {"n", "r", "p", "maxmem", NULL};
    mrb_value argv[4] = {mrb_nil_value(), mrb_nil_value(), mrb_nil_value(), mrb_nil_value()};
    mrb_value blk = mrb_nil_value();
    mrb_get_args(mrb, "ooo|H!&", &argv[0], &argv[1], &argv[2], &argv[3], &blk);
    str_arg(mrb, argv[0], "password");
    str_arg(mrb, argv[1], "salt");
    mrb_int len = int_arg(mrb, argv[2], "length", 0, MAX_LENGTH);
    mrb_value opts = argv[3];
    opts_check(mrb, opts, "Crypto.scrypt", names);
    mrb_value v;
    const mrb_int big = MRB_INT_MAX;
    uint64_t n = 16384, r = 8, p = 1, maxmem = SCRYPT_MAXMEM_DEFAULT;
    if (!mrb_undef_p(v = opt_get(mrb, opts, "n")))
        n = (uint64_t)int_arg(mrb, v, "n", 2, big);
    if (!mrb_undef_p(v = opt_get(mrb, opts, "r")))
        r = (uint64_t)int_arg(mrb, v, "r", 1, (mrb_int)1 << 30);
    if (!mrb_undef_p(v = opt_get(mrb, opts, "p")))
        p = (uint64_t)int_arg(mrb, v, "p", 1, (mrb_int)1 << 30);
    if (!mrb_undef_p(v = opt_get(mrb, opts, "maxmem")))
        maxmem = (uint64_t)int_arg(mrb, v, "maxmem", 1, big);
    if (n & (n - 1))
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "scrypt: n must be a power of 2 greater than 1, not %i",
                   (mrb_int)n);
    if (p * r > ((uint64_t)1 << 30) - 1)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "scrypt: p * r must be less than 2**30, not %i",
                   (mrb_int)(p * r));
    if (r < 4 && n >> (16 * r)) /* (r >= 4: any n that fits in 64 bits) */
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "scrypt: n must be less than 2**(16 * r) (RFC 7914), not %i with r: %i",
                   (mrb_int)n, (mrb_int)r);
    /* What OpenSSL allocates (EVP_PBE_scrypt_ex): B = 128 r p bytes, V = 128 r (n + 2). The
     * check is made here, with the sizes in the message, before OpenSSL's own; past the
     * machine's memory it is refused whatever maxmem allows. */
    double need = 128.0 * (double)r * (double)p + 128.0 * (double)r * ((double)n + 2);
    if (need > (double)maxmem)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "scrypt with n: %i, r: %i, p: %i needs %i bytes (128 * r * (n + p + 2)), "
                   "more than maxmem: %i (raise maxmem to allow it)",
                   (mrb_int)n, (mrb_int)r, (mrb_int)p,
                   need < 9e18 ? (mrb_int)need : (mrb_int)MRB_INT_MAX, (mrb_int)maxmem);
    uint64_t phys = phys_memory();
    if (phys && need > (double)phys)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "scrypt with n: %i, r: %i, p: %i needs %i bytes, more than this machine's "
                   "memory (%i bytes)",
                   (mrb_int)n, (mrb_int)r, (mrb_int)p, (mrb_int)need, (mrb_int)phys);
    if (!mrb_nil_p(blk))
        return to_pool(mrb, self, blk, "scrypt", mrb_nil_p(opts) ? 3 : 4, argv);
    mrb_value out = mrb_str_new(mrb, NULL, (size_t)len);
    if (len &&
        EVP_PBE_scrypt(RSTRING_PTR(argv[0]), (size_t)RSTRING_LEN(argv[0]),
                       (const unsigned char *)RSTRING_PTR(argv[1]), (size_t)RSTRING_LEN(argv[1]), n,
                       r, p, maxmem, (unsigned char *)RSTRING_PTR(out), (size_t)len) != 1)
        raise_ossl(mrb, "scrypt");
    return out;
}

/* Crypto.hkdf(digest, key, salt, info, length) -> key (RFC 5869, extract then expand); with a
 * block, on the pool: { |err, key| } */
static mrb_value
crypto_hkdf(mrb_state *mrb, mrb_value self)
{
    mrb_value argv[5], blk = mrb_nil_value();
    mrb_get_args(mrb, "ooooo&", &argv[0], &argv[1], &argv[2], &argv[3], &argv[4], &blk);
    EVP_MD *md = mac_md(mrb, argv[0], "hkdf", NULL);
    str_arg(mrb, argv[1], "key");
    str_arg(mrb, argv[2], "salt");
    str_arg(mrb, argv[3], "info");
    mrb_int max = 255 * (mrb_int)EVP_MD_get_size(md);
    mrb_int len = int_arg(mrb, argv[4], "length", 0, MAX_LENGTH);
    if (len > max)
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "hkdf: length %i is more than 255 times the digest's size (%i for %s)", len, max,
                   EVP_MD_get0_name(md));
    if (RSTRING_LEN(argv[3]) > HKDF_MAX_INFO)
        mrb_raisef(mrb, E_ARGUMENT_ERROR, "hkdf: info must be at most %i bytes, not %i",
                   (mrb_int)HKDF_MAX_INFO, RSTRING_LEN(argv[3]));
    if (!mrb_nil_p(blk))
        return to_pool(mrb, self, blk, "hkdf", 5, argv);
    mrb_value out = mrb_str_new(mrb, NULL, (size_t)len);
    if (!len)
        return out;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    /* OpenSSL's HKDF takes an empty key for "no key" and refuses to derive; RFC 5869 allows
     * one. Then the extract step is done here, PRK = HMAC(salt, ""), and OpenSSL expands. */
    unsigned char prk[EVP_MAX_MD_SIZE];
    const void *key = RSTRING_PTR(argv[1]), *salt = RSTRING_PTR(argv[2]);
    size_t keylen = (size_t)RSTRING_LEN(argv[1]), saltlen = (size_t)RSTRING_LEN(argv[2]);
    int mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
    if (keylen == 0) {
        EVP_MAC_CTX *mac = hmac_new(md, salt, saltlen);
        bool ok = mac && EVP_MAC_final(mac, prk, &keylen, sizeof prk) == 1;
        EVP_MAC_CTX_free(mac);
        if (!ok) {
            EVP_KDF_CTX_free(ctx);
            raise_ossl(mrb, "hkdf");
        }
        key = prk;
        saltlen = 0;
        mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    }
    OSSL_PARAM params[6], *q = params;
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0);
    *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, keylen);
    if (saltlen)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    if (RSTRING_LEN(argv[3]))
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, RSTRING_PTR(argv[3]),
                                                 (size_t)RSTRING_LEN(argv[3]));
    *q = OSSL_PARAM_construct_end();
    bool ok =
        ctx && EVP_KDF_derive(ctx, (unsigned char *)RSTRING_PTR(out), (size_t)len, params) == 1;
    OPENSSL_cleanse(prk, sizeof prk);
    EVP_KDF_CTX_free(ctx);
    if (!ok)
        raise_ossl(mrb, "hkdf");
    return out;
}

/* ---- the module -------------------------------------------------------------------------- */

static void
crypto_vm_init(mrb_state *mrb)
{
    struct RClass *c = mrb_define_module(mrb, "Crypto");
    mrb_define_class_under(mrb, c, "Error", mrb->eStandardError_class);
    struct RClass *h = mrb_define_class_under(mrb, c, "Hash", mrb->object_class);
    struct RClass *m = mrb_define_class_under(mrb, c, "Hmac", mrb->object_class);
    MRB_SET_INSTANCE_TT(h, MRB_TT_DATA);
    MRB_SET_INSTANCE_TT(m, MRB_TT_DATA);

    /* clang-format off */
    mrb_define_module_function(mrb, c, "digest",            crypto_digest,            MRB_ARGS_ARG(2, 1));
    mrb_define_module_function(mrb, c, "hexdigest",         crypto_hexdigest,         MRB_ARGS_ARG(2, 1));
    mrb_define_module_function(mrb, c, "hmac",              crypto_hmac,              MRB_ARGS_REQ(3));
    mrb_define_module_function(mrb, c, "hashes",            crypto_hashes,            MRB_ARGS_NONE());
    mrb_define_module_function(mrb, c, "random_bytes",      crypto_random_bytes,      MRB_ARGS_REQ(1));
    mrb_define_module_function(mrb, c, "random_int",        crypto_random_int,        MRB_ARGS_ARG(1, 1));
    mrb_define_module_function(mrb, c, "random_uuid",       crypto_random_uuid,       MRB_ARGS_NONE());
    mrb_define_module_function(mrb, c, "timing_safe_equal", crypto_timing_safe_equal, MRB_ARGS_REQ(2));
    mrb_define_module_function(mrb, c, "pbkdf2",            crypto_pbkdf2,            MRB_ARGS_REQ(5) | MRB_ARGS_BLOCK());
    mrb_define_module_function(mrb, c, "scrypt",            crypto_scrypt,            MRB_ARGS_ARG(3, 1) | MRB_ARGS_BLOCK());
    mrb_define_module_function(mrb, c, "hkdf",              crypto_hkdf,              MRB_ARGS_REQ(5) | MRB_ARGS_BLOCK());
    mrb_define_module_function(mrb, c, "hex",               crypto_hex,               MRB_ARGS_REQ(1));
    mrb_define_module_function(mrb, c, "from_hex",          crypto_from_hex,          MRB_ARGS_REQ(1));
    mrb_define_module_function(mrb, c, "base64",            crypto_base64,            MRB_ARGS_ARG(1, 1));
    mrb_define_module_function(mrb, c, "from_base64",       crypto_from_base64,       MRB_ARGS_REQ(1));

    mrb_define_method(mrb, h, "initialize",      hash_initialize,     MRB_ARGS_ARG(1, 1));
    mrb_define_method(mrb, m, "initialize",      hmac_initialize,     MRB_ARGS_REQ(2));
    struct RClass *both[] = {h, m};
    for (int i = 0; i < 2; i++) {
        mrb_define_method(mrb, both[i], "initialize_copy", digest_init_copy,    MRB_ARGS_REQ(1));
        mrb_define_method(mrb, both[i], "update",          digest_update,       MRB_ARGS_REQ(1));
        mrb_define_method(mrb, both[i], "<<",              digest_update,       MRB_ARGS_REQ(1));
        mrb_define_method(mrb, both[i], "digest",          digest_digest,       MRB_ARGS_NONE());
        mrb_define_method(mrb, both[i], "hexdigest",       digest_hexdigest,    MRB_ARGS_NONE());
        mrb_define_method(mrb, both[i], "name",            digest_name,         MRB_ARGS_NONE());
        mrb_define_method(mrb, both[i], "digest_length",   digest_length,       MRB_ARGS_NONE());
        mrb_define_method(mrb, both[i], "block_length",    digest_block_length, MRB_ARGS_NONE());
        mrb_define_method(mrb, both[i], "finished?",       digest_finished_p,   MRB_ARGS_NONE());
    }
    /* clang-format on */
}

const struct rt_module rt_module_crypto = {.name = "crypto", .vm_init = crypto_vm_init};
