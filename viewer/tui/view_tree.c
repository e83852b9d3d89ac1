/*
 * view_tree.c — the call tree view: the focus node's subtree, each node with its total and
 * self time, opened and closed by hand (and along the hot path at first).
 *
 * The tree (v->tree) is derived by tv_refresh() (tv.c), which every view shares; its visible
 * rows (tree_rows, tree_depth) are flattened here from it, from what is open (expanded) and
 * from the focus. The top and flame views open a node here with tv__show_in_tree().
 */
#include "viewer/tui/tv_view.h"

#include <stdlib.h>

#include "profiler/model/difftree.h"
#include "viewer/text/report.h"

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
void
tv__flatten_tree(struct tv *v)
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
void
tv__expand_hot_path(struct tv *v)
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
void
tv__expand_to(struct tv *v, uint32_t node)
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

void
tv__show_in_tree(struct tv *v, uint32_t node)
{
    if (!node)
        return;
    v->tree_focus = 0;
    tv__expand_to(v, node);
    tv__flatten_tree(v);
    select_tree_node(v, node);
    v->view = TV_TREE;
}

static int
refresh_tree(struct tv *v, int w, int rows)
{
    (void)w;
    tv__scrolled(&v->tree_sel, &v->tree_scroll, (int)v->ntree_rows, rows - 1);
    return 0;
}

static void
draw_tree(const struct tv *v, struct tv_grid *g, int y0, int rows, struct tv_layout *lay)
{
    uint16_t hdr = TV_ATTR(TV_BOLD | TV_UNDERLINE, 0);
    tv__fill(g, 0, y0, g->w, ' ', hdr);
    const char *change = v->diff ? "  CHANGE" : "";
    if (v->tree_focus)
        tv__textf(g, 0, y0, g->w, hdr, "%7s %7s %9s%s  CALL TREE (focused on %s; b goes back)",
                  "TOTAL%", "SELF%", tv__is_heap(v) ? "TOTAL KiB" : "TOTAL ms", change,
                  tv__frame_name(v, profile_nodes(v->p)[v->tree_focus].frame));
    else
        tv__textf(g, 0, y0, g->w, hdr, "%7s %7s %9s%s  CALL TREE", "TOTAL%", "SELF%",
                  tv__is_heap(v) ? "TOTAL KiB" : "TOTAL ms", change);
    rows--;
    int n = (int)v->ntree_rows;
    lay->list_y = y0 + 1;
    lay->scroll = v->tree_scroll;
    if (!n) {
        tv__text(g, 2, y0 + 1, g->w - 2, "no samples yet", TV_ATTR(TV_DIM, 0));
        return;
    }
    const struct agg_tree *t = &v->tree;
    const struct prof_node *nodes = profile_nodes(v->p);
    for (int i = 0; i < rows && v->tree_scroll + i < n; i++) {
        int r = v->tree_scroll + i, y = y0 + 1 + i;
        uint32_t node = v->tree_rows[r];
        bool sel = r == v->tree_sel;
        uint16_t a = sel ? TV_ATTR(TV_REVERSE, TV_C_SELECT) : 0;
        if (sel)
            tv__fill(g, 0, y, g->w, ' ', a);
        int x = tv__textf(g, 0, y, g->w, a, "%6.1f%% %6.1f%% %9.1f  ",
                          tv__pct(t->total_w[node], t->all_w), tv__pct(t->self_w[node], t->all_w),
                          tv__in_unit(v, t->total_w[node]));
        if (v->diff) { /* the change of the node's inclusive time against the base */
            int sign = tv__change_sign(v, node);
            x += tv__textf(g, x, y, g->w - x,
                           sel || !sign ? a : TV_ATTR(TV_BOLD, tv__change_color(sign)), "%+6.1f",
                           diff_delta_pts(v->diff, node));
            x += tv__text(g, x, y, g->w - x, "  ", a);
        }
        int depth = v->tree_depth[r], room = g->w - x;
        int indent = depth * 2;
        if (indent > room / 2) { /* very deep: show the depth instead of the indentation */
            x += tv__textf(g, x, y, room, a, "[%d] ", depth);
            indent = 0;
        }
        x += indent;
        bool kids = t->child_start[node] != t->child_start[node + 1];
        const char *mark = !kids               ? "  "
                           : v->expanded[node] ? (v->utf8 ? "\xe2\x96\xbe " : "- ")
                                               : (v->utf8 ? "\xe2\x96\xb8 " : "+ ");
        x += tv__text(g, x, y, g->w - x, mark, a);
        uint32_t frame = nodes[node].frame;
        char clipped[512], loc[256];
        tv__clip_name(tv__frame_name(v, frame), g->w - x, v->utf8, clipped, sizeof clipped);
        uint16_t na = tv_frame_matches(v, frame) && !sel ? TV_ATTR(TV_BOLD, TV_C_MATCH) : a;
        x += tv__text(g, x, y, g->w - x, clipped, na);
        tv__frame_location(v, frame, loc, sizeof loc);
        if (loc[0] && x + 6 < g->w)
            tv__text_tail(g, x + 2, y, g->w - x - 2, loc, v->utf8, sel ? a : TV_ATTR(TV_DIM, 0));
    }
}

static int *
cursor_tree(struct tv *v, int *n)
{
    *n = (int)v->ntree_rows;
    return &v->tree_sel;
}

static void
key_tree(struct tv *v, int key)
{
    if (!v->ntree_rows)
        return;
    uint32_t node = v->tree_rows[tv__clampi(v->tree_sel, 0, (int)v->ntree_rows - 1)];
    bool has_kids = v->tree.child_start[node] != v->tree.child_start[node + 1];
    switch (key) {
    case TV_KEY_RIGHT:
        if (has_kids && !v->expanded[node])
            v->expanded[node] = 1;
        else if (has_kids)
            tv__move_sel(&v->tree_sel, (int)v->ntree_rows, 1);
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
            tv__flatten_tree(v);
            select_tree_node(v, old);
            return;
        }
        break;
    default:
        return;
    }
    tv__flatten_tree(v);
    if (v->tree_sel >= (int)v->ntree_rows)
        v->tree_sel = v->ntree_rows ? (int)v->ntree_rows - 1 : 0;
}

const struct tv_view_ops tv__view_tree = {
    .name = "tree",
    .hotkey = '2',
    .label = "Tree",
    .title = "Call tree",
    .keys = "Right/Left open/close  f focus  b back  * open all",
    .help = {"Tree      Right opens, Left closes (or goes to the parent), Enter toggles,",
             "          * opens the whole subtree, f focuses on the subtree, b goes back"},
    .refresh = refresh_tree,
    .draw = draw_tree,
    .cursor = cursor_tree,
    .on_key = key_tree,
};
