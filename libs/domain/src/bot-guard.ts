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
  /** How long a flag lasts after the event that raised it (event time). @defaultValue 30 min */
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

/** A user flagged as a bot until `until` (epoch ms, event time). */
export interface BotFlag {
  reason: BotReason;
  until: number;
}

/**
 * The verdict on a session after its newest event: `rate` when more than the limit of events fall
 * in the minute up to it, `repeat` when its last `botRepeatLimit` events are the same type on the
 * same product within the repeat window, else null. `events` are in time order.
 *
 * The speed layer applies this rule inside its Redis script (libs/stores/src/session-store.ts),
 * where the session lives; the session store's tests run the same cases through both, so the two
 * cannot drift apart.
 */
export function botVerdict(events: ReadonlyArray<{ type: EventType; productId: string; at: number }>, policy: BotPolicy): BotReason | null {
  const newest = events[events.length - 1];
  if (newest === undefined) return null;
  let lastMinute = 0;
  for (let i = events.length - 1; i >= 0 && events[i]!.at > newest.at - BOT_RATE_WINDOW_MS; i--) lastMinute++;
  if (lastMinute > policy.botMaxEventsPerMinute) return 'rate';
  const limit = policy.botRepeatLimit;
  if (limit >= 2 && events.length >= limit) {
    const first = events[events.length - limit]!;
    const repeated = events.slice(-limit).every((e) => e.type === newest.type && e.productId === newest.productId);
    if (repeated && newest.at - first.at <= policy.botRepeatWindowMs) return 'repeat';
  }
  return null;
}

/** Whether a flag still holds at `now`. */
export const isFlagged = (flag: BotFlag | undefined, now: number): flag is BotFlag => flag !== undefined && flag.until >= now;

/**
 * The events of a session that may move its boosts: none from before the end of a flag, so a
 * bot's burst counts neither while it is flagged nor after.
 */
export function eventsThatCount<T extends { at: number }>(events: readonly T[], flag: BotFlag | undefined): T[] {
  return flag === undefined ? [...events] : events.filter((e) => e.at > flag.until);
}
