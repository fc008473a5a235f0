-- The bot guard of the session script (record-sessions.lua): judges the arrivals of one user's
-- events in a call, event by event in arrival order, with the rule of botVerdict and botFlagAfter
-- (libs/domain/src/bot-guard.ts), against the guard's state read from the stored header.
--
-- Takes the stored value and where the guard's parts are in it (see recordOne), the guard's
-- anchor G and newest judged arrival A, the stored flag, and the call's events in
-- ARGV[from..to]. Answers the flag state (0 none, 1 raised, 2 extended, 3 covers an event of the
-- call), which of the call's events arrived inside a flag (burst, by ARGV position), the stored
-- records' fingerprints a new flag marks (retro), the flag to report (told), the guard's new text
-- after its anchor (head) and its flag text, then G, A and the flag as they are now.
local function judgeArrivals(current, headEnd, runAt, runDot, entriesAt, tilde, storedAt, G, A, flagReason, flagFrom, flagUntil, from, to)
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
  return state, burst, retro, told, head, flagText, G, A, flagReason, flagFrom, flagUntil
end
