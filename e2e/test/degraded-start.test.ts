import { describe, expect, inject, it } from 'vitest';
import { waitFor } from '@lambdarec/testing';
import { freePort, spawnService } from './harness.js';

describe('serving without Postgres', () => {
  it('starts, reports postgres down on /readyz, and still answers 200 with degraded ["batch"]', async () => {
    const port = await freePort();
    const { process: child, exited, output } = spawnService('serving', {
      PORT: String(port),
      DATABASE_URL: 'postgres://lambdarec:lambdarec@127.0.0.1:1/lambdarec',
      REDIS_URL: inject('infra').redisUrl,
      REDIS_KEY_PREFIX: 'degraded-start:',
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), { what: `serving to listen:\n${output()}`, timeoutMs: 30_000 });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { down: string[] }).down).toEqual(['postgres']);
      const answer = await fetch(`${base}/recommendations/u-1`);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ userId: 'u-1', items: [], sources: { batchRunId: null }, degraded: ['batch'] });
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
