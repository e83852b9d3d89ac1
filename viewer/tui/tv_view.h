/*
 * tv_view.h — inside the terminal viewer: the view table and what the view files share.
 * (Internal to viewer/tui/; the rest of mrprof includes tv.h.)
 *
 * Each view is one file (view_top.c, view_tree.c, ...) that fills in a struct tv_view_ops, and
 * tv_views[] (tv_views.c) lists them in tab order: the tabs, the keys 1-6, Tab, the help screen,
 * the footer and `--view NAME` all read the table, so a view is named in one place.
 *
 * A frame is drawn in two steps (tv_draw):
 *   refresh  may change the model: it recomputes the view's derived data (its `state`) only when
 *            the key it was computed for changed (tv_stale: the profile/filter generation and the
 *            size), and fits the view's cursors to the size (selection in range, scrolled into
 *            sight). Cheap when nothing changed.
 *   draw     takes a const model and paints the grid; it writes what it put where into the
 *            layout (struct tv_layout), which clicks read.
 * Keys (on_key) change the model; they read the derived data and the flame boxes of the last
 * refresh.
 *
 * Internal names start with tv__ (shared between the viewer's files); the painting helpers below
 * are in tv_draw.c.
 */
#ifndef MRPROF_TV_VIEW_H
#define MRPROF_TV_VIEW_H

#include "viewer/tui/tv.h"

struct tv_view_ops {
    const char *name;    /* `--view NAME` */
    int hotkey;          /* the key that opens it ('1' ...); the tab shows it */
    const char *label;   /* the tab's label (8 columns at most) */
    const char *title;   /* its name in the help's list of views */
    const char *keys;    /* the footer: the view's own keys */
    const char *help[3]; /* its lines in the help screen (NULL after the last) */
    bool own_esc;        /* Esc is the view's key (else Esc clears the search) */
    /* Derived data and cursors for a body of w x rows; 0 or -ENOMEM. NULL: nothing derived. */
    int (*refresh)(struct tv *v, int w, int rows);
    /* Paints the body (rows from y0) and fills lay. */
    void (*draw)(const struct tv *v, struct tv_grid *g, int y0, int rows, struct tv_layout *lay);
    /* The row cursor that Up/Down/PgUp/PgDn/Home/End move (n: the rows), or NULL. */
    int *(*cursor)(struct tv *v, int *n);
    void (*on_key)(struct tv *v, int key); /* the view's own keys (NULL: none) */
    /* A click in the body (NULL: views with a cursor select the clicked row). */
    void (*on_click)(struct tv *v, int x, int y);
    void (*free_state)(void *state); /* frees v->view_state[view] (NULL: plain free) */
};

extern const struct tv_view_ops *const tv_views[TV_NVIEWS];

extern const struct tv_view_ops tv__view_top, tv__view_tree, tv__view_flame, tv__view_timeline,
    tv__view_threads, tv__view_memory;

/* The processes panel (panel_processes.c): drawn over the body in place of the view while
 * v->procs_open, with the ops of a view (it has no tab, and its state is v->procs_state). */
extern const struct tv_view_ops tv__panel_processes;
/* What has the keys and the body now: the panel when it is open, else the current view. */
const struct tv_view_ops *tv__ops(const struct tv *v);

/* What a view's derived data was computed for. */
struct tv_stamp {
    bool valid;
    uint64_t gen; /* tv.gen: the profile, the filters, the search, the sort */
    int w, rows;  /* the body's size (-1 where the data does not depend on it) */
};

/* True (and the stamp updated) when the data stamped s must be computed again. */
bool tv__stale(struct tv_stamp *s, const struct tv *v, int w, int rows);
/* The view's state, allocated zeroed (size bytes) on first use; NULL when out of memory. */
void *tv__state(struct tv *v, enum tv_view view, size_t size);

/* --- shared by the views: the call tree's rows (view_tree.c) -------------------------------- */

void tv__flatten_tree(struct tv *v);    /* the visible tree rows from tree, expanded and focus */
void tv__expand_hot_path(struct tv *v); /* opens the heaviest path from the root */
void tv__expand_to(struct tv *v, uint32_t node);
void tv__show_in_tree(struct tv *v, uint32_t node); /* opens the tree view on node */
int tv__clampi(int x, int lo, int hi);
void tv__move_sel(int *sel, int n, int delta); /* moves a row cursor, kept within n rows */
/* Keeps *sel within n rows and its row within the rows shown from *scroll. */
void tv__scrolled(int *sel, int *scroll, int n, int rows);

/* --- painting (tv_draw.c) --------------------------------------------------------------------- */

static inline void
tv__put(struct tv_grid *g, int x, int y, uint32_t ch, uint16_t attr)
{
    if (x >= 0 && y >= 0 && x < g->w && y < g->h)
        g->cells[y * g->w + x] = (struct tv_cell){ch, attr};
}

void tv__fill(struct tv_grid *g, int x, int y, int w, uint32_t ch, uint16_t attr);
/* Writes s at (x, y), at most maxw columns; returns the columns written. */
int tv__text(struct tv_grid *g, int x, int y, int maxw, const char *s, uint16_t attr);
int tv__textf(struct tv_grid *g, int x, int y, int maxw, uint16_t attr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* A location that fits w columns: whole, or "…" and its end (file name and line). */
int tv__text_tail(struct tv_grid *g, int x, int y, int w, const char *s, bool utf8, uint16_t attr);
/* A name that fits w columns (see tv_draw.c). */
void tv__clip_name(const char *name, int w, bool utf8, char *out, size_t outlen);
/* A horizontal bar of `frac` of w columns (eighth blocks in UTF-8, '#' in ASCII). */
void tv__bar(struct tv_grid *g, int x, int y, int w, double frac, bool utf8, uint16_t attr);

bool tv__is_heap(const struct tv *v);
double tv__in_unit(const struct tv *v, uint64_t w); /* ms, or KiB for heap profiles */
const char *tv__unit_name(const struct tv *v);
double tv__pct(uint64_t part, uint64_t whole);
const char *tv__frame_name(const struct tv *v, uint32_t frame);
void tv__frame_location(const struct tv *v, uint32_t frame, char *buf, size_t len);
/* Diff: +1 the node grew, -1 it shrank, 0 about the same; and the colour of each. */
int tv__change_sign(const struct tv *v, uint32_t node);
uint16_t tv__change_color(int sign);

#endif
