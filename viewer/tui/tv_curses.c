/*
 * tv_curses.c — puts the viewer's cell grid on a terminal with ncurses, and reads keys and the
 * mouse.
 *
 * Each frame is drawn into a fresh grid and compared with the one on screen; only cells that
 * changed are handed to ncurses, which itself sends only what changed: no erase, no flicker.
 * The loop waits in poll() on the keyboard and the live source, redrawing on a key at once and
 * on new live data at most 8 times a second. SIGINT/SIGTERM end it like q, so the terminal is
 * always restored.
 */
#include "viewer/tui/tv_curses.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

static volatile sig_atomic_t g_stop;

static void
on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

bool
tv_locale_utf8(void)
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

/* Colour roles: a pair each, and whether the role paints a background (then reverse video,
 * which monochrome terminals need, is left out). */
struct role {
    short fg, bg;
};
static const struct role roles[TV_NCOLORS] = {
    [TV_C_HEADER] = {COLOR_WHITE, COLOR_BLUE},
    [TV_C_TAB] = {COLOR_BLACK, COLOR_CYAN},
    [TV_C_BAR] = {COLOR_GREEN, -1},
    [TV_C_MATCH] = {COLOR_BLACK, COLOR_GREEN},
    [TV_C_SELECT] = {COLOR_BLACK, COLOR_CYAN},
    [TV_C_SPARK] = {COLOR_CYAN, -1},
    [TV_C_RANGE] = {COLOR_BLACK, COLOR_YELLOW},
    [TV_C_STATUS] = {COLOR_GREEN, -1},
    [TV_C_FLAME0 + 0] = {COLOR_BLACK, COLOR_RED},
    [TV_C_FLAME0 + 1] = {COLOR_BLACK, COLOR_YELLOW},
    [TV_C_FLAME0 + 2] = {COLOR_BLACK, COLOR_MAGENTA},
    [TV_C_FLAME0 + 3] = {COLOR_WHITE, COLOR_RED},
    [TV_C_FLAME0 + 4] = {COLOR_BLACK, COLOR_WHITE},
    [TV_C_FLAME0 + 5] = {COLOR_WHITE, COLOR_MAGENTA},
    [TV_C_PSEUDO] = {COLOR_WHITE, COLOR_BLACK},
    [TV_C_GREW] = {COLOR_WHITE, COLOR_RED},
    [TV_C_SHRANK] = {COLOR_WHITE, COLOR_BLUE},
    [TV_C_SAME] = {COLOR_BLACK, COLOR_WHITE},
};

static bool g_color;

static void
setup_colors(void)
{
    const char *no = getenv("NO_COLOR");
    g_color = has_colors() && !(no && *no);
    if (!g_color)
        return;
    start_color();
    use_default_colors();
    for (int r = 1; r < TV_NCOLORS; r++)
        init_pair((short)r, roles[r].fg, roles[r].bg);
}

static attr_t
curses_attr(uint16_t a, short *pair)
{
    int style = a & 0xff, role = a >> 8;
    attr_t out = A_NORMAL;
    if (style & TV_BOLD)
        out |= A_BOLD;
    if (style & TV_DIM)
        out |= A_DIM;
    if (style & TV_UNDERLINE)
        out |= A_UNDERLINE;
    *pair = 0;
    if (g_color && role > 0 && role < TV_NCOLORS) {
        *pair = (short)role;
        if ((style & TV_REVERSE) && roles[role].bg < 0)
            out |= A_REVERSE;
    } else {
        if (style & TV_REVERSE)
            out |= A_REVERSE;
        if (role == TV_C_MATCH)
            out |= A_UNDERLINE | A_BOLD;
    }
    return out;
}

static void
paint(const struct tv_grid *g, struct tv_grid *shown)
{
    bool all = shown->w != g->w || shown->h != g->h;
    if (all && tv_grid_resize(shown, g->w, g->h) != 0)
        return;
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++) {
            const struct tv_cell *c = &g->cells[y * g->w + x];
            struct tv_cell *s = &shown->cells[y * g->w + x];
            if (!all && c->ch == s->ch && c->attr == s->attr)
                continue;
            *s = *c;
            short pair;
            attr_t at = curses_attr(c->attr, &pair);
            wchar_t wc[2] = {(wchar_t)c->ch, 0};
            cchar_t cc;
            setcchar(&cc, wc, at, pair, NULL);
            /* The bottom-right cell would scroll some terminals: ncurses handles it with
             * insert mode; mvadd_wch's error there is harmless. */
            mvadd_wch(y, x, &cc);
        }
    refresh();
}

static int
map_key(int ch)
{
    switch (ch) {
    case KEY_UP:
        return TV_KEY_UP;
    case KEY_DOWN:
        return TV_KEY_DOWN;
    case KEY_LEFT:
        return TV_KEY_LEFT;
    case KEY_RIGHT:
        return TV_KEY_RIGHT;
    case KEY_PPAGE:
        return TV_KEY_PGUP;
    case KEY_NPAGE:
        return TV_KEY_PGDN;
    case KEY_HOME:
        return TV_KEY_HOME;
    case KEY_END:
        return TV_KEY_END;
    case KEY_ENTER:
    case '\n':
    case '\r':
        return TV_KEY_ENTER;
    case 27:
        return TV_KEY_ESC;
    case KEY_BACKSPACE:
    case 127:
    case 8:
        return TV_KEY_BACKSPACE;
    case '\t':
        return TV_KEY_TAB;
    default:
        return ch;
    }
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
tv_run(struct tv *v, struct tv_source *src)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "mrprof: the interactive view needs a terminal (use --once for text)\n");
        return -1;
    }
    setenv("ESCDELAY", "25", 0);
    if (!initscr()) {
        fprintf(stderr, "mrprof: cannot set up the terminal (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        return -1;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_stop = 0;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    setup_colors();
    mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);

    struct tv_grid g = {0}, shown = {0};
    bool need = true, pending = false, src_open = src && src->fd >= 0;
    uint64_t last_draw = 0;
    while (!g_stop) {
        if (need || (pending && now_ms() - last_draw >= 125)) {
            int h, w;
            getmaxyx(stdscr, h, w);
            if (w > 0 && h > 0 && (g.w != w || g.h != h) && tv_grid_resize(&g, w, h) != 0)
                break;
            tv_draw(v, &g);
            paint(&g, &shown);
            need = pending = false;
            last_draw = now_ms();
        }
        /* Paused, the source is not read: the agent holds back and catches up on resume. */
        bool reading = src_open && !v->paused;
        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {reading ? src->fd : -1, POLLIN, 0}};
        int n = poll(fds, 2, pending ? 50 : 250);
        if (n < 0 && errno != EINTR)
            break;
        if (reading && fds[1].revents) {
            int r = src->pump(src->arg, v);
            if (r != 0) {
                tv_mark_dirty(v);
                pending = true;
            }
            if (r < 0)
                src_open = false;
        }
        int ch;
        bool quit = false;
        while (!quit && (ch = getch()) != ERR) {
            enum tv_action act = TV_REDRAW;
            if (ch == KEY_RESIZE) {
                shown.w = 0; /* repaint every cell at the new size */
            } else if (ch == KEY_MOUSE) {
                MEVENT me;
                if (getmouse(&me) == OK)
                    act = tv_click(v, me.x, me.y,
                                   (me.bstate & BUTTON4_PRESSED)   ? -1
                                   : (me.bstate & BUTTON5_PRESSED) ? 1
                                                                   : 0);
            } else {
                act = tv_key(v, map_key(ch), tv_body_rows(g.h));
            }
            if (act == TV_QUIT)
                quit = true;
            need = true;
        }
        if (quit)
            break;
    }
    endwin();
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    tv_grid_free(&g);
    tv_grid_free(&shown);
    return 0;
}
