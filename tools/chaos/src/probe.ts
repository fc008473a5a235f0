import { randomUUID } from 'node:crypto';
import { partitionOfKey, type PgPool, type RedisClient } from '@lambdarec/clients';
import { statusOf } from './status-of.js';
import { sessionKey } from '@lambdarec/contracts';

/** One new user on each partition of the events topic, so that a probe passes through every consumer. */
function usersOnEveryPartition(prefix: string, partitions: number): string[] {
  const users = new Map<number, string>();
  for (let i = 0; users.size < partitions; i++) {
    const userId = `${prefix}-${i}`;
    const partition = partitionOfKey(userId, partitions);
    if (!users.has(partition)) users.set(partition, userId);
  }
  return [...users.values()];
}

/**
 * Time to recover, seen from outside: from the fault until events posted after it have gone the
 * whole way on every partition (answered 202 by an ingest instance, archived by a batch instance,
 * in their sessions by the speed instances) and a serving instance answered a read. Each probe
 * user is new, so probes never add up to a bot flag.
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
  partitions = 6,
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
  /** Partitions of the events topic. @defaultValue 6 */
  partitions?: number;
  timeoutMs?: number;
}): Promise<number | undefined> {
  const deadline = since + timeoutMs;
  let turn = 0;
  const answered = (url: string, init: RequestInit = {}) => statusOf(url, init, 2_000);
  while (Date.now() < deadline) {
    const users = usersOnEveryPartition(`chaos-${runId}-probe-${randomUUID().slice(0, 8)}`, partitions);
    const events = users.map((userId) => ({
      eventId: randomUUID(),
      userId,
      type: 'view',
      productId: product.productId,
      category: product.category,
    }));
    const accepted =
      (await answered(`${ingestUrls[turn++ % ingestUrls.length]}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      })) === 202;
    if (accepted) {
      // The event has 20 s to go the whole way; a pipeline still down gets a new probe after that.
      const through = Date.now() + 20_000;
      while (Date.now() < through) {
        const [archived, session, read] = await Promise.all([
          pool.query('SELECT 1 FROM events WHERE event_id = ANY($1::uuid[])', [events.map((e) => e.eventId)]).then(
            (r) => r.rowCount === events.length,
            () => false,
          ),
          Promise.all(users.map((userId) => redis.get(sessionKey(keyPrefix, userId)))).then(
            (sessions) => sessions.every((v) => v !== null),
            () => false,
          ),
          answered(`${servingUrls[turn++ % servingUrls.length]}/recommendations/${users[0]}`).then((status) => status === 200),
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
