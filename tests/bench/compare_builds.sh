#!/usr/bin/env bash
# compare_builds.sh OLD_BUILD_DIR NEW_BUILD_DIR (make bench-compare OLD=dir NEW=dir) — two builds
# of mrprof/mrun side by side in the same run, for "no performance change" on a refactoring.
#
#   1. Instruction counts (valgrind --tool=callgrind): the same binary on the same input counts the
#      same instructions whatever else the machine does, so the new/old ratio is comparable
#      across runs even on a shared, loaded machine. Measured, for each build:
#        a. mrprof report on a synthetic profile (tests/bench/bigprofile.c)
#        b. mrprof view --once --size 120x40 (first screen: the default view, then --view all)
#        c. mrprof convert to .pb.gz and .folded
#        d. the sampler: a CPU-bound fib under mrun, without profiling and with --cpu-prof at
#           the default rate; printed with each build's profiled/plain ratio, the samples the
#           profile holds and the instructions per sample ((profiled - plain) / samples)
#      callgrind runs ~50x slower than native, so the inputs are smaller than `make bench`'s:
#      CG_SAMPLES samples (default 100 000: 0.37 G instructions for report; `make bench` uses
#      1 000 000, whose report alone is 1.6 G instructions and ~40 s under callgrind on a loaded
#      machine, and the ratio is what matters) and fib(FIB_N) (default 27: 0.45 G; fib.rb's 32
#      is 5 G). The two builds' runs of one item go in parallel (counts don't care). The whole
#      script takes about 5 minutes at load average 11 on the 2-core machine (a-d ~3, seconds ~2).
#      The outputs of a-c are compared byte for byte too ("same" / "DIFFERENT").
#   2. Wall and CPU seconds where they mean something (the machine's load moves them; read them
#      as a second opinion): the same commands at full size (1 000 000 samples, fib.rb), old and
#      new alternated (AB BA AB ...) RUNS times (default 3), medians side by side and the median
#      of the per-pair new/old ratios. hyperfine is not used: it runs all of one command's runs
#      before the other's, so a drift in the machine's load would land on one side only.
#
# Environment: CG_SAMPLES, FIB_N, RUNS; SKIP_CG=1 or SKIP_WALL=1 to leave a part out.
# The synthetic profiles come from NEW/bench/bigprofile, else OLD's, else this tree's
# build/bench/bigprofile (built by `make bench-compare`); both builds read the same files.
set -u
cd "$(dirname "$0")/../.." || exit 2
if [ $# -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
    echo "usage: $0 OLD_BUILD_DIR NEW_BUILD_DIR  (or: make bench-compare OLD=dir [NEW=dir])" >&2
    exit 2
fi
OLD=${1%/}
NEW=${2%/}
for d in "$OLD" "$NEW"; do
    for b in mrprof mrun; do
        [ -x "$d/$b" ] || { echo "compare_builds: $d/$b: not an executable" >&2; exit 2; }
    done
done
CG_SAMPLES=${CG_SAMPLES:-100000}
FIB_N=${FIB_N:-27}
RUNS=${RUNS:-3}
SKIP_CG=${SKIP_CG:-0}
SKIP_WALL=${SKIP_WALL:-0}
tmp=$(mktemp -d /tmp/mrprof-compare.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

gen=
for g in "$NEW/bench/bigprofile" "$OLD/bench/bigprofile" build/bench/bigprofile; do
    [ -x "$g" ] && { gen=$g; break; }
done
[ -n "$gen" ] || { echo "compare_builds: no bench/bigprofile in $NEW, $OLD or build/ (make build/bench/bigprofile)" >&2; exit 2; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print "-" }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
group() { echo "$1" | sed ':a; s/\([0-9]\)\([0-9]\{3\}\)\($\| \)/\1 \2\3/; ta'; } # 1234567 -> 1 234 567

echo "== compare_builds: OLD $OLD  NEW $NEW"
echo "   mrprof built: old $(date -r "$OLD/mrprof" '+%F %T'), new $(date -r "$NEW/mrprof" '+%F %T')"
printf 'def fib(n)\n  n < 2 ? n : fib(n - 1) + fib(n - 2)\nend\nputs fib(%d)\n' "$FIB_N" >"$tmp/fib.rb"

# ---------------------------------------------------------------------------------------------
# 1. Instruction counts
# ---------------------------------------------------------------------------------------------
# A fixed, small environment so both builds (and every run) see the same one: the environment's
# size moves a few instructions at start-up, and locale/terminal settings could change the output.
cg_env=(env -i PATH=/usr/bin:/bin HOME="$tmp" LC_ALL=C.UTF-8 TERM=dumb MRUN_QUIET=1)

# cg TAG CMD...: run CMD under callgrind in the background; its count goes to $tmp/TAG.ir,
# its stdout to $tmp/TAG.out. Wait with `wait`.
cg() {
    local tag=$1
    shift
    ( cd "$tmp" && "${cg_env[@]}" valgrind --tool=callgrind --callgrind-out-file="$tmp/$tag.cg" \
        "$@" >"$tmp/$tag.out" 2>"$tmp/$tag.err"
      sed -n 's/^summary: *//p' "$tmp/$tag.cg" >"$tmp/$tag.ir"
      rm -f "$tmp/$tag.cg" ) &
}
ir() { cat "$tmp/$1.ir" 2>/dev/null; }

row() { printf '%-46s %15s %15s %8s  %s\n' "$@"; }
cg_row() {  # LABEL TAG [no-compare]: one line of the table from $tmp/old-TAG.ir and $tmp/new-TAG.ir
    local o n same=""
    o=$(ir "old-$2"); n=$(ir "new-$2")
    if [ -z "$o" ] || [ -z "$n" ]; then
        row "$1" "${o:-failed}" "${n:-failed}" "-" "(see stderr below)"
        tail -n 5 "$tmp/old-$2.err" "$tmp/new-$2.err" >&2
        return
    fi
    if [ "${3:-}" != no-compare ]; then
        if cmp -s "$tmp/old-$2.out" "$tmp/new-$2.out"; then same="output same"; else same="output DIFFERENT"; fi
    fi
    row "$1" "$(group "$o")" "$(group "$n")" "$(ratio "$n" "$o")" "$same"
}

if [ "$SKIP_CG" != 1 ]; then
    command -v valgrind >/dev/null || { echo "compare_builds: valgrind is not installed" >&2; exit 2; }
    "$gen" -n "$CG_SAMPLES" "$tmp/cg.cpuprofile" >/dev/null
    echo
    echo "== instructions (callgrind; repeatable on a loaded machine): a-c on a $(group "$CG_SAMPLES")-sample profile,"
    echo "   d on fib($FIB_N); ratio = new / old (1.0000 = the same work)"
    row what old new new/old ""
    for it in "report|report|report cg.cpuprofile" \
              "view --once, first screen (top)|view|view --once --size 120x40 cg.cpuprofile" \
              "view --once --view all|viewall|view --once --size 120x40 --view all cg.cpuprofile" \
              "convert to .pb.gz|pb|convert cg.cpuprofile PB.pb.gz" \
              "convert to .folded|folded|convert cg.cpuprofile FOLDED.folded"; do
        label=${it%%|*}; rest=${it#*|}; tag=${rest%%|*}; args=${rest#*|}
        for side in old new; do
            dir=$OLD; [ "$side" = new ] && dir=$NEW
            a=${args//PB/$side}; a=${a//FOLDED/$side}
            # shellcheck disable=SC2086 # args are word lists on purpose
            cg "$side-$tag" "$(realpath "$dir/mrprof")" $a
        done
        wait
        # A converted file is the command's output: compare those, not the (empty) stdout.
        case $tag in
            pb) zcat "$tmp/old.pb.gz" >"$tmp/old-pb.out"; zcat "$tmp/new.pb.gz" >"$tmp/new-pb.out" ;;
            folded) cp "$tmp/old.folded" "$tmp/old-folded.out"; cp "$tmp/new.folded" "$tmp/new-folded.out" ;;
        esac
        cg_row "$label" "$tag"
    done

    # d. the sampler. The CPU timer counts the CPU time valgrind spends too (~50x), and valgrind
    # delivers signals only between its blocks, so the samples taken differ from a native run's
    # and from run to run: the per-sample cost is the figure that compares builds.
    for side in old new; do
        dir=$OLD; [ "$side" = new ] && dir=$NEW
        cg "$side-plain" "$(realpath "$dir/mrun")" fib.rb
        cg "$side-prof" "$(realpath "$dir/mrun")" --cpu-prof --prof-out "$side.cpuprofile" fib.rb
    done
    wait
    cg_row "mrun fib($FIB_N), no profiler" plain
    cg_row "mrun --cpu-prof fib($FIB_N) (1 kHz)" prof
    declare -A samples=() per=() overhead=()
    for side in old new; do
        dir=$OLD; [ "$side" = new ] && dir=$NEW
        samples[$side]=$("$dir/mrprof" report "$tmp/$side.cpuprofile" 2>/dev/null |
            sed -n 's/.*, \([0-9]*\) samples,.*/\1/p' | head -n 1)
        p=$(ir "$side-prof"); q=$(ir "$side-plain")
        overhead[$side]=$(ratio "${p:-0}" "${q:-0}")
        per[$side]=$(awk -v p="${p:-0}" -v q="${q:-0}" -v s="${samples[$side]:-0}" \
            'BEGIN { if (s > 0) printf "%.0f", (p - q) / s; else print "-" }')
    done
    row "  profiled / plain" "${overhead[old]}" "${overhead[new]}" "" ""
    row "  samples in the profile" "${samples[old]:-?}" "${samples[new]:-?}" "" "(vary: see above)"
    row "  instructions per sample" "$(group "${per[old]}")" "$(group "${per[new]}")" \
        "$(ratio "${per[new]}" "${per[old]}")" ""
fi

# ---------------------------------------------------------------------------------------------
# 2. Wall and CPU seconds, alternated
# ---------------------------------------------------------------------------------------------
if [ "$SKIP_WALL" != 1 ]; then
    "$gen" "$tmp/big.cpuprofile" >/dev/null
    W=tests/bench/workloads/fib.rb
    echo
    echo "== seconds at full size (1 000 000 samples; $W), old and new alternated $RUNS times;"
    echo "   medians (wall, then user+sys CPU) and the median of the per-pair new/old ratios of CPU"
    wrow() { printf '%-40s %8s %8s %8s %8s %8s\n' "$@"; }
    wrow what "old wall" "new wall" "old cpu" "new cpu" new/old
    once() {  # prints "wall cpu" of one run of "$@"
        { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
    }
    for it in "report|report BIG" \
              "view --once, first screen (top)|view --once --size 120x40 BIG" \
              "convert to .pb.gz|convert BIG OUT.pb.gz" \
              "convert to .folded|convert BIG OUT.folded" \
              "mrun fib.rb, no profiler|-mrun $W" \
              "mrun --cpu-prof fib.rb (1 kHz)|-mrun --cpu-prof --prof-out OUT.cpuprofile $W"; do
        label=${it%%|*}; args=${it#*|}
        bin=mrprof
        case $args in -mrun*) bin=mrun; args=${args#-mrun } ;; esac
        args=${args//BIG/$tmp/big.cpuprofile}; args=${args//OUT/$tmp/out}
        : >"$tmp/ow"; : >"$tmp/nw"; : >"$tmp/oc"; : >"$tmp/nc"; : >"$tmp/r"
        for i in $(seq "$RUNS"); do
            # shellcheck disable=SC2086
            if [ $((i % 2)) = 1 ]; then
                o=$(once "$OLD/$bin" $args); n=$(once "$NEW/$bin" $args)
            else
                n=$(once "$NEW/$bin" $args); o=$(once "$OLD/$bin" $args)
            fi
            echo "${o% *}" >>"$tmp/ow"; echo "${o#* }" >>"$tmp/oc"
            echo "${n% *}" >>"$tmp/nw"; echo "${n#* }" >>"$tmp/nc"
            ratio "${n#* }" "${o#* }" >>"$tmp/r"; echo >>"$tmp/r"
        done
        wrow "$label" "$(median <"$tmp/ow")" "$(median <"$tmp/nw")" \
            "$(median <"$tmp/oc")" "$(median <"$tmp/nc")" "$(grep -v '^-\?$' "$tmp/r" | median)"
    done
    echo "   (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
fi
echo
echo "compare_builds: $SECONDS s"
