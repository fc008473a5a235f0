import { productEventsOf, type ConsumedEvent, type ImpressionEvent, type PartitionBatch } from '@lambdarec/contracts';
import { withTransaction, type PgClient, type PgPool } from '@lambdarec/clients';

export interface EventArchive {
  /**
   * Writes the batch and the partition's progress in one transaction; returns how many events were
   * new. Product events go to `events`, impressions to `impressions` (one row per list shown).
   */
  append(batch: PartitionBatch): Promise<number>;
  count(): Promise<number>;
}

export function createEventArchive({ pool }: { pool: PgPool }): EventArchive {
  return {
    async append({ topic, partition, events: consumed, nextOffset }) {
      const events = productEventsOf(consumed);
      const impressions = consumed.filter((e): e is ConsumedEvent<ImpressionEvent> => e.event.type === 'impression');
      return withTransaction(pool, async (client) => {
        let inserted = impressions.length > 0 ? await appendImpressions(client, topic, partition, impressions) : 0;
        if (events.length > 0) {
          // The events that were new also go into the daily aggregate, in the same statement: a
          // redelivered batch adds nothing to either. Keys are sorted so that two archivers
          // upserting the same days take their row locks in one order (no deadlock).
          const result = await client.query<{ inserted: number }>(
            `WITH inserted AS (
               INSERT INTO events (event_id, user_id, session_id, type, product_id, category, event_time, value,
                                   kafka_topic, kafka_partition, kafka_offset, arrived_at, recommendation_id, position)
               SELECT u.event_id, u.user_id, u.session_id, u.type, u.product_id, u.category, u.event_time, u.value,
                      $9::text, $10::int, u.kafka_offset, u.arrived_at, u.recommendation_id, u.position
               FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                           $8::float8[], $11::bigint[], $12::timestamptz[], $13::uuid[], $14::int[])
                    AS u(event_id, user_id, session_id, type, product_id, category, event_time, value, kafka_offset, arrived_at,
                         recommendation_id, position)
               ON CONFLICT (event_id) DO NOTHING
               RETURNING user_id, product_id, type, category, event_time
             ), daily AS (
               INSERT INTO event_daily AS d (day, user_id, product_id, type, n, last_at, category)
               SELECT (event_time AT TIME ZONE 'UTC')::date, user_id, product_id, type, count(*), max(event_time),
                      (array_agg(category ORDER BY event_time DESC) FILTER (WHERE category IS NOT NULL))[1]
               FROM inserted
               GROUP BY 1, 2, 3, 4
               ORDER BY 1, 2, 3, 4
               ON CONFLICT (day, user_id, product_id, type) DO UPDATE
                 SET n = d.n + EXCLUDED.n,
                     last_at = GREATEST(d.last_at, EXCLUDED.last_at),
                     category = CASE WHEN EXCLUDED.last_at >= d.last_at THEN COALESCE(EXCLUDED.category, d.category)
                                     ELSE COALESCE(d.category, EXCLUDED.category) END
             )
             SELECT count(*)::int AS inserted FROM inserted`,
            [
              events.map((e) => e.event.eventId),
              events.map((e) => e.event.userId),
              events.map((e) => e.event.sessionId ?? null),
              events.map((e) => e.event.type),
              events.map((e) => e.event.productId),
              events.map((e) => e.event.category ?? null),
              events.map((e) => e.eventTime.toISOString()),
              events.map((e) => e.event.value ?? null),
              topic,
              partition,
              events.map((e) => e.offset),
              // The arrival the bot guard judged; imports it never judges have none, so no flag can
              // take them out of a run.
              events.map((e) => (e.imported ? null : e.arrivedAt.toISOString())),
              events.map((e) => e.event.recommendationId ?? null),
              events.map((e) => e.event.position ?? null),
            ],
          );
          inserted += result.rows[0]?.inserted ?? 0;
        }
        await client.query(
          `INSERT INTO archive_offsets (topic, partition, next_offset) VALUES ($1, $2, $3)
           ON CONFLICT (topic, partition) DO UPDATE
             SET next_offset = GREATEST(archive_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()`,
          [topic, partition, nextOffset],
        );
        return inserted;
      });
    },

    async count() {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
      return rows[0]?.n ?? 0;
    },
  };
}

/** One row per list shown; a redelivered impression adds nothing. Returns how many were new. */
async function appendImpressions(
  client: PgClient,
  topic: string,
  partition: number,
  impressions: readonly ConsumedEvent<ImpressionEvent>[],
): Promise<number> {
  // A text[] per row cannot travel through unnest of a 2-D array (its rows would need one length),
  // so each list goes as one JSON array and is unpacked in SQL.
  const result = await client.query<{ inserted: number }>(
    `WITH inserted AS (
       INSERT INTO impressions (event_id, user_id, session_id, recommendation_id, product_ids, event_time, arrived_at,
                                kafka_topic, kafka_partition, kafka_offset)
       SELECT u.event_id, u.user_id, u.session_id, u.recommendation_id,
              ARRAY(SELECT p.id FROM jsonb_array_elements_text(u.product_ids) WITH ORDINALITY AS p(id, n) ORDER BY p.n), u.event_time, u.arrived_at, $8::text, $9::int, u.kafka_offset
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::jsonb[], $6::timestamptz[], $7::timestamptz[], $10::bigint[])
            AS u(event_id, user_id, session_id, recommendation_id, product_ids, event_time, arrived_at, kafka_offset)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING 1
     )
     SELECT count(*)::int AS inserted FROM inserted`,
    [
      impressions.map((e) => e.event.eventId),
      impressions.map((e) => e.event.userId),
      impressions.map((e) => e.event.sessionId ?? null),
      impressions.map((e) => e.event.recommendationId),
      impressions.map((e) => JSON.stringify(e.event.productIds)),
      impressions.map((e) => e.eventTime.toISOString()),
      impressions.map((e) => (e.imported ? null : e.arrivedAt.toISOString())),
      topic,
      partition,
      impressions.map((e) => e.offset),
    ],
  );
  return result.rows[0]?.inserted ?? 0;
}
