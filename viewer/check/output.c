/*
 * output.c — the text table, the Markdown summary and the JUnit XML of `mrprof check` (see
 * output.h).
 */
#include "viewer/check/output.h"

#include <math.h>
#include <string.h>

#include "profiler/base/fileio.h"

static void
fmt_change(char *buf, size_t len, const struct verdict *v)
{
    if (isinf(v->change))
        snprintf(buf, len, "new");
    else if (isnan(v->change))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%+.1f%%", v->change);
}

static void
fmt_ci(char *buf, size_t len, const struct verdict *v)
{
    if (isnan(v->lo))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%+.1f%% .. %+.1f%%", v->lo, v->hi);
}

void
print_table(FILE *out, const struct verdicts *vs, bool markdown)
{
    const char *unit = vs->runs ? "median ms" : "share %";
    char ch[32], ci[48];
    if (markdown)
        fprintf(out,
                "| | function | base (%s) | new (%s) | change | 95%% CI | note |\n"
                "|---|---|---:|---:|---:|---:|---|\n",
                unit, unit);
    else
        fprintf(out, "%-6s %-40s %12s %12s %9s %22s\n", "", "function", "base", "new", "change",
                "95% CI");
    for (size_t i = 0; i < vs->n; i++) {
        const struct verdict *v = &vs->v[i];
        fmt_change(ch, sizeof ch, v);
        fmt_ci(ci, sizeof ci, v);
        const char *mark = v->failed ? "FAIL" : v->judged ? "ok" : "";
        if (markdown) {
            fprintf(out, "| %s | `", v->failed ? "❌" : "✅");
            for (const char *c = v->name; *c; c++)
                fputs(*c == '|' ? "\\|" : *c == '`' ? "'" : (char[2]){*c, 0}, out);
            fprintf(out, "` | %.1f | %.1f | %s | %s | %s |\n", v->base, v->cur, ch, ci, v->why);
        } else {
            fprintf(out, "%-6s %-40s %12.1f %12.1f %9s %22s\n", mark, v->name, v->base, v->cur, ch,
                    ci);
        }
    }
    if (vs->runs)
        fprintf(
            out,
            "%sbase and new: median ms of the runs. A function's change and interval are of its "
            "time "
            "against the rest of each run, so machine speed cancels (when one function grows, the "
            "others read smaller); the total's are of the CPU time itself.\n",
            markdown ? "\n" : "");
}

void
write_markdown(FILE *out, const struct verdicts *vs, size_t failures)
{
    fprintf(out, "### mrprof check: %s\n\n", failures ? "regression" : "no regression");
    print_table(out, vs, true);
}

static void
xml_text(FILE *out, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                putc(*s, out);
        }
}

int
write_report_file(const char *path, const struct verdicts *vs, bool junit, size_t failures)
{
    struct fio_atomic a;
    struct mp_err err;
    if (fio_begin(&a, path, &err) != 0) {
        fprintf(stderr, "mrprof check: cannot write %s: %s\n", path, err.msg);
        return -1;
    }
    if (!junit) {
        write_markdown(a.fp, vs, failures);
    } else {
        size_t tests = 0;
        for (size_t i = 0; i < vs->n; i++)
            tests += vs->v[i].judged;
        fprintf(a.fp,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" "
                "failures=\"%zu\">\n"
                "  <testsuite name=\"mrprof check\" tests=\"%zu\" failures=\"%zu\">\n",
                tests, failures, tests, failures);
        for (size_t i = 0; i < vs->n; i++) {
            const struct verdict *v = &vs->v[i];
            if (!v->judged)
                continue;
            fputs("    <testcase classname=\"mrprof.check\" name=\"", a.fp);
            xml_text(a.fp, v->name);
            if (v->failed) {
                fputs("\">\n      <failure message=\"", a.fp);
                xml_text(a.fp, v->why);
                fputs("\"/>\n    </testcase>\n", a.fp);
            } else {
                fputs("\">\n      <system-out>", a.fp);
                xml_text(a.fp, v->why);
                fputs("</system-out>\n    </testcase>\n", a.fp);
            }
        }
        fputs("  </testsuite>\n</testsuites>\n", a.fp);
    }
    if (fio_commit(&a, &err) != 0) {
        fprintf(stderr, "mrprof check: cannot write %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}
