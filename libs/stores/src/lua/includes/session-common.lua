-- What the parts of the session script (record-sessions.lua) share: the constants mirrored from
-- TypeScript, the policy the call passes in ARGV[1..8], and the text helpers of the layout.

-- Mirrored from TypeScript, where they are also used; the store's tests read them here and
-- hold them equal (session-script.test.ts).
local FORMAT_VERSION = '3' -- FORMAT_VERSION (session-format.ts): the layout's first character
local FP = 5 -- FINGERPRINT_LENGTH (session-format.ts)
local GFP = 3 -- GUARD_FINGERPRINT_LENGTH (session-format.ts)
local FIELDS = 6 -- FIELDS_PER_EVENT (session-format.ts): script arguments per event
local RATE_MS = 60000 -- BOT_RATE_WINDOW_MS (libs/domain): the rate rule's window

local DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'
local function b36(n)
  if n <= 0 then return '0' end
  local s = ''
  while n > 0 do
    local d = n % 36
    s = string.sub(DIGITS, d + 1, d + 1) .. s
    n = (n - d) / 36
  end
  return s
end
local function split(s, sep, from, to)
  local out = {}
  local i = from
  while true do
    local j = string.find(s, sep, i, true)
    if j == nil or j > to then out[#out + 1] = string.sub(s, i, to) return out end
    out[#out + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end
-- The guard's times in hexadecimal: one C call each way, where base 36 takes a string per digit,
-- and they change with every event.
local function hex(n) return string.format('%x', n) end
local function signedHex(n)
  if n < 0 then return '-' .. hex(-n) end
  return hex(n)
end
local function fromSignedHex(s)
  if string.byte(s) == 45 then return -tonumber(string.sub(s, 2), 16) end -- '-'
  return tonumber(s, 16)
end
-- The guard keeps the first GFP characters of a fingerprint (enough to tell the few events of one
-- instant apart), and a type only for purchases (the basket rule): a few bytes per arrival.
local function arrivalText(fp, type, offset)
  if type == 'p' then return string.sub(fp, 1, GFP) .. 'p' .. offset end
  return string.sub(fp, 1, GFP) .. offset
end
-- A purchase record in stored text: a separator, a fingerprint, then the type 'p' (a burst's 'P').
local PURCHASE_RECORD = '[;\30]' .. string.rep('[^;,]', FP) .. '[pP]'

local windowMs, purchaseMs = tonumber(ARGV[1]), tonumber(ARGV[2])
local maxSignals, maxPurchases = tonumber(ARGV[3]), tonumber(ARGV[4])
local botPerMinute, botRepeat = tonumber(ARGV[5]), tonumber(ARGV[6])
local botRepeatMs, botFlagMs = tonumber(ARGV[7]), tonumber(ARGV[8])
-- The guard keeps the arrivals that either rule may still look at, and never more than a
-- session's events (or than the rules need).
local keepMs = math.max(RATE_MS, botRepeatMs)
local keepEntries = math.max(maxSignals, botPerMinute + 1, botRepeat)
