import type { PgPool, RedisClient } from '@lambdarec/clients';
import { sessionKey } from '@lambdarec/contracts';
import type { SessionPolicy } from '@lambdarec/domain';
import { createSessionStore, type SessionWrite } from '@lambdarec/stores';

/** How the archive holds a set of accepted events. */
export interface ArchiveCheck {
  /** Accepted (202) and not archived. */
  missing: number;
  /** Archived rows beyond the first for an event id. */
  duplicated: number;
}

const CHUNK = 5_000;

/** Counts, for each accepted event id, its archived rows. */
export async function archiveCheck(pool: PgPool, eventIds: readonly string[]): Promise<ArchiveCheck> {
  let found = 0;
  let duplicated = 0;
  for (let from = 0; from < eventIds.length; from += CHUNK) {
    const { rows } = await pool.query<{ rows: string }>(
      'SELECT count(*)::text AS rows FROM events WHERE event_id = ANY($1::uuid[]) GROUP BY event_id',
      [eventIds.slice(from, from + CHUNK)],
    );
    for (const { rows: n } of rows) {
      found++;
      duplicated += Number(n) - 1;
    }
  }
  return { missing: eventIds.length - found, duplicated };
}

interface ArchivedEvent {
  event_id: string;
  user_id: string;
  type: SessionWrite['type'];
  product_id: string;
  category: string | null;
  event_time: Date;
  arrived_at: Date | null;
}

/**
 * The users whose session in Redis differs from the one the speed layer's own session store
 * builds from the archive of their events (under `referencePrefix`, removed afterwards). The
 * session encoding is canonical, so equal strings mean equal sessions. Every event of the run is
 * live and recent, so each is written as the live consumer writes it: judged on its arrival.
 */
export async function sessionsDifferingFromArchive({
  pool,
  redis,
  keyPrefix,
  referencePrefix,
  policy,
  users,
}: {
  pool: PgPool;
  redis: RedisClient;
  keyPrefix: string;
  referencePrefix: string;
  policy: SessionPolicy;
  users: readonly string[];
}): Promise<string[]> {
  const { rows } = await pool.query<ArchivedEvent>(
    `SELECT event_id::text, user_id, type, product_id, category, event_time, arrived_at
       FROM events WHERE user_id = ANY($1::text[]) ORDER BY arrived_at, kafka_offset`,
    [users],
  );
  const reference = createSessionStore({ redis, keyPrefix: referencePrefix, policy, botFlags: { add: async () => undefined } });
  const writes = rows.map((row): SessionWrite => ({
    eventId: row.event_id,
    userId: row.user_id,
    type: row.type,
    productId: row.product_id,
    category: row.category,
    at: row.event_time.getTime(),
    ...(row.arrived_at === null ? {} : { arrivedAt: row.arrived_at.getTime() }),
  }));
  for (let from = 0; from < writes.length; from += 2_000) await reference.record(writes.slice(from, from + 2_000));
  const differing: string[] = [];
  try {
    await Promise.all(
      users.map(async (userId) => {
        const [live, expected] = await Promise.all([
          redis.get(sessionKey(keyPrefix, userId)),
          redis.get(sessionKey(referencePrefix, userId)),
        ]);
        if (live !== expected) differing.push(userId);
      }),
    );
  } finally {
    // One key a call: on a Redis Cluster the users' keys live in different slots.
    await Promise.all(users.map((userId) => redis.del(sessionKey(referencePrefix, userId))));
  }
  return differing;
}

/** How many times the services logged publishing the run (each instance's log, a killed one's included). */
export function timesPublished(logLines: readonly string[], runId: string): number {
  return logLines.filter((line) => line.includes(runId) && line.includes('batch run published')).length;
}
