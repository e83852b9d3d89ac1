#!/bin/sh
# Installs the Debian packages mrprof needs that are not installed yet.
# Usage: tools/deps.sh [build|test|bench]   (default: test, which includes build)
# Checks first with dpkg; installs with apt-get as root, with `sudo -n` otherwise, and says
# exactly what to install when it can do neither. Exit 0 when everything is present.
set -u
want=${1:-test}
build_pkgs="gcc make pkg-config mruby libmruby-dev libuv1-dev libcjson-dev libncurses-dev"
test_pkgs="libcriterion-dev tmux valgrind"
bench_pkgs="wrk"
case $want in
  build) pkgs=$build_pkgs ;;
  test)  pkgs="$build_pkgs $test_pkgs" ;;
  bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs" ;;
  *) echo "deps.sh: unknown set '$want' (build, test or bench)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

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
