-- shorten.lua: POST /api/v1/links with a different URL on every request.
--
-- A per-thread counter plus the thread number make every URL unique within a
-- run, so a server cannot answer from a cache and its store really grows.

dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/report.lua")

local thread_count = 0
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
   thread:set("thread_number", thread_count)
   thread_count = thread_count + 1
end

function request()
   counter = counter + 1
   local body = string.format('{"url":"https://example.com/bench/%d/%d"}', thread_number or 0, counter)
   return wrk.format("POST", "/api/v1/links", headers, body)
end
