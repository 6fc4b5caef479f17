-- scripts/bench.d/create.lua — scenario (e): POST /api/jobs/ creating a job.
dofile((os.getenv("BENCH_LUA_DIR") or "scripts/bench.d") .. "/common.lua")

local body = '{"job_type":"bench","total_items":1000,"metadata":{"source":"bench"}}'

function request()
   return wrk.format("POST", "/api/jobs/", nil, body)
end
