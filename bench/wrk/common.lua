-- Shared by the wrk scripts, which load it first (see any of them): threads numbered
-- (`thread_no`, for their random seeds), answers other than the expected status
-- counted per thread, and at the end the two lines bench's reports read:
--   BENCH_BAD_STATUS <count>
--   BENCH_LATENCY_US p50=<us> p99=<us> max=<us>
-- Every script does the same bookkeeping per response, so baselines and scenarios
-- cost the client the same.
local threads = {}
local counter = 0
bad = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_no", counter)
   table.insert(threads, thread)
end

-- Counts an answer other than `wanted`, printing the first few of each thread.
function expect(status, wanted, body, what)
   if status ~= wanted then
      bad = bad + 1
      if bad <= 3 then
         io.stderr:write(what .. ": status " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
      end
   end
end

function done(summary, latency, requests)
   local total = 0
   for _, t in ipairs(threads) do
      total = total + t:get("bad")
   end
   io.write(string.format("BENCH_BAD_STATUS %d\n", total))
   io.write(string.format("BENCH_LATENCY_US p50=%d p99=%d max=%d\n",
      latency:percentile(50), latency:percentile(99), latency.max))
end
