-- wrk_mix.lua — the load for kv_server.rb: mostly cache reads and writes, one request in four
-- to the CPU-heavy /report route.
local n = 0
request = function()
  n = n + 1
  local k = n % 4
  if k == 0 then
    return wrk.format("GET", "/report/60000")
  elseif k == 1 then
    return wrk.format("GET", "/set/key" .. (n % 100) .. "/v" .. n)
  else
    return wrk.format("GET", "/get/key" .. (n % 100))
  end
end
