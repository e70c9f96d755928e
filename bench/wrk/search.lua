-- wrk script: an agent searches the seeded tickets.
--   wrk ... -s search.lua https://127.0.0.1:PORT -- <seeded ticket count> <bearer token>
-- Half the queries are two of the seed's common words (each in about a ninth of the
-- tickets: many hits, newest first), half a ticket's own reference number (one hit).
-- Every response must be 200; others are counted and printed as BENCH_BAD_STATUS.
-- common.lua: thread numbers, expect() and done(); loaded from this script's directory.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("common")
local words = { "printer", "invoice", "password", "laptop", "network", "refund", "shipping", "account", "screen",
   "keyboard", "license", "update", "backup", "calendar", "mailbox", "contract", "delivery", "warranty" }

function init(args)
   seeded = tonumber(args[1])
   if not seeded or seeded <= 1000 then
      error("the first argument is the number of seeded tickets (more than 1,000)")
   end
   headers = { ["Authorization"] = "Bearer " .. args[2], ["Accept"] = "application/json" }
   math.randomseed(os.time() * 1000 + thread_no)
end

function request()
   local q
   if math.random() < 0.5 then
      q = words[math.random(#words)] .. "+" .. words[math.random(#words)]
   else
      -- Ticket i's text says "Reference i"; below 1,000 the number is also in the
      -- name of a seeded customer (a requester's name is searched too).
      q = "reference+" .. (math.random(seeded - 1000) + 999)
   end
   return wrk.format("GET", "/api/v1/tickets/search?limit=20&q=" .. q, headers)
end

function response(status, headers, body)
   expect(status, 200, body, "search")
end
