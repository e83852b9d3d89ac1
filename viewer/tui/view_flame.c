/*
 * view_flame.c — the flame graph: each call path a box as wide as its time, the root on top;
 * arrows select a box, Enter zooms into it.
 *
 * The boxes (v->boxes) are laid out by refresh from the shared tree (tv_refresh), the zoom and
 * the size, only when one of those changed; drawing paints them, and the keys and clicks move
 * between them.
 */
#include "viewer/tui/tv_view.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "profiler/model/difftree.h"

/* What the boxes were laid out for. */
struct flame_state {
    struct tv_stamp stamp;
    uint32_t zoom;
};

static void
push_box(struct tv *v, uint32_t node, int depth, int x0, int x1)
{
    if (v->nboxes == v->cap_boxes) {
        size_t c = v->cap_boxes ? v->cap_boxes * 2 : 256;
        struct tv_box *b = realloc(v->boxes, c * sizeof *b);
        if (!b)
            return;
        v->boxes = b;
        v->cap_boxes = c;
    }
    v->boxes[v->nboxes++] = (struct tv_box){node, depth, x0, x1};
}

/* Lays out node's subtree: node spans [x, x + w) columns (fractional) on row depth. */
static void
layout_flame(struct tv *v, uint32_t node, int depth, double x, double w, int maxdepth)
{
    int x0 = (int)(x + 0.5), x1 = (int)(x + w + 0.5);
    if (x1 <= x0 || depth >= maxdepth)
        return;
    push_box(v, node, depth, x0, x1);
    const struct agg_tree *t = &v->tree;
    double scale = t->total_w[node] ? w / (double)t->total_w[node] : 0;
    double cx = x;
    for (uint32_t k = t->child_start[node]; k < t->child_start[node + 1]; k++) {
        uint32_t c = t->child_list[k];
        double cw = (double)t->total_w[c] * scale;
        layout_flame(v, c, depth + 1, cx, cw, maxdepth);
        cx += cw;
    }
}

static uint16_t
flame_color(const struct tv *v, uint32_t frame)
{
    const struct prof_frame *f = &profile_frames(v->p)[frame];
    if (f->kind == FRAME_PSEUDO)
        return TV_C_PSEUDO;
    /* The same function always gets the same colour (FNV-1a of its name). */
    uint32_t h = 2166136261u;
    for (const char *s = profile_str(v->p, f->name); *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return (uint16_t)(TV_C_FLAME0 + h % TV_FLAME_COLORS);
}

static const struct tv_box *
find_box(const struct tv *v, uint32_t node)
{
    for (size_t i = 0; i < v->nboxes; i++)
        if (v->boxes[i].node == node)
            return &v->boxes[i];
    return NULL;
}

static int
refresh_flame(struct tv *v, int w, int rows)
{
    struct flame_state *st = tv__state(v, TV_FLAME, sizeof *st);
    if (!st)
        return -ENOMEM;
    bool stale = tv__stale(&st->stamp, v, w, rows);
    if (stale || st->zoom != v->flame_zoom) {
        st->zoom = v->flame_zoom;
        v->nboxes = 0;
        if (v->tree.all_n) /* the last row describes the selected box */
            layout_flame(v, v->flame_zoom, 0, 0, w, rows - 1);
    }
    if (!find_box(v, v->flame_sel) && v->nboxes)
        v->flame_sel = v->boxes[0].node;
    return 0;
}

static void
draw_flame(const struct tv *v, struct tv_grid *g, int y0, int rows, struct tv_layout *lay)
{
    (void)lay;
    const struct agg_tree *t = &v->tree;
    if (!t->all_n) {
        tv__text(g, 2, y0, g->w - 2, "no samples yet", TV_ATTR(TV_DIM, 0));
        return;
    }
    const struct tv_box *sel = find_box(v, v->flame_sel);
    const struct prof_node *nodes = profile_nodes(v->p);
    for (size_t i = 0; i < v->nboxes; i++) {
        const struct tv_box *b = &v->boxes[i];
        uint32_t frame = nodes[b->node].frame;
        int y = y0 + b->depth, w = b->x1 - b->x0;
        uint16_t a = TV_ATTR(0, v->diff ? tv__change_color(tv__change_sign(v, b->node))
                                        : flame_color(v, frame));
        if (tv_frame_matches(v, frame))
            a = TV_ATTR(TV_BOLD, TV_C_MATCH);
        if (b == sel)
            a = TV_ATTR(TV_BOLD | TV_REVERSE, TV_C_SELECT);
        tv__fill(g, b->x0, y, w, ' ', a);
        tv__put(g, b->x0, y, v->utf8 ? 0x258F : '|', a);
        char clipped[512], label[512];
        const char *name = b->node == 0 ? "all" : tv__frame_name(v, frame);
        if (v->diff &&
            tv__change_sign(v, b->node)) /* the change in points, for colourless screens */
            snprintf(label, sizeof label, "%s %+.1f", name, diff_delta_pts(v->diff, b->node)),
                name = label;
        tv__clip_name(name, w - 1, v->utf8, clipped, sizeof clipped);
        tv__text(g, b->x0 + 1, y, w - 1, clipped, a);
    }
    if (sel) {
        uint32_t frame = nodes[sel->node].frame;
        char loc[256];
        tv__frame_location(v, frame, loc, sizeof loc);
        char was[64] = "";
        if (v->diff)
            snprintf(was, sizeof was, ", base %.1f%%, %+.1f pts",
                     v->diff->base_all > 0
                         ? 100.0 * v->diff->base_total[sel->node] / v->diff->base_all
                         : 0.0,
                     fabs(diff_delta_pts(v->diff, sel->node)) < 0.05
                         ? 0.0
                         : diff_delta_pts(v->diff, sel->node));
        tv__textf(g, 0, y0 + rows - 1, g->w, TV_ATTR(TV_BOLD, 0),
                  "%s%s  total %.1f%% (%.1f %s%s)  self %.1f%%  %s",
                  v->flame_zoom ? "[zoomed] " : "",
                  sel->node == 0 ? "all" : tv__frame_name(v, frame),
                  tv__pct(t->total_w[sel->node], t->all_w), tv__in_unit(v, t->total_w[sel->node]),
                  tv__unit_name(v), was, tv__pct(t->self_w[sel->node], t->all_w), loc);
    }
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
        tv__show_in_tree(v, cur->node);
        return;
    default:
        return;
    }
    if (best)
        v->flame_sel = best->node;
}

static void
click_flame(struct tv *v, int x, int y)
{
    for (size_t i = 0; i < v->nboxes; i++)
        if (v->boxes[i].depth == y - v->layout.body_y && x >= v->boxes[i].x0 && x < v->boxes[i].x1)
            v->flame_sel = v->boxes[i].node;
}

const struct tv_view_ops tv__view_flame = {
    .name = "flame",
    .hotkey = '3',
    .label = "Flame",
    .title = "Flame graph",
    .keys = "arrows select  Enter zoom  b zoom out  t in tree",
    .help = {"Flame     arrows select a frame, Enter zooms into it, b zooms out, Esc resets,",
             "          t shows it in the tree; width is time"},
    .own_esc = true,
    .refresh = refresh_flame,
    .draw = draw_flame,
    .on_key = key_flame,
    .on_click = click_flame,
};
