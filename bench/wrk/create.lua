-- wrk script: an agent opens tickets for random seeded customers.
--   wrk ... -s create.lua https://127.0.0.1:PORT -- <customer-ids file> <bearer token>
-- Every response must be 201; others are counted and printed as BENCH_BAD_STATUS.
-- common.lua: thread numbers, expect() and done(); loaded from this script's directory.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("common")

function init(args)
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
   expect(status, 201, body, "create")
end
