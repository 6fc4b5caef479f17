-- scripts/bench.d/status.lua — scenario (d): GET /api/jobs/{id}/status on a random job of BENCH_IDS.
dofile((os.getenv("BENCH_LUA_DIR") or "scripts/bench.d") .. "/common.lua")

function request()
   return wrk.format("GET", "/api/jobs/" .. pick() .. "/status")
end
