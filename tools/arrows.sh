#!/bin/sh
# arrows.sh — checks that #include lines run only down the layers (`make arrows`).
#
# The layers, lowest first, and what each room may include of the project:
#   profiler/base/     nothing of the project but itself (portable helpers)
#   profiler/model/    profiler/base/, profiler/model/
#   formats/           profiler/base/, profiler/model/, formats/ (and the generated profile.pb-c.h)
#   profiler/sampler/  anything but viewer/ (it embeds the VM)
#   runtime/, net/     anything but viewer/ (they embed the VM; runtime writes profiles)
#   viewer/            profiler/base/, profiler/model/, formats/, viewer/
# mruby's headers (<mruby.h>, <mruby/...>) only in the rooms that embed the VM: runtime/, net/,
# profiler/sampler/.
#
# Prints one line per wrong arrow (file:line: the include, and the rule it breaks) and exits 1;
# exits 0 silently when every arrow is right. Run from the repository root.
set -u
cd "$(dirname "$0")/.." || exit 2

bad=0
# check ROOM ALLOWED-REGEX WHY: every quoted project include under ROOM must match ALLOWED.
check() {
    room=$1 allowed=$2 why=$3
    [ -d "$room" ] || return 0
    out=$(find "$room" -name '*.[ch]' -exec grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' {} + |
          grep -Ev "#[[:space:]]*include[[:space:]]*\"($allowed)")
    if [ -n "$out" ]; then
        printf '%s\n' "$out" | sed "s|\$|    <- $why|"
        bad=1
    fi
}

# mruby headers outside runtime/, net/, profiler/sampler/.
out=$(find profiler/base profiler/model formats viewer -name '*.[ch]' \
          -exec grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*<mruby[./]' {} + 2>/dev/null)
if [ -n "$out" ]; then
    printf '%s\n' "$out" | sed 's|$|    <- mruby is included only in runtime/, net/, profiler/sampler/ (the rooms that embed the VM)|'
    bad=1
fi

check profiler/base 'profiler/base/' \
    'profiler/base/ is the lowest layer: it includes nothing of the project'
check profiler/model 'profiler/base/|profiler/model/' \
    'profiler/model/ includes only profiler/base/ and profiler/model/ (not formats/, viewer/, runtime/, net/, profiler/sampler/)'
check formats 'profiler/base/|profiler/model/|formats/|profile\.pb-c\.h' \
    'formats/ includes only profiler/base/, profiler/model/, formats/ (not viewer/, runtime/, net/, profiler/sampler/)'
check viewer 'profiler/base/|profiler/model/|formats/|viewer/' \
    'viewer/ includes only profiler/base/, profiler/model/, formats/, viewer/ (not runtime/, net/, profiler/sampler/)'
for room in runtime net profiler/sampler; do
    check "$room" 'profiler/|formats/|runtime/|net/|profile\.pb-c\.h' \
        "$room/ must not include viewer/ (the viewer is above it)"
done

if [ "$bad" -ne 0 ]; then
    echo "arrows: wrong #include arrows above (the layers are listed in tools/arrows.sh and docs/ARCHITECTURE.md)" >&2
    exit 1
fi
exit 0
