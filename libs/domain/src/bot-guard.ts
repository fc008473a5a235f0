import type { EventType } from '@lambdarec/contracts';

/** Tunables of the bot guard (the stream analytics' alerts). */
export interface BotPolicy {
  /** More events than this within 60 s flags the user. @defaultValue 50 */
  botMaxEventsPerMinute: number;
  /**
   * This many events in a row of the same type on the same product (the same page reloaded over
   * and over) flags the user, when they fall within `botRepeatWindowMs`. A shopper's funnel on
   * one product (view, click, cart, purchase) changes type, so it never counts. @defaultValue 3
   */
  botRepeatLimit: number;
  /** @defaultValue 30 s */
  botRepeatWindowMs: number;
  /** How long a flag lasts after the arrival of the event that raised it (or last extended it). @defaultValue 30 min */
  botFlagMs: number;
}

export const DEFAULT_BOT_POLICY: Readonly<BotPolicy> = {
  botMaxEventsPerMinute: 50,
  botRepeatLimit: 3,
  botRepeatWindowMs: 30_000,
  botFlagMs: 30 * 60_000,
};

export const BOT_RATE_WINDOW_MS = 60_000;

export type BotReason = 'rate' | 'repeat';

/**
 * A user flagged as a bot: the events that arrived from `from` (the arrival of the earliest event
 * of the burst that tripped the rule) to `until` (epoch ms, arrival time) are the flagged burst.
 */
export interface BotFlag {
  reason: BotReason;
  from: number;
  until: number;
}

/** An event as the bot guard judges it: what it is, and when it arrived (not the client's timestamp). */
export interface JudgedEvent {
  type: EventType;
  productId: string;
  /** Arrival time (epoch ms): the Kafka record's, set by the broker. */
  arrivedAt: number;
}

/**
 * The verdict on a user's events after the newest one, judged on arrival, never on the client's
 * clock (a client can date its events as it likes):
 * - `rate` when more than the limit arrived in the minute up to it. The purchases that arrived
 *   together count as one: a checkout posts one purchase per line, so one request holding a
 *   basket of many products is one act of a shopper;
 * - `repeat` when the last `botRepeatLimit` to arrive are the same type on the same product
 *   within the repeat window.
 *
 * `from` is the arrival of the earliest event of the burst: the oldest in the minute, or the first
 * of the repeats. `events` are in arrival order (the topic's order; events that arrived together
 * in the order they were sent).
 *
 * This and `botFlagAfter` are the rule's reference: production applies it in the session script's
 * guard (libs/stores/src/lua/includes/bot-guard.lua), event by event, where the session lives, and
 * calls neither. The session store's tests hold the script to them, running the same cases through both,
 * so the two cannot drift apart; a change of the rule is made here first, then in the script.
 */
export function botVerdict(events: readonly JudgedEvent[], policy: BotPolicy): { reason: BotReason; from: number } | null {
  const newest = events[events.length - 1];
  if (newest === undefined) return null;
  let units = 0;
  let from = newest.arrivedAt;
  for (let i = events.length - 1; i >= 0 && events[i]!.arrivedAt > newest.arrivedAt - BOT_RATE_WINDOW_MS; i--) {
    const event = events[i]!;
    from = event.arrivedAt;
    // A purchase counts unless an earlier purchase arrived at the same instant (the same basket).
    const basketMate =
      event.type === 'purchase' && events.slice(0, i).some((e) => e.type === 'purchase' && e.arrivedAt === event.arrivedAt);
    if (!basketMate) units++;
  }
  if (units > policy.botMaxEventsPerMinute) return { reason: 'rate', from };
  const limit = policy.botRepeatLimit;
  if (limit >= 2 && events.length >= limit) {
    const first = events[events.length - limit]!;
    const repeated = events.slice(-limit).every((e) => e.type === newest.type && e.productId === newest.productId);
    if (repeated && newest.arrivedAt - first.arrivedAt <= policy.botRepeatWindowMs) return { reason: 'repeat', from: first.arrivedAt };
  }
  return null;
}

/**
 * The flag a user holds after these events, judged one at a time as they arrived: a verdict
 * raises a flag until `botFlagMs` after the event, a verdict while flagged extends it (the burst
 * keeps its start and its first reason), and a flag whose end has passed is gone.
 */
export function botFlagAfter(events: readonly JudgedEvent[], policy: BotPolicy): BotFlag | undefined {
  let flag: BotFlag | undefined;
  events.forEach((event, i) => {
    if (flag !== undefined && event.arrivedAt > flag.until) flag = undefined;
    const verdict = botVerdict(events.slice(0, i + 1), policy);
    if (verdict === null) return;
    flag =
      flag === undefined
        ? { ...verdict, until: event.arrivedAt + policy.botFlagMs }
        : { ...flag, until: Math.max(flag.until, event.arrivedAt + policy.botFlagMs) };
  });
  return flag;
}

/** Whether a flag still holds at `now`. */
export const isFlagged = (flag: BotFlag | undefined, now: number): flag is BotFlag => flag !== undefined && flag.until >= now;

/**
 * The events of a session that may move its boosts: all but those that arrived inside a flagged
 * burst. The events before the burst and after the flag's end count, so a stranger who floods a
 * customer's id costs the customer only the burst, not their history.
 */
export function eventsThatCount<T extends { botBurst?: boolean }>(events: readonly T[]): T[] {
  return events.filter((e) => e.botBurst !== true);
}
