-- scripts/bench.d/list.lua — scenario (f): GET /api/jobs/?limit=50, the first page or, with
-- BENCH_CURSOR set, the page after that cursor (deep in the chain).
dofile((os.getenv("BENCH_LUA_DIR") or "scripts/bench.d") .. "/common.lua")

local cursor = os.getenv("BENCH_CURSOR") or ""
local path = "/api/jobs/?limit=50"
if cursor ~= "" then path = path .. "&cursor=" .. cursor end

function request()
   return wrk.format("GET", path)
end
