-- wrk script for the baseline: GET /ticket on `bare`; every response must be 200.
-- Same bookkeeping (a response callback per request) as read.lua and create.lua, so
-- the client does the same work in all three scenarios.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   bad = 0
end

function request()
   return wrk.format("GET", "/ticket", { ["Accept"] = "application/json" })
end

function response(status, headers, body)
   if status ~= 200 then
      bad = bad + 1
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
