/*
 * evidence.h — what `mrprof check` leaves for a CI system beside its exit status (docs/ci.md):
 *   --annotations github   one `::error file=F,line=L,title=T::MESSAGE` workflow command per
 *                          failed check on standard output (GitHub shows it at the source line
 *                          in the pull request), and the Markdown table appended to
 *                          $GITHUB_STEP_SUMMARY when that is set. The default when GITHUB_ACTIONS
 *                          is set; `none` otherwise.
 *   --metrics FILE         the verdicts as OpenMetrics text (GitLab's metrics report).
 *   --artifacts DIR        the evidence to download: base.cpuprofile, new.cpuprofile, the
 *                          differential flame graph diff-base-to-new.svg, the new profile's
 *                          flame graph new.svg and the summary.md.
 */
#ifndef MRPROF_CHECK_EVIDENCE_H
#define MRPROF_CHECK_EVIDENCE_H

#include <stddef.h>
#include <stdio.h>

#include "profiler/model/profile.h"
#include "viewer/check/verdict.h"

/* GitHub's workflow-command escaping: data (the message) escapes %, CR and LF; a property value
 * also ':' and ','. Writes s escaped to out. */
void gh_escape(FILE *out, const char *s, bool property);

/* The path GitHub wants for v's file: relative to the repository's root. script is the checked
 * script (runs: v's file is relative to its directory), or NULL. Absolute paths under
 * $GITHUB_WORKSPACE (else the working directory) are made relative to it; file:// URLs are
 * opened. Returns false when v has no file to point at. */
bool gh_file(const struct verdict *v, const char *script, char *buf, size_t len);

/* The annotations (one per failed verdict) on out, and the summary appended to
 * $GITHUB_STEP_SUMMARY when set. 0, or -1 after a message. */
int write_annotations(FILE *out, const struct verdicts *vs, const char *script, size_t failures);

/* The verdicts as OpenMetrics text to path (atomically). 0, or -1 after a message. */
int write_metrics(const char *path, const struct verdicts *vs, size_t failures);

/* base and cur (either may be NULL: not available) into dir, created if needed, with the
 * differential SVG when both are there. 0, or -1 after a message. */
int write_artifacts(const char *dir, const struct profile *base, const struct profile *cur,
                    const struct verdicts *vs, size_t failures);

#endif
