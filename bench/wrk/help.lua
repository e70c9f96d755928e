-- wrk script: help-centre searches of two random support words.
--   wrk ... -s help.lua https://127.0.0.1:PORT -- <path, e.g. /api/v1/help/articles or /search>
-- Every response must be 200; others are counted and printed as BENCH_BAD_STATUS.
local threads = {}
local counter = 0
local words = { "refund", "delivery", "invoice", "password", "printer", "warranty", "shipping", "account",
   "order", "subscription", "cancel", "payment", "discount", "return", "exchange", "tracking", "parcel",
   "damaged", "voucher", "address", "billing", "receipt", "upgrade", "license", "installation", "battery",
   "screen", "charger", "repair", "store" }

function setup(thread)
   counter = counter + 1
   thread:set("thread_no", counter)
   table.insert(threads, thread)
end

function init(args)
   bad = 0
   path = args[1]
   math.randomseed(thread_no * 7919)
end

function request()
   local q = words[math.random(#words)] .. "+" .. words[math.random(#words)]
   return wrk.format("GET", path .. "?q=" .. q, { ["Accept"] = "application/json" })
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
