#!/bin/sh
# make demo: run the samples with mrun and say what ran.
set -e
cd "$(dirname "$0")/.."
echo "== build/mrun samples/fib.rb 24   (CPU-bound: recursive fib)"
build/mrun samples/fib.rb 24
echo
echo "== build/mrun samples/timers.rb   (the event loop: timeout, interval, immediate)"
build/mrun samples/timers.rb
