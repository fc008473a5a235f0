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
});
