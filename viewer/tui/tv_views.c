/*
 * tv_views.c — the table of the terminal viewer's views, in tab order, and lookups by name.
 *
 * A new view: a file view_NAME.c defining a struct tv_view_ops (tv_view.h), its enum tv_view
 * value (tv.h, before TV_NVIEWS) and its row here. The tabs, the keys, the help screen, the
 * footer and `--view NAME` follow from the row.
 */
#include "viewer/tui/tv_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct tv_view_ops *const tv_views[TV_NVIEWS] = {
    [TV_TOP] = &tv__view_top,         [TV_TREE] = &tv__view_tree,
    [TV_FLAME] = &tv__view_flame,     [TV_TIMELINE] = &tv__view_timeline,
    [TV_THREADS] = &tv__view_threads, [TV_MEMORY] = &tv__view_memory,
};

const struct tv_view_ops *
tv__ops(const struct tv *v)
{
    return v->procs_open ? &tv__panel_processes : tv_views[v->view];
}

int
tv_view_by_name(const char *name)
{
    if (strcmp(name, "all") == 0)
        return -1;
    for (int i = 0; i < TV_NVIEWS; i++)
        if (strcmp(name, tv_views[i]->name) == 0)
            return i;
    return -2;
}

const char *
tv_view_names(void)
{
    static char names[TV_NVIEWS * 16];
    if (!names[0])
        for (int i = 0; i < TV_NVIEWS; i++) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", tv_views[i]->name);
        }
    return names;
}

bool
tv__stale(struct tv_stamp *s, const struct tv *v, int w, int rows)
{
    if (s->valid && s->gen == v->gen && s->w == w && s->rows == rows)
        return false;
    *s = (struct tv_stamp){true, v->gen, w, rows};
    return true;
}

void *
tv__state(struct tv *v, enum tv_view view, size_t size)
{
    if (!v->view_state[view])
        v->view_state[view] = calloc(1, size);
    return v->view_state[view];
}
