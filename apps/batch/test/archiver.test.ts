import { randomUUID } from 'node:crypto';
import { buildClickEvent, waitFor } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { archivedCount, pool, producer, topic, useBatchApp } from './batch-app.js';

useBatchApp();

describe('archiver', () => {
  it('archives every event once, even when it is published twice', async () => {
    const events = [buildClickEvent({ userId: 'ar-1' }), buildClickEvent({ userId: 'ar-2', type: 'purchase' })];
    const messages = events.map((e) => ({ key: e.userId, value: JSON.stringify(e) }));
    await producer.send({ topic: topic.topic, acks: -1, messages });
    await producer.send({ topic: topic.topic, acks: -1, messages });
    await producer.send({
      topic: topic.topic,
      acks: -1,
      messages: [{ key: 'ar-3', value: JSON.stringify(buildClickEvent({ userId: 'ar-3' })) }],
    });
    await waitFor(async () => ((await archivedCount('ar-3')) === 1 ? true : undefined), { what: 'the marker event' });
    await waitFor(async () => ((await archivedCount('ar-')) === 3 ? true : undefined), { what: 'all three events archived' });
    const { rows } = await pool.query('SELECT event_id FROM events WHERE user_id IN ($1, $2) ORDER BY event_id', ['ar-1', 'ar-2']);
    expect(rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.eventId).sort());
  });

  it('keeps an impression as one row per list, in the order shown, once; and a click with its recommendationId and position', async () => {
    const recommendationId = randomUUID();
    const impression = { eventId: randomUUID(), userId: 'ar-imp', type: 'impression', recommendationId, productIds: ['p3', 'p1', 'p2'] };
    const click = buildClickEvent({ userId: 'ar-imp', type: 'click', productId: 'p1', recommendationId, position: 1 });
    const messages = [impression, click].map((e) => ({ key: e.userId, value: JSON.stringify(e) }));
    await producer.send({ topic: topic.topic, acks: -1, messages });
    await producer.send({ topic: topic.topic, acks: -1, messages });
    await waitFor(async () => ((await archivedCount('ar-imp')) === 1 ? true : undefined), { what: 'the click archived' });
    const impressions = await waitFor(
      async () => {
        const { rows } = await pool.query('SELECT recommendation_id, product_ids FROM impressions WHERE user_id = $1', ['ar-imp']);
        return rows.length > 0 ? rows : undefined;
      },
      { what: 'the impression archived' },
    );
    expect(impressions).toEqual([{ recommendation_id: recommendationId, product_ids: ['p3', 'p1', 'p2'] }]);
    const { rows } = await pool.query('SELECT recommendation_id, position FROM events WHERE user_id = $1', ['ar-imp']);
    expect(rows).toEqual([{ recommendation_id: recommendationId, position: 1 }]);
  });
});
