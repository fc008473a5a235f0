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
  /** The bot guard's flag, when the session has been flagged and the flag has not run out in event time. */
  botFlag?: BotFlag;
}

/** A user the bot guard flagged (`raised`) or kept flagged (an active flag extended) by a write. */
export interface BotFlagRaised extends BotFlag {
  userId: string;
  /** A new flag (false: a flag that was still on, extended). */
  raised: boolean;
  /** Event time of the event that raised or extended it. */
  at: number;
}

export interface SessionStore {
  /**
   * Applies signals; idempotent, so a redelivered event changes nothing. Answers the users the
   * bot guard flagged with these events (and records them for the batch layer).
   */
  record(signals: readonly SessionSignal[]): Promise<BotFlagRaised[]>;
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
 *   "2" <base: the oldest event's time, base 36> "." <records, base 36> ["!" <bot reason r|p> <flag end − base, base 36>]
 *       ("\x1f" <category>)*  "\x1e"  <record> (";" <record>)*
 *   record = <fingerprint, 5 chars> <type, 1 char> <at − base in ms, base 36> "," <category index, base 36, or ""> "," <productId>
 *
 * Times are relative to the oldest event so they stay short, and a newer event is appended
 * without rewriting the others (the script's fast path); each category is written once per
 * session. The encoding is canonical (records sorted by time then fingerprint, categories in
 * order of first use), so two consumers that applied the same events hold byte-equal values.
 */
const FORMAT_VERSION = '2';
const TYPE_CODES: Record<EventType, string> = { view: 'v', click: 'c', add_to_cart: 'a', purchase: 'p' };
const TYPES_BY_CODE = new Map(Object.entries(TYPE_CODES).map(([type, code]) => [code, type as EventType]));
const FINGERPRINT_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
const FINGERPRINT_LENGTH = 5;
const BOT_REASON_CODES: Record<BotReason, string> = { rate: 'r', repeat: 'p' };
const BOT_REASONS_BY_CODE = new Map(Object.entries(BOT_REASON_CODES).map(([reason, code]) => [code, reason as BotReason]));
/** The layout's separators: the contract keeps them out of text already; these make sure. */
// eslint-disable-next-line no-control-regex -- the separators are control characters on purpose
const PRODUCT_SEPARATORS = /[\x1e\x1f;,]/g;
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
 * per key its number of events and, per event: fingerprint, type code, event time ms, productId,
 * category ("" for none). Answers five values per user flagged or kept flagged: position in KEYS,
 * flag state (1 raised, 2 still flagged), reason code, flag end ms, newest event time ms.
 *
 * Several users in one call, because a consumed batch rarely holds two events of one user: one
 * call per event cost Redis about 6 µs and Node about as much again for the call alone, on top of
 * the session work (bench:speed, ADR 010). Each key is still read and written on its own, so no
 * call needs atomicity across users.
 *
 * The bot rule here mirrors botVerdict in libs/domain (the store's tests run both on the same cases).
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
local FP = ${FINGERPRINT_LENGTH}
-- A purchase record in stored text: a separator, a fingerprint, then the type 'p'.
local PURCHASE_RECORD = '[;\\30]' .. string.rep('[^;,]', FP) .. 'p'

local windowMs, purchaseMs = tonumber(ARGV[1]), tonumber(ARGV[2])
local maxSignals, maxPurchases = tonumber(ARGV[3]), tonumber(ARGV[4])
local botPerMinute, botRepeat = tonumber(ARGV[5]), tonumber(ARGV[6])
local botRepeatMs, botFlagMs = tonumber(ARGV[7]), tonumber(ARGV[8])

-- One user's session: KEYS' key, and its events in ARGV[from..to] (five fields each). Answers
-- the flag state (0 none, 1 raised, 2 still flagged), reason code, flag end and newest event time.
local function recordOne(key, from, to)
  -- The stored session's header: base (the oldest event's time), record count and flag, read in
  -- place. headEnd is where the first header field ends; the categories follow it, each after a
  -- unit separator (\\31).
  local current = redis.call('GET', key)
  local bodyAt, headEnd, dot, bang, base, count, flagReason, flagUntil = nil, 0, 0, nil, 0, 0, false, 0
  if current and string.sub(current, 1, 1) == '${FORMAT_VERSION}' then
    bodyAt = string.find(current, '\\30', 1, true)
    headEnd = (string.find(current, '\\31', 1, true) or bodyAt) - 1
    dot = string.find(current, '.', 1, true)
    bang = string.find(current, '!', dot, true)
    -- A category may hold a '!'; the flag's is the one inside the first field.
    if bang and bang > headEnd then bang = nil end
    base = tonumber(string.sub(current, 2, dot - 1), 36)
    count = tonumber(string.sub(current, dot + 1, (bang or headEnd + 1) - 1), 36)
    if bang then
      flagReason = string.sub(current, bang + 1, bang + 1)
      flagUntil = base + tonumber(string.sub(current, bang + 2, headEnd), 36)
    end
  end
  -- The time and productId of the stored record that starts at 's' and ends at 'e'.
  local function timeAndProduct(s, e)
    local c1 = string.find(current, ',', s + FP + 1, true)
    local c2 = string.find(current, ',', c1 + 1, true)
    return base + tonumber(string.sub(current, s + FP + 1, c1 - 1), 36), string.sub(current, c2 + 1, e)
  end

  -- Fast path, the common case: one new event, newer than the whole session, nothing to trim or
  -- to judge beyond the last few events. It appends to the stored text instead of rebuilding it,
  -- and gives exactly the bytes the full path below would. It reads the stored text in place and
  -- builds no table of records or categories, since Redis runs it for almost every event.
  if current and to - from == 4 and count > 0 then
    local fp, type, at, product, category = ARGV[from], ARGV[from + 1], tonumber(ARGV[from + 2]), ARGV[from + 3], ARGV[from + 4]
    local typeByte = string.byte(type)
    -- The last record starts after the last ';', looked for in the text's tail first (records
    -- are short), and in the whole body only when the tail holds none.
    local function afterLastSeparator(from)
      local last = nil
      local sep = string.find(current, ';', from, true)
      while sep do last = sep + 1; sep = string.find(current, ';', last, true) end
      return last
    end
    local lastFrom = afterLastSeparator(math.max(bodyAt + 1, #current - 64)) or afterLastSeparator(bodyAt + 1) or bodyAt + 1
    local lastAt, lastProduct = timeAndProduct(lastFrom, #current)
    local fresh = at > lastAt or (at == lastAt and fp > string.sub(current, lastFrom, lastFrom + FP - 1))
    local unseen = string.sub(current, bodyAt + 1, bodyAt + FP) ~= fp and not string.find(current, ';' .. fp, bodyAt, true)
    if fresh and unseen and base >= at - windowMs and count + 1 <= maxSignals and count + 1 <= maxPurchases
        and count + 1 <= botPerMinute and not (flagReason and flagUntil < at) then
      -- The repeat rule over the last botRepeat events: the new one and the stored ones before
      -- it. The last stored one rules out almost every event; only the same page again walks
      -- the records before it.
      local repeated = botRepeat >= 2 and count + 1 >= botRepeat and string.byte(current, lastFrom + FP) == typeByte and lastProduct == product
      if repeated then
        local starts, m, from = {}, 0, bodyAt + 1
        repeat
          m = m + 1
          starts[m] = from
          local sep = string.find(current, ';', from, true)
          from = sep and sep + 1
        until not from
        for k = 1, botRepeat - 1 do
          local s = starts[m - k + 1]
          if string.byte(current, s + FP) ~= typeByte then repeated = false break end
          local e = #current
          if k > 1 then e = starts[m - k + 2] - 2 end
          local recAt, recProduct = timeAndProduct(s, e)
          if recProduct ~= product or (k == botRepeat - 1 and at - recAt > botRepeatMs) then repeated = false break end
        end
      end
      local flagState, flagText = 0, ''
      if bang then flagText = string.sub(current, bang, headEnd) end
      if repeated then
        if flagReason then flagState = 2 else flagState = 1 end
        flagReason = 'p'
        if at + botFlagMs > flagUntil then flagUntil = at + botFlagMs end
        flagText = '!' .. flagReason .. b36(flagUntil - base)
      end
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
      local value = '${FORMAT_VERSION}' .. string.sub(current, 2, dot) .. b36(count + 1) .. flagText .. string.sub(current, headEnd + 1, bodyAt - 1) .. headerTail
        .. string.sub(current, bodyAt) .. ';' .. fp .. type .. b36(at - base) .. ',' .. index .. ',' .. product
      local ttl = windowMs
      -- A purchase record may be kept for its suppression window: the key lives that long.
      if purchaseMs > ttl and (type == 'p' or string.find(current, PURCHASE_RECORD, bodyAt)) then ttl = purchaseMs end
      if flagReason and flagUntil - at > ttl then ttl = flagUntil - at end
      redis.call('SET', key, value, 'PX', ttl)
      return flagState, flagReason, flagUntil, at
    end
  end

  -- Full path: decode everything, merge, de-duplicate, sort, judge, trim and encode again.
  local categories = {}
  if bodyAt and headEnd + 1 < bodyAt then categories = split(current, '\\31', headEnd + 2, bodyAt - 1) end
  local function parse(rec)
    local fields = split(rec, ',', FP + 2, #rec)
    local category = false
    if fields[2] ~= '' then category = categories[tonumber(fields[2], 36) + 1] end
    return { fp = string.sub(rec, 1, FP), type = string.sub(rec, FP + 1, FP + 1), at = base + tonumber(fields[1], 36), product = fields[3], category = category }
  end
  local records, seen, added = {}, {}, 0
  if bodyAt and bodyAt < #current then
    for _, rec in ipairs(split(current, ';', bodyAt + 1, #current)) do
      local r = parse(rec)
      seen[r.fp] = true
      records[#records + 1] = r
    end
  end
  for i = from, to, 5 do
    local fp = ARGV[i]
    if not seen[fp] then
      seen[fp] = true
      added = added + 1
      local category = ARGV[i + 4]
      if category == '' then category = false end
      records[#records + 1] = { fp = fp, type = ARGV[i + 1], at = tonumber(ARGV[i + 2]), product = ARGV[i + 3], category = category }
    end
  end

  table.sort(records, function(a, b)
    if a.at ~= b.at then return a.at < b.at end
    return a.fp < b.fp
  end)
  local newest = records[#records].at

  -- The bot guard, on the newest events, when this call brought any (a redelivery judges nothing).
  local flagState = 0
  if flagReason and flagUntil < newest then flagReason = false end
  if added > 0 then
    local verdict = false
    local lastMinute = 0
    for i = #records, 1, -1 do
      if records[i].at <= newest - ${BOT_RATE_WINDOW_MS} then break end
      lastMinute = lastMinute + 1
    end
    if lastMinute > botPerMinute then verdict = 'r'
    elseif botRepeat >= 2 and #records >= botRepeat then
      local last = records[#records]
      local repeated = newest - records[#records - botRepeat + 1].at <= botRepeatMs
      for i = #records - botRepeat + 1, #records do
        if records[i].type ~= last.type or records[i].product ~= last.product then repeated = false end
      end
      if repeated then verdict = 'p' end
    end
    if verdict then
      if flagReason then flagState = 2 else flagState = 1 end
      flagReason = verdict
      if newest + botFlagMs > flagUntil then flagUntil = newest + botFlagMs end
    end
  end

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
  local newBase = kept[1].at
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
    body[i] = r.fp .. r.type .. b36(r.at - newBase) .. ',' .. index .. ',' .. r.product
  end
  local head = '${FORMAT_VERSION}' .. b36(newBase) .. '.' .. b36(#kept)
  if flagReason then head = head .. '!' .. flagReason .. b36(flagUntil - newBase) end
  if #names > 0 then head = head .. '\\31' .. table.concat(names, '\\31') end
  local ttl = windowMs
  if anyPurchase and purchaseMs > ttl then ttl = purchaseMs end
  if flagReason and flagUntil - newest > ttl then ttl = flagUntil - newest end
  redis.call('SET', key, head .. '\\30' .. table.concat(body, ';'), 'PX', ttl)
  return flagState, flagReason, flagUntil, newest
end

-- ARGV[9] on: per key, its number of events, then their fields. Answers five values per user the
-- bot guard flagged or kept flagged (its position in KEYS, state, reason, flag end, newest event
-- time), and nothing for the others: most calls flag no one.
local out, pos = {}, 9
for k = 1, #KEYS do
  local n = tonumber(ARGV[pos])
  local state, reason, flagEnd, newest = recordOne(KEYS[k], pos + 1, pos + 5 * n)
  if state ~= 0 then
    out[#out + 1] = k
    out[#out + 1] = state
    out[#out + 1] = reason
    out[#out + 1] = tostring(flagEnd)
    out[#out + 1] = tostring(newest)
  end
  pos = pos + 5 * n + 1
end
return out
`;

type RecordSessionsCommand = (...numberOfKeysKeysAndArgs: Array<string | number>) => Promise<Array<number | string>>;

/** Decodes a stored session value; exported for tests and tools that inspect the state. */
export function decodeSession(value: string | null, userId: string, policy: Pick<SessionPolicy, 'sessionWindowMs' | 'maxPurchases'>): SessionSnapshot {
  const snapshot: SessionSnapshot = { signals: [], purchases: new Map() };
  if (value === null || value[0] !== FORMAT_VERSION) return snapshot;
  const bodyAt = value.indexOf('\x1e');
  if (bodyAt < 0) return snapshot;
  const [first = '0', ...categories] = value.slice(1, bodyAt).split('\x1f');
  const [counted = '0', flagText] = first.split('!');
  const base = parseInt(counted.slice(0, counted.indexOf('.')), 36);
  const reason = BOT_REASONS_BY_CODE.get(flagText?.[0] ?? '');
  if (reason !== undefined) snapshot.botFlag = { reason, until: base + parseInt(flagText!.slice(1), 36) };
  if (bodyAt === value.length - 1) return snapshot;
  const records = value.slice(bodyAt + 1).split(';');
  const timeOf = (record: string) => base + parseInt(record.slice(FINGERPRINT_LENGTH + 1, record.indexOf(',')), 36);
  const newest = timeOf(records[records.length - 1]!);
  // Newest first, so the purchases are the latest of the newest maxPurchases products, as the
  // script keeps them (older purchase records may stay only as signals of the session).
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i]!;
    const type = TYPES_BY_CODE.get(record[FINGERPRINT_LENGTH] ?? '');
    const [offset = '', categoryIndex = '', productId = ''] = record.slice(FINGERPRINT_LENGTH + 1).split(',');
    if (type === undefined || productId === '') continue;
    const at = base + parseInt(offset, 36);
    if (type === 'purchase' && !snapshot.purchases.has(productId) && snapshot.purchases.size < policy.maxPurchases) snapshot.purchases.set(productId, at);
    if (at < newest - policy.sessionWindowMs) continue;
    const category = categoryIndex === '' ? null : (categories[parseInt(categoryIndex, 36)] ?? null);
    snapshot.signals.push({ eventId: record.slice(0, FINGERPRINT_LENGTH), userId, type, productId, category, at });
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
        fields.push(eventFingerprint(s.eventId), TYPE_CODES[s.type], String(s.at), s.productId.replace(PRODUCT_SEPARATORS, ''), (s.category ?? '').replace(CATEGORY_SEPARATORS, ''));
      }
      const users = [...byUser.keys()];
      const pipeline = redis.pipeline();
      const recordSessions = (pipeline as unknown as { lrecRecordSessions: RecordSessionsCommand }).lrecRecordSessions.bind(pipeline);
      for (let from = 0; from < users.length; from += usersPerCall) {
        const callUsers = users.slice(from, from + usersPerCall);
        const args: Array<string | number> = [callUsers.length, ...callUsers.map((userId) => sessionKey(keyPrefix, userId)), ...limits];
        for (const userId of callUsers) {
          const fields = byUser.get(userId)!;
          args.push(fields.length / 5);
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
        for (let i = 0; i < values.length; i += 5) {
          const reason = BOT_REASONS_BY_CODE.get(String(values[i + 2]));
          if (reason === undefined) continue;
          const userId = users[call * usersPerCall + Number(values[i]) - 1]!;
          flagged.push({ userId, reason, until: Number(values[i + 3]), raised: Number(values[i + 1]) === 1, at: Number(values[i + 4]) });
        }
      });
      // After the sessions: a crash in between loses a ledger entry, never a session write; the
      // events' redelivery then finds them applied and raises nothing (see ADR 010).
      if (flagged.length > 0) await botFlags.add(flagged.map(({ userId, reason, at, until }) => ({ userId, reason, from: at, until })));
      return flagged;
    },

    async read(userId) {
      const snapshot = decodeSession(await redis.get(sessionKey(keyPrefix, userId)), userId, policy);
      return { ...snapshot, signals: eventsThatCount(snapshot.signals, snapshot.botFlag) };
    },

    async inspect(userId) {
      return decodeSession(await redis.get(sessionKey(keyPrefix, userId)), userId, policy);
    },
  };
}
