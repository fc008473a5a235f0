-- The session script: merges events into the sessions of several users, and judges their
-- arrivals with the bot guard, in one atomic step on the server (ADR 010, 013, 014). A
-- read-modify-write from the client would need WATCH retries whenever a rebalance lets two
-- consumers touch one user. The stored layout is described in session-format.ts, whose decoder
-- reads what this writes; session-store.ts calls it (defined as the command lrecRecordSessions).
--
-- KEYS: the sessions of several users. ARGV: window ms, purchase window ms, max signals, max
-- purchases, the bot guard's events per minute, repeat limit, repeat window ms and flag ms, then
-- per key its number of events and, per event in arrival order: fingerprint, type code, event time
-- ms ("" when the event only counts for the bot guard), productId, category ("" for none), arrival
-- ms ("" when the bot guard does not judge it: a history import). Answers six values per user
-- whose flag this call raised, extended or covers: position in KEYS, flag state (1 raised,
-- 2 extended, 3 an event of the call arrived inside it), reason code, flag start and end ms,
-- newest arrival judged.
--
-- Several users in one call, because a consumed batch rarely holds two events of one user: one
-- call per event cost Redis about 6 µs and Node about as much again for the call alone, on top of
-- the session work (bench:speed, ADR 010). Each key is still read and written on its own, so no
-- call needs atomicity across users.
--
-- The bot rule is botVerdict's, applied event by event as botFlagAfter does (libs/domain/src/
-- bot-guard.ts): the store's tests run the same cases through this script and through those.
--
-- Run on its own, e.g. two views of one user a second apart under the default policy:
--   redis-cli -p 56379 --eval libs/stores/src/lua/record-sessions.lua try:session:u1 , \
--     7200000 86400000 200 200 50 3 30000 1800000 \
--     2 AAAAA v 1765000000000 p1 shoes 1765000000000 BBBBB v 1765000001000 p1 shoes 1765000001000
--   redis-cli -p 56379 get try:session:u1

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

-- One user's session: KEYS' key, and its events in ARGV[from..to] (FIELDS fields each). Answers
-- the flag state (0 none, 1 raised, 2 extended, 3 covers an event of the call), reason code, flag
-- start, flag end and newest arrival judged.
local function recordOne(key, from, to)
  -- The stored header, read in place: base (the oldest event's time), record count, flag and the
  -- guard's state. headEnd is where the first header field ends; the categories follow it, each
  -- after a unit separator (\31). A value of format 2 keeps its records; its flag, judged on the
  -- clients' clocks, is dropped.
  local current = redis.call('GET', key)
  local bodyAt, headEnd, dot, base, count = nil, 0, 0, 0, 0
  local flagReason, flagFrom, flagUntil = false, 0, 0
  -- The guard: G the oldest arrival it keeps, A the newest it judged, and where its parts are in
  -- the stored text: '~' at tilde, runAt and entriesAt - 1, the run's '.' at runDot.
  local G, A, tilde, runAt, runDot, entriesAt = 0, false, nil, 0, 0, 0
  -- Where the stored flag or guard starts, for a call that leaves both as they are.
  local storedAt = false
  local version = current and string.sub(current, 1, 1)
  if version == FORMAT_VERSION or version == '2' then
    bodyAt = string.find(current, '\30', 1, true)
    headEnd = (string.find(current, '\31', 1, true) or bodyAt) - 1
    dot = string.find(current, '.', 1, true)
    base = tonumber(string.sub(current, 2, dot - 1), 36)
    -- A category may hold a '!' or a '~'; the header's are the ones inside the first field.
    local bang = string.find(current, '!', dot, true)
    if bang and bang > headEnd then bang = nil end
    tilde = string.find(current, '~', dot, true)
    if tilde and tilde > headEnd then tilde = nil end
    if bang and tilde and bang > tilde then bang = nil end
    count = tonumber(string.sub(current, dot + 1, (bang or tilde or headEnd + 1) - 1), 36)
    if version == FORMAT_VERSION and tilde then
      storedAt = bang or tilde
      runAt = string.find(current, '~', tilde + 1, true)
      runDot = string.find(current, '.', runAt + 2, true)
      entriesAt = string.find(current, '~', runDot, true) + 1
      G = base + fromSignedHex(string.sub(current, tilde + 1, runAt - 1))
      -- A is the last arrival's.
      local last, comma = entriesAt, string.find(current, ',', entriesAt, true)
      while comma and comma < headEnd do
        last = comma + 1
        comma = string.find(current, ',', last, true)
      end
      last = last + GFP
      if string.byte(current, last) == 112 then last = last + 1 end -- 'p'
      A = G + tonumber(string.sub(current, last, headEnd), 16)
      if bang then
        local plus = string.find(current, '+', bang, true)
        flagReason = string.sub(current, bang + 1, bang + 1)
        flagFrom = A - tonumber(string.sub(current, bang + 2, plus - 1), 16)
        flagUntil = flagFrom + tonumber(string.sub(current, plus + 1, tilde - 1), 16)
      end
    end
  else
    current = false
  end
  local first = false
  for i = from, to, FIELDS do
    if ARGV[i + 5] ~= '' then first = tonumber(ARGV[i + 5]) break end
  end

  -- The bot guard, event by event in arrival order (the rule of botVerdict and botFlagAfter).
  -- Arrivals older than keepMs are dropped lazily, once the oldest is two such spans old, so that
  -- most events only append to the stored text; every verdict counts exactly.
  -- The guard's new text: its flag, and all after its anchor (which is written against the base
  -- the value ends up with).
  local state, burst, retro, told, head, flagText = 0, false, false, false, false, ''
  -- Fast path: one new arrival that cannot trip a rule (fewer arrivals kept than the rate limit,
  -- no run about to repeat) on an unflagged user: written without reading the arrivals.
  if first and A and not flagReason and to - from == FIELDS - 1 and botRepeat >= 2 then
    local t, fp, type, product = first, ARGV[from], ARGV[from + 1], ARGV[from + 3]
    if t >= A + keepMs then
      -- Every arrival kept is stale: the guard starts again from this one.
      G, head = t, '~' .. type .. '1.' .. product .. '~' .. arrivalText(fp, type, '0')
    elseif t > A then
      -- The oldest arrival kept; once it is two spans old, those older than one span are cut
      -- off the front of the text (the rest keep their bytes: offsets are from G, not from it).
      local cut = entriesAt
      local function oldestFrom(at)
        local comma = string.find(current, ',', at, true)
        local ends = headEnd
        if comma and comma < headEnd then ends = comma - 1 end
        local offsetFrom = at + GFP
        if string.byte(current, offsetFrom) == 112 then offsetFrom = offsetFrom + 1 end -- 'p'
        return G + tonumber(string.sub(current, offsetFrom, ends), 16), ends
      end
      local oldest, ends = oldestFrom(cut)
      if oldest <= t - 2 * keepMs then
        while oldest <= t - keepMs do
          cut = ends + 2
          oldest, ends = oldestFrom(cut)
        end
      end
      -- How many arrivals are kept, counted up to the rate limit.
      local kept, comma = 1, string.find(current, ',', cut, true)
      while comma and comma < headEnd and kept < botPerMinute do
        kept = kept + 1
        comma = string.find(current, ',', comma + 1, true)
      end
      -- The run's type and product, compared in place.
      local run = 1
      if string.byte(current, runAt + 1) == string.byte(type) and entriesAt - runDot - 2 == #product and string.find(current, product, runDot + 1, true) == runDot + 1 then
        run = tonumber(string.sub(current, runAt + 2, runDot - 1), 16) + 1
      end
      if kept + 1 <= botPerMinute and run < botRepeat then
        local offset = hex(t - G)
        head = '~' .. type .. hex(run) .. '.' .. product .. '~' .. string.sub(current, cut, headEnd) .. ',' .. arrivalText(fp, type, offset)
      end
    end
    if head then A = t end
  end
  if not head and not first then
    head = ''
    if storedAt then
      flagText = string.sub(current, storedAt, tilde - 1)
      head = string.sub(current, runAt, headEnd)
    end
  end

  if not head then
    -- Full path. A purchase counts for the rate unless another purchase arrived at the same
    -- instant (one checkout, one purchase per line). An event is judged once: one that arrived
    -- before the newest judged, or at the same instant and already among the arrivals, is a
    -- redelivery.
    local eFp, eType, eAt, eUnit, n = {}, {}, {}, {}, 0
    local runType, runProduct, runLen = '', '', 0
    if A then
      runType, runLen, runProduct = string.sub(current, runAt + 1, runAt + 1), tonumber(string.sub(current, runAt + 2, runDot - 1), 16), string.sub(current, runDot + 1, entriesAt - 2)
    end
    -- The arrivals are read unless the call's first one drops them all.
    if A and not (first and first >= A + keepMs) then
      for _, e in ipairs(split(current, ',', entriesAt, headEnd)) do
        n = n + 1
        eFp[n] = string.sub(e, 1, GFP)
        local offsetFrom = GFP + 1
        if string.sub(e, offsetFrom, offsetFrom) == 'p' then eType[n] = 'p'; offsetFrom = offsetFrom + 1 else eType[n] = '' end
        eAt[n] = G + tonumber(string.sub(e, offsetFrom), 16)
      end
    end
    local lastBasket = false
    for j = 1, n do
      if eType[j] == 'p' then eUnit[j] = eAt[j] ~= lastBasket; lastBasket = eAt[j] else eUnit[j] = true end
    end
    -- lo: the oldest kept; w: the oldest inside the rate window; units: those counted in it.
    local lo, w, units = 1, 1, 0
    if A then while w <= n and eAt[w] <= A - RATE_MS do w = w + 1 end end
    for j = w, n do if eUnit[j] then units = units + 1 end end
    local function drop()
      if lo >= w then
        if eUnit[lo] then units = units - 1 end
        w = lo + 1
      end
      lo = lo + 1
    end
    local covered = false
    for i = from, to, FIELDS do
      local arrival = ARGV[i + 5]
      if arrival ~= '' then
        local t, fp = tonumber(arrival), string.sub(ARGV[i], 1, GFP)
        local judge = not A or t > A
        if A and t == A then
          judge = true
          for j = n, lo, -1 do
            if eAt[j] ~= t then break end
            if eFp[j] == fp then judge = false break end
          end
        end
        if judge then
          if flagReason and t > flagUntil then flagReason = false end
          -- Every arrival kept is stale (or none yet): the guard starts again from this one.
          if not A or t >= A + keepMs then lo, w, units, G = n + 1, n + 1, 0, t end
          local type, product = ARGV[i + 1], ARGV[i + 3]
          n = n + 1
          eFp[n], eType[n], eAt[n] = fp, type, t
          if type == 'p' then eUnit[n] = t ~= lastBasket; lastBasket = t else eUnit[n] = true end
          if eUnit[n] then units = units + 1 end
          while eAt[w] <= t - RATE_MS do
            if eUnit[w] then units = units - 1 end
            w = w + 1
          end
          if eAt[lo] <= t - 2 * keepMs then
            while eAt[lo] <= t - keepMs do drop() end
          end
          while n - lo + 1 > keepEntries do drop() end
          -- Only the new arrival kept: none before it is recent enough to repeat, the run starts again.
          if lo == n then runLen = 0 end
          if runLen > 0 and type == runType and product == runProduct then
            if runLen < botRepeat then runLen = runLen + 1 end
          else
            runType, runProduct, runLen = type, product, 1
          end
          local verdict, burstFrom = false, 0
          if units > botPerMinute then verdict, burstFrom = 'r', eAt[w]
          elseif botRepeat >= 2 and runLen >= botRepeat and n - botRepeat + 1 >= lo and t - eAt[n - botRepeat + 1] <= botRepeatMs then
            verdict, burstFrom = 'p', eAt[n - botRepeat + 1]
          end
          if verdict then
            if flagReason then
              -- Still the same burst: it keeps its start and reason, and lasts longer.
              if state == 0 then state = 2 end
              if t + botFlagMs > flagUntil then flagUntil = t + botFlagMs end
            else
              flagReason, flagFrom, flagUntil, state = verdict, burstFrom, t + botFlagMs, 1
              -- The burst's earlier events are already stored: mark them too.
              retro = retro or {}
              for j = lo, n do if eAt[j] >= flagFrom then retro[eFp[j]] = true end end
            end
            told = { flagReason, flagFrom, flagUntil }
          end
          A = t
        end
        if flagReason and t >= flagFrom and t <= flagUntil then
          covered = true
          burst = burst or {}
          burst[i] = true
          told = { flagReason, flagFrom, flagUntil }
        end
      end
    end
    -- An event of the call inside the flag (a redelivery too) reports it again, so a ledger write
    -- lost to a failure is made again when the events come back.
    if state == 0 and covered then state = 3 end

    head = ''
    if flagReason then flagText = '!' .. flagReason .. hex(A - flagFrom) .. '+' .. hex(flagUntil - flagFrom) end
    if A then
      local entries = {}
      for j = lo, n do entries[#entries + 1] = arrivalText(eFp[j], eType[j], hex(eAt[j] - G)) end
      head = '~' .. runType .. hex(runLen) .. '.' .. runProduct .. '~' .. table.concat(entries, ',')
    end
  end
  -- How long the key must live: the session window, a purchase's suppression window, the flag,
  -- and the arrivals the guard still needs.
  -- The header's flag and guard, for a value whose oldest event is at b.
  local function guardText(b)
    if not A then return flagText end
    return flagText .. '~' .. signedHex(G - b) .. head
  end
  local function expiry(records, purchase)
    local ttl = 0
    if records then ttl = windowMs end
    if purchase and purchaseMs > ttl then ttl = purchaseMs end
    if flagReason and flagUntil - A > ttl then ttl = flagUntil - A end
    if A and keepMs > ttl then ttl = keepMs end
    if ttl <= 0 then ttl = windowMs end
    return ttl
  end

  local stores = false
  for i = from, to, FIELDS do if ARGV[i + 2] ~= '' then stores = true end end
  -- Only the guard changed (events too old for the session, judged all the same): the records stay as they are.
  if not stores and not retro then
    local rest = '\30'
    if current then rest = string.sub(current, headEnd + 1) end
    redis.call('SET', key, FORMAT_VERSION .. b36(base) .. '.' .. b36(count) .. guardText(base) .. rest, 'PX', expiry(count > 0, current and string.find(current, PURCHASE_RECORD, bodyAt)))
    return state, told, A
  end

  -- The time and productId of the stored record that starts at 's' and ends at 'e'.
  local function timeAndProduct(s, e)
    local c1 = string.find(current, ',', s + FP + 1, true)
    local c2 = string.find(current, ',', c1 + 1, true)
    return base + tonumber(string.sub(current, s + FP + 1, c1 - 1), 36), string.sub(current, c2 + 1, e)
  end

  -- Fast path, the common case: one new event, newer than the whole session, nothing to trim and
  -- no stored record to mark. It appends to the stored text instead of rebuilding it, and gives
  -- exactly the bytes the full path below would. It reads the stored text in place and builds no
  -- table of records or categories, since Redis runs it for almost every event.
  if current and to - from == FIELDS - 1 and count > 0 and not retro and ARGV[from + 2] ~= '' then
    local fp, type, at, product, category = ARGV[from], ARGV[from + 1], tonumber(ARGV[from + 2]), ARGV[from + 3], ARGV[from + 4]
    -- The last record starts after the last ';', looked for in the text's tail first (records
    -- are short), and in the whole body only when the tail holds none.
    local function afterLastSeparator(from)
      local last = nil
      local sep = string.find(current, ';', from, true)
      while sep do last = sep + 1; sep = string.find(current, ';', last, true) end
      return last
    end
    local lastFrom = afterLastSeparator(math.max(bodyAt + 1, #current - 64)) or afterLastSeparator(bodyAt + 1) or bodyAt + 1
    local lastAt = timeAndProduct(lastFrom, #current)
    local fresh = at > lastAt or (at == lastAt and fp > string.sub(current, lastFrom, lastFrom + FP - 1))
    local unseen = string.sub(current, bodyAt + 1, bodyAt + FP) ~= fp and not string.find(current, ';' .. fp, bodyAt, true)
    if fresh and unseen and base >= at - windowMs and count + 1 <= maxSignals and count + 1 <= maxPurchases then
      -- Categories are numbered in order of first use: a known one's index is the number of
      -- separators before it in the header; a new one is appended to the header.
      local index, headerTail = '', ''
      if category ~= '' then
        local known = string.find(current, '\31' .. category .. '\31', headEnd, true) or string.find(current, '\31' .. category .. '\30', headEnd, true)
        local k, i = 0, string.find(current, '\31', headEnd, true)
        while i and (not known or i < known) do k = k + 1; i = string.find(current, '\31', i + 1, true) end
        index = b36(k)
        if not known then headerTail = '\31' .. category end
      end
      local code = type
      if burst and burst[from] then code = string.upper(type) end
      local value = FORMAT_VERSION .. string.sub(current, 2, dot) .. b36(count + 1) .. guardText(base) .. string.sub(current, headEnd + 1, bodyAt - 1) .. headerTail
        .. string.sub(current, bodyAt) .. ';' .. fp .. code .. b36(at - base) .. ',' .. index .. ',' .. product
      -- A purchase record may be kept for its suppression window: the key lives that long.
      redis.call('SET', key, value, 'PX', expiry(true, type == 'p' or (purchaseMs > windowMs and string.find(current, PURCHASE_RECORD, bodyAt))))
      return state, told, A
    end
  end

  -- Full path: decode everything, merge, de-duplicate, mark, sort, trim and encode again.
  local categories = {}
  if current and headEnd + 1 < bodyAt then categories = split(current, '\31', headEnd + 2, bodyAt - 1) end
  local function parse(rec)
    local fields = split(rec, ',', FP + 2, #rec)
    local category = false
    if fields[2] ~= '' then category = categories[tonumber(fields[2], 36) + 1] end
    local code = string.sub(rec, FP + 1, FP + 1)
    local type = string.lower(code)
    local fp = string.sub(rec, 1, FP)
    return { fp = fp, type = type, burst = code ~= type or (retro and retro[string.sub(fp, 1, GFP)]) or false, at = base + tonumber(fields[1], 36), product = fields[3], category = category }
  end
  local records, seen = {}, {}
  if current and bodyAt < #current then
    for _, rec in ipairs(split(current, ';', bodyAt + 1, #current)) do
      local r = parse(rec)
      seen[r.fp] = true
      records[#records + 1] = r
    end
  end
  for i = from, to, FIELDS do
    local fp = ARGV[i]
    if ARGV[i + 2] ~= '' and not seen[fp] then
      seen[fp] = true
      local category = ARGV[i + 4]
      if category == '' then category = false end
      records[#records + 1] = { fp = fp, type = ARGV[i + 1], burst = (burst and burst[i]) or (retro and retro[string.sub(fp, 1, GFP)]) or false, at = tonumber(ARGV[i + 2]), product = ARGV[i + 3], category = category }
    end
  end

  table.sort(records, function(a, b)
    if a.at ~= b.at then return a.at < b.at end
    return a.fp < b.fp
  end)
  local newest = 0
  if #records > 0 then newest = records[#records].at end

  -- Keep the newest maxSignals events inside the session window, and the latest purchase of up to
  -- maxPurchases products inside the suppression window (a purchase may be both).
  local keep, signals, purchases, bought, anyPurchase = {}, 0, 0, {}, false
  for i = #records, 1, -1 do
    local r = records[i]
    if signals < maxSignals and r.at >= newest - windowMs then
      keep[i] = true
      signals = signals + 1
    end
    if r.type == 'p' and not bought[r.product] and purchases < maxPurchases and r.at >= newest - purchaseMs then
      bought[r.product] = true
      purchases = purchases + 1
      keep[i] = true
    end
    if keep[i] and r.type == 'p' then anyPurchase = true end
  end

  local kept = {}
  for i = 1, #records do if keep[i] then kept[#kept + 1] = records[i] end end
  local newBase = 0
  if #kept > 0 then newBase = kept[1].at end
  local names, nameIndex, body = {}, {}, {}
  for i = 1, #kept do
    local r = kept[i]
    local index = ''
    if r.category then
      local known = nameIndex[r.category]
      if known == nil then
        known = b36(#names)
        names[#names + 1] = r.category
        nameIndex[r.category] = known
      end
      index = known
    end
    local code = r.type
    if r.burst then code = string.upper(code) end
    body[i] = r.fp .. code .. b36(r.at - newBase) .. ',' .. index .. ',' .. r.product
  end
  local value = FORMAT_VERSION .. b36(newBase) .. '.' .. b36(#kept) .. guardText(newBase)
  if #names > 0 then value = value .. '\31' .. table.concat(names, '\31') end
  redis.call('SET', key, value .. '\30' .. table.concat(body, ';'), 'PX', expiry(#kept > 0, anyPurchase))
  return state, told, A
end

-- ARGV[9] on: per key, its number of events, then their fields. Answers six values per user
-- whose flag the call raised, extended or covers (its position in KEYS, state, reason, flag start,
-- flag end, newest arrival), and nothing for the others: most calls flag no one.
local out, pos = {}, 9
for k = 1, #KEYS do
  local n = tonumber(ARGV[pos])
  local state, flag, arrived = recordOne(KEYS[k], pos + 1, pos + FIELDS * n)
  if state ~= 0 then
    out[#out + 1] = k
    out[#out + 1] = state
    out[#out + 1] = flag[1]
    out[#out + 1] = tostring(flag[2])
    out[#out + 1] = tostring(flag[3])
    out[#out + 1] = tostring(arrived)
  end
  pos = pos + FIELDS * n + 1
end
return out
