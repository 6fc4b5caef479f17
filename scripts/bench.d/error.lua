-- scripts/bench.d/error.lua — scenarios (b) and (g): POST /api/jobs/{id}/progress appending one
-- error (entity_key varies per request) to a random job of BENCH_IDS.
dofile((os.getenv("BENCH_LUA_DIR") or "scripts/bench.d") .. "/common.lua")

function request()
   local body = string.format(
      '{"error":{"entity_key":"row-%s","entity_type":"row","error_type":"validation",' ..
      '"message":"price missing","details":{"field":"price"}}}', next_key())
   return wrk.format("POST", "/api/jobs/" .. pick() .. "/progress", nil, body)
end
