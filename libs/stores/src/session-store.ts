import { sessionKey } from '@lambdarec/contracts';
import type { EventType } from '@lambdarec/contracts';
import { BOT_RATE_WINDOW_MS, eventsThatCount, type BotFlag, type BotReason, type SessionPolicy, type SessionSignal } from '@lambdarec/domain';
import type { Redis } from '@lambdarec/clients';
import { createBotFlagLedger, type BotFlagLedger } from './bot-flag-ledger.js';

export interface SessionSnapshot {
  /**
   * The session's events inside its window, oldest first. `eventId` is the event's fingerprint
   * (a 30-bit hash of its eventId), which is what the state keeps: enough to count each event once.
   */
  signals: SessionSignal[];
  /** productId → latest purchase time (epoch ms). */
  purchases: Map<string, number>;
  /**
   * The bot guard's latest flag (arrival times), kept until a later event arrives after its end.
   * The events that arrived inside it are marked `botBurst`.
   */
  botFlag?: BotFlag;
}

/** An event as the speed layer writes it into a session. */
export interface SessionWrite extends SessionSignal {
  /**
   * Arrival time (epoch ms), on which the bot guard judges the event. Absent: the guard does not
   * judge it (a history import, sent with the operator's key).
   */
  arrivedAt?: number;
  /** Judged by the bot guard only: too old (event time) to be kept in the session. */
  judgeOnly?: boolean;
}

/**
 * A user whose flag a write raised, extended, or found: an event of the write arrived inside it
 * (a redelivery reports the flag again, so a lost ledger write is made good).
 */
export interface BotFlagRaised extends BotFlag {
  userId: string;
  /** A new flag (false: a flag that was already on, extended or found). */
  raised: boolean;
  /** The newest arrival the guard has judged for the user. */
  at: number;
}

export interface SessionStore {
  /**
   * Applies events; idempotent, so a redelivered event changes nothing. Answers the users whose
   * bot flag these events raised, extended or fell inside, after recording those flags for the
   * batch layer (a failed ledger write fails the call, and its redelivery writes them again).
   */
  record(signals: readonly SessionWrite[]): Promise<BotFlagRaised[]>;
  /** The session as serving uses it: without the events a bot flag discounts (see eventsThatCount). */
  read(userId: string): Promise<SessionSnapshot>;
  /** The whole stored session, flagged events included: the operator's view. */
  inspect(userId: string): Promise<SessionSnapshot>;
}

/*
 * One Redis string per user (ADR 010), about 20 bytes an event instead of a sorted-set member of
 * 100. Layout, all printable except two separators no stored text may contain (DESIGN.md bans C0
 * control characters in categories, and productIds are [A-Za-z0-9_.:@-]):
 *
 *   "3" <base: the oldest event's time, base 36> "." <records, base 36>
 *       ["!" <bot reason r|p> <A − flag start, hex> "+" <flag end − flag start, hex>]
 *       ["~" <G − base, G the guard's anchor, hex, "-" when negative> "~" <run> "~" <arrival> ("," <arrival>)*]
 *       ("\x1f" <category>)*  "\x1e"  <record> (";" <record>)*
 *   run = <type> <how many judged in a row were this type on this product, hex> "." <productId>
 *   arrival = <fingerprint's first 3 chars> ["p" for a purchase] <arrival time − G, hex>: the bot guard's recent arrivals, oldest first
 *   (G is the first arrival since the guard last went quiet for a minute, so a cut leaves the rest as they are)
 *   record = <fingerprint, 5 chars> <type, 1 char> <at − base in ms, base 36> "," <category index, base 36, or ""> "," <productId>
 *
 * A record's type is upper case when the event arrived inside a flagged burst. Event times are
 * relative to the oldest event so they stay short, and a newer event is appended without
 * rewriting the others (the script's fast path); each category is written once per session. The
 * encoding is canonical (records sorted by time then fingerprint, categories in order of first
 * use, the guard's arrivals in the topic's order), so two consumers that applied the same events
 * hold byte-equal values. Format 2 (no guard, a flag in event time) is read and rewritten as 3.
 */
const FORMAT_VERSION = '3';
const TYPE_CODES: Record<EventType, string> = { view: 'v', click: 'c', add_to_cart: 'a', purchase: 'p' };
const TYPES_BY_CODE = new Map(Object.entries(TYPE_CODES).map(([type, code]) => [code, type as EventType]));
const FINGERPRINT_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
const FINGERPRINT_LENGTH = 5;
/**
 * The bot guard's arrivals keep 3 characters of it (18 bits): they only tell apart the few events
 * of one user that arrived in one instant, and find the stored records of a burst to mark (two
 * records of a session sharing them, about 1 in 1,300 for 200 records, would mark one more).
 */
const GUARD_FINGERPRINT_LENGTH = 3;
/** Script arguments per event: fingerprint, type, event time, productId, category, arrival. */
const FIELDS_PER_EVENT = 6;
const BOT_REASON_CODES: Record<BotReason, string> = { rate: 'r', repeat: 'p' };
const BOT_REASONS_BY_CODE = new Map(Object.entries(BOT_REASON_CODES).map(([reason, code]) => [code, reason as BotReason]));
/** The layout's separators: the contract keeps them out of text already; these make sure. */
// eslint-disable-next-line no-control-regex -- the separators are control characters on purpose
const PRODUCT_SEPARATORS = /[\x1e\x1f;,~!]/g;
// eslint-disable-next-line no-control-regex -- as above
const CATEGORY_SEPARATORS = /[\x1e\x1f]/g;

/**
 * 30 bits of FNV-1a over the eventId, as 5 characters. Hashed rather than sliced, because a UUIDv7
 * or a derived id may share long prefixes or suffixes within a session. Two events of one session
 * colliding (about 1 in 2·10⁷ for a 200-event session) would count once: a missing boost, never
 * a wrong one.
 */
export function eventFingerprint(eventId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) hash = Math.imul(hash ^ eventId.charCodeAt(i), 0x01000193);
  let out = '';
  for (let i = 0; i < FINGERPRINT_LENGTH; i++) out += FINGERPRINT_ALPHABET[(hash >>> (6 * i)) & 63];
  return out;
}

/**
 * Merge, de-duplicate, trim and re-encode in one atomic step on the server: a read-modify-write
 * from the client would need WATCH retries whenever a rebalance lets two consumers touch one user.
 * KEYS: the sessions of several users. ARGV: window ms, purchase window ms, max signals, max
 * purchases, the bot guard's events per minute, repeat limit, repeat window ms and flag ms, then
 * per key its number of events and, per event in arrival order: fingerprint, type code, event time
 * ms ("" when the event only counts for the bot guard), productId, category ("" for none), arrival
 * ms ("" when the bot guard does not judge it: a history import). Answers six values per user
 * whose flag this call raised, extended or covers: position in KEYS, flag state (1 raised,
 * 2 extended, 3 an event of the call arrived inside it), reason code, flag start and end ms,
 * newest arrival judged.
 *
 * Several users in one call, because a consumed batch rarely holds two events of one user: one
 * call per event cost Redis about 6 µs and Node about as much again for the call alone, on top of
 * the session work (bench:speed, ADR 010). Each key is still read and written on its own, so no
 * call needs atomicity across users.
 *
 * The bot rule here mirrors botVerdict and botFlagAfter in libs/domain (the store's tests run both
 * on the same cases).
 */
const RECORD_SCRIPT = `
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
local FP = ${FINGERPRINT_LENGTH}
-- The guard keeps the first characters of a fingerprint (enough to tell the few events of one
-- instant apart), and a type only for purchases (the basket rule): a few bytes per arrival.
local GFP = ${GUARD_FINGERPRINT_LENGTH}
local function arrivalText(fp, type, offset)
  if type == 'p' then return string.sub(fp, 1, GFP) .. 'p' .. offset end
  return string.sub(fp, 1, GFP) .. offset
end
local FIELDS = ${FIELDS_PER_EVENT}
-- A purchase record in stored text: a separator, a fingerprint, then the type 'p' (a burst's 'P').
local PURCHASE_RECORD = '[;\\30]' .. string.rep('[^;,]', FP) .. '[pP]'

local windowMs, purchaseMs = tonumber(ARGV[1]), tonumber(ARGV[2])
local maxSignals, maxPurchases = tonumber(ARGV[3]), tonumber(ARGV[4])
local botPerMinute, botRepeat = tonumber(ARGV[5]), tonumber(ARGV[6])
local botRepeatMs, botFlagMs = tonumber(ARGV[7]), tonumber(ARGV[8])
local RATE_MS = ${BOT_RATE_WINDOW_MS}
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
  -- after a unit separator (\\31). A value of format 2 keeps its records; its flag, judged on the
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
  if version == '${FORMAT_VERSION}' or version == '2' then
    bodyAt = string.find(current, '\\30', 1, true)
    headEnd = (string.find(current, '\\31', 1, true) or bodyAt) - 1
    dot = string.find(current, '.', 1, true)
    base = tonumber(string.sub(current, 2, dot - 1), 36)
    -- A category may hold a '!' or a '~'; the header's are the ones inside the first field.
    local bang = string.find(current, '!', dot, true)
    if bang and bang > headEnd then bang = nil end
    tilde = string.find(current, '~', dot, true)
    if tilde and tilde > headEnd then tilde = nil end
    if bang and tilde and bang > tilde then bang = nil end
    count = tonumber(string.sub(current, dot + 1, (bang or tilde or headEnd + 1) - 1), 36)
    if version == '${FORMAT_VERSION}' and tilde then
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
    local rest = '\\30'
    if current then rest = string.sub(current, headEnd + 1) end
    redis.call('SET', key, '${FORMAT_VERSION}' .. b36(base) .. '.' .. b36(count) .. guardText(base) .. rest, 'PX', expiry(count > 0, current and string.find(current, PURCHASE_RECORD, bodyAt)))
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
        local known = string.find(current, '\\31' .. category .. '\\31', headEnd, true) or string.find(current, '\\31' .. category .. '\\30', headEnd, true)
        local k, i = 0, string.find(current, '\\31', headEnd, true)
        while i and (not known or i < known) do k = k + 1; i = string.find(current, '\\31', i + 1, true) end
        index = b36(k)
        if not known then headerTail = '\\31' .. category end
      end
      local code = type
      if burst and burst[from] then code = string.upper(type) end
      local value = '${FORMAT_VERSION}' .. string.sub(current, 2, dot) .. b36(count + 1) .. guardText(base) .. string.sub(current, headEnd + 1, bodyAt - 1) .. headerTail
        .. string.sub(current, bodyAt) .. ';' .. fp .. code .. b36(at - base) .. ',' .. index .. ',' .. product
      -- A purchase record may be kept for its suppression window: the key lives that long.
      redis.call('SET', key, value, 'PX', expiry(true, type == 'p' or (purchaseMs > windowMs and string.find(current, PURCHASE_RECORD, bodyAt))))
      return state, told, A
    end
  end

  -- Full path: decode everything, merge, de-duplicate, mark, sort, trim and encode again.
  local categories = {}
  if current and headEnd + 1 < bodyAt then categories = split(current, '\\31', headEnd + 2, bodyAt - 1) end
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
  local value = '${FORMAT_VERSION}' .. b36(newBase) .. '.' .. b36(#kept) .. guardText(newBase)
  if #names > 0 then value = value .. '\\31' .. table.concat(names, '\\31') end
  redis.call('SET', key, value .. '\\30' .. table.concat(body, ';'), 'PX', expiry(#kept > 0, anyPurchase))
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
`;

type RecordSessionsCommand = (...numberOfKeysKeysAndArgs: Array<string | number>) => Promise<Array<number | string>>;

/** Decodes a stored session value; exported for tests and tools that inspect the state. */
export function decodeSession(value: string | null, userId: string, policy: Pick<SessionPolicy, 'sessionWindowMs' | 'maxPurchases'>): SessionSnapshot {
  const snapshot: SessionSnapshot = { signals: [], purchases: new Map() };
  if (value === null || (value[0] !== FORMAT_VERSION && value[0] !== '2')) return snapshot;
  const bodyAt = value.indexOf('\x1e');
  if (bodyAt < 0) return snapshot;
  const [first = '0', ...categories] = value.slice(1, bodyAt).split('\x1f');
  const [flagged = '0', anchor, , arrivals] = first.split('~');
  const [counted = '0', flagText] = flagged.split('!');
  const base = parseInt(counted.slice(0, counted.indexOf('.')), 36);
  const reason = BOT_REASONS_BY_CODE.get(flagText?.[0] ?? '');
  if (value[0] === FORMAT_VERSION && reason !== undefined && anchor !== undefined && arrivals !== undefined) {
    // The flag is kept against the newest arrival, the guard's last.
    const last = arrivals.slice(arrivals.lastIndexOf(',') + 1).slice(GUARD_FINGERPRINT_LENGTH);
    const newestArrival = base + parseInt(anchor, 16) + parseInt(last.startsWith('p') ? last.slice(1) : last, 16);
    const plus = flagText!.indexOf('+');
    const from = newestArrival - parseInt(flagText!.slice(1, plus), 16);
    snapshot.botFlag = { reason, from, until: from + parseInt(flagText!.slice(plus + 1), 16) };
  }
  if (bodyAt === value.length - 1) return snapshot;
  const records = value.slice(bodyAt + 1).split(';');
  const timeOf = (record: string) => base + parseInt(record.slice(FINGERPRINT_LENGTH + 1, record.indexOf(',')), 36);
  const newest = timeOf(records[records.length - 1]!);
  // Newest first, so the purchases are the latest of the newest maxPurchases products, as the
  // script keeps them (older purchase records may stay only as signals of the session).
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i]!;
    const code = record[FINGERPRINT_LENGTH] ?? '';
    const type = TYPES_BY_CODE.get(code.toLowerCase());
    const [offset = '', categoryIndex = '', productId = ''] = record.slice(FINGERPRINT_LENGTH + 1).split(',');
    if (type === undefined || productId === '') continue;
    const at = base + parseInt(offset, 36);
    if (type === 'purchase' && !snapshot.purchases.has(productId) && snapshot.purchases.size < policy.maxPurchases) snapshot.purchases.set(productId, at);
    if (at < newest - policy.sessionWindowMs) continue;
    const category = categoryIndex === '' ? null : (categories[parseInt(categoryIndex, 36)] ?? null);
    const signal: SessionSignal = { eventId: record.slice(0, FINGERPRINT_LENGTH), userId, type, productId, category, at };
    if (code !== code.toLowerCase()) signal.botBurst = true;
    snapshot.signals.push(signal);
  }
  snapshot.signals.reverse();
  return snapshot;
}

/**
 * Session state in Redis: one compact string per user (see the layout above and ADR 010). Writes
 * go through one Lua script call per `usersPerCall` users of a consumed batch, pipelined, so a
 * batch costs one round trip; reads are one GET. Redelivery is harmless because events are keyed by fingerprint, and
 * memory is bounded by the windows, the counts and the key's expiry.
 */
export function createSessionStore({
  redis,
  keyPrefix,
  policy,
  usersPerCall = 50,
  botFlags = createBotFlagLedger({ redis, keyPrefix }),
}: {
  redis: Redis;
  keyPrefix: string;
  policy: SessionPolicy;
  /**
   * Users written by one script call. Redis runs a script to its end before any other command,
   * so a call holds every reader (serving) for as long as it runs: 50 users are about 1.5 ms of
   * Redis time (bench:speed, ADR 014), and already make the cost of the call itself small.
   * @defaultValue 50
   */
  usersPerCall?: number;
  /** Where flags are recorded for the batch layer. @defaultValue a ledger under `keyPrefix` */
  botFlags?: Pick<BotFlagLedger, 'add'>;
}): SessionStore {
  // No fixed number of keys: the first argument of each call says how many follow.
  redis.defineCommand('lrecRecordSessions', { lua: RECORD_SCRIPT });
  const limits = [
    policy.sessionWindowMs,
    policy.purchaseSuppressionMs,
    policy.maxSignals,
    policy.maxPurchases,
    policy.botMaxEventsPerMinute,
    policy.botRepeatLimit,
    policy.botRepeatWindowMs,
    policy.botFlagMs,
  ].map(String);
  return {
    async record(signals) {
      if (signals.length === 0) return [];
      const byUser = new Map<string, string[]>();
      for (const s of signals) {
        let fields = byUser.get(s.userId);
        if (fields === undefined) byUser.set(s.userId, (fields = []));
        fields.push(
          eventFingerprint(s.eventId),
          TYPE_CODES[s.type],
          s.judgeOnly === true ? '' : String(s.at),
          s.productId.replace(PRODUCT_SEPARATORS, ''),
          (s.category ?? '').replace(CATEGORY_SEPARATORS, ''),
          s.arrivedAt === undefined ? '' : String(s.arrivedAt),
        );
      }
      const users = [...byUser.keys()];
      const pipeline = redis.pipeline();
      const recordSessions = (pipeline as unknown as { lrecRecordSessions: RecordSessionsCommand }).lrecRecordSessions.bind(pipeline);
      for (let from = 0; from < users.length; from += usersPerCall) {
        const callUsers = users.slice(from, from + usersPerCall);
        const args: Array<string | number> = [callUsers.length, ...callUsers.map((userId) => sessionKey(keyPrefix, userId)), ...limits];
        for (const userId of callUsers) {
          const fields = byUser.get(userId)!;
          args.push(fields.length / FIELDS_PER_EVENT);
          for (const field of fields) args.push(field);
        }
        void recordSessions(...args);
      }
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err !== null);
      if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('redis pipeline aborted');
      const flagged: BotFlagRaised[] = [];
      results.forEach(([, reply], call) => {
        const values = reply as Array<number | string>;
        for (let i = 0; i < values.length; i += 6) {
          const reason = BOT_REASONS_BY_CODE.get(String(values[i + 2]));
          if (reason === undefined) continue;
          const userId = users[call * usersPerCall + Number(values[i]) - 1]!;
          flagged.push({ userId, reason, from: Number(values[i + 3]), until: Number(values[i + 4]), raised: Number(values[i + 1]) === 1, at: Number(values[i + 5]) });
        }
      });
      // After the sessions. If this fails (or the process dies first), the events are delivered
      // again; they fall inside the flag, so the script reports it again and it is written then.
      if (flagged.length > 0) await botFlags.add(flagged.map(({ userId, reason, from, until }) => ({ userId, reason, from, until })));
      return flagged;
    },

    async read(userId) {
      const snapshot = decodeSession(await redis.get(sessionKey(keyPrefix, userId)), userId, policy);
      return { ...snapshot, signals: eventsThatCount(snapshot.signals) };
    },

    async inspect(userId) {
      return decodeSession(await redis.get(sessionKey(keyPrefix, userId)), userId, policy);
    },
  };
}
