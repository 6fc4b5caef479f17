-- scripts/bench.d/progress.lua — scenarios (a) and (c): POST /api/jobs/{id}/progress with
-- {"processed_items_delta": 1, "stage": ...} on a random job of BENCH_IDS (one id = a hot job).
dofile((os.getenv("BENCH_LUA_DIR") or "scripts/bench.d") .. "/common.lua")

local stages = { "extracting", "transforming", "loading", "verifying" }

function request()
   local body = string.format('{"processed_items_delta":1,"stage":"%s"}', stages[math.random(#stages)])
   return wrk.format("POST", "/api/jobs/" .. pick() .. "/progress", nil, body)
end
