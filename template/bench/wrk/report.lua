-- report.lua: the one summary line bench/run parses, shared by every script.
--
-- wrk calls done() once, in its main Lua state, after every thread stopped.
-- The line is "BENCH_RESULT key=value ...", integers except rps, latencies in
-- microseconds. Errors are reported separately: a server answering 4xx/5xx or
-- timing out did not do the work, so bench/run refuses to rank such a run.

function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local rps = 0
   if seconds > 0 then
      rps = summary.requests / seconds
   end
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
      summary.requests, summary.duration, rps,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout))
end
