/*
 * cmd_convert.c — `mrprof convert IN OUT [-f FORMAT]`: read any profile, write another format.
 * Nothing is written to OUT unless the whole conversion succeeded (temp file + rename).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/threads.h"
#include "viewer/cli/cli.h"

static const char usage[] =
    "usage: mrprof convert IN OUT [-f FORMAT] [--thread N] [--idle] [--min-width PX]\n";
static const char about[] =
    "Converts a profile. IN is any file mrprof reads (.cpuprofile new or legacy, Trace Event\n"
    "JSON, .heapprofile, pprof, speedscope, folded stacks); its format is found from the\n"
    "content. The format of OUT comes from -f, or from its extension:\n"
    "  .cpuprofile        cpuprofile: DevTools / Node CPU profile, one thread per file: every\n"
    "                     thread with samples gets one (OUT, OUT-without-.cpuprofile.thread-N\n"
    "                     .cpuprofile), or only thread N with --thread N\n"
    "  .json              trace: Trace Event JSON (DevTools Performance, Perfetto UI,\n"
    "                     chrome://tracing)\n"
    "  .speedscope.json   speedscope: speedscope's own file format, a profile per thread\n"
    "  .pb.gz, .pprof     pprof: gzipped profile.proto (go tool pprof, Pyroscope, Parca, Grafana)\n"
    "  .folded            collapsed: folded stacks with sample counts (flamegraph.pl, inferno,\n"
    "                     speedscope)\n"
    "  .svg               svg: an interactive flame graph in one file (hover, click to zoom,\n"
    "                     search; every thread, a frame each above \"all\"); image viewers\n"
    "                     show it still. Frames under 0.1 px are dropped\n";

int
cmd_convert(int argc, char **argv)
{
    const char *format = NULL, *thread_opt = NULL;
    unsigned long thread = 0;
    bool idle = false;
    double min_px = 0.1;
    const char *min_px_opt = NULL;
    char format_help[320];
    snprintf(format_help, sizeof format_help,
             "the format of OUT: %s\n(default: from OUT's extension)", fmt_names());
    const struct opt opts[] = {
        {OPTION_CALLBACK("format", 'f', cli_format_opt, &format, "F", format_help)},
        {OPTION_UINT("thread", 0, &thread, 0, 1000000, "N", "only thread N (into a .cpuprofile)"),
         .given = &thread_opt},
        {OPTION_FLAG("idle", 0, &idle,
                     "keep (idle) in folded stacks, speedscope, pprof and svg. By default they\n"
                     "leave it out (speedscope keeps its time as a gap), so no flame graph\n"
                     "draws waiting as the hottest function; .cpuprofile and trace always\n"
                     "keep it, as DevTools shows (idle) apart")},
        {OPTION_DOUBLE("min-width", 0, &min_px, 0.001, 1180, "PX",
                       "svg: leave out frames narrower than PX pixels of the 1180 the graph\n"
                       "spans (default 0.1, as flamegraph.pl): larger makes a smaller file\n"
                       "that opens faster, with less to see when zoomed in"),
         .given = &min_px_opt},
        {0},
    };
    const struct opt_cmd cmd = {"mrprof convert", usage, about, NULL, opts, 21, 0};
    int rc, nargs = cli_parse(&cmd, argc, argv, 2, "IN and OUT", &rc);
    if (nargs < 0)
        return rc;
    const char *in = nargs > 0 ? argv[0] : NULL, *out = nargs > 1 ? argv[1] : NULL;
    bool thread_set = thread_opt != NULL;
    if (!in || !out)
        return cli_usage_error("convert", "needs an input and an output file");
    const struct fmt_ops *f = format ? fmt_by_name(format) : fmt_by_path(out);
    if (!f)
        return cli_usage_error("convert",
                               "cannot tell the format of '%s' from its extension; "
                               "pass -f (%s)",
                               out, fmt_names());
    struct fmt_err e;
    struct profile *p = fmt_read_path(in, &e);
    if (!p) {
        fprintf(stderr, "mrprof convert: %s\n", e.msg);
        return CLI_USAGE;
    }
    if (thread_set && thread >= profile_nthreads(p)) {
        fprintf(stderr, "mrprof convert: %s has %zu thread(s); --thread %lu does not exist\n", in,
                profile_nthreads(p), thread);
        profile_free(p);
        return CLI_USAGE;
    }
    if (thread_set && f->write != cpuprofile_write) {
        fprintf(stderr,
                "mrprof convert: --thread picks the one thread a .cpuprofile holds; %s holds every "
                "thread\n",
                f->name);
        profile_free(p);
        return CLI_USAGE;
    }
    if (min_px_opt && f->write != svg_write) {
        fprintf(stderr,
                "mrprof convert: --min-width sets the SVG flame graph; %s has no frames to "
                "leave out\n",
                f->name);
        profile_free(p);
        return CLI_USAGE;
    }
    struct fmt_write_opts o = {
        .thread = thread_set ? (int)thread : -1, .idle = idle, .min_px = min_px};
    if (thread_set) {
        rc = fmt_write_path(p, out, f, &o, &e);
    } else { /* every thread: a .cpuprofile per thread, as --cpu-prof writes them */
        struct fmt_written *w;
        size_t n;
        rc = fmt_write_threads(p, out, f, &o, &w, &n, &e);
        if (n > 1) {
            char files[2048];
            fmt_written_describe(p, w, n, files, sizeof files);
            fprintf(stderr, "mrprof convert: a %s holds one thread; wrote %zu files: %s\n", f->ext,
                    n, files);
        }
        free(w);
    }
    profile_free(p);
    if (rc) {
        fprintf(stderr, "mrprof convert: %s\n", e.msg);
        return CLI_USAGE;
    }
    return CLI_OK;
}
