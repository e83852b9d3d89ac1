#!/bin/sh
# Installs the Debian packages mrprof needs that are not installed yet.
# Usage: tools/deps.sh [build|test|bench]   (default: test, which includes build)
# Checks first with dpkg; installs with apt-get as root, with `sudo -n` otherwise, and says
# exactly what to install when it can do neither. Exit 0 when everything is present.
# For test and bench it also installs the npm packages pinned in tests/node/package-lock.json
# (the real consumers the tests hand profiles to: speedscope, DevTools' trace engine, and
# puppeteer-core, which drives chromium's DevTools) with
# `npm ci`, once, when node_modules is missing or older than the lock file.
set -u
want=${1:-test}
build_pkgs="gcc make pkg-config mruby libmruby-dev libuv1-dev libncurses-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev libonig-dev libssl-dev"
# Go and pprof's Debian source build Google's pprof, the consumer of `mrprof convert -f pprof`;
# chromium serves its own DevTools front end, in which tests/e2e/test_devtools.sh opens traces.
# clang and its runtime (libFuzzer, ASan, UBSan) build the fuzz targets (make fuzz-targets).
# ruby (CRuby 3.1 and its json) is the reference test_json compares against and bench json races.
# libxml2-utils (xmllint) validates the flame graph SVGs and librsvg2-bin (rsvg-convert) renders
# them (test_svg); python3-prometheus-client parses check's --metrics file as OpenMetrics
# (test_ci_evidence; it lives in Debian's /usr/bin/python3). wrk loads the servers that
# test_realistic and test_https profile (and the benches).
test_pkgs="libcriterion-dev clang-format tmux valgrind golang-go golang-github-google-pprof-dev chromium clang libclang-rt-14-dev ruby python3 curl openssl libxml2-utils librsvg2-bin python3-prometheus-client wrk"
bench_pkgs=""
case $want in
  build) pkgs=$build_pkgs ;;
  test)  pkgs="$build_pkgs $test_pkgs" ;;
  bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs" ;;
  *) echo "deps.sh: unknown set '$want' (build, test or bench)" >&2; exit 2 ;;
esac
# Node.js runs the test-only consumers; Debian's nodejs/npm when the machine has none.
if [ "$want" != build ] && ! command -v npm >/dev/null 2>&1; then
  pkgs="$pkgs nodejs npm"
fi
here=$(cd "$(dirname "$0")/.." && pwd)

npm_deps() {
  [ "$want" = build ] && return 0
  dir=$here/tests/node
  stamp=$dir/node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ]; then
    return 0
  fi
  echo "deps: npm ci in tests/node (speedscope, @paulirish/trace_engine, puppeteer-core)" >&2
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >/tmp/mrprof-npm.log 2>&1; then
    echo "deps: npm ci failed in tests/node; see /tmp/mrprof-npm.log" >&2
    tail -n 5 /tmp/mrprof-npm.log >&2
    return 1
  fi
}

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  npm_deps
  exit $?
fi

echo "deps: installing$missing" >&2
if [ "$(id -u)" = 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n"
else
  echo "deps: missing packages:$missing" >&2
  echo "deps: run as root:  apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $as_root apt-get install -y -q $missing >/tmp/mrprof-deps.log 2>&1; then
  # A fresh machine has no package lists yet: fetch them once and try again.
  $as_root apt-get update -q >>/tmp/mrprof-deps.log 2>&1
  if ! $as_root apt-get install -y -q $missing >>/tmp/mrprof-deps.log 2>&1; then
    echo "deps: apt-get install failed; see /tmp/mrprof-deps.log" >&2
    tail -n 5 /tmp/mrprof-deps.log >&2
    exit 1
  fi
fi
echo "deps: installed$missing" >&2
npm_deps
