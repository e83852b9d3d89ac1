#!/usr/bin/env bash
# Evidence in CI (issue 27, part 5): `mrprof check ... --annotations github|none`, `--metrics
# FILE`, `--artifacts DIR`, on a known change (tests/scripts/svg/work.rb: slowed made 3x slower).
#  - annotations: each line is parsed by a parser written here from GitHub's documented rules for
#    workflow commands (`::NAME key=value,key=value::DATA`; data escapes %25 %0D %0A, property
#    values also %3A %2C); the regressed function's file (relative to the repository, so the
#    annotation lands on the pull request's file) and line (its `def`), also for names and files
#    full of the characters that must be escaped; the default follows GITHUB_ACTIONS;
#  - $GITHUB_STEP_SUMMARY gets the Markdown table appended, rendered by marked (the Markdown
#    renderer test_check uses) into one table whose failed row names the function;
#  - metrics.txt is parsed as OpenMetrics by prometheus_client's OpenMetrics parser (Debian
#    python3-prometheus-client, in Debian's /usr/bin/python3);
#  - the artifacts directory: base and new profiles named so, the differential SVG red where
#    slowed grew, all valid; with --runs --against the base comes from the base runs.
TEST_TIMEOUT=${TEST_TIMEOUT:-180}
source "$(dirname "$0")/lib.sh"

export W=tests/scripts/svg/work.rb

record_work() {  # record_work K OUT
    $MRUN --cpu-prof --prof-hz 2000 --prof-out "$2" "$W" "$1" >/dev/null 2>&1 || fail "recording $W $1 failed"
}

# gh_commands: parses stdout ($out) as GitHub's runner does, one JSON object per workflow command:
# {"command", "properties": {unescaped}, "data": unescaped}; fails on a line that starts with
# "::" but is not a valid command, or on an escape GitHub would not undo.
gh_commands() {
    printf '%s\n' "$out" | python3 -c '
import json, re, sys
def unescape(s, prop):
    # Every "%" must start one of the escapes the runner undoes; a raw CR/LF cannot be in a line.
    codes = {"%25": "%", "%0D": "\r", "%0A": "\n"}
    if prop: codes.update({"%3A": ":", "%2C": ","})
    out, i = "", 0
    while i < len(s):
        if s[i] == "%":
            c = s[i:i + 3]
            if c not in codes: sys.exit(f"bad escape {c!r} in {s!r}")
            out += codes[c]; i += 3
        else:
            out += s[i]; i += 1
    return out
for line in sys.stdin.read().split("\n"):
    if not line.startswith("::"): continue
    # "::" COMMAND [" " PROPERTIES] "::" DATA: the command part ends at the next "::".
    end = line.find("::", 2)
    if end < 0: sys.exit(f"no closing :: in {line!r}")
    cmd, data = line[2:end], line[end + 2:]
    name, _, props = cmd.partition(" ")
    if not re.fullmatch(r"[a-z-]+", name): sys.exit(f"bad command name {name!r}")
    p = {}
    for kv in filter(None, props.split(",")):
        k, eq, v = kv.partition("=")
        if not eq or not re.fullmatch(r"[a-zA-Z]+", k): sys.exit(f"bad property {kv!r} in {line!r}")
        if ":" in v: sys.exit(f"raw : in property {kv!r}")
        p[k] = unescape(v, True)
    if name == "error" and set(p) - {"title", "file", "line", "endLine", "col", "endColumn"}:
        sys.exit(f"unknown property in {line!r}")
    ln = p.get("line", "0")
    if not ln.isdigit(): sys.exit(f"line {ln!r} is not a number")
    print(json.dumps({"command": name, "properties": p, "data": unescape(data, False)}))
' || fail "a workflow command does not parse: $(printf '%s' "$out" | grep '^::' | head -c 800)"
}

t_annotations_at_the_source_line_under_github_actions() {
    record_work 1 "$T/base.cpuprofile"
    record_work 3 "$T/new.cpuprofile"
    : >"$T/summary.md"
    GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY="$T/summary.md" run $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile"
    expect_rc 1
    local cmds
    cmds=$(gh_commands) || exit 1
    # One per failed check: the "FAIL NAME: WHY" lines after the table.
    [ "$(printf '%s\n' "$cmds" | grep -c .)" = "$(printf '%s\n' "$out" | grep -c '^FAIL [^ ]')" ] ||
        fail "not one annotation per failed check: $cmds / $(printf '%s\n' "$out" | grep '^FAIL [^ ]')"
    printf '%s\n' "$cmds" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
slowed = [r for r in rows if r["data"].startswith("slowed: ")]
assert slowed, f"no annotation for slowed: {rows}"
r = slowed[0]
assert r["command"] == "error", r
p = r["properties"]
assert p.get("file") == "tests/scripts/svg/work.rb" and p.get("line") == "15", p
assert "slowed" in p.get("title", ""), p
assert "share " in r["data"] and "%" in r["data"], r
' || fail "the annotation for slowed: $cmds"
    # The line it points at is slowed's def, in the file as the repository has it.
    [ "$(sed -n 15p "$ROOT/tests/scripts/svg/work.rb")" = "def slowed(k)" ] || fail "line 15 is not def slowed"
    grep -q '^### mrprof check: regression' "$T/summary.md" || fail "nothing appended to GITHUB_STEP_SUMMARY"
    # Appended, not replaced: a second step's summary stays.
    printf 'earlier step\n' >"$T/summary2.md"
    GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY="$T/summary2.md" run $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile"
    [ "$(head -n 1 "$T/summary2.md")" = "earlier step" ] && grep -q '^| ❌ | `slowed`' "$T/summary2.md" ||
        fail "the summary was not appended: $(head -c 400 "$T/summary2.md")"
}

t_annotations_default_and_explicit() {
    record_work 1 "$T/base.cpuprofile"
    record_work 3 "$T/new.cpuprofile"
    # Not under GitHub: none, and no summary written even if the variable is set.
    : >"$T/s.md"
    env -u GITHUB_ACTIONS GITHUB_STEP_SUMMARY="$T/s.md" $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile" >"$T/o.txt" 2>&1
    grep -q '^::' "$T/o.txt" && fail "annotations without GITHUB_ACTIONS: $(grep '^::' "$T/o.txt")"
    [ ! -s "$T/s.md" ] || fail "the step summary was written without GitHub"
    # --annotations github forces them; none silences them under GitHub.
    out=$(env -u GITHUB_ACTIONS $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile" --annotations github 2>/dev/null)
    printf '%s\n' "$out" | grep -q '^::error file=tests/scripts/svg/work.rb,line=15,' || fail "--annotations github: $out"
    out=$(GITHUB_ACTIONS=true $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile" --annotations none 2>/dev/null)
    printf '%s\n' "$out" | grep -q '^::' && fail "--annotations none still annotates: $out"
    # No regression: no annotation at all.
    out=$(GITHUB_ACTIONS=true $MRPROF check --baseline "$T/base.cpuprofile" "$T/base.cpuprofile" 2>/dev/null)
    printf '%s\n' "$out" | grep -q '^::' && fail "annotations without a regression: $out"
    run $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile" --annotations gitlab
    expect_rc 2
    expect_err_has "--annotations takes github or none, not 'gitlab'"
}

t_annotations_escape_names_and_files() {
    # Two profiles whose regressed function's name and file hold every character GitHub's
    # commands escape: % : , CR LF.
    python3 - "$T" <<'EOF'
import json, sys
def prof(hot, cold):
    nodes = [{"id": 1, "callFrame": {"functionName": "(root)", "scriptId": "0", "url": "", "lineNumber": -1, "columnNumber": -1}, "children": [2]},
             {"id": 2, "callFrame": {"functionName": "main", "scriptId": "1", "url": "file:///srv/app,v2:x/main.rb", "lineNumber": 0, "columnNumber": -1}, "children": [3, 4]},
             {"id": 3, "callFrame": {"functionName": "a:b,c%25d\r\ne::f", "scriptId": "1", "url": "file:///srv/app,v2:x/main.rb", "lineNumber": 41, "columnNumber": -1}},
             {"id": 4, "callFrame": {"functionName": "cold", "scriptId": "1", "url": "file:///srv/app,v2:x/main.rb", "lineNumber": 9, "columnNumber": -1}}]
    samples = [3] * hot + [4] * cold
    return {"nodes": nodes, "startTime": 0, "endTime": 1000 * len(samples), "samples": samples, "timeDeltas": [1000] * len(samples)}
json.dump(prof(100, 100), open(sys.argv[1] + "/b.cpuprofile", "w"))
json.dump(prof(180, 20), open(sys.argv[1] + "/n.cpuprofile", "w"))
EOF
    run $MRPROF check --baseline "$T/b.cpuprofile" "$T/n.cpuprofile" --annotations github
    expect_rc 1
    local cmds
    cmds=$(gh_commands) || exit 1
    printf '%s\n' "$cmds" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
name = "a:b,c%25d\r\ne::f"
hit = [r for r in rows if r["data"].startswith(name + ": ")]
assert len(hit) == 1, rows
p = hit[0]["properties"]
assert p["file"] == "/srv/app,v2:x/main.rb" and p["line"] == "42", p
assert p["title"] == "mrprof check: " + name + " got slower", p
' || fail "escaping did not survive GitHub's parsing: $cmds"
}

t_step_summary_renders_as_one_table() {
    [ -d "$ROOT/tests/node/node_modules/marked" ] || {
        skip "marked is not installed in tests/node (make deps runs npm ci): the summary is not rendered"
        return
    }
    record_work 1 "$T/base.cpuprofile"
    record_work 3 "$T/new.cpuprofile"
    printf '## an earlier step\n\ntext\n' >"$T/summary.md"
    GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY="$T/summary.md" $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile" >/dev/null 2>&1
    run node "$ROOT/tests/node/md_tables.mjs" "$T/summary.md"
    expect_rc 0
    expect_out_has "heading 2 an earlier step"
    expect_out_has "heading 3 mrprof check: regression"
    [ "$(printf '%s\n' "$out" | grep -c '^table ')" = 1 ] || fail "not one table: $out"
    printf '%s\n' "$out" | grep -q "^row 1	❌	slowed	" || fail "no failed row for slowed: $out"
    printf '%s\n' "$out" | grep -q "^row 1	✅	steady	" || fail "no passed row for steady: $out"
    # Every row of the Markdown came through the renderer as a row of the table.
    [ "$(printf '%s\n' "$out" | grep -c '^row 1	')" = "$(grep -c '^| [❌✅] |' "$T/summary.md")" ] ||
        fail "the table's rows are not the checks: $out"
}

t_metrics_parse_as_openmetrics() {
    /usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null || {
        skip "python3-prometheus-client is not installed (tools/deps.sh test): metrics not parsed"
        return
    }
    record_work 1 "$T/base.cpuprofile"
    record_work 3 "$T/new.cpuprofile"
    run $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile" --annotations none --metrics "$T/metrics.txt"
    expect_rc 1
    [ "$(tail -n 1 "$T/metrics.txt")" = "# EOF" ] || fail "metrics.txt does not end with # EOF"
    /usr/bin/python3 - "$T/metrics.txt" <<'EOF' || fail "metrics.txt: $(head -c 1500 "$T/metrics.txt")"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
for name in ("mrprof_check_failures", "mrprof_check_checks", "mrprof_check_total_cpu_ms",
             "mrprof_check_base_share_percent", "mrprof_check_new_share_percent",
             "mrprof_check_change_percent", "mrprof_check_regressed"):
    assert name in fams, f"no {name}: {sorted(fams)}"
    assert fams[name].type == "gauge", (name, fams[name].type)
val = lambda fam, **lab: [s.value for s in fams[fam].samples if all(s.labels.get(k) == v for k, v in lab.items())]
assert val("mrprof_check_failures") == [1.0], val("mrprof_check_failures")
assert val("mrprof_check_regressed", function="slowed") == [1.0]
assert val("mrprof_check_regressed", function="steady") == [0.0]
assert val("mrprof_check_regressed", function="slowed", location="tests/scripts/svg/work.rb:15") == [1.0]
b, n = val("mrprof_check_base_share_percent", function="slowed")[0], val("mrprof_check_new_share_percent", function="slowed")[0]
assert 30 < b < 70 and n > b, (b, n)
c = val("mrprof_check_change_percent", function="slowed")[0]
assert abs(c - 100 * (n / b - 1)) < 0.01, (c, b, n)
side = {s.labels["side"]: s.value for s in fams["mrprof_check_total_cpu_ms"].samples}
assert side["new"] > side["base"] > 0, side
print("ok")
EOF
    # No regression: failures 0, still valid.
    run $MRPROF check --baseline "$T/base.cpuprofile" "$T/base.cpuprofile" --annotations none --metrics "$T/m0.txt"
    expect_rc 0
    /usr/bin/python3 -c '
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as f
v = [s.value for fam in f(open(sys.argv[1]).read()) if fam.name == "mrprof_check_failures" for s in fam.samples]
assert v == [0.0], v' "$T/m0.txt" || fail "no-regression metrics: $(cat "$T/m0.txt")"
}

t_artifacts_hold_base_new_and_the_diff() {
    record_work 1 "$T/base.cpuprofile"
    record_work 3 "$T/new.cpuprofile"
    run $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile" --annotations none --artifacts "$T/ev/perf"
    expect_rc 1
    expect_err_has "evidence in $T/ev/perf/"
    local f
    for f in base.cpuprofile new.cpuprofile base.svg new.svg diff-base-to-new.svg summary.md; do
        expect_file "$T/ev/perf/$f"
    done
    # base is the base and new the new: the same report as the files given.
    [ "$($MRPROF report --format tsv --top 0 "$T/ev/perf/base.cpuprofile")" = "$($MRPROF report --format tsv --top 0 "$T/base.cpuprofile")" ] ||
        fail "base.cpuprofile is not the base"
    [ "$($MRPROF report --format tsv --top 0 "$T/ev/perf/new.cpuprofile")" = "$($MRPROF report --format tsv --top 0 "$T/new.cpuprofile")" ] ||
        fail "new.cpuprofile is not the new"
    if command -v xmllint >/dev/null; then
        xmllint --noout "$T/ev/perf/diff-base-to-new.svg" "$T/ev/perf/new.svg" "$T/ev/perf/base.svg" || fail "an SVG is not well-formed"
    else
        skip "xmllint is missing (Debian libxml2-utils)"
    fi
    # The differential SVG is diff's: the same file as `diff -o` but for the title.
    $MRPROF diff "$T/base.cpuprofile" "$T/new.cpuprofile" -o "$T/d.svg" >/dev/null 2>&1 || fail "diff -o failed"
    diff <(grep -v 'id="title"' "$T/d.svg") <(grep -v 'id="title"' "$T/ev/perf/diff-base-to-new.svg") >/dev/null ||
        fail "check's differential SVG differs from diff's"
    grep -q '<g data-c="+[0-9.]*%"><title>slowed' "$T/ev/perf/diff-base-to-new.svg" || fail "slowed's growth is not in the SVG"
    grep -q '^| ❌ | `slowed`' "$T/ev/perf/summary.md" || fail "summary.md lacks the failed row"
    # A file where the directory should be: a clear error.
    : >"$T/plain"
    run $MRPROF check --baseline "$T/base.cpuprofile" "$T/new.cpuprofile" --annotations none --artifacts "$T/plain"
    expect_rc 2
    expect_err_has "cannot make the directory $T/plain"
}

long_test t_runs_against_annotate_and_keep_both_sides 400
t_runs_against_annotate_and_keep_both_sides() {
    # --runs with --against: the annotation's file is the script's directory joined with the
    # function's file (the runs key files relative to the script), and the artifacts' base is a
    # base run.
    mkdir "$T/main" && cp "$W" "$T/main/work.rb" # the base checkout beside the change
    run $MRPROF check --runs 7 --hz 2000 --against "$T/main/work.rb 1" --annotations github --artifacts "$T/ev" --metrics "$T/m.txt" -- "$W" 3
    expect_rc 1
    local cmds
    cmds=$(gh_commands) || exit 1
    printf '%s\n' "$cmds" | grep -q '"file": "tests/scripts/svg/work.rb", "line": "15"' || fail "runs: no annotation at work.rb:15: $cmds / $out"
    expect_file "$T/ev/base.cpuprofile"
    expect_file "$T/ev/new.cpuprofile"
    expect_file "$T/ev/diff-base-to-new.svg"
    $MRPROF report "$T/ev/base.cpuprofile" | grep -q "$T/main/work.rb" || fail "base.cpuprofile is not a run of the base script"
    grep -q '^mrprof_check_new_ms{function="slowed"' "$T/m.txt" || fail "runs metrics lack slowed's median ms: $(cat "$T/m.txt")"
    # --save-baseline records; the evidence options have nothing to judge there.
    run $MRPROF check --runs 2 --save-baseline "$T/b.json" --metrics "$T/x.txt" -- "$W" 1
    expect_rc 2
    expect_err_has "--metrics judges a check"
}

[ "${1:-}" = --lib ] || run_tests
