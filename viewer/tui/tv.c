/*
 * tv.c — the terminal viewer's state: filters, derived tables, keys and clicks.
 *
 * Everything shown is recomputed from the profile by tv_refresh() when something it depends on
 * changed (a filter, the search, new live samples): the top table and the call tree are the same
 * aggregations `mrprof report` prints (profiler/aggregate.c), restricted to the chosen thread and
 * time range. Drawing is in tv_draw.c.
 */
#include "viewer/tui/tv.h"

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

static void
push_tree_row(struct tv *v, uint32_t node, int depth)
{
    if (v->ntree_rows == v->cap_tree_rows) {
        size_t c = v->cap_tree_rows ? v->cap_tree_rows * 2 : 256;
        uint32_t *r = realloc(v->tree_rows, c * sizeof *r);
        if (r)
            v->tree_rows = r;
        int *d = realloc(v->tree_depth, c * sizeof *d);
        if (d)
            v->tree_depth = d;
        if (!r || !d)
            return;
        v->cap_tree_rows = c;
    }
    v->tree_rows[v->ntree_rows] = node;
    v->tree_depth[v->ntree_rows++] = depth;
}

/* A growable stack of (node, depth) for the tree walks: the number of top-level functions and
 * of children comes from the file, so nothing here has a fixed size. */
struct walk {
    uint32_t *node;
    int *depth;
    size_t n, cap;
};

static bool
walk_push(struct walk *w, uint32_t node, int depth)
{
    if (w->n == w->cap) {
        size_t c = w->cap ? w->cap * 2 : 256;
        uint32_t *a = realloc(w->node, c * sizeof *a);
        if (!a)
            return false;
        w->node = a;
        int *d = realloc(w->depth, c * sizeof *d);
        if (!d)
            return false;
        w->depth = d;
        w->cap = c;
    }
    w->node[w->n] = node;
    w->depth[w->n++] = depth;
    return true;
}

/* The visible rows of the call tree: the focus node's subtree, expanded where asked. */
static void
flatten_tree(struct tv *v)
{
    const struct agg_tree *t = &v->tree;
    v->ntree_rows = 0;
    if (!t->nn)
        return;
    /* An explicit stack of (node, depth); children pushed in reverse to come out in order. */
    struct walk w = {0};
    bool ok = true;
    if (v->tree_focus) {
        ok = walk_push(&w, v->tree_focus, 0);
    } else {
        for (uint32_t k = t->child_start[1]; ok && k-- > t->child_start[0];)
            ok = walk_push(&w, t->child_list[k], 0);
    }
    while (ok && w.n) {
        w.n--;
        uint32_t node = w.node[w.n];
        int depth = w.depth[w.n];
        push_tree_row(v, node, depth);
        if (!v->expanded[node])
            continue;
        uint32_t a = t->child_start[node], b = t->child_start[node + 1];
        for (uint32_t k = b; ok && k-- > a;)
            ok = walk_push(&w, t->child_list[k], depth + 1);
    }
    free(w.node);
    free(w.depth);
}

/* Opens the hot path: from the root, the heaviest child while it holds at least half of its
 * parent's time (what rbspy and py-spy users look at first). */
static void
expand_hot_path(struct tv *v)
{
    const struct agg_tree *t = &v->tree;
    uint32_t node = 0;
    for (int depth = 0; depth < 64; depth++) {
        v->expanded[node] = 1;
        uint32_t a = t->child_start[node], b = t->child_start[node + 1];
        if (a == b || t->total_w[t->child_list[a]] * 2 < t->total_w[node])
            break;
        node = t->child_list[a];
    }
}

/* Opens every ancestor of node. */
static void
expand_to(struct tv *v, uint32_t node)
{
    const struct prof_node *nodes = profile_nodes(v->p);
    for (uint32_t a = nodes[node].parent; a != 0; a = nodes[a].parent)
        v->expanded[a] = 1;
    v->expanded[0] = 1;
}

static void
select_tree_node(struct tv *v, uint32_t node)
{
    for (size_t i = 0; i < v->ntree_rows; i++)
        if (v->tree_rows[i] == node) {
            v->tree_sel = (int)i;
            return;
        }
}

int
tv_refresh(struct tv *v)
{
    if (!v->dirty)
        return 0;
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
        expand_hot_path(v);
        v->auto_expanded = true;
    }
    if (v->tree_focus >= nn || (v->tree_focus && !v->tree.total_n[v->tree_focus]))
        v->tree_focus = 0;
    if (v->flame_zoom >= nn || (v->flame_zoom && !v->tree.total_n[v->flame_zoom]))
        v->flame_zoom = 0;
    flatten_tree(v);
    v->seen_samples = ns;
    v->dirty = false;
    return 0;
}

/* --- keys --------------------------------------------------------------------------------- */

static int
clampi(int x, int lo, int hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static void
move_sel(int *sel, int n, int delta)
{
    *sel = n ? clampi(*sel + delta, 0, n - 1) : 0;
}

/* The node of the function in top row r with the most time: where "show in tree" goes. */
static uint32_t
heaviest_node_of_row(const struct tv *v, const struct agg_row *r)
{
    const struct prof_node *nodes = profile_nodes(v->p);
    const struct prof_frame *frames = profile_frames(v->p);
    uint32_t best = 0;
    for (size_t n = 1; n < v->tree.nn; n++) {
        const struct prof_frame *f = &frames[nodes[n].frame];
        if (f->name == r->name && f->file == r->file && f->line == r->line && v->tree.total_n[n] &&
            (!best || v->tree.total_w[n] > v->tree.total_w[best]))
            best = (uint32_t)n;
    }
    return best;
}

static void
show_in_tree(struct tv *v, uint32_t node)
{
    if (!node)
        return;
    v->tree_focus = 0;
    expand_to(v, node);
    flatten_tree(v);
    select_tree_node(v, node);
    v->view = TV_TREE;
}

/* Search applied: open the tree down to the first matches, so they can be seen. */
static void
reveal_matches(struct tv *v)
{
    const struct prof_node *nodes = profile_nodes(v->p);
    int shown = 0;
    for (size_t n = 1; n < v->tree.nn && shown < 100; n++)
        if (v->tree.total_n[n] && tv_frame_matches(v, nodes[n].frame)) {
            expand_to(v, (uint32_t)n);
            shown++;
        }
    flatten_tree(v);
}

static void
key_top(struct tv *v, int key)
{
    int n = (int)v->ntop_rows;
    switch (key) {
    case 't':
        v->sort_total = !v->sort_total;
        v->dirty = true;
        break;
    case TV_KEY_ENTER:
        if (n && v->top_sel < n)
            show_in_tree(v, heaviest_node_of_row(v, &v->top.rows[v->top_rows[v->top_sel]]));
        break;
    default:
        break;
    }
}

static void
key_tree(struct tv *v, int key)
{
    if (!v->ntree_rows)
        return;
    uint32_t node = v->tree_rows[clampi(v->tree_sel, 0, (int)v->ntree_rows - 1)];
    bool has_kids = v->tree.child_start[node] != v->tree.child_start[node + 1];
    switch (key) {
    case TV_KEY_RIGHT:
        if (has_kids && !v->expanded[node])
            v->expanded[node] = 1;
        else if (has_kids)
            move_sel(&v->tree_sel, (int)v->ntree_rows, 1);
        break;
    case TV_KEY_LEFT:
        if (has_kids && v->expanded[node]) {
            v->expanded[node] = 0;
        } else { /* to the parent row */
            for (int i = v->tree_sel; i-- > 0;)
                if (v->tree_depth[i] < v->tree_depth[v->tree_sel]) {
                    v->tree_sel = i;
                    break;
                }
        }
        break;
    case TV_KEY_ENTER:
    case ' ':
        if (has_kids)
            v->expanded[node] = !v->expanded[node];
        break;
    case '*': { /* expand the whole subtree */
        const struct prof_node *nodes = profile_nodes(v->p);
        for (size_t n = node; n < v->tree.nn; n++) {
            uint32_t a = (uint32_t)n;
            while (a && a != node)
                a = nodes[a].parent;
            if (a == node)
                v->expanded[n] = 1;
        }
        break;
    }
    case 'f':
        v->tree_focus = node;
        v->expanded[node] = 1;
        v->tree_sel = v->tree_scroll = 0;
        break;
    case 'b':
    case TV_KEY_BACKSPACE:
        if (v->tree_focus) {
            uint32_t old = v->tree_focus;
            v->tree_focus = profile_nodes(v->p)[old].parent;
            flatten_tree(v);
            select_tree_node(v, old);
            return;
        }
        break;
    default:
        return;
    }
    flatten_tree(v);
    if (v->tree_sel >= (int)v->ntree_rows)
        v->tree_sel = v->ntree_rows ? (int)v->ntree_rows - 1 : 0;
}

static const struct tv_box *
find_box(const struct tv *v, uint32_t node)
{
    for (size_t i = 0; i < v->nboxes; i++)
        if (v->boxes[i].node == node)
            return &v->boxes[i];
    return NULL;
}

static void
key_flame(struct tv *v, int key)
{
    const struct tv_box *cur = find_box(v, v->flame_sel);
    if (!cur && v->nboxes)
        cur = &v->boxes[0];
    if (!cur)
        return;
    const struct tv_box *best = NULL;
    switch (key) {
    case TV_KEY_LEFT:
    case TV_KEY_RIGHT:
        for (size_t i = 0; i < v->nboxes; i++) {
            const struct tv_box *b = &v->boxes[i];
            if (b->depth != cur->depth)
                continue;
            bool ok = key == TV_KEY_RIGHT ? b->x0 > cur->x0 : b->x0 < cur->x0;
            if (ok && (!best || (key == TV_KEY_RIGHT ? b->x0 < best->x0 : b->x0 > best->x0)))
                best = b;
        }
        break;
    case TV_KEY_DOWN: /* deeper: the widest box under this one */
        for (size_t i = 0; i < v->nboxes; i++) {
            const struct tv_box *b = &v->boxes[i];
            if (b->depth == cur->depth + 1 && b->x0 >= cur->x0 && b->x1 <= cur->x1 &&
                (!best || b->x1 - b->x0 > best->x1 - best->x0))
                best = b;
        }
        break;
    case TV_KEY_UP:
        for (size_t i = 0; i < v->nboxes; i++) {
            const struct tv_box *b = &v->boxes[i];
            if (b->depth == cur->depth - 1 && b->x0 <= cur->x0 && b->x1 >= cur->x1)
                best = b;
        }
        break;
    case TV_KEY_ENTER:
        v->flame_zoom = cur->node;
        return;
    case TV_KEY_BACKSPACE:
    case 'b':
        if (v->flame_zoom) {
            v->flame_sel = v->flame_zoom;
            v->flame_zoom = profile_nodes(v->p)[v->flame_zoom].parent;
        }
        return;
    case TV_KEY_ESC:
        v->flame_zoom = 0;
        return;
    case 't': /* show the selected frame in the tree */
        show_in_tree(v, cur->node);
        return;
    default:
        return;
    }
    if (best)
        v->flame_sel = best->node;
}

/* Timeline columns map to time by the width the last draw used (tl_cols). */
uint64_t
tv_col_time(const struct tv *v, int col)
{
    uint64_t span = v->t_last - v->t_first + 1;
    return v->t_first + span * (uint64_t)col / (uint64_t)(v->tl_cols > 0 ? v->tl_cols : 1);
}

static void
apply_range(struct tv *v, int a, int b)
{
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    v->filter.from_ns = tv_col_time(v, a);
    v->filter.to_ns = tv_col_time(v, b + 1);
    v->tl_mark = -1;
    v->dirty = true;
    snprintf(v->status, sizeof v->status, "range %.3f s .. %.3f s: every view shows only it",
             (double)(v->filter.from_ns - v->t_first) / 1e9,
             (double)(v->filter.to_ns - v->t_first) / 1e9);
}

static void
key_timeline(struct tv *v, int key)
{
    switch (key) {
    case TV_KEY_LEFT:
        v->tl_cursor = clampi(v->tl_cursor - 1, 0, v->tl_cols - 1);
        break;
    case TV_KEY_RIGHT:
        v->tl_cursor = clampi(v->tl_cursor + 1, 0, v->tl_cols - 1);
        break;
    case TV_KEY_HOME:
        v->tl_cursor = 0;
        break;
    case TV_KEY_END:
        v->tl_cursor = v->tl_cols - 1;
        break;
    case ' ':
        if (v->tl_mark < 0)
            v->tl_mark = v->tl_cursor;
        else
            apply_range(v, v->tl_mark, v->tl_cursor);
        break;
    case TV_KEY_ENTER:
        if (v->tl_mark >= 0)
            apply_range(v, v->tl_mark, v->tl_cursor);
        break;
    case 'c':
    case TV_KEY_ESC:
        v->tl_mark = -1;
        if (v->filter.from_ns || v->filter.to_ns) {
            v->filter.from_ns = v->filter.to_ns = 0;
            v->dirty = true;
            snprintf(v->status, sizeof v->status, "range cleared");
        }
        break;
    default:
        break;
    }
}

static void
key_threads(struct tv *v, int key)
{
    int n = (int)profile_nthreads(v->p) + 1;
    switch (key) {
    case TV_KEY_ENTER:
    case ' ':
        v->filter.thread = v->th_sel - 1;
        v->dirty = true;
        break;
    case 'a':
        v->filter.thread = -1;
        v->th_sel = 0;
        v->dirty = true;
        break;
    default:
        break;
    }
    v->th_sel = clampi(v->th_sel, 0, n - 1);
}

static int *
view_sel(struct tv *v, int *n)
{
    switch (v->view) {
    case TV_TOP:
        *n = (int)v->ntop_rows;
        return &v->top_sel;
    case TV_TREE:
        *n = (int)v->ntree_rows;
        return &v->tree_sel;
    case TV_THREADS:
        *n = (int)profile_nthreads(v->p) + 1;
        return &v->th_sel;
    default:
        return NULL;
    }
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
    int n, page = rows > 2 ? rows - 2 : 1;
    int *sel = view_sel(v, &n);
    switch (key) {
    case 'q':
        return TV_QUIT;
    case '?':
    case 'h':
        v->help = true;
        return TV_REDRAW;
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
        v->view = (enum tv_view)(key - '1');
        return TV_REDRAW;
    case TV_KEY_TAB:
        v->view = (enum tv_view)((v->view + 1) % TV_NVIEWS);
        return TV_REDRAW;
    case '/':
        v->typing = true;
        snprintf(v->typed, sizeof v->typed, "%s", v->search);
        return TV_REDRAW;
    case 'p':
        if (v->live && !v->ended) {
            v->paused = !v->paused;
            snprintf(v->status, sizeof v->status, "%s",
                     v->paused ? "paused: the program runs on; p resumes the view"
                               : "resumed");
        }
        return TV_REDRAW;
    case 's': {
        char path[64];
        snprintf(path, sizeof path, "mrprof-%ld.cpuprofile", (long)time(NULL));
        tv_save(v, path);
        return TV_REDRAW;
    }
    case TV_KEY_ESC:
        if (v->search[0] && v->view != TV_FLAME && v->view != TV_TIMELINE) {
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
            move_sel(sel, n, -1);
            return TV_REDRAW;
        case TV_KEY_DOWN:
        case 'j':
            move_sel(sel, n, 1);
            return TV_REDRAW;
        case TV_KEY_PGUP:
            move_sel(sel, n, -page);
            return TV_REDRAW;
        case TV_KEY_PGDN:
            move_sel(sel, n, page);
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
    switch (v->view) {
    case TV_TOP:
        key_top(v, key);
        break;
    case TV_TREE:
        key_tree(v, key);
        break;
    case TV_FLAME:
        key_flame(v, key);
        break;
    case TV_TIMELINE:
        key_timeline(v, key);
        break;
    case TV_THREADS:
        key_threads(v, key);
        break;
    default:
        break;
    }
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
        if (tab >= 0 && tab < TV_NVIEWS)
            v->view = (enum tv_view)tab;
        return TV_REDRAW;
    }
    int row = y - 3; /* body rows start at 2; the first is a column header */
    int n, *sel = view_sel(v, &n);
    if (v->view == TV_FLAME) {
        for (size_t i = 0; i < v->nboxes; i++)
            if (v->boxes[i].depth == y - 2 && x >= v->boxes[i].x0 && x < v->boxes[i].x1)
                v->flame_sel = v->boxes[i].node;
        return TV_REDRAW;
    }
    if (v->view == TV_TIMELINE) {
        v->tl_cursor = clampi(x - 1, 0, v->tl_cols - 1);
        return TV_REDRAW;
    }
    if (sel && row >= 0) {
        int scroll = v->view == TV_TOP ? v->top_scroll : v->view == TV_TREE ? v->tree_scroll : 0;
        if (scroll + row < n)
            *sel = scroll + row;
    }
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
        snprintf(v->status, sizeof v->status, "saved %zu samples in %zu files (a %s holds one thread): %.900s",
                 total, n, f->ext, files);
    free(w);
    return rc == 0;
}

int
tv_view_by_name(const char *name)
{
    static const char *names[TV_NVIEWS] = {"top", "tree", "flame", "timeline", "threads", "memory"};
    if (strcmp(name, "all") == 0)
        return -1;
    for (int i = 0; i < TV_NVIEWS; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -2;
}
