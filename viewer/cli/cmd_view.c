/*
 * cmd_view.c — `mrprof view FILE`: the terminal viewer on a profile file, and the display
 * options `view` and `top` share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "formats/formats.h"
#include "viewer/cli/cli.h"
#include "profiler/model/difftree.h"
#include "viewer/tui/tv.h"
#include "viewer/tui/tv_curses.h"

static const char usage[] =
    "usage: mrprof view FILE [--once] [--view V] [--size WxH] [--thread N] [--search TEXT]\n"
    "                        [--hide-idle] [--process PID|NAME]\n"
    "       mrprof view --diff BASE NEW [--absolute] [options]\n";
static const char about[] =
    "Opens a profile in the terminal: top functions, call tree, flame graph, timeline, threads\n"
    "and memory, switched with the keys 1-6 (? shows every key). Reads any profile mrprof reads:\n"
    ".cpuprofile (mrun's, Node's, Chrome's), Trace Event JSON, .heapprofile, pprof, speedscope,\n"
    "folded stacks.\n";

int
cli_view_name_opt(struct opt_state *st, const struct opt *o, const char *value)
{
    int view = tv_view_by_name(value);
    if (view == -2)
        return opt_error(st->cmd, "%s must be %s or all, not '%s'", st->spelled, tv_view_names(),
                         value);
    *(int *)o->dst = view;
    return 0;
}

int
cli_view_size_opt(struct opt_state *st, const struct opt *o, const char *value)
{
    struct view_opts *vo = o->dst;
    int w, h;
    char extra;
    if (sscanf(value, "%dx%d%c", &w, &h, &extra) != 2 || w < 40 || h < 8 || w > 1000 || h > 1000)
        return opt_error(st->cmd, "%s must be WIDTHxHEIGHT from 40x8 to 1000x1000, not '%s'",
                         st->spelled, value);
    vo->w = w;
    vo->h = h;
    return 0;
}

/* --diff BASE: a value that looks like an option is a forgotten BASE. */
static int
diff_base_opt(struct opt_state *st, const struct opt *o, const char *value)
{
    if (value[0] == '-')
        return opt_error(st->cmd, "--diff needs the base profile: mrprof view --diff BASE NEW");
    *(const char **)o->dst = value;
    return 0;
}

void
cli_view_defaults(struct view_opts *o)
{
    memset(o, 0, sizeof *o);
    o->thread = -1;
}

/* Applies the options to a fresh view state. */
void
cli_view_apply(const struct view_opts *o, struct tv *v)
{
    if (o->view >= 0)
        v->view = (enum tv_view)o->view;
    v->filter.thread = o->thread;
    v->th_sel = o->thread + 1;
    if (o->search)
        snprintf(v->search, sizeof v->search, "%s", o->search);
    v->filter.hide_idle = o->hide_idle;
}

bool
cli_view_interactive(const struct view_opts *o)
{
    return !o->once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
}

int
cli_view_check(const char *cmd, const struct view_opts *o)
{
    if (o->w && cli_view_interactive(o))
        return cli_usage_error(cmd,
                               "--size sets the text of --once; on a terminal the view takes the "
                               "terminal's size (add --once)");
    return CLI_OK;
}

int
cli_view_snapshot(const struct view_opts *o, struct tv *v)
{
    int w = o->w, h = o->h;
    struct winsize ws;
    if (!w && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
        w = ws.ws_col, h = ws.ws_row;
    if (!w)
        w = 100, h = 30;
    return tv_snapshot(v, o->view, w, h, stdout) ? CLI_USAGE : CLI_OK;
}

int
cmd_view(int argc, char **argv)
{
    const char *base_path = NULL, *process = NULL;
    bool absolute = false;
    struct view_opts o;
    cli_view_defaults(&o);
    const struct opt opts[] = {
        CLI_VIEW_OPTIONS(&o),
        {OPTION_CALLBACK(
            "diff", 0, diff_base_opt, &base_path, "BASE",
            "(then NEW) show NEW against BASE: the flame graph coloured by the change\n"
            "of each call path (red grew, blue shrank, by half a point of the total\n"
            "and 5 % of its own time or more; the change in points is in the label),\n"
            "the tree with a CHANGE column, the top view with each function's base\n"
            "share and change. The base is scaled to NEW's total unless --absolute.")},
        {OPTION_FLAG("absolute", 0, &absolute, "with --diff: compare time as measured")},
        CLI_OPT_PROCESS(&process),
        {0},
    };
    const struct opt_cmd cmd = {"mrprof view", usage, about, NULL, opts, 17, 0};
    int rc, nargs = cli_parse(&cmd, argc, argv, 1, "one file at a time", &rc);
    if (nargs < 0)
        return rc;
    const char *path = nargs ? argv[0] : NULL;
    if (!path && base_path)
        return cli_usage_error(
            "view", "--diff compares two profiles: mrprof view --diff BASE NEW (got one file)");
    if (!path)
        return cli_usage_error("view", "which profile? (mrprof view FILE)");
    if (o.view == -1 && !o.once && cli_view_interactive(&o))
        return cli_usage_error("view", "--view all needs --once");
    if (absolute && !base_path)
        return cli_usage_error("view", "--absolute scales a diff: it needs --diff BASE NEW");
    if (cli_view_check("view", &o) != CLI_OK)
        return CLI_USAGE;
    struct profile *p = cli_only_process("view", path, cli_read_profile("view", path), process);
    if (!p)
        return CLI_USAGE;
    struct diff_tree d = {0};
    char title_buf[512];
    if (base_path) { /* the view shows the merged profile: NEW's samples over both tries */
        struct profile *base =
            cli_only_process("view", base_path, cli_read_profile("view", base_path), process);
        int err = base ? diff_build(base, p, !absolute, &d) : -1;
        profile_free(base);
        profile_free(p);
        if (err) {
            if (err == -EINVAL)
                fprintf(stderr, "mrprof view: a heap profile and a CPU profile do not compare\n");
            else if (base)
                fprintf(stderr, "mrprof view: out of memory\n");
            return CLI_USAGE;
        }
        p = d.u;
    }
    if (o.thread >= 0 && (size_t)o.thread >= profile_nthreads(p)) {
        fprintf(stderr, "mrprof view: %s has %zu thread(s); --thread %d does not exist\n", path,
                profile_nthreads(p), o.thread);
        profile_free(p);
        return CLI_USAGE;
    }
    const char *title = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (base_path) {
        const char *bt = strrchr(base_path, '/') ? strrchr(base_path, '/') + 1 : base_path;
        snprintf(title_buf, sizeof title_buf, "diff %s -> %s", bt, title);
        title = title_buf;
    }
    struct tv v;
    tv_init(&v, p, title, tv_locale_utf8());
    v.diff = base_path ? &d : NULL;
    cli_view_apply(&o, &v);
    if (cli_view_interactive(&o))
        rc = tv_run(&v, NULL) == 0 ? CLI_OK : CLI_USAGE;
    else
        rc = cli_view_snapshot(&o, &v);
    tv_free(&v);
    if (base_path)
        diff_free(&d); /* p is d.u */
    else
        profile_free(p);
    return rc;
}
