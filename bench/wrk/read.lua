-- wrk script: an agent reads random seeded tickets.
--   wrk ... -s read.lua https://127.0.0.1:PORT -- <ticket-ids file> <bearer token>
-- Every response must be 200; others are counted and printed as BENCH_BAD_STATUS.
local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_no", counter)
   table.insert(threads, thread)
end

function init(args)
   bad = 0
   ids = {}
   for line in io.lines(args[1]) do
      if #line > 0 then
         ids[#ids + 1] = line
      end
   end
   if #ids == 0 then
      error("no ticket ids in " .. args[1])
   end
   headers = { ["Authorization"] = "Bearer " .. args[2], ["Accept"] = "application/json" }
   math.randomseed(os.time() * 1000 + thread_no)
end

function request()
   return wrk.format("GET", "/api/v1/tickets/" .. ids[math.random(#ids)], headers)
end

function response(status, headers, body)
   if status ~= 200 then
      bad = bad + 1
      if bad <= 3 then
         io.stderr:write("read: status " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
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
