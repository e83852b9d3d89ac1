/*
 * tv.c — the terminal viewer's state: filters, the derived tables every view shares, and the
 * keys and clicks that are not one view's own.
 *
 * The shared tables are recomputed from the profile by tv_refresh() when something they depend
 * on changed (a filter, the search, the sort, new live samples): the top table and the call tree
 * are the same aggregations `mrprof report` prints (profiler/model/aggregate.c), restricted to
 * the chosen thread and time range. Each recomputation counts up v->gen, on which the views key
 * their own derived data. A key goes to the search prompt, the help, the keys common to every
 * view (q ? / p s Esc, the views' hotkeys, Tab, the row cursor's moves), and then to the current
 * view's on_key (tv_view.h). Drawing is in tv_draw.c, each view in view_*.c.
 */
#include "viewer/tui/tv_view.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/formats.h"
#include "formats/threads.h"

void
tv_init(struct tv *v, struct profile *p, const char *title, bool utf8)
{
    memset(v, 0, sizeof *v);
    v->p = p;
    v->title = title;
    v->utf8 = utf8;
    v->filter.thread = -1;
    v->tl_mark = -1;
    v->dirty = true;
    v->layout = (struct tv_layout){
        .view = TV_TOP, .body_y = 2, .list_y = 3}; /* the top view's draw gives */
}

void
tv_free(struct tv *v)
{
    agg_free(&v->top);
    agg_tree_free(&v->tree);
    free(v->top_rows);
    free(v->expanded);
    free(v->match);
    free(v->tree_rows);
    free(v->tree_depth);
    free(v->boxes);
    if (v->procs_state)
        tv__panel_processes.free_state(v->procs_state);
    for (int i = 0; i < TV_NVIEWS; i++)
        if (v->view_state[i] && tv_views[i]->free_state)
            tv_views[i]->free_state(v->view_state[i]);
        else
            free(v->view_state[i]);
    memset(v, 0, sizeof *v);
}

void
tv_mark_dirty(struct tv *v)
{
    v->dirty = true;
}

/* --- refresh ------------------------------------------------------------------------------ */

static bool
grow_bytes(uint8_t **a, size_t *cap, size_t n)
{
    if (n <= *cap)
        return true;
    size_t c = *cap ? *cap : 256;
    while (c < n)
        c *= 2;
    uint8_t *b = realloc(*a, c);
    if (!b)
        return false;
    memset(b + *cap, 0, c - *cap);
    *a = b;
    *cap = c;
    return true;
}

static bool
contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return false;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

bool
tv_frame_matches(const struct tv *v, uint32_t frame)
{
    return v->search[0] && frame < v->cap_frames && v->match[frame];
}

int
tv_refresh(struct tv *v)
{
    if (!v->dirty)
        return 0;
    v->gen++;
    struct profile *p = v->p;
    size_t nn = profile_nnodes(p), nf = profile_nframes(p), ns = profile_nsamples(p);
    if (!grow_bytes(&v->expanded, &v->cap_nodes, nn) || !grow_bytes(&v->match, &v->cap_frames, nf))
        return -ENOMEM;

    agg_free(&v->top);
    agg_tree_free(&v->tree);
    if (agg_compute_f(p, &v->filter, AGG_FUNCTION, &v->top) ||
        agg_tree_build_f(p, &v->filter, &v->tree))
        return -ENOMEM;
    if (v->sort_total)
        agg_sort_by_total(&v->top);

    const struct prof_frame *frames = profile_frames(p);
    for (size_t f = 0; f < nf; f++)
        v->match[f] = v->search[0] && (contains_nocase(profile_str(p, frames[f].name), v->search) ||
                                       contains_nocase(profile_str(p, frames[f].file), v->search));
    free(v->top_rows);
    v->top_rows = malloc((v->top.n ? v->top.n : 1) * sizeof *v->top_rows);
    if (!v->top_rows)
        return -ENOMEM;
    v->ntop_rows = 0;
    for (size_t i = 0; i < v->top.n; i++) {
        const struct agg_row *r = &v->top.rows[i];
        if (v->search[0] && !contains_nocase(profile_str(p, r->name), v->search) &&
            !contains_nocase(profile_str(p, r->file), v->search))
            continue;
        v->top_rows[v->ntop_rows++] = (uint32_t)i;
    }

    const struct prof_sample *s = profile_samples(p);
    v->t_first = v->t_last = 0;
    for (size_t i = 0; i < ns; i++) {
        if (!v->t_first || s[i].t_ns < v->t_first)
            v->t_first = s[i].t_ns;
        if (s[i].t_ns > v->t_last)
            v->t_last = s[i].t_ns;
    }

    if (!v->auto_expanded && v->tree.all_n) {
        tv__expand_hot_path(v);
        v->auto_expanded = true;
    }
    if (v->tree_focus >= nn || (v->tree_focus && !v->tree.total_n[v->tree_focus]))
        v->tree_focus = 0;
    if (v->flame_zoom >= nn || (v->flame_zoom && !v->tree.total_n[v->flame_zoom]))
        v->flame_zoom = 0;
    tv__flatten_tree(v);
    v->seen_samples = ns;
    v->dirty = false;
    return 0;
}

/* --- keys --------------------------------------------------------------------------------- */

int
tv__clampi(int x, int lo, int hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

void
tv__move_sel(int *sel, int n, int delta)
{
    *sel = n ? tv__clampi(*sel + delta, 0, n - 1) : 0;
}

/* Search applied: open the tree down to the first matches, so they can be seen. */
static void
reveal_matches(struct tv *v)
{
    const struct prof_node *nodes = profile_nodes(v->p);
    int shown = 0;
    for (size_t n = 1; n < v->tree.nn && shown < 100; n++)
        if (v->tree.total_n[n] && tv_frame_matches(v, nodes[n].frame)) {
            tv__expand_to(v, (uint32_t)n);
            shown++;
        }
    tv__flatten_tree(v);
}

static enum tv_action
key_search(struct tv *v, int key)
{
    size_t len = strlen(v->typed);
    if (key == TV_KEY_ENTER) {
        snprintf(v->search, sizeof v->search, "%s", v->typed);
        v->typing = false;
        v->dirty = true;
        v->top_sel = v->top_scroll = 0;
        tv_refresh(v);
        reveal_matches(v);
    } else if (key == TV_KEY_ESC) {
        v->typing = false;
    } else if (key == TV_KEY_BACKSPACE) {
        if (len)
            v->typed[len - 1] = '\0';
    } else if (key >= 32 && key < 127 && len + 1 < sizeof v->typed) {
        v->typed[len] = (char)key;
        v->typed[len + 1] = '\0';
    }
    return TV_REDRAW;
}

enum tv_action
tv_key(struct tv *v, int key, int rows)
{
    if (v->typing)
        return key_search(v, key);
    v->status[0] = '\0';
    if (v->help) { /* q quits, any other key closes the help */
        v->help = false;
        return key == 'q' ? TV_QUIT : TV_REDRAW;
    }
    const struct tv_view_ops *ops = tv__ops(v);
    int n = 0, page = rows > 2 ? rows - 2 : 1;
    int *sel = ops->cursor ? ops->cursor(v, &n) : NULL;
    for (int i = 0; i < TV_NVIEWS; i++)
        if (key == tv_views[i]->hotkey) {
            v->view = (enum tv_view)i;
            v->procs_open = false;
            return TV_REDRAW;
        }
    switch (key) {
    case 'q':
        return TV_QUIT;
    case 'P': /* the processes panel, over the view (Esc closes it too) */
        v->procs_open = !v->procs_open;
        return TV_REDRAW;
    case '?':
    case 'h':
        v->help = true;
        return TV_REDRAW;
    case TV_KEY_TAB:
        v->view = (enum tv_view)((v->view + 1) % TV_NVIEWS);
        v->procs_open = false;
        return TV_REDRAW;
    case '/':
        v->typing = true;
        snprintf(v->typed, sizeof v->typed, "%s", v->search);
        return TV_REDRAW;
    case 'p':
        if (v->live && !v->ended) {
            v->paused = !v->paused;
            snprintf(v->status, sizeof v->status, "%s",
                     v->paused ? "paused: the program runs on; p resumes the view" : "resumed");
        }
        return TV_REDRAW;
    case 'i': /* as `report --hide-idle` (the same filter) */
        v->filter.hide_idle = !v->filter.hide_idle;
        v->dirty = true;
        snprintf(v->status, sizeof v->status, "%s",
                 v->filter.hide_idle ? "idle hidden: shares are of the time without (idle)"
                                     : "idle shown");
        return TV_REDRAW;
    case 's': {
        char path[64];
        snprintf(path, sizeof path, "mrprof-%ld.cpuprofile", (long)time(NULL));
        tv_save(v, path);
        return TV_REDRAW;
    }
    case TV_KEY_ESC:
        if (v->search[0] && !ops->own_esc) {
            v->search[0] = '\0';
            v->dirty = true;
            return TV_REDRAW;
        }
        break;
    default:
        break;
    }
    if (sel) {
        switch (key) {
        case TV_KEY_UP:
        case 'k':
            tv__move_sel(sel, n, -1);
            return TV_REDRAW;
        case TV_KEY_DOWN:
        case 'j':
            tv__move_sel(sel, n, 1);
            return TV_REDRAW;
        case TV_KEY_PGUP:
            tv__move_sel(sel, n, -page);
            return TV_REDRAW;
        case TV_KEY_PGDN:
            tv__move_sel(sel, n, page);
            return TV_REDRAW;
        case TV_KEY_HOME:
            *sel = 0;
            return TV_REDRAW;
        case TV_KEY_END:
            *sel = n ? n - 1 : 0;
            return TV_REDRAW;
        default:
            break;
        }
    }
    if (ops->on_key)
        ops->on_key(v, key);
    return TV_REDRAW;
}

enum tv_action
tv_click(struct tv *v, int x, int y, int wheel)
{
    v->status[0] = '\0';
    if (wheel)
        return tv_key(v, wheel < 0 ? TV_KEY_UP : TV_KEY_DOWN, 0);
    if (y == 1) { /* the tab line */
        int tab = (x - 1) / TV_TAB_WIDTH;
        if (tab >= 0 && tab < TV_NVIEWS) {
            v->view = (enum tv_view)tab;
            v->procs_open = false;
        }
        return TV_REDRAW;
    }
    const struct tv_view_ops *ops = tv__ops(v);
    if (ops->on_click) {
        ops->on_click(v, x, y);
        return TV_REDRAW;
    }
    /* A list view: the row drawn there (by the layout of its last draw; none when the view
     * changed since, by a key read in the same batch). */
    const struct tv_layout *lay = &v->layout;
    int n, *sel = ops->cursor ? ops->cursor(v, &n) : NULL;
    int row = y - lay->list_y;
    if (sel && lay->view == v->view && lay->procs == v->procs_open && lay->list_y >= 0 &&
        row >= 0 && lay->scroll + row < n)
        *sel = v->layout.scroll + row;
    return TV_REDRAW;
}

bool
tv_save(struct tv *v, const char *path)
{
    const struct fmt_ops *f = fmt_by_path(path);
    if (!f)
        f = fmt_by_name("cpuprofile");
    struct fmt_write_opts o = {.thread = -1};
    struct fmt_err e;
    struct fmt_written *w;
    size_t n, total = 0;
    int rc = fmt_write_threads(v->p, path, f, &o, &w, &n, &e);
    char files[sizeof v->status];
    fmt_written_describe(v->p, w, n, files, sizeof files);
    for (size_t i = 0; i < n; i++)
        total += w[i].samples;
    if (rc != 0 && n == 0)
        snprintf(v->status, sizeof v->status, "not saved: %.300s", e.msg);
    else if (rc != 0)
        snprintf(v->status, sizeof v->status, "saved only %.700s; then: %.200s", files, e.msg);
    else if (n == 1)
        snprintf(v->status, sizeof v->status, "saved %.900s", files);
    else
        snprintf(v->status, sizeof v->status,
                 "saved %zu samples in %zu files (a %s holds one thread): %.900s", total, n, f->ext,
                 files);
    free(w);
    return rc == 0;
}
