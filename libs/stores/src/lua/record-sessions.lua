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
-- Its parts come first, as the lines `--- @include "<file>"` below (a comment to Lua) name them:
-- redisScript() in redis-scripts.ts puts each file in place of its line. Run on its own, e.g. two
-- views of one user a second apart under the default policy, the parts and this file in order:
--   cat libs/stores/src/lua/includes/{session-common,bot-guard}.lua libs/stores/src/lua/record-sessions.lua > /tmp/record-sessions.lua
--   redis-cli -p 56379 --eval /tmp/record-sessions.lua try:session:u1 , \
--     7200000 86400000 200 200 50 3 30000 1800000 \
--     2 AAAAA v 1765000000000 p1 shoes 1765000000000 BBBBB v 1765000001000 p1 shoes 1765000001000
--   redis-cli -p 56379 get try:session:u1

--- @include "includes/session-common"
--- @include "includes/bot-guard"

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
  -- An event is judged once, however many records it has. A client that sends it again (a retry
  -- after a timeout, as DESIGN asks, with the same eventId) makes another record that arrives
  -- later: the same event, already in the session or earlier in this call, so its arrival is
  -- not judged. A redelivery of a judged record arrives no later than A and is still judged (so
  -- that it reports the flag it fell inside again).
  local inCall = {}
  for i = from, to, FIELDS do
    local fp, arrival = ARGV[i], ARGV[i + 5]
    if arrival ~= '' then
      local stored = current and A and tonumber(arrival) > A
        and (string.sub(current, bodyAt + 1, bodyAt + FP) == fp or string.find(current, ';' .. fp, bodyAt, true))
      if inCall[fp] or stored then ARGV[i + 5] = '' end
      inCall[fp] = true
    end
  end

  local state, burst, retro, told, head, flagText
  state, burst, retro, told, head, flagText, G, A, flagReason, flagFrom, flagUntil =
    judgeArrivals(current, headEnd, runAt, runDot, entriesAt, tilde, storedAt, G, A, flagReason, flagFrom, flagUntil, from, to)

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
