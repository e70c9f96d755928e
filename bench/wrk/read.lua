-- wrk script: an agent reads random seeded tickets.
--   wrk ... -s read.lua https://127.0.0.1:PORT -- <ticket-ids file> <bearer token>
-- Every response must be 200; others are counted and printed as BENCH_BAD_STATUS.
-- common.lua: thread numbers, expect() and done(); loaded from this script's directory.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("common")

function init(args)
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
   expect(status, 200, body, "read")
end
