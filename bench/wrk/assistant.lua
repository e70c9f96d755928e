-- wrk script: questions to the assistant, spread over many anonymous conversations.
--   wrk ... -s assistant.lua https://127.0.0.1:PORT -- <file of "id secret" lines>
-- Every response must be 200; others are counted and printed as BENCH_BAD_STATUS.
-- common.lua: thread numbers, expect() and done(); loaded from this script's directory.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("common")
local words = { "refund", "delivery", "invoice", "printer", "warranty", "shipping", "order",
   "subscription", "cancel", "discount", "return", "exchange", "tracking", "parcel", "damaged",
   "voucher", "billing", "receipt", "upgrade", "license", "installation", "battery", "screen",
   "charger", "repair", "store" }

function init(args)
   chats = {}
   for line in io.lines(args[1]) do
      local id, secret = line:match("^(%S+)%s+(%S+)$")
      if id then chats[#chats + 1] = { id, secret } end
   end
   if #chats == 0 then
      error("no conversations in " .. args[1])
   end
   -- Threads start far apart in the list, so they rarely share a conversation.
   next_chat = (thread_no * 97) % #chats
   math.randomseed(thread_no * 104729)
end

function request()
   next_chat = next_chat % #chats + 1
   local c = chats[next_chat]
   local body = string.format('{"text":"How do I get a %s for my %s?"}',
      words[math.random(#words)], words[math.random(#words)])
   return wrk.format("POST", "/api/v1/assistant/conversations/" .. c[1] .. "/messages",
      { ["Content-Type"] = "application/json", ["X-Palisade-Conversation"] = c[2] }, body)
end

function response(status, headers, body)
   expect(status, 200, body, "assistant")
end
