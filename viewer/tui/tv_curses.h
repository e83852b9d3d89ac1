/*
 * tv_curses.h — the interactive back end of the terminal viewer (ncurses).
 */
#ifndef MRPROF_TV_CURSES_H
#define MRPROF_TV_CURSES_H

#include "viewer/tui/tv.h"

/* Where new data comes from while the view is open (mrprof top): a descriptor to wait on and a
 * function that takes what is there. pump returns 1 when the profile changed, 0 when nothing
 * did, -1 when the source has ended (the view then stays, showing the final profile). */
struct tv_source {
    int fd; /* -1: no source (mrprof view) */
    int (*pump)(void *arg, struct tv *v);
    void *arg;
};

/* True when the terminal's character set is UTF-8 (block characters can be drawn). */
bool tv_locale_utf8(void);

/* Runs the view on the terminal until q. Returns 0, or -1 when the terminal could not be set
 * up (message on stderr). */
int tv_run(struct tv *v, struct tv_source *src);

#endif
