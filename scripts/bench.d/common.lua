-- scripts/bench.d/common.lua — shared by the wrk scripts of scripts/bench (loaded with dofile).
-- Environment (set by scripts/bench): BENCH_KEY (API key), BENCH_IDS (file of job ids, one a
-- line; each request picks one at random), BENCH_LUA_DIR (this folder).
-- wrk keeps every connection alive (HTTP/1.1) and sends all of its requests over it.
-- Each thread loads the ids in init(); done() prints one machine-readable line that
-- scripts/bench parses: requests, rps, latency percentiles and error counts.

local key = os.getenv("BENCH_KEY") or error("BENCH_KEY is not set")
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("tid", counter)
   table.insert(threads, thread)
end

ids = {}
seq = 0

function init(args)
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
   local path = os.getenv("BENCH_IDS")
   if path and path ~= "" then
      for line in io.lines(path) do
         if line ~= "" then ids[#ids + 1] = line end
      end
      if #ids == 0 then error("no job ids in " .. path) end
   end
end

-- A random job id from the ids file.
function pick()
   return ids[math.random(#ids)]
end

-- A value unique within this run (thread number and a per-thread counter).
function next_key()
   seq = seq + 1
   return tostring(tid or 0) .. "-" .. tostring(seq)
end

function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "BENCH_RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      e.connect, e.read, e.write, e.status, e.timeout))
end
