import { createBatchRunsRepository } from '@lambdarec/stores';
import { describe, expect, it } from 'vitest';
import { app, auth, credentials, pool, queue, useBatchApp } from './batch-app.js';

useBatchApp();

describe('batch runs', () => {
  it('requires the dashboard credentials to start a run and to open Bull Board', async () => {
    expect((await app.inject({ method: 'POST', url: '/batch/runs' })).statusCode).toBe(401);
    const wrong = `Basic ${Buffer.from('ops:nope').toString('base64')}`;
    expect((await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: wrong } })).statusCode).toBe(401);
    expect((await app.inject('/admin/queues')).statusCode).toBe(401);
    const board = await app.inject({ url: '/admin/queues', headers: { authorization: auth } });
    expect(board.statusCode).toBe(200);
    expect(board.body).toMatch(/<html/i);
    const api = await app.inject({ url: '/admin/queues/api/queues', headers: { authorization: auth } });
    expect(api.json().queues[0].name).toBe(queue.name);
  });

  it('shows the runs and their daily report only with the dashboard credentials: 401 without or with wrong ones, 200 with', async () => {
    // A run record of its own (never queued), so that both answers would have one to show.
    const runId = crypto.randomUUID();
    const runs = createBatchRunsRepository({ pool });
    await runs.create({ runId, trigger: 'api', jobId: runId });
    await runs.markFailed(runId, 'never queued: a test record');
    const wrong = `Basic ${Buffer.from(`${credentials.user}:not-the-password`).toString('base64')}`;
    for (const url of ['/batch/runs', `/batch/runs/${runId}`]) {
      const anonymous = await app.inject(url);
      expect(anonymous.statusCode, `GET ${url} without credentials`).toBe(401);
      expect(anonymous.headers['www-authenticate']).toMatch(/^Basic/);
      expect(anonymous.body).not.toContain(runId);
      expect((await app.inject({ url, headers: { authorization: wrong } })).statusCode, `GET ${url} with a wrong password`).toBe(401);
      const shown = await app.inject({ url, headers: { authorization: auth } });
      expect(shown.statusCode, `GET ${url} with the credentials`).toBe(200);
      expect(shown.body).toContain(runId);
    }
  });

  it('refuses every state-changing dashboard and run route without credentials (401) and from another site (403)', async () => {
    // Every route Fastify knows, from its route tree: Bull Board's list grows with its versions.
    const mutating: Array<{ method: string; url: string }> = [];
    const stack: string[] = [];
    for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
      const match = /^((?:[│ ] {3})*)[├└]── (\S+) \(([^)]+)\)$/.exec(line);
      if (match === null) continue;
      const depth = match[1]!.length / 4;
      stack.length = depth;
      stack.push(match[2]!);
      const path = stack.join('');
      for (const method of match[3]!.split(', ')) {
        if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) continue;
        mutating.push({ method, url: path.replace(':queueName', encodeURIComponent(queue.name)).replace(/:[A-Za-z]+/g, 'x') });
      }
    }
    expect(mutating.length).toBeGreaterThan(20);
    expect(mutating).toContainEqual({ method: 'POST', url: '/batch/runs' });
    for (const { method, url } of mutating) {
      const anonymous = await app.inject({ method: method as 'POST', url, payload: {} });
      expect(anonymous.statusCode, `${method} ${url} without credentials`).toBe(401);
      const crossSite = await app.inject({
        method: method as 'POST',
        url,
        payload: {},
        headers: { authorization: auth, origin: 'https://evil.example' },
      });
      expect(crossSite.statusCode, `${method} ${url} from another site`).toBe(403);
    }
  });
});
