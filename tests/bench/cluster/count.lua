-- count.lua — wrk script: counts the responses per body (the worker's pid, "PID\n") and
-- prints "balance PID=N PID=N ... max/min R" after the run (tests/bench/cluster.sh).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body)
  counts[body] = (counts[body] or 0) + 1
end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do all[k] = (all[k] or 0) + v end
  end
  local line, max, min, n = "balance", 0, nil, 0
  for k, v in pairs(all) do
    line = line .. " " .. string.gsub(k, "%s+", "") .. "=" .. v
    if v > max then max = v end
    if min == nil or v < min then min = v end
    n = n + 1
  end
  if min == nil or min == 0 then min = 0 end
  io.write(string.format("%s workers=%d max/min=%s\n", line, n,
    min > 0 and string.format("%.2f", max / min) or "inf"))
end
