/*
 * core.c — the C halves of the core methods mrun adds to Debian's mruby 3.1 (the Ruby halves are
 * in runtime/prelude/vm/): the ones where speed or the C library matters.
 *
 *   URI.encode_www_form_component / decode_www_form_component, CGI.escape / unescape /
 *   escapeHTML / unescapeHTML: byte loops, byte-exact with CRuby 3.1 (uri/common.rb and the
 *   cgi/escape extension), one pass to size the result and one to fill it.
 *   Kernel#format / sprintf: float directives by snprintf (mruby's drops digits, rounds ties up).
 *   Kernel::SumOf.sum: Array#sum and Enumerable#sum's loop (CRuby's exact-then-Kahan summation).
 *   Time#strftime, #utc_offset, #zone: strftime_l(3) in the C locale for the directives it
 *   shares with CRuby, and CRuby's own ones (%L %N %:z %::z %s %+ %v) here.
 *
 * Everything is a vm_init: it needs no loop, so Deferred workers' VMs have it too.
 */
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "runtime/rt.h"

static const char hexdigits[] = "0123456789ABCDEF";

/* The bytes each escaper leaves alone; a space becomes '+' in both (www-form and CGI). */
static bool
uri_unreserved(unsigned char c)
{
    /* uri/common.rb: /[^*\-.0-9A-Z_a-z]/ is escaped. */
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*' ||
           c == '-' || c == '.' || c == '_';
}

static bool
cgi_unreserved(unsigned char c)
{
    /* cgi/util.rb: /[^ a-zA-Z0-9_.\-~]/ is escaped. */
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '~' ||
           c == '-' || c == '.' || c == '_';
}

static mrb_value
percent_escape(mrb_state *mrb, mrb_value str, bool (*keep)(unsigned char))
{
    const unsigned char *s = (const unsigned char *)RSTRING_PTR(str);
    mrb_int n = RSTRING_LEN(str), len = 0;
    for (mrb_int i = 0; i < n; i++)
        len += (keep(s[i]) || s[i] == ' ') ? 1 : 3;
    mrb_value out = mrb_str_new(mrb, NULL, len);
    char *o = RSTRING_PTR(out);
    s = (const unsigned char *)RSTRING_PTR(str); /* the allocation may have run the GC */
    for (mrb_int i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == ' ') {
            *o++ = '+';
        } else if (keep(c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hexdigits[c >> 4];
            *o++ = hexdigits[c & 15];
        }
    }
    return out;
}

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* '+' is a space and %XX a byte; a '%' not followed by two hex digits is kept as it is (CGI) or
 * is an error (URI, strict). */
static mrb_value
percent_unescape(mrb_state *mrb, mrb_value str, bool strict)
{
    const unsigned char *s = (const unsigned char *)RSTRING_PTR(str);
    mrb_int n = RSTRING_LEN(str);
    if (strict) {
        for (mrb_int i = 0; i < n; i++)
            if (s[i] == '%' && (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0))
                mrb_raisef(mrb, E_ARGUMENT_ERROR, "invalid %%-encoding (%v)", str);
    }
    mrb_value out = mrb_str_new(mrb, NULL, n);
    char *o = RSTRING_PTR(out), *start = o;
    s = (const unsigned char *)RSTRING_PTR(str);
    for (mrb_int i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '+') {
            *o++ = ' ';
        } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = (char)c;
        }
    }
    return mrb_str_resize(mrb, out, o - start);
}

/* URI.encode_www_form_component(obj): obj.to_s, as uri/common.rb does. */
static mrb_value
uri_encode_component(mrb_state *mrb, mrb_value self)
{
    mrb_value v = mrb_get_arg1(mrb);
    mrb_value str = mrb_string_p(v) ? v : mrb_obj_as_string(mrb, v);
    return percent_escape(mrb, str, uri_unreserved);
}

static mrb_value
uri_decode_component(mrb_state *mrb, mrb_value self)
{
    mrb_value str, enc;
    mrb_get_args(mrb, "S|o", &str, &enc);
    return percent_unescape(mrb, str, true);
}

static mrb_value
cgi_escape(mrb_state *mrb, mrb_value self)
{
    mrb_value str;
    mrb_get_args(mrb, "S", &str);
    return percent_escape(mrb, str, cgi_unreserved);
}

static mrb_value
cgi_unescape(mrb_state *mrb, mrb_value self)
{
    mrb_value str, enc;
    mrb_get_args(mrb, "S|o", &str, &enc);
    return percent_unescape(mrb, str, false);
}

static mrb_value
cgi_escape_html(mrb_state *mrb, mrb_value self)
{
    mrb_value str;
    mrb_get_args(mrb, "S", &str);
    const char *s = RSTRING_PTR(str);
    mrb_int n = RSTRING_LEN(str), len = 0;
    for (mrb_int i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':
            len += 5;
            break; /* &amp; */
        case '<':  /* &lt; */
        case '>':
            len += 4;
            break; /* &gt; */
        case '"':
            len += 6;
            break; /* &quot; */
        case '\'':
            len += 5;
            break; /* &#39; */
        default:
            len += 1;
        }
    }
    if (len == n)
        return mrb_str_dup(mrb, str);
    mrb_value out = mrb_str_new(mrb, NULL, len);
    char *o = RSTRING_PTR(out), *start = o;
    s = RSTRING_PTR(str);
    for (mrb_int i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            *o++ = s[i];
            continue;
        }
        size_t l = strlen(rep);
        memcpy(o, rep, l);
        o += l;
    }
    return mrb_str_resize(mrb, out, o - start);
}

/* Writes code point cp as UTF-8 (surrogates too, as CRuby's cgi/escape does); returns bytes. */
static int
put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Does s[i..] start with lit? Then *i moves to lit's last byte. */
static bool
match_at(const char *s, mrb_int n, mrb_int *i, const char *lit)
{
    mrb_int l = (mrb_int)strlen(lit);
    if (n - *i < l || memcmp(s + *i, lit, (size_t)l) != 0)
        return false;
    *i += l - 1;
    return true;
}

/* Digits in base from s[*i] on: their value (saturated above 0x10FFFF) and *i past them. */
static uint32_t
scan_digits(const char *s, mrb_int n, mrb_int *i, int base)
{
    uint32_t cp = 0;
    for (; *i < n; (*i)++) {
        int d = hexval((unsigned char)s[*i]);
        if (d < 0 || d >= base)
            break;
        cp = cp > 0x10FFFF ? cp : cp * (uint32_t)base + (uint32_t)d;
    }
    return cp;
}

/*
 * CGI.unescapeHTML: &amp; &lt; &gt; &quot; &apos; and numeric entities below U+10FFFF (UTF-8,
 * surrogates included), else the text is kept. The scan is CRuby's cgi/escape one, with its
 * quirk: when an entity fails after its first letter, the byte where it failed is not looked
 * at again ("&#65&#66;" stays as it is, the second '&' is skipped).
 */
static mrb_value
cgi_unescape_html(mrb_state *mrb, mrb_value self)
{
    mrb_value str;
    mrb_get_args(mrb, "S", &str);
    mrb_int n = RSTRING_LEN(str);
    if (!memchr(RSTRING_PTR(str), '&', (size_t)n))
        return mrb_str_dup(mrb, str);
    /* A decoded entity is never longer than its text (&#65536; is 4 bytes out of 8). */
    mrb_value out = mrb_str_new(mrb, NULL, n);
    char *o = RSTRING_PTR(out), *start = o;
    const char *s = RSTRING_PTR(str);
    mrb_int beg = 0;
    for (mrb_int i = 0; i < n; i++) {
        if (s[i] != '&')
            continue;
        mrb_int amp = i;
        if (++i >= n)
            break;
        char c = s[i];
        char enc[4];
        int enclen = 1;
        switch (c) {
        case 'a':
            ++i;
            if (match_at(s, n, &i, "pos;"))
                enc[0] = '\'';
            else if (match_at(s, n, &i, "mp;"))
                enc[0] = '&';
            else
                continue;
            break;
        case 'q':
            ++i;
            if (!match_at(s, n, &i, "uot;"))
                continue;
            enc[0] = '"';
            break;
        case 'g':
        case 'l':
            ++i;
            if (!match_at(s, n, &i, "t;"))
                continue;
            enc[0] = c == 'g' ? '>' : '<';
            break;
        case '#': {
            uint32_t cp;
            if (n - ++i >= 2 && s[i] >= '0' && s[i] <= '9')
                cp = scan_digits(s, n, &i, 10);
            else if ((s[i] == 'x' || s[i] == 'X') && n - ++i >= 2 &&
                     hexval((unsigned char)s[i]) >= 0)
                cp = scan_digits(s, n, &i, 16);
            else
                continue;
            if (cp >= 0x10FFFF || i >= n || s[i] != ';')
                continue;
            enclen = put_utf8(enc, cp);
            break;
        }
        default:
            --i;
            continue;
        }
        memcpy(o, s + beg, (size_t)(amp - beg));
        o += amp - beg;
        memcpy(o, enc, (size_t)enclen);
        o += enclen;
        beg = i + 1;
    }
    memcpy(o, s + beg, (size_t)(n - beg));
    o += n - beg;
    return mrb_str_resize(mrb, out, o - start);
}

/* ---- Time ---------------------------------------------------------------------------------- */

struct tparts {
    time_t sec;
    long usec;
    bool utc;
    struct tm tm; /* broken down in UTC or in the local zone */
};

static void
time_parts(mrb_state *mrb, mrb_value t, struct tparts *p)
{
    p->sec = (time_t)mrb_integer(mrb_funcall(mrb, t, "to_i", 0));
    p->usec = (long)mrb_integer(mrb_funcall(mrb, t, "usec", 0));
    p->utc = mrb_test(mrb_funcall(mrb, t, "utc?", 0));
    if (p->utc) {
        gmtime_r(&p->sec, &p->tm);
        p->tm.tm_zone = "UTC"; /* CRuby's %Z of a UTC time; glibc's gmtime says "GMT" */
    } else {
        localtime_r(&p->sec, &p->tm);
    }
}

static locale_t
c_locale(void)
{
    /* One per process, never freed: strftime must not follow the user's LC_TIME (CRuby's
     * names are always English). newlocale is thread-safe. */
    static locale_t loc;
    if (!__atomic_load_n(&loc, __ATOMIC_ACQUIRE)) {
        locale_t l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        locale_t expected = (locale_t)0;
        if (!__atomic_compare_exchange_n(&loc, &expected, l, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            freelocale(l);
    }
    return __atomic_load_n(&loc, __ATOMIC_ACQUIRE);
}

/* Appends s padded to width (pad: ' ' or '0', on the left; '-' flag: no padding). */
static void
cat_padded(mrb_state *mrb, mrb_value out, const char *s, size_t len, long width, char pad)
{
    for (long k = (long)len; k < width; k++)
        mrb_str_cat(mrb, out, &pad, 1);
    mrb_str_cat(mrb, out, s, len);
}

#define MAX_WIDTH (1 << 20)

static void strftime_into(mrb_state *mrb, mrb_value out, const char *fmt, size_t flen,
                          const struct tparts *p, int depth);

/* One directive CRuby shares with glibc: "%" flags width conv, through strftime_l. */
static void
glibc_directive(mrb_state *mrb, mrb_value out, const char *f, long width, const struct tparts *p)
{
    size_t cap = (size_t)width + 128;
    char *buf = mrb_malloc(mrb, cap);
    size_t n = strftime_l(buf, cap, f, &p->tm, c_locale());
    /* 0 is also the right length of an empty result (%p never is; a width of 0 neither). */
    mrb_str_cat(mrb, out, buf, n);
    mrb_free(mrb, buf);
}

static void
strftime_into(mrb_state *mrb, mrb_value out, const char *fmt, size_t flen, const struct tparts *p,
              int depth)
{
    for (size_t i = 0; i < flen;) {
        if (fmt[i] != '%') {
            size_t j = i;
            while (j < flen && fmt[j] != '%')
                j++;
            mrb_str_cat(mrb, out, fmt + i, j - i);
            i = j;
            continue;
        }
        size_t start = i++;
        bool minus = false, upper = false, zero = false, space = false, swap = false;
        int colons = 0;
        for (; i < flen; i++) {
            char c = fmt[i];
            if (c == '-')
                minus = true;
            else if (c == '^')
                upper = true;
            else if (c == '0')
                zero = true;
            else if (c == '_')
                space = true;
            else if (c == '#')
                swap = true;
            else if (c == ':')
                colons++;
            else
                break;
        }
        long width = -1;
        if (i < flen && fmt[i] >= '1' && fmt[i] <= '9') {
            width = 0;
            while (i < flen && fmt[i] >= '0' && fmt[i] <= '9') {
                width = width * 10 + (fmt[i] - '0');
                if (width > MAX_WIDTH)
                    mrb_raisef(mrb, E_ARGUMENT_ERROR, "strftime: width over %d", MAX_WIDTH);
                i++;
            }
        }
        while (i < flen && fmt[i] == ':') /* %10:z */
            colons++, i++;
        if (i >= flen) {
            /* A directive cut short by the end of the format: CRuby raises, except after ':'. */
            if (!colons)
                mrb_raisef(mrb, E_ARGUMENT_ERROR, "invalid format: %s", fmt);
            mrb_str_cat(mrb, out, fmt + start, flen - start);
            break;
        }
        char conv = fmt[i++];
        /* The E and O modifiers (alternative era and digits) mean nothing in the C locale. */
        if ((conv == 'E' && i < flen && strchr("cCxXyY", fmt[i])) ||
            (conv == 'O' && i < flen && strchr("deHIklmMSuUVwWy", fmt[i])))
            conv = fmt[i++];
        size_t speclen = i - start;
        char num[64];
        if (colons && conv != 'z') {
            mrb_str_cat(mrb, out, fmt + start, speclen);
            continue;
        }
        switch (conv) {
        case 'L':
        case 'N': {
            /* Fractional seconds, truncated: %L is 3 digits, %N 9; a width is the digit count. */
            long digits = width > 0 ? width : (conv == 'L' ? 3 : 9);
            char frac[10];
            snprintf(frac, sizeof frac, "%06ld000", p->usec);
            for (long k = 0; k < digits; k++)
                mrb_str_cat(mrb, out, k < 9 ? &frac[k] : "0", 1);
            break;
        }
        case 's': {
            /* Zeros go between the sign and the digits: %10s of -1 is "-000000001". */
            long long v = p->sec;
            int l = snprintf(num, sizeof num, "%llu",
                             v < 0 ? -(unsigned long long)v : (unsigned long long)v);
            long w = minus ? 0 : width;
            if (v < 0 && !space) {
                mrb_str_cat(mrb, out, "-", 1);
                cat_padded(mrb, out, num, (size_t)l, w - 1, '0');
            } else {
                if (v < 0)
                    memmove(num + 1, num, (size_t)l + 1), num[0] = '-', l++;
                cat_padded(mrb, out, num, (size_t)l, w, space ? ' ' : '0');
            }
            break;
        }
        case 'z': {
            /* CRuby's: sign, hours padded so that the whole is width wide, then the minutes
             * (and seconds); '-' makes UTC's "-00:00" (unknown local offset), '_' pads
             * with spaces before the sign. %:::z drops the zero minutes and seconds. */
            long off = p->utc ? 0 : p->tm.tm_gmtoff;
            char sign = (off < 0 || (p->utc && minus)) ? '-' : '+';
            long a = off < 0 ? -off : off, h = a / 3600, m = a / 60 % 60, sec = a % 60;
            char tail[16];
            if (colons == 0)
                snprintf(tail, sizeof tail, "%02ld", m);
            else if (colons == 1 || (colons == 3 && m && !sec))
                snprintf(tail, sizeof tail, ":%02ld", m);
            else if (colons == 2 || (colons == 3 && sec))
                snprintf(tail, sizeof tail, ":%02ld:%02ld", m, sec);
            else
                tail[0] = '\0';
            long hw = width - (long)strlen(tail);
            if (hw < 3)
                hw = 3;
            int dl = snprintf(num, sizeof num, "%ld", h);
            if (space) {
                for (long k = dl + 1; k < hw; k++)
                    mrb_str_cat(mrb, out, " ", 1);
                mrb_str_cat(mrb, out, &sign, 1);
            } else {
                mrb_str_cat(mrb, out, &sign, 1);
                for (long k = dl + 1; k < hw; k++)
                    mrb_str_cat(mrb, out, "0", 1);
            }
            mrb_str_cat(mrb, out, num, (size_t)dl);
            mrb_str_cat_cstr(mrb, out, tail);
            break;
        }
        case 'v': {
            if (depth > 0) {
                mrb_str_cat(mrb, out, fmt + start, speclen);
                break;
            }
            const char *sub = "%e-%^b-%4Y"; /* VMS date */
            mrb_value tmp = mrb_str_new(mrb, NULL, 0);
            strftime_into(mrb, tmp, sub, strlen(sub), p, depth + 1);
            if (upper) {
                char *c = RSTRING_PTR(tmp);
                for (mrb_int k = 0; k < RSTRING_LEN(tmp); k++)
                    if (c[k] >= 'a' && c[k] <= 'z')
                        c[k] = (char)(c[k] - 'a' + 'A');
            }
            cat_padded(mrb, out, RSTRING_PTR(tmp), (size_t)RSTRING_LEN(tmp), minus ? 0 : width,
                       zero ? '0' : ' ');
            break;
        }
        case 'a':
        case 'A':
        case 'b':
        case 'B':
        case 'c':
        case 'C':
        case 'd':
        case 'D':
        case 'e':
        case 'F':
        case 'g':
        case 'G':
        case 'h':
        case 'H':
        case 'I':
        case 'j':
        case 'k':
        case 'l':
        case 'm':
        case 'M':
        case 'n':
        case 'p':
        case 'P':
        case 'r':
        case 'R':
        case 'S':
        case 't':
        case 'T':
        case 'u':
        case 'U':
        case 'V':
        case 'w':
        case 'W':
        case 'x':
        case 'X':
        case 'y':
        case 'Y':
        case 'Z':
        case '%': {
            /* Rebuilt for glibc: CRuby's '-' also drops the width, glibc's keeps it. */
            char spec[32];
            int sl =
                snprintf(spec, sizeof spec, "%%%s%s%s%s%s", minus ? "-" : "", upper ? "^" : "",
                         zero && !minus ? "0" : "", space && !minus ? "_" : "", swap ? "#" : "");
            if (width > 0 && !minus)
                sl += snprintf(spec + sl, sizeof spec - (size_t)sl, "%ld", width);
            snprintf(spec + sl, sizeof spec - (size_t)sl, "%c", conv);
            glibc_directive(mrb, out, spec, width, p);
        } break;
        default: /* not a directive: CRuby copies it */
            mrb_str_cat(mrb, out, fmt + start, speclen);
        }
    }
}

static mrb_value
time_strftime(mrb_state *mrb, mrb_value self)
{
    mrb_value fmt;
    mrb_get_args(mrb, "S", &fmt);
    struct tparts p;
    time_parts(mrb, self, &p);
    mrb_value out = mrb_str_new_capa(mrb, (size_t)RSTRING_LEN(fmt) + 16);
    strftime_into(mrb, out, RSTRING_PTR(fmt), (size_t)RSTRING_LEN(fmt), &p, 0);
    return out;
}

static mrb_value
time_utc_offset(mrb_state *mrb, mrb_value self)
{
    struct tparts p;
    time_parts(mrb, self, &p);
    return mrb_fixnum_value(p.utc ? 0 : p.tm.tm_gmtoff);
}

/* CRuby's Time#zone: "UTC" for a UTC time, else the local zone's abbreviation ("CET");
 * Debian's mruby returns the offset ("+0100"). */
static mrb_value
time_zone(mrb_state *mrb, mrb_value self)
{
    struct tparts p;
    time_parts(mrb, self, &p);
    return mrb_str_new_cstr(mrb, p.tm.tm_zone ? p.tm.tm_zone : "");
}

/* ---- sums ---------------------------------------------------------------------------------- */

static bool
is_exact(mrb_state *mrb, mrb_value v, struct RClass *rational)
{
    return mrb_integer_p(v) || (rational && mrb_obj_is_kind_of(mrb, v, rational));
}

/* v + e through Ruby's + (any type; Integer overflow raises as mruby does). */
static mrb_value
plus(mrb_state *mrb, mrb_value v, mrb_value e)
{
    if (mrb_integer_p(v) && mrb_integer_p(e)) {
        mrb_int r;
        if (!__builtin_add_overflow(mrb_integer(v), mrb_integer(e), &r))
            return mrb_int_value(mrb, r);
    }
    return mrb_funcall_id(mrb, v, mrb_intern_lit(mrb, "+"), 1, e);
}

/*
 * Kernel::SumOf.sum(values, init, float_init): CRuby's summation (array.c rb_ary_sum, enum.c
 * enum_sum) over an Array of values: Integers (and Rationals) added exactly while init is
 * exact, then from the first Float on Kahan-Babuska compensated summation; any other value
 * goes through +. float_init: a Float init starts the compensated sum (Enumerable#sum; Array#sum
 * adds to a Float init with +).
 */
static mrb_value
sum_of(mrb_state *mrb, mrb_value self)
{
    mrb_value values, v;
    mrb_bool float_init;
    mrb_get_args(mrb, "Aob", &values, &v, &float_init);
    struct RClass *rational =
        mrb_class_defined(mrb, "Rational") ? mrb_class_get(mrb, "Rational") : NULL;
    mrb_int n = RARRAY_LEN(values), i = 0;
    int ai = mrb_gc_arena_save(mrb);
    double f = 0, c = 0;
    if (float_init && mrb_float_p(v)) {
        f = mrb_float(v);
        goto kahan;
    }
    if (!is_exact(mrb, v, rational))
        goto generic;
    for (; i < n; i++) {
        mrb_value e = RARRAY_PTR(values)[i];
        if (mrb_float_p(e)) {
            f = mrb_float(mrb_funcall_id(mrb, v, mrb_intern_lit(mrb, "to_f"), 0));
            goto kahan;
        }
        if (!is_exact(mrb, e, rational))
            goto generic;
        v = plus(mrb, v, e);
        mrb_gc_arena_restore(mrb, ai);
        mrb_gc_protect(mrb, v);
    }
    return v;
kahan:
    for (; i < n; i++) {
        mrb_value e = RARRAY_PTR(values)[i];
        double x;
        if (mrb_float_p(e))
            x = mrb_float(e);
        else if (mrb_integer_p(e))
            x = (double)mrb_integer(e);
        else if (rational && mrb_obj_is_kind_of(mrb, e, rational))
            x = mrb_float(mrb_funcall_id(mrb, e, mrb_intern_lit(mrb, "to_f"), 0));
        else {
            v = mrb_float_value(mrb, f); /* CRuby drops the compensation here */
            goto generic;
        }
        if (isnan(f))
            continue;
        if (isnan(x)) {
            f = x;
            continue;
        }
        if (isinf(x)) {
            f = (isinf(f) && signbit(x) != signbit(f)) ? NAN : x;
            continue;
        }
        if (isinf(f))
            continue;
        double t = f + x;
        if (fabs(f) >= fabs(x))
            c += ((f - t) + x);
        else
            c += ((x - t) + f);
        f = t;
    }
    return mrb_float_value(mrb, f + c);
generic:
    for (; i < n; i++) {
        v = mrb_funcall_id(mrb, v, mrb_intern_lit(mrb, "+"), 1, RARRAY_PTR(values)[i]);
        mrb_gc_arena_restore(mrb, ai);
        mrb_gc_protect(mrb, v);
    }
    return v;
}

/* ---- format ---------------------------------------------------------------------------------- */

/* One directive of a format string, fmt[start, end). */
struct fdir {
    size_t start, end;
    char conv;
    bool zero, minus, complex; /* complex: N$, {name} or '*' */
    size_t name, name_len;     /* <name>: its place in fmt, or name_len 0 */
};

static size_t
fdir_parse(const char *f, size_t n, size_t i, struct fdir *d)
{
    memset(d, 0, sizeof *d);
    d->start = i++;
    bool digits = false; /* a width or precision digit seen: a '0' is no flag after it */
    for (; i < n; i++) {
        char c = f[i];
        if (c == '0' && !digits)
            d->zero = true;
        else if (c >= '0' && c <= '9')
            digits = true;
        else if (c == '-')
            d->minus = true;
        else if (c == ' ' || c == '+' || c == '#')
            ;
        else if (c == '.')
            digits = true;
        else if (c == '*' || c == '$')
            d->complex = true;
        else if (c == '<' || c == '{') { /* a name: up to its closing bracket */
            char close = c == '<' ? '>' : '}';
            size_t open = i;
            while (i < n && f[i] != close)
                i++;
            if (close == '>') {
                d->name = open + 1;
                d->name_len = i - open - 1;
            } else {
                d->complex = true;
                if (i < n)
                    i++;
                break; /* %{name} has no conversion letter */
            }
        } else
            break;
    }
    d->conv = i < n ? f[i] : '\0';
    d->end = i < n ? i + 1 : n;
    if (d->complex && i <= n && i > 0 && f[i - 1] == '}') { /* %{name}: it ends at the brace */
        d->conv = 's';
        d->end = i;
    }
    return d->end;
}

static bool
fdir_fixable(const struct fdir *d)
{
    return !d->complex && d->conv && strchr("feEgG", d->conv);
}

/*
 * Kernel#format / sprintf (and so String#%): mruby-sprintf's, except that the float directives
 * (%f %e %E %g %G) are C's printf, which prints what CRuby does: mruby 3.1's drops the last digit
 * when the 0 flag meets a sign ("%08.3f" % -3.5 gave "-003.50") and rounds ties away from zero
 * ("%.1f" % 0.25 gave "0.3", CRuby "0.2"). A format without float directives, or with
 * positional (1$), %{name} or '*' arguments, goes to mruby's whole; otherwise each directive is
 * done on its own, in order, by mruby's (one argument each) or by snprintf.
 */
static mrb_value
format_fixed(mrb_state *mrb, mrb_value self)
{
    mrb_value fmt, *argv;
    mrb_int argc;
    mrb_get_args(mrb, "S*", &fmt, &argv, &argc);
    mrb_sym orig = mrb_intern_lit(mrb, "__mrun_sprintf");
    const char *f = RSTRING_PTR(fmt);
    size_t n = (size_t)RSTRING_LEN(fmt);
    bool fixable = false, complex = false;
    for (size_t i = 0; i < n;) {
        if (f[i] != '%') {
            i++;
            continue;
        }
        struct fdir d;
        i = fdir_parse(f, n, i, &d);
        fixable |= fdir_fixable(&d);
        complex |= d.complex;
    }
    if (!fixable || complex) {
        mrb_value all = mrb_ary_new_capa(mrb, argc + 1);
        mrb_ary_push(mrb, all, fmt);
        for (mrb_int k = 0; k < argc; k++)
            mrb_ary_push(mrb, all, argv[k]);
        return mrb_funcall_argv(mrb, self, orig, RARRAY_LEN(all), RARRAY_PTR(all));
    }
    fmt = mrb_str_dup(mrb, fmt); /* the pieces below must not see the caller change it */
    mrb_value out = mrb_str_new_capa(mrb, n + 16);
    mrb_int argi = 0;
    int ai = mrb_gc_arena_save(mrb);
    for (size_t i = 0; i < (size_t)RSTRING_LEN(fmt);) {
        f = RSTRING_PTR(fmt);
        n = (size_t)RSTRING_LEN(fmt);
        if (f[i] != '%') {
            size_t j = i;
            while (j < n && f[j] != '%')
                j++;
            mrb_str_cat(mrb, out, f + i, j - i);
            i = j;
            continue;
        }
        struct fdir d;
        i = fdir_parse(f, n, i, &d);
        mrb_value arg = argi < argc ? argv[argi] : mrb_undef_value();
        mrb_value value = arg; /* what the directive prints */
        if (d.name_len) {      /* %<name>: from the one Hash argument, which stays */
            arg = argc > 0 ? argv[0] : mrb_undef_value();
            value = mrb_hash_p(arg)
                        ? mrb_hash_get(mrb, arg,
                                       mrb_symbol_value(mrb_intern(mrb, f + d.name, d.name_len)))
                        : mrb_undef_value();
        } else if (d.conv != '%') {
            argi++;
        }
        if (fdir_fixable(&d) && (mrb_float_p(value) || mrb_integer_p(value))) {
            double x = mrb_float_p(value) ? mrb_float(value) : (double)mrb_integer(value);
            if (isfinite(x)) {
                char spec[64];
                size_t sl = d.end - d.start;
                if (sl < sizeof spec) {
                    memcpy(spec, f + d.start, sl);
                    spec[sl] = '\0';
                    if (d.name_len) { /* C's printf has no <name>: cut it out */
                        size_t from = d.name - 1 - d.start, len = d.name_len + 2;
                        memmove(spec + from, spec + from + len, sl - from - len + 1);
                    }
/* spec is checked: flags " -+0#", digits, '.', and one of "feEgG" (fdir_fixable). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                    int len = snprintf(NULL, 0, spec, x);
                    if (len >= 0) {
                        char *buf = mrb_malloc(mrb, (size_t)len + 1);
                        snprintf(buf, (size_t)len + 1, spec, x);
#pragma GCC diagnostic pop
                        mrb_str_cat(mrb, out, buf, (size_t)len);
                        mrb_free(mrb, buf);
                        continue;
                    }
                }
            }
        }
        mrb_value piece[2] = {mrb_str_new(mrb, f + d.start, (mrb_int)(d.end - d.start)), arg};
        mrb_value r =
            mrb_funcall_argv(mrb, self, orig, (d.conv != '%' && !mrb_undef_p(arg)) ? 2 : 1, piece);
        mrb_str_cat_str(mrb, out, r);
        mrb_gc_arena_restore(mrb, ai);
    }
    return out;
}

static void
core_vm_init(mrb_state *mrb)
{
    struct RClass *uri = mrb_define_module(mrb, "URI");
    mrb_define_class_method(mrb, uri, "encode_www_form_component", uri_encode_component,
                            MRB_ARGS_ARG(1, 1));
    mrb_define_class_method(mrb, uri, "decode_www_form_component", uri_decode_component,
                            MRB_ARGS_ARG(1, 1));
    struct RClass *cgi = mrb_define_class(mrb, "CGI", mrb->object_class);
    mrb_define_class_method(mrb, cgi, "escape", cgi_escape, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, cgi, "unescape", cgi_unescape, MRB_ARGS_ARG(1, 1));
    mrb_define_class_method(mrb, cgi, "escapeHTML", cgi_escape_html, MRB_ARGS_REQ(1));
    mrb_define_class_method(mrb, cgi, "unescapeHTML", cgi_unescape_html, MRB_ARGS_REQ(1));

    struct RClass *tc = mrb_class_get(mrb, "Time");
    mrb_define_method(mrb, tc, "strftime", time_strftime, MRB_ARGS_REQ(1));
    mrb_define_method(mrb, tc, "utc_offset", time_utc_offset, MRB_ARGS_NONE());
    mrb_define_method(mrb, tc, "zone", time_zone, MRB_ARGS_NONE());

    struct RClass *krn = mrb->kernel_module;
    mrb_define_alias(mrb, krn, "__mrun_sprintf", "sprintf");
    mrb_define_module_function(mrb, krn, "sprintf", format_fixed, MRB_ARGS_ANY());
    mrb_define_module_function(mrb, krn, "format", format_fixed, MRB_ARGS_ANY());

    struct RClass *sum = mrb_define_module_under(mrb, mrb->kernel_module, "SumOf");
    mrb_define_class_method(mrb, sum, "sum", sum_of, MRB_ARGS_REQ(3));
}

const struct rt_module rt_module_core = {.name = "core", .vm_init = core_vm_init};
