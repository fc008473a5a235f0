import { randomUUID } from 'node:crypto';
import type { PgPool, RedisClient } from '@lambdarec/clients';
import { sessionKey } from '@lambdarec/contracts';

/**
 * Time to recover, seen from outside: from the fault until one event, posted after it, has gone
 * the whole way (answered 202 by an ingest instance, archived by a batch instance, in its session
 * by a speed instance) and a serving instance answered a read. Each probe has a user of its own,
 * so probes never add up to a bot flag.
 */
export async function timeToRecover({
  since,
  ingestUrls,
  servingUrls,
  pool,
  redis,
  keyPrefix,
  runId,
  product,
  timeoutMs = 5 * 60_000,
}: {
  /** When the fault was injected (epoch ms). */
  since: number;
  ingestUrls: readonly string[];
  servingUrls: readonly string[];
  pool: PgPool;
  redis: RedisClient;
  keyPrefix: string;
  runId: string;
  product: { productId: string; category: string };
  timeoutMs?: number;
}): Promise<number | undefined> {
  const deadline = since + timeoutMs;
  let turn = 0;
  const answered = async (url: string, init?: RequestInit) => {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  };
  while (Date.now() < deadline) {
    const userId = `chaos-${runId}-probe-${randomUUID().slice(0, 8)}`;
    const eventId = randomUUID();
    const event = { eventId, userId, type: 'view', productId: product.productId, category: product.category };
    const accepted =
      (await answered(`${ingestUrls[turn++ % ingestUrls.length]}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
      })) === 202;
    if (accepted) {
      // The event has 20 s to go the whole way; a pipeline still down gets a new probe after that.
      const through = Date.now() + 20_000;
      while (Date.now() < through) {
        const [archived, session, read] = await Promise.all([
          pool.query('SELECT 1 FROM events WHERE event_id = $1', [eventId]).then(
            (r) => r.rowCount === 1,
            () => false,
          ),
          redis.get(sessionKey(keyPrefix, userId)).then(
            (v) => v !== null,
            () => false,
          ),
          answered(`${servingUrls[turn++ % servingUrls.length]}/recommendations/${userId}`).then((status) => status === 200),
        ]);
        if (archived && session && read) return Date.now() - since;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return undefined;
}
