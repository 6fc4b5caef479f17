-- scripts/bench.d/get.lua — scenario (h): GET /api/jobs/{id} (the job with its most recent 100
-- errors and warnings) on a random job of BENCH_IDS.
dofile((os.getenv("BENCH_LUA_DIR") or "scripts/bench.d") .. "/common.lua")

function request()
   return wrk.format("GET", "/api/jobs/" .. pick())
end
