-- wrk script: an agent opens tickets for random seeded customers.
--   wrk ... -s create.lua https://127.0.0.1:PORT -- <customer-ids file> <bearer token>
-- Every response must be 201; others are counted and printed as BENCH_BAD_STATUS.
local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_no", counter)
   table.insert(threads, thread)
end

function init(args)
   bad = 0
   sent = 0
   customers = {}
   for line in io.lines(args[1]) do
      if #line > 0 then
         customers[#customers + 1] = line
      end
   end
   if #customers == 0 then
      error("no customer ids in " .. args[1])
   end
   headers = {
      ["Authorization"] = "Bearer " .. args[2],
      ["Accept"] = "application/json",
      ["Content-Type"] = "application/json",
   }
   math.randomseed(os.time() * 1000 + thread_no)
end

function request()
   sent = sent + 1
   local body = string.format(
      '{"subject":"Load test %d-%d: the invoice portal times out",' ..
      '"body":"Hello, when I open the invoice portal it spins for a minute and then shows a timeout. ' ..
      'This started yesterday after the update; other pages work. Could you look into it? (%d)",' ..
      '"requester_id":"%s"}',
      thread_no, sent, sent, customers[math.random(#customers)])
   return wrk.format("POST", "/api/v1/tickets", headers, body)
end

function response(status, headers, body)
   if status ~= 201 then
      bad = bad + 1
      if bad <= 3 then
         io.stderr:write("create: status " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
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
