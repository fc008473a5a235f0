import type { ConsumedEvent } from '@lambdarec/contracts';
import type { ConsumerMetrics } from '@lambdarec/clients';
import { isPurchaseSuppressing, isWithinSessionWindow, type SessionPolicy, type SessionSignal } from '@lambdarec/domain';
import type { BotFlagRaised, SessionStore } from '@lambdarec/stores';

export interface SessionApplier {
  /** Records the events that still matter to a session; returns how many were applied and how many were too old. */
  apply(events: readonly ConsumedEvent[]): Promise<{ applied: number; late: number }>;
}

/**
 * The one rule for what of an event reaches the session state, shared by the live consumer and
 * the replay: every event inside the session window, and purchases inside their suppression
 * window (after a lag or a replay, products bought hours ago must stay hidden).
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
      const signals: SessionSignal[] = [];
      let late = 0;
      for (const { event, eventTime } of events) {
        const time = eventTime.getTime();
        const relevant = event.type === 'purchase' ? isPurchaseSuppressing(time, at, policy) : isWithinSessionWindow(time, at, policy);
        if (!relevant) {
          late++;
          continue;
        }
        signals.push({ eventId: event.eventId, userId: event.userId, type: event.type, productId: event.productId, category: event.category ?? null, at: time });
      }
      const flagged = await sessions.record(signals);
      if (flagged.length > 0) onBotFlags?.(flagged);
      metrics?.count('applied', signals.length);
      if (late > 0) metrics?.count('late', late);
      return { applied: signals.length, late };
    },
  };
}
