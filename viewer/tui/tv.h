/*
 * tv.h — the terminal viewer's model: what `mrprof view` and `mrprof top` show, independent of
 * ncurses.
 *
 * The state (struct tv) holds the profile being shown, the current view, the filters (thread,
 * time range, search) and each view's cursor. tv_key() changes the state; tv_draw() draws the
 * whole screen into a grid of cells (struct tv_grid). The views are a table (tv_view.h: one file
 * per view, view_*.c, listed in tv_views.c). Two back ends put the grid on a device:
 * tv_curses.c (the interactive terminal, touching only the cells that changed) and
 * tv_grid_print() (the text snapshot of `--once`, and the unit tests). So what a test sees in a
 * snapshot is what a person sees in the terminal.
 *
 * Ownership: tv_init() borrows the profile; a live source may append to it between calls, after
 * which it calls tv_mark_dirty(). tv_free() releases only what the model allocated.
 */
#ifndef MRPROF_TV_H
#define MRPROF_TV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profiler/model/aggregate.h"
#include "profiler/model/profile.h"

enum tv_view { TV_TOP = 0, TV_TREE, TV_FLAME, TV_TIMELINE, TV_THREADS, TV_MEMORY, TV_NVIEWS };

/* Cell attributes: style bits in the low byte, a colour role in the high byte. */
enum {
    TV_BOLD = 1,
    TV_REVERSE = 2,
    TV_DIM = 4,
    TV_UNDERLINE = 8,
};
enum tv_color {
    TV_C_DEFAULT = 0,
    TV_C_HEADER, /* the title line */
    TV_C_TAB,    /* the current view's tab */
    TV_C_BAR,    /* bars in the top and threads views */
    TV_C_MATCH,  /* search matches */
    TV_C_SELECT, /* the selected row or box */
    TV_C_SPARK,  /* timeline sparklines */
    TV_C_RANGE,  /* the selected time range */
    TV_C_STATUS, /* LIVE / PAUSED / ENDED */
    TV_C_FLAME0, /* flame boxes: TV_C_FLAME0 .. TV_C_FLAME0 + TV_FLAME_COLORS - 1 */
    TV_FLAME_COLORS = 6,
    TV_C_PSEUDO = TV_C_FLAME0 + TV_FLAME_COLORS, /* (idle), (program), ... boxes */
    TV_C_GREW,                                   /* diff: took more of the time than in the base */
    TV_C_SHRANK,                                 /* diff: took less */
    TV_C_SAME,                                   /* diff: about the same */
    TV_NCOLORS
};
#define TV_TAB_WIDTH 12 /* columns per tab on row 1 */
#define TV_ATTR(style, color) ((uint16_t)((style) | ((color) << 8)))

struct tv_cell {
    uint32_t ch; /* a Unicode code point (ASCII only when the terminal is not UTF-8) */
    uint16_t attr;
};

struct tv_grid {
    int w, h;
    struct tv_cell *cells; /* h rows of w cells */
};

int tv_grid_resize(struct tv_grid *g, int w, int h); /* 0 or -ENOMEM; clears the grid */
void tv_grid_free(struct tv_grid *g);
/* Writes the grid as text, one line per row, trailing blanks trimmed (UTF-8). */
void tv_grid_print(const struct tv_grid *g, FILE *out);

/* A box laid out by the flame view: node `node` drawn on row `depth` from column x0 to x1. */
struct tv_box {
    uint32_t node;
    int depth, x0, x1;
};

enum tv_action { TV_CONTINUE = 0, TV_QUIT, TV_REDRAW };

/* What the last draw put where: clicks read it (drawing changes nothing else in the model). */
struct tv_layout {
    enum tv_view view; /* the view drawn */
    bool procs;        /* the processes panel was drawn over it */
    int body_y;        /* the grid row where the view's body starts */
    int list_y;        /* the grid row of a list view's first row (-1: the view has no rows) */
    int scroll;        /* the list's row shown at list_y */
};

struct diff_tree;

/* What a live source knows of each process of the profile (tv.proc_state). */
enum tv_proc_state { TV_PROC_UNKNOWN = 0, TV_PROC_LIVE, TV_PROC_ENDED };

struct tv {
    struct profile *p; /* borrowed */
    const char *title;
    const struct diff_tree *diff; /* borrowed; set: p is its merged profile and the views show
                                     each function's change against the base */
    bool utf8;                    /* block and box characters (else ASCII) */
    bool live;                    /* a live source feeds p */
    bool paused;                  /* live: the view holds still */
    bool ended;                   /* live: the program exited */
    int exit_code;                /* live, once ended */
    char status[1024];            /* one-off message for the footer ("saved to ...") */

    enum tv_view view; /* an index into tv_views[] */
    bool help;
    struct agg_filter filter; /* thread, process and time range */
    bool sort_total;          /* top view: by total instead of self */
    char search[64];
    bool typing; /* the search prompt is open */
    char typed[64];

    /* Cursors. */
    int top_sel, top_scroll;
    int tree_sel, tree_scroll;
    uint32_t tree_focus; /* node whose subtree the tree shows (0: everything) */
    uint32_t flame_zoom, flame_sel;
    int tl_cursor, tl_mark; /* timeline columns; tl_mark -1 when no range is being marked */
    int tl_cols;            /* columns of the timeline's last refresh */
    int th_sel;             /* threads view row: 0 = all, i + 1 = thread i */

    /* The processes panel (key P): the profile's processes (a cluster's primary and workers);
     * Enter sets filter.process. proc_state (borrowed from a live source, nproc_state entries,
     * indexed by process; NULL when there is none) says which still run. */
    bool procs_open;
    int proc_sel; /* panel row: 0 = all, k + 1 = process k */
    const uint8_t *proc_state;
    size_t nproc_state;
    void *procs_state; /* the panel's derived data (owned, panel_processes.c) */

    /* Derived from p and the filters by tv_refresh(); gen counts its recomputations, and each
     * view keys its own derived data (view_state) on it. */
    bool dirty;
    uint64_t gen;
    void *view_state[TV_NVIEWS]; /* owned by the view (tv_view.h) */
    struct tv_layout layout;     /* of the last draw */
    struct agg_table top;
    struct agg_tree tree;
    uint32_t *top_rows; /* indices into top.rows that pass the search */
    size_t ntop_rows;
    uint8_t *expanded; /* per node */
    uint8_t *match;    /* per frame: name or file contains the search */
    size_t cap_nodes, cap_frames;
    uint32_t *tree_rows; /* visible tree rows: node ids */
    int *tree_depth;
    size_t ntree_rows, cap_tree_rows;
    struct tv_box *boxes; /* the flame view's boxes, laid out by its refresh */
    size_t nboxes, cap_boxes;
    uint64_t t_first, t_last; /* time extent of all samples */
    size_t seen_samples;      /* samples when last refreshed (live: auto-expand once) */
    bool auto_expanded;
};

void tv_init(struct tv *v, struct profile *p, const char *title, bool utf8);
void tv_free(struct tv *v);
/* The profile changed (a live source appended to it). */
void tv_mark_dirty(struct tv *v);
/* Recomputes what the filters and the profile give; 0 or -ENOMEM. */
int tv_refresh(struct tv *v);

/* Keys: ASCII characters, or one of these. */
enum {
    TV_KEY_UP = 0x1000,
    TV_KEY_DOWN,
    TV_KEY_LEFT,
    TV_KEY_RIGHT,
    TV_KEY_PGUP,
    TV_KEY_PGDN,
    TV_KEY_HOME,
    TV_KEY_END,
    TV_KEY_ENTER,
    TV_KEY_ESC,
    TV_KEY_BACKSPACE,
    TV_KEY_TAB,
};
/* Applies a key; `rows` is the body height the last draw had (for paging). */
enum tv_action tv_key(struct tv *v, int key, int rows);
/* A mouse click at (x, y) of the last drawn grid; wheel = -1 up, +1 down, 0 a click. */
enum tv_action tv_click(struct tv *v, int x, int y, int wheel);

/* Draws the whole screen into g (g->w x g->h; anything from 20x5 up). */
void tv_draw(struct tv *v, struct tv_grid *g);
/* Prints view (or every view when view < 0) as text drawn at w x h: `--once`. 0 or -ENOMEM. */
int tv_snapshot(struct tv *v, int view, int w, int h, FILE *out);
/* The view named name ("top", "tree", ...; "all" = -1); -2 when there is none. */
int tv_view_by_name(const char *name);
/* The views' names for messages: "top, tree, flame, timeline, threads, memory". */
const char *tv_view_names(void);

/* The body height of a screen g->h rows high (for paging). */
int tv_body_rows(int h);

/* True when a search is set and frame's function or file name contains it. */
bool tv_frame_matches(const struct tv *v, uint32_t frame);

/* The time (sample clock, ns) at the left edge of timeline column col. */
uint64_t tv_col_time(const struct tv *v, int col);

/* Saves the profile to path (format from the extension); the footer says what happened. */
bool tv_save(struct tv *v, const char *path);

#endif
