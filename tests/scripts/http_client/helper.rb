# helper.rb — shared by the HTTP client test scripts (against tests/scripts/http_client/server.py):
# one line per check, a deadline so a script never hangs, and a sequence runner so each step
# starts when the one before has finished.
$failures = 0

def check(ok, what)
  if ok
    puts "ok #{what}"
  else
    puts "FAIL #{what}"
    $failures += 1
  end
end

def finish
  puts($failures == 0 ? "all passed" : "#{$failures} failed")
  exit($failures == 0 ? 0 : 1)
end

# Fails the script when it has not finished after ms (the timer does not keep it alive).
# MRPROF_DEADLINE_SCALE multiplies it for slow runs (valgrind).
def deadline(ms)
  ms = (ms * (ENV["MRPROF_DEADLINE_SCALE"] || "1").to_f).to_i
  t = set_timeout(ms) do
    puts "FAIL deadline of #{ms} ms passed (#{$step || "?"})"
    exit 3
  end
  t.unref
  t
end

# steps([[name, proc { |done| ... done.call }], ...]): runs each step after the one before
# called done, then finish.
def steps(list)
  run = nil
  i = 0
  run = proc do
    if i == list.size
      finish
    else
      name, body = list[i]
      i += 1
      $step = name
      body.call(proc { set_immediate { run.call } })
    end
  end
  run.call
end

# GETs (or requests) and calls back with [res, body] or [err, nil] when it failed.
def fetch(opts, extra = {}, &cb)
  body = extra.delete(:body)
  body ||= opts.delete(:body) if opts.is_a?(Hash)
  req = HTTP.request(opts, extra) { |res| res.read_body { |b| cb.call(res, b) } }
  req.on(:error) { |e| cb.call(e, nil) }
  req.end(body)
  req
end
