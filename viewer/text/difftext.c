/*
 * difftext.c — the call tree of a change between two profiles as text (`mrprof diff --tree`),
 * over the merged tree of profiler/model/difftree.c.
 */
#include "viewer/text/difftext.h"

#include <math.h>
#include <stdlib.h>

#include "formats/formats.h"
#include "viewer/text/report.h"

static const struct diff_tree *sort_d; /* qsort has no context argument */

static int
by_abs_delta(const void *x, const void *y)
{
    double a = fabs(diff_delta_pts(sort_d, *(const uint32_t *)x));
    double b = fabs(diff_delta_pts(sort_d, *(const uint32_t *)y));
    return (a < b) - (a > b);
}

void
diff_print_tree(const struct diff_tree *d, double min_pts, FILE *out)
{
    const struct profile *u = d->u;
    double all = d->cur_all > 0 ? d->cur_all : d->base_all;
    double *reach = malloc((d->nn + 1) * sizeof *reach); /* largest |change| in each subtree */
    uint32_t *start = NULL, *list = NULL, *stack = malloc((d->nn + 1) * sizeof *stack);
    int *depth = malloc((d->nn + 1) * sizeof *depth);
    if (!reach || !stack || !depth || diff_children(d, &start, &list) != 0) {
        fprintf(out, "  (out of memory)\n");
        goto out;
    }
    const struct prof_node *n = profile_nodes(u);
    for (size_t i = 0; i < d->nn; i++)
        reach[i] = fabs(diff_delta_pts(d, (uint32_t)i));
    for (size_t i = d->nn; i-- > 1;)
        reach[n[i].parent] = fmax(reach[n[i].parent], reach[i]);
    sort_d = d;
    for (size_t i = 0; i < d->nn; i++)
        qsort(list + start[i], start[i + 1] - start[i], sizeof *list, by_abs_delta);
    fprintf(out, "  base%%   new%%  change  (inclusive, %% of the new total)\n");
    size_t sp = 0, shown = 0;
    for (uint32_t k = start[1]; k-- > start[0];) /* the root's children, largest change on top */
        stack[sp] = list[k], depth[sp++] = 0;
    char loc[512];
    while (sp > 0) {
        uint32_t i = stack[--sp];
        int dep = depth[sp];
        if (reach[i] < min_pts)
            continue;
        const struct prof_frame *f = &profile_frames(u)[n[i].frame];
        report_location(u, f->file, f->line, loc, sizeof loc);
        fprintf(out, "%7.1f %6.1f %+7.1f  %*s%s  %s\n", 100.0 * d->base_total[i] / all,
                100.0 * d->cur_total[i] / all, diff_delta_pts(d, i), 2 * (dep < 30 ? dep : 30), "",
                profile_str(u, f->name), loc);
        shown++;
        for (uint32_t k = start[i + 1]; k-- > start[i];)
            stack[sp] = list[k], depth[sp++] = dep + 1;
    }
    if (!shown)
        fprintf(out, "  (no path moved by %.1f points or more)\n", min_pts);
out:
    free(reach), free(start), free(list), free(stack), free(depth);
}

int
diff_write_svg(const struct diff_tree *d, bool absolute, const char *title, const char *path,
               struct mp_err *e)
{
    struct fmt_write_opts o = {.thread = -1,
                               .idle = true, /* as the table and the tree count it */
                               .title = title,
                               .diff_base = d->base_total,
                               .diff_base_all = d->base_all,
                               .diff_absolute = absolute};
    return fmt_write_path(d->u, path, fmt_by_name("svg"), &o, e);
}
