-- pipeline.lua — wrk script: each connection sends DEPTH GET / requests in one write and waits for
-- the DEPTH answers (wrk counts each), as an HTTP/1.1 pipelining client does.
--   wrk -s tests/bench/http/pipeline.lua URL -- DEPTH   (default 16)
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
