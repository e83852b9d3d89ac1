/*
 * folded.c — reader of folded stacks (Brendan Gregg's collapsed format), the files flamegraph.pl's
 * stackcollapse-* scripts, inferno, `py-spy record --format raw`, `rbspy record --format
 * collapsed` and mrprof's own writer (collapsed.c) produce:
 *
 *     root;caller;callee 123
 *
 * one stack per line, frames root first separated by ';', then white space and the number of
 * samples (flamegraph.pl's pattern: digits with an optional fraction). The file holds no rate,
 * no times and no threads, so a line becomes `count` samples of the one thread "main", each
 * weighing 1 ms (the report's "ms" column is then the sample count), at times that advance by
 * that weight. A fractional count becomes one sample of that many ms.
 *
 * Frame names are split into name, file and line where a known profiler's pattern says so:
 *   py-spy   `name (file:line)` or `name (file)`   (src/flamegraph.rs, benfred/py-spy)
 *   rbspy    `name - path:line`                     (StackFrame's Display, rbspy/rbspy
 *                                                    src/core/types.rs)
 * Both write the line being executed in that frame, not the function's first line, so the
 * frame keeps line 0 (unknown) and the leaf's line becomes the sample's line (what `report
 * --by line` reads). Anything else is a name as it stands; mrprof's pseudo frames ("(idle)",
 * "(garbage collector)", ...) are read back as such.
 *
 * Trailing ';' are dropped (as flamegraph.pl does); an empty frame elsewhere is an error.
 * Bad input is an error naming the line and column. The text is walked once, frames are split
 * in place, and nothing recurses: memory grows with the file, never with a count.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/internal.h"

#define FOLDED_KIND "folded stacks"
/* A count beyond this is refused (1e12 samples of 1 ms is 31 years)... */
#define FOLDED_MAX_COUNT 1e12
/* ...and so are whole counts adding up to more samples than this (32 bytes each: 32 MiB); an
 * hour at py-spy's and rbspy's 100 Hz is 360 000, a minute of perf at 99 Hz on 64 CPUs 380 000. */
#define FOLDED_MAX_SAMPLES (1u << 20)

static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The count at the end of line [s, e): its start, or NULL when the line does not end with
 * white space and `digits[.digits]`. */
static const char *
count_start(const char *s, const char *e)
{
    const char *c = e;
    while (c > s && (c[-1] >= '0' && c[-1] <= '9'))
        c--;
    if (c > s && c[-1] == '.' && c < e) { /* a fraction: digits before the dot too */
        const char *d = c - 1;
        while (d > s && d[-1] >= '0' && d[-1] <= '9')
            d--;
        if (d == c - 1)
            return NULL;
        c = d;
    }
    if (c == e || c == s || !is_space(c[-1]))
        return NULL;
    return c;
}

/* A byte that no text profile holds: controls but tab (and '\r' at a line's end, cut before). */
static bool
is_control(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

bool
fmt__looks_folded(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\n' || buf[i] == '\r' || is_space(buf[i])))
        i++;
    const char *s = buf + i, *end = buf + len;
    if (s == end || *s == '{' || *s == '[') /* JSON: not worth a scan of its (maybe only) line */
        return false;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    if (e > s && e[-1] == '\r')
        e--;
    while (e > s && is_space(e[-1]))
        e--;
    for (const char *c = s; c < e; c++)
        if (is_control((unsigned char)*c))
            return false;
    const char *c = count_start(s, e);
    if (!c)
        return false;
    while (c > s && is_space(c[-1]))
        c--;
    return c > s;
}

/* Splits a py-spy or rbspy frame name in place: name (NUL-terminated), file and line. */
static void
split_frame(char *f, size_t n, const char **file, int32_t *line)
{
    *file = "";
    *line = 0;
    char *e = f + n;
    /* py-spy: `name (file:line)` or `name (file)`; the file has no space and a '.' or '/'. */
    if (n > 4 && e[-1] == ')') {
        char *open = NULL;
        for (char *c = e - 1; c > f; c--)
            if (c[-1] == ' ' && c[0] == '(') {
                open = c;
                break;
            }
        if (open && open - 1 > f) {
            char *in = open + 1, *close = e - 1, *colon = NULL;
            bool plain = close > in;
            for (char *c = in; c < close; c++)
                if (*c == ' ' || *c == '(' || *c == ')')
                    plain = false;
            for (char *c = close; c > in; c--)
                if (c[-1] == ':') {
                    colon = c - 1;
                    break;
                }
            char *digits = colon ? colon + 1 : close;
            bool numeric = colon && digits < close && close - digits <= 9;
            for (char *c = digits; numeric && c < close; c++)
                numeric = *c >= '0' && *c <= '9';
            char *fend = numeric ? colon : close;
            bool pathish = false;
            for (char *c = in; c < fend; c++)
                pathish |= *c == '.' || *c == '/';
            if (plain && fend > in && (numeric || pathish)) {
                if (numeric)
                    *line = (int32_t)strtol(digits, NULL, 10);
                *fend = 0;
                *file = in;
                open[-1] = 0;
                return;
            }
        }
    }
    /* rbspy: `name - path:line`. */
    for (char *c = e; c - f >= 4; c--) {
        if (!(c[-3] == ' ' && c[-2] == '-' && c[-1] == ' '))
            continue;
        char *path = c, *colon = NULL;
        for (char *d = e; d > path; d--)
            if (d[-1] == ':') {
                colon = d - 1;
                break;
            }
        if (!colon || colon == path || e - (colon + 1) < 1 || e - (colon + 1) > 9)
            break;
        bool numeric = true;
        for (char *d = colon + 1; d < e; d++)
            numeric &= *d >= '0' && *d <= '9';
        if (!numeric || c - 3 == f)
            break;
        *line = (int32_t)strtol(colon + 1, NULL, 10);
        *colon = 0;
        *file = path;
        c[-3] = 0;
        return;
    }
    *e = 0;
}

static int
frame_kind(const char *name)
{
    if (profile_pseudo_name(name))
        return FRAME_PSEUDO;
    if (strncmp(name, "block ", 6) == 0 && strstr(name, " in "))
        return FRAME_BLOCK;
    return FRAME_RUBY;
}

int
fmt__folded_read(struct profile *p, char *buf, size_t len, const char *name, struct mp_err *e)
{
    uint32_t th = profile_add_thread(p, 0, "main");
    p->meta.mode = PROFILE_WALL;
    snprintf(p->meta.tool, sizeof p->meta.tool, "folded stacks");
    uint64_t t = 0;
    size_t lineno = 0, stacks = 0;
    uint64_t nsamples = 0;
    char *s = buf, *end = buf + len;
    while (s < end) {
        lineno++;
        char *nl = memchr(s, '\n', (size_t)(end - s));
        char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
        if (le > s && le[-1] == '\r')
            le--;
        for (char *c = s; c < le; c++)
            if (is_control((unsigned char)*c))
                return fmt__bad(e, name, FOLDED_KIND,
                                "line %zu, column %zu holds the control byte 0x%02x", lineno,
                                (size_t)(c - s) + 1, (unsigned char)*c);
        char *te = le;
        while (te > s && is_space(te[-1]))
            te--;
        char *ts = s;
        while (ts < te && is_space(*ts))
            ts++;
        if (ts == te) { /* a blank line */
            s = next;
            continue;
        }
        const char *cs = count_start(ts, te);
        if (!cs)
            return fmt__bad(e, name, FOLDED_KIND,
                            "line %zu, column %zu: expected white space and a sample "
                            "count at the end of the line (`a;b;c 12`)",
                            lineno, (size_t)(te - s) + 1);
        char *se = (char *)cs;
        while (se > ts && is_space(se[-1]))
            se--;
        if (se == ts)
            return fmt__bad(e, name, FOLDED_KIND,
                            "line %zu, column %zu: the line has a count but no stack", lineno,
                            (size_t)(ts - s) + 1);
        double count = strtod(cs, NULL);
        if (!(count <= FOLDED_MAX_COUNT))
            return fmt__bad(e, name, FOLDED_KIND,
                            "line %zu, column %zu: the count %.*s is beyond %.0f samples", lineno,
                            (size_t)(cs - s) + 1, (int)(te - cs < 40 ? te - cs : 40), cs,
                            FOLDED_MAX_COUNT);
        uint64_t w = (uint64_t)llround(count * 1e6);
        if (w > UINT64_MAX / 4 - t)
            return fmt__bad(e, name, FOLDED_KIND,
                            "line %zu: the counts add up to more than mrprof can hold", lineno);
        /* Trailing ';' end the stack as they do for flamegraph.pl (Perl's split drops trailing
         * empty fields); perf's stackcollapse writes them. */
        while (se > ts && se[-1] == ';')
            se--;
        while (se > ts && is_space(se[-1]))
            se--;
        if (se == ts)
            return fmt__bad(e, name, FOLDED_KIND, "line %zu, column %zu: the stack has no frame",
                            lineno, (size_t)(ts - s) + 1);
        /* The frames, root first: each one is interned and walked down the trie. */
        uint32_t node = 0;
        int32_t leaf_line = 0;
        for (char *f = ts; f <= se;) {
            char *fe = memchr(f, ';', (size_t)(se - f));
            if (!fe)
                fe = se;
            if (fe == f)
                return fmt__bad(e, name, FOLDED_KIND,
                                "line %zu, column %zu: an empty frame name (two ';' "
                                "in a row, or one at the start of the stack)",
                                lineno, (size_t)(f - s) + 1);
            const char *file;
            int32_t ln;
            split_frame(f, (size_t)(fe - f), &file, &ln);
            uint32_t fr = profile_frame_intern(p, f, file, 0, frame_kind(f));
            node = profile_node(p, node, fr);
            leaf_line = ln;
            f = fe + 1;
        }
        stacks++;
        /* A whole count is that many samples (diff's and check's tests count samples); a
         * fraction, which flamegraph.pl allows, one sample of that weight. */
        if (count != floor(count)) {
            profile_add_sample(p, th, node, leaf_line, t, w);
            t += w;
        } else {
            if (count > (double)(FOLDED_MAX_SAMPLES - nsamples))
                return fmt__bad(e, name, FOLDED_KIND,
                                "line %zu: the counts add up to more than %u samples, "
                                "the most mrprof reads from folded stacks",
                                lineno, FOLDED_MAX_SAMPLES);
            for (uint64_t k = 0; k < (uint64_t)count; k++, t += 1000000)
                profile_add_sample(p, th, node, leaf_line, t, 1000000);
            nsamples += (uint64_t)count;
        }
        s = next;
    }
    if (!stacks)
        return fmt__bad(e, name, FOLDED_KIND, "it holds no stack");
    p->meta.end_ns = t;
    return 0;
}
