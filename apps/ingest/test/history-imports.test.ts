import { HISTORY_IMPORT_HEADER } from '@lambdarec/contracts';
import { buildClickEvent } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { app, CATALOG_KEY, catalogAuth, onTopic, useIngestApp } from './ingest-app.js';

useIngestApp();

describe('how far back an event may be dated', () => {
  const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3_600_000).toISOString();

  it('answers 400 naming the field for an event dated 8 days ago, and accepts one dated 2 days ago', async () => {
    const stale = buildClickEvent({ timestamp: daysAgo(8) });
    const refused = await app.inject({ method: 'POST', url: '/events', payload: [buildClickEvent(), stale] });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().issues).toEqual([expect.objectContaining({ path: [1, 'timestamp'] })]);
    expect(refused.json().message).toMatch(/^1\.timestamp: more than 168 hours ago; history imports authenticate with the operator key/);
    const recent = await app.inject({ method: 'POST', url: '/events', payload: buildClickEvent({ timestamp: daysAgo(2) }) });
    expect(recent.statusCode).toBe(202);
    const message = await onTopic(recent.json().eventIds[0]);
    expect(message.headers?.[HISTORY_IMPORT_HEADER]).toBeUndefined();
  });

  it('with the operator key, takes a history import dated back to 2010, and its records carry the history-import header', async () => {
    const old = buildClickEvent({ userId: 'importer', timestamp: '2010-12-01T08:26:00.000Z' });
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      headers: catalogAuth,
      payload: { events: [old, buildClickEvent({ userId: 'importer', timestamp: daysAgo(8) })] },
    });
    expect(res.statusCode).toBe(202);
    const message = await onTopic(old.eventId);
    expect(message.headers?.[HISTORY_IMPORT_HEADER]?.toString()).toBe('1');
    expect(JSON.parse(message.value!.toString()).timestamp).toBe('2010-12-01T08:26:00.000Z');
  });

  it('answers 401 to a wrong key or another scheme, even for a recent event (never the open path)', async () => {
    for (const authorization of ['Bearer not-the-operator-key', `Basic ${Buffer.from(`admin:${CATALOG_KEY}`).toString('base64')}`]) {
      const res = await app.inject({ method: 'POST', url: '/events', headers: { authorization }, payload: buildClickEvent() });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('LREC_UNAUTHORIZED');
    }
  });
});
