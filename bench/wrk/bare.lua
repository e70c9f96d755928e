-- wrk script for the baseline: GET /ticket on `bare`; every response must be 200.
-- The same bookkeeping per response as every scenario (common.lua), so
-- the client does the same work for the baseline.
-- common.lua: thread numbers, expect() and done(); loaded from this script's directory.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("common")

function request()
   return wrk.format("GET", "/ticket", { ["Accept"] = "application/json" })
end

function response(status, headers, body)
   expect(status, 200, body, "bare")
end
