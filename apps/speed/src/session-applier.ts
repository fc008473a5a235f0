import { productEventsOf, type ConsumedEvent } from '@lambdarec/contracts';
import type { ConsumerMetrics } from '@lambdarec/clients';
import { isPurchaseSuppressing, isWithinSessionWindow, type SessionPolicy } from '@lambdarec/domain';
import type { BotFlagRaised, SessionStore, SessionWrite } from '@lambdarec/stores';

export interface SessionApplier {
  /**
   * Records the events that still matter to a session, and has the bot guard judge every live
   * one; returns how many were applied and how many were too old for the session.
   */
  apply(events: readonly ConsumedEvent[]): Promise<{ applied: number; late: number }>;
}

/**
 * The one rule for what of an event reaches the session state, shared by the live consumer and
 * the replay: every event inside the session window, and purchases inside their suppression
 * window (after a lag or a replay, products bought hours ago must stay hidden).
 *
 * The bot guard judges every live event on its arrival, whatever time the client gave it: an
 * event dated too far back for the session is judged all the same and kept nowhere. A history
 * import (the operator's key) is never judged, and skips the session when it is that old.
 */
export function createSessionApplier({
  sessions,
  policy,
  metrics,
  onBotFlags,
  now = Date.now,
}: {
  sessions: SessionStore;
  policy: SessionPolicy;
  metrics?: Pick<ConsumerMetrics, 'count'>;
  /** Told of the users the bot guard flagged (or kept flagged) with each applied slice. */
  onBotFlags?: (flags: readonly BotFlagRaised[]) => void;
  now?: () => number;
}): SessionApplier {
  return {
    async apply(events) {
      const at = now();
      const writes: SessionWrite[] = [];
      let late = 0;
      // Impressions name lists shown, not products the shopper chose: they move no session.
      const productEvents = productEventsOf(events);
      for (const { event, eventTime, arrivedAt, imported } of productEvents) {
        const time = eventTime.getTime();
        const relevant = event.type === 'purchase' ? isPurchaseSuppressing(time, at, policy) : isWithinSessionWindow(time, at, policy);
        if (!relevant) late++;
        if (!relevant && imported) continue;
        const write: SessionWrite = {
          eventId: event.eventId,
          userId: event.userId,
          type: event.type,
          productId: event.productId,
          category: event.category ?? null,
          at: time,
        };
        if (!imported) write.arrivedAt = arrivedAt.getTime();
        if (!relevant) write.judgeOnly = true;
        writes.push(write);
      }
      const flagged = await sessions.record(writes);
      if (flagged.length > 0) onBotFlags?.(flagged);
      const applied = productEvents.length - late;
      metrics?.count('applied', applied);
      if (late > 0) metrics?.count('late', late);
      return { applied, late };
    },
  };
}
