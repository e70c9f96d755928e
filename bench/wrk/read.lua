-- wrk script: an agent reads random seeded tickets.
--   wrk ... -s read.lua https://127.0.0.1:PORT -- <ticket-ids file> <bearer token>
-- Every response must be 200; others are counted and printed as BENCH_BAD_STATUS.
-- common.lua: thread numbers, expect() and done(); loaded from this script's directory.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("common")

-- The ids are kept as one string of equal-width ids, not a table of strings: with a
-- million tickets, the table's million strings made LuaJIT's collector pause wrk
-- itself, and wrk counts its own pauses into every request in flight.
function init(args)
   local parts = {}
   width = nil
   for line in io.lines(args[1]) do
      if #line > 0 then
         width = width or #line
         if #line ~= width then
            error("ticket ids of different widths in " .. args[1])
         end
         parts[#parts + 1] = line
      end
   end
   if #parts == 0 then
      error("no ticket ids in " .. args[1])
   end
   count = #parts
   ids = table.concat(parts)
   parts = nil
   collectgarbage()
   headers = { ["Authorization"] = "Bearer " .. args[2], ["Accept"] = "application/json" }
   math.randomseed(os.time() * 1000 + thread_no)
end

function request()
   local start = (math.random(count) - 1) * width + 1
   return wrk.format("GET", "/api/v1/tickets/" .. ids:sub(start, start + width - 1), headers)
end

function response(status, headers, body)
   expect(status, 200, body, "read")
end
