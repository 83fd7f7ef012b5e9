-- resolve.lua: GET /{code} on codes created before the run.
--
-- BENCH_CODES_FILE names a file with one code per line (bench/run creates the
-- links during warm-up). Requests rotate over the codes so the store sees
-- more than one hot key; each thread starts at a different offset. The
-- request strings are built once, in init(), so the hot loop only indexes a
-- table: wrk shares the CPUs with the server and must stay cheap.

dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/report.lua")

local requests = {}
local next_index = 1
local thread_count = 0

function setup(thread)
   thread:set("thread_number", thread_count)
   thread_count = thread_count + 1
end

function init(args)
   local path = os.getenv("BENCH_CODES_FILE")
   if not path then
      error("resolve.lua: BENCH_CODES_FILE is not set")
   end
   local file = assert(io.open(path, "r"))
   for code in file:lines() do
      if code ~= "" then
         requests[#requests + 1] = wrk.format("GET", "/" .. code)
      end
   end
   file:close()
   if #requests == 0 then
      error("resolve.lua: no codes in " .. path)
   end
   next_index = ((thread_number or 0) * 7) % #requests + 1
end

function request()
   local r = requests[next_index]
   next_index = next_index % #requests + 1
   return r
end
