-- wrk script: help-centre searches of two random support words.
--   wrk ... -s help.lua https://127.0.0.1:PORT -- <path, e.g. /api/v1/help/articles or /search>
-- Every response must be 200; others are counted and printed as BENCH_BAD_STATUS.
-- common.lua: thread numbers, expect() and done(); loaded from this script's directory.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("common")
local words = { "refund", "delivery", "invoice", "password", "printer", "warranty", "shipping", "account",
   "order", "subscription", "cancel", "payment", "discount", "return", "exchange", "tracking", "parcel",
   "damaged", "voucher", "address", "billing", "receipt", "upgrade", "license", "installation", "battery",
   "screen", "charger", "repair", "store" }

function init(args)
   path = args[1]
   math.randomseed(thread_no * 7919)
end

function request()
   local q = words[math.random(#words)] .. "+" .. words[math.random(#words)]
   return wrk.format("GET", path .. "?q=" .. q, { ["Accept"] = "application/json" })
end

function response(status, headers, body)
   expect(status, 200, body, "help")
end
