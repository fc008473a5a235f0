import { sessionKeys } from '@lambdarec/contracts';
import type { SessionPolicy, SessionSignal } from '@lambdarec/domain';
import type { Redis } from '@lambdarec/clients';

export interface SessionSnapshot {
  signals: SessionSignal[];
  /** productId → latest purchase time (epoch ms). */
  purchases: Map<string, number>;
}

export interface SessionStore {
  /** Applies signals; idempotent, so a redelivered event changes nothing. */
  record(signals: readonly SessionSignal[]): Promise<void>;
  read(userId: string): Promise<SessionSnapshot>;
}

const encode = (s: SessionSignal): string => JSON.stringify([s.eventId, s.type, s.productId, s.category, s.at]);

function decode(member: string, userId: string): SessionSignal | undefined {
  try {
    const [eventId, type, productId, category, at] = JSON.parse(member) as [string, SessionSignal['type'], string, string | null, number];
    return { eventId, userId, type, productId, category, at };
  } catch {
    return undefined;
  }
}

/**
 * Session state in Redis, one pair of sorted sets per user. Signals are stored whole with their
 * eventId (ZADD of the same member is a no-op) and purchases with ZADD GT (the latest wins in any
 * order): both make redelivery harmless. Trimming both by event time and by count bounds memory, and the
 * keys expire a window after the user's last event.
 */
export function createSessionStore({ redis, keyPrefix, policy }: { redis: Redis; keyPrefix: string; policy: SessionPolicy }): SessionStore {
  return {
    async record(signals) {
      if (signals.length === 0) return;
      const byUser = new Map<string, SessionSignal[]>();
      for (const signal of signals) {
        const userId = signal.userId;
        let list = byUser.get(userId);
        if (list === undefined) byUser.set(userId, (list = []));
        list.push(signal);
      }
      const tx = redis.multi();
      for (const [userId, list] of byUser) {
        const keys = sessionKeys(keyPrefix, userId);
        const latest = Math.max(...list.map((s) => s.at));
        tx.zadd(keys.signals, ...list.flatMap((s) => [s.at, encode(s)]));
        tx.zremrangebyscore(keys.signals, '-inf', `(${latest - policy.sessionWindowMs}`);
        tx.zremrangebyrank(keys.signals, '0', String(-(policy.maxSignals + 1)));
        tx.pexpire(keys.signals, String(policy.sessionWindowMs));
        const purchases = list.filter((s) => s.type === 'purchase');
        if (purchases.length > 0) {
          tx.zadd(keys.purchases, 'GT', ...purchases.flatMap((s) => [s.at, s.productId]));
          tx.zremrangebyscore(keys.purchases, '-inf', `(${latest - policy.purchaseSuppressionMs}`);
          tx.zremrangebyrank(keys.purchases, '0', String(-(policy.maxPurchases + 1)));
          tx.pexpire(keys.purchases, String(policy.purchaseSuppressionMs));
        }
      }
      const results = await tx.exec();
      const failed = results?.find(([err]) => err !== null);
      if (results === null || failed !== undefined) {
        throw failed?.[0] ?? new Error('redis transaction aborted');
      }
    },

    async read(userId) {
      const keys = sessionKeys(keyPrefix, userId);
      const [signalsReply, purchasesReply] = await Promise.all([
        redis.zrange(keys.signals, '0', '-1'),
        redis.zrange(keys.purchases, '0', '-1', 'WITHSCORES'),
      ]);
      const signals: SessionSignal[] = [];
      for (const member of signalsReply) {
        const signal = decode(member, userId);
        if (signal !== undefined) signals.push(signal);
      }
      const purchases = new Map<string, number>();
      for (let i = 0; i + 1 < purchasesReply.length; i += 2) purchases.set(purchasesReply[i]!, Number(purchasesReply[i + 1]));
      return { signals, purchases };
    },
  };
}
