#!/bin/sh
# make demo: profile a CPU-bound sample, print the report, say where the .cpuprofile is.
set -e
cd "$(dirname "$0")/.."
out="$(pwd)/build/demo-fib.cpuprofile"
echo "== build/mrprof record -o $out -- samples/fib.rb 30"
build/mrprof record -o "$out" -- samples/fib.rb 30
echo
build/mrprof report "$out" --top 8 --tree
echo
echo "Profile: $out"
echo "Open it in Chrome DevTools: Performance panel > 'Load profile…' (the up-arrow button),"
echo "or drop it on https://www.speedscope.app. Trace for Perfetto/chrome://tracing:"
echo "  build/mrprof convert $out build/demo-fib.perfetto.json"
# In a terminal, end in the viewer (q quits); otherwise the report above is the output.
if [ -t 0 ] && [ -t 1 ]; then
  echo
  echo "Opening it in the terminal viewer: build/mrprof view $out   (? keys, q quits)"
  sleep 2
  build/mrprof view "$out"
fi
