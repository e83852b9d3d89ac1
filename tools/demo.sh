#!/bin/sh
# make demo: profile a small JSON service (samples/notes_service.rb) while a bounded load from
# 127.0.0.1 runs against it for 3 seconds (samples/notes_load.rb, started by the service as a
# child process), then print the report: handlers, the Deferred workers' threads, (idle) while
# the loop waits, the garbage collector, and the memory counters in the trace.
set -e
cd "$(dirname "$0")/.."
out="$(pwd)/build/demo-service.json"
echo "== build/mrprof record --mode wall --memory -f trace -o $out -- samples/notes_service.rb --demo 3"
build/mrprof record --mode wall --memory -f trace -o "$out" -- samples/notes_service.rb --demo 3
echo
build/mrprof report "$out" --top 15
echo
echo "Profile: $out (Trace Event JSON: every thread, and the memory counters)"
echo "Open it in Chrome DevTools: Performance panel > 'Load profile…' (the up-arrow button),"
echo "or in https://ui.perfetto.dev. For speedscope or pprof:"
echo "  build/mrprof convert $out build/demo-service.speedscope.json"
echo "A CPU-bound one: build/mrprof record -o fib.cpuprofile -- samples/fib.rb 27"
# In a terminal, end in the viewer (q quits); otherwise the report above is the output.
if [ -t 0 ] && [ -t 1 ]; then
  echo
  echo "Opening it in the terminal viewer: build/mrprof view $out   (? keys, q quits)"
  sleep 2
  build/mrprof view "$out"
fi
