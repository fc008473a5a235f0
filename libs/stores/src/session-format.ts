import type { EventType } from '@lambdarec/contracts';
import type { BotFlag, BotReason, SessionPolicy, SessionSignal } from '@lambdarec/domain';

export interface SessionSnapshot {
  /**
   * The session's events inside its window, oldest first. `eventId` is the event's fingerprint
   * (a 30-bit hash of its eventId), which is what the state keeps: enough to count each event once.
   */
  signals: SessionSignal[];
  /** productId → latest purchase time (epoch ms). */
  purchases: Map<string, number>;
  /**
   * The products of `purchases` whose latest purchase arrived inside a bot flag's burst: they
   * suppress like any purchase (the safe side), but, like every flagged event, move nothing else
   * and stay out of the history a re-rank folds in (ADR 017). Absent: none.
   */
  flaggedPurchases?: Set<string>;
  /**
   * The bot guard's latest flag (arrival times), kept until a later event arrives after its end.
   * The events that arrived inside it are marked `botBurst`.
   */
  botFlag?: BotFlag;
}

/*
 * One Redis string per user (ADR 010), about 20 bytes an event instead of a sorted-set member of
 * 100, written by the session script (lua/record-sessions.lua) and read by decodeSession below.
 * Layout, all printable except two separators no stored text may contain (docs/design.md bans C0
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
/**
 * The layout's version, its first character. This and the lengths below are mirrored as constants
 * in lua/includes/session-common.lua, part of the session script; a test holds the two equal.
 */
export const FORMAT_VERSION = '3';
export const TYPE_CODES: Record<EventType, string> = { view: 'v', click: 'c', add_to_cart: 'a', purchase: 'p' };
const TYPES_BY_CODE = new Map(Object.entries(TYPE_CODES).map(([type, code]) => [code, type as EventType]));
const FINGERPRINT_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
export const FINGERPRINT_LENGTH = 5;
/**
 * The bot guard's arrivals keep 3 characters of it (18 bits): they only tell apart the few events
 * of one user that arrived in one instant, and find the stored records of a burst to mark (two
 * records of a session sharing them, about 1 in 1,300 for 200 records, would mark one more).
 */
export const GUARD_FINGERPRINT_LENGTH = 3;
/** Script arguments per event: fingerprint, type, event time, productId, category, arrival. */
export const FIELDS_PER_EVENT = 6;
const BOT_REASON_CODES: Record<BotReason, string> = { rate: 'r', repeat: 'p' };
export const BOT_REASONS_BY_CODE = new Map(Object.entries(BOT_REASON_CODES).map(([reason, code]) => [code, reason as BotReason]));
/** The layout's separators: the contract keeps them out of text already; these make sure. */
// eslint-disable-next-line no-control-regex -- the separators are control characters on purpose
export const PRODUCT_SEPARATORS = /[\x1e\x1f;,~!]/g;
// eslint-disable-next-line no-control-regex -- as above
export const CATEGORY_SEPARATORS = /[\x1e\x1f]/g;

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

/** Decodes a stored session value; exported for tests and tools that inspect the state. */
export function decodeSession(
  value: string | null,
  userId: string,
  policy: Pick<SessionPolicy, 'sessionWindowMs' | 'maxPurchases'>,
): SessionSnapshot {
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
    if (type === 'purchase' && !snapshot.purchases.has(productId) && snapshot.purchases.size < policy.maxPurchases) {
      snapshot.purchases.set(productId, at);
      if (code !== code.toLowerCase()) (snapshot.flaggedPurchases ??= new Set()).add(productId);
    }
    if (at < newest - policy.sessionWindowMs) continue;
    const category = categoryIndex === '' ? null : (categories[parseInt(categoryIndex, 36)] ?? null);
    const signal: SessionSignal = { eventId: record.slice(0, FINGERPRINT_LENGTH), userId, type, productId, category, at };
    if (code !== code.toLowerCase()) signal.botBurst = true;
    snapshot.signals.push(signal);
  }
  snapshot.signals.reverse();
  return snapshot;
}
