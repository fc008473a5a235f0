import { randomBytes, randomUUID } from 'node:crypto';
import type { ClickEvent, ExperimentDefinition, ImpressionEvent } from '@lambdarec/contracts';
import { encodeRecommendationId } from '@lambdarec/domain';
import { waitFor } from '@lambdarec/testing';
import { describe, expect, it } from 'vitest';
import { app, auth, botFlags, pool, producer, topic, useBatchApp, waitForRun } from './batch-app.js';

useBatchApp();

const AB: ExperimentDefinition = {
  mode: 'ab',
  status: 'running',
  variants: [
    { name: 'control', weight: 1, strategy: 'lambda', params: {} },
    { name: 'popular', weight: 1, strategy: 'popular', params: {} },
  ],
};

const put = (experimentId: string, body: unknown, headers: Record<string, string> = { authorization: auth }) =>
  app.inject({ method: 'PUT', url: `/experiments/${experimentId}`, headers, payload: body as object });

const HOUR = 60 * 60 * 1000;
const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

describe('experiments API', () => {
  it('answers 401 without the dashboard credentials, and 403 to a state change from another site', async () => {
    expect((await app.inject({ url: '/experiments' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/admin/experiments' })).statusCode).toBe(401);
    expect((await put('guarded', AB, {})).statusCode).toBe(401);
    const crossSite = await put('guarded', AB, { authorization: auth, origin: 'https://evil.example' });
    expect(crossSite.statusCode).toBe(403);
    expect((await app.inject({ url: '/experiments/guarded/report', headers: { authorization: auth } })).statusCode).toBe(404);
  });

  it('answers 400 naming the field of a bad definition, and stores nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...AB, variants: [AB.variants[0], { ...AB.variants[1], name: 'control' }] }, 'body.variants.1.name'],
      [{ ...AB, variants: AB.variants.map((v) => ({ ...v, weight: 0 })) }, 'body.variants'],
      [{ ...AB, variants: [AB.variants[0], { ...AB.variants[1], strategy: 'magic' }] }, 'body.variants.1.strategy'],
      [{ ...AB, mode: 'interleave', variants: [...AB.variants, { ...AB.variants[0], name: 'third' }] }, 'body.variants'],
      [{ ...AB, mode: 'bandit' }, 'body.mode'],
      [
        { ...AB, mode: 'interleave', variants: [AB.variants[0], { ...AB.variants[1], params: { DIVERSITY: 0.3 } }] },
        'body.variants.1.params.DIVERSITY',
      ],
    ];
    for (const [body, field] of cases) {
      const res = await put('bad', body);
      expect(res.statusCode, field).toBe(400);
      expect(res.json().message, field).toContain(field);
    }
    expect((await app.inject({ url: '/experiments', headers: { authorization: auth } })).json()).toEqual({ experiments: [] });
  });

  it('creates, refuses a second running one, freezes a started design, stops and starts again', async () => {
    const created = await put('first', AB);
    expect(created.statusCode).toBe(200);
    const first = created.json();
    expect(first).toMatchObject({ experimentId: 'first', mode: 'ab', status: 'running', stoppedAt: null });
    expect(first.startedAt).not.toBeNull();
    expect(first.tag).toBeGreaterThan(0);

    const second = await put('second', AB);
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ code: 'LREC_EXPERIMENT_ALREADY_RUNNING' });
    expect(second.json().message).toContain('first');
    // Refused creations draw no tag: a script retrying one cannot use up the 65,535 tags.
    for (const id of ['refused-1', 'refused-2']) expect((await put(id, AB)).statusCode).toBe(409);
    // Created stopped, it may wait its turn.
    const waiting = await put('second', { ...AB, status: 'stopped' });
    expect(waiting.statusCode).toBe(200);
    expect(waiting.json().tag).toBe(first.tag + 1);

    const redesigned = await put('first', { ...AB, variants: [AB.variants[0], { ...AB.variants[1], weight: 3 }] });
    expect(redesigned.statusCode).toBe(409);
    expect(redesigned.json()).toMatchObject({ code: 'LREC_EXPERIMENT_FROZEN' });
    expect(redesigned.json().message).toContain('create a new experiment');

    const stopped = (await put('first', { ...AB, status: 'stopped' })).json();
    expect(stopped).toMatchObject({ status: 'stopped', startedAt: first.startedAt, tag: first.tag });
    expect(stopped.stoppedAt).not.toBeNull();
    const restarted = (await put('first', AB)).json();
    expect(restarted).toMatchObject({ status: 'running', startedAt: first.startedAt, stoppedAt: null, tag: first.tag });

    const list = (await app.inject({ url: '/experiments', headers: { authorization: auth } })).json();
    expect(list.experiments.map((e: { experimentId: string; status: string }) => [e.experimentId, e.status])).toEqual([
      ['second', 'stopped'],
      ['first', 'running'],
    ]);
    expect((await put('first', { ...AB, status: 'stopped' })).statusCode).toBe(200);
  });

  it('of simultaneous starts of two experiments, exactly one runs (the database decides)', async () => {
    const answers = await Promise.all(['race-a', 'race-b', 'race-c'].map((id) => put(id, AB)));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409, 409]);
    const winner = answers.find((a) => a.statusCode === 200)!.json().experimentId;
    expect((await put(winner, { ...AB, status: 'stopped' })).statusCode).toBe(200);
  });

  it('answers 409 once all 65,535 tags are used, stores nothing, and still changes an experiment that has its tag', async () => {
    expect((await put('tagged-before', { ...AB, status: 'stopped' })).statusCode).toBe(200);
    const { rows } = await pool.query<{ last_value: string; is_called: boolean }>('SELECT last_value, is_called FROM experiment_tags');
    // The next experiment would need tag 65,536: every recommendationId range is taken.
    await pool.query(`SELECT setval('experiment_tags', 65535)`);
    try {
      const res = await put('one-too-many', { ...AB, status: 'stopped' });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'LREC_EXPERIMENT_TAGS_USED_UP' });
      expect(res.json().message).toContain('65,535');
      const listed = (await app.inject({ url: '/experiments', headers: { authorization: auth } })).json();
      expect(listed.experiments.map((e: { experimentId: string }) => e.experimentId)).not.toContain('one-too-many');
      const started = await put('tagged-before', AB);
      expect(started.statusCode).toBe(200);
      expect((await put('tagged-before', { ...AB, status: 'stopped' })).statusCode).toBe(200);
    } finally {
      await pool.query(`SELECT setval('experiment_tags', $1, $2)`, [rows[0]!.last_value, rows[0]!.is_called]);
      await put('tagged-before', { ...AB, status: 'stopped' });
    }
  });
});

describe('the experiment report', () => {
  it('counts attributed events once per eventId, leaves out flagged users, and rides along in the next run', async () => {
    const { tag } = (await put('report', AB)).json();
    const listOf = (variantIndex: number) => encodeRecommendationId(randomBytes(16), { tag, variantIndex });
    const event = (overrides: Partial<ClickEvent>): ClickEvent => ({
      eventId: randomUUID(),
      userId: 'x',
      type: 'click',
      productId: 'x',
      ...overrides,
    });
    const impression = (userId: string, recommendationId: string, productIds: string[], timestamp: string): ImpressionEvent => ({
      eventId: randomUUID(),
      type: 'impression',
      userId,
      recommendationId,
      productIds,
      timestamp,
    });
    const [a1, b1, b2, bot] = [listOf(0), listOf(1), listOf(1), listOf(0)];
    const click = event({ userId: 'rep-a1', productId: 'p2', recommendationId: a1, position: 1, timestamp: at(3 * HOUR) });
    const events = [
      impression('rep-a1', a1, ['p1', 'p2', 'p3'], at(3 * HOUR)),
      click,
      event({ userId: 'rep-a1', type: 'add_to_cart', productId: 'p2', recommendationId: a1, timestamp: at(3 * HOUR) }),
      event({ userId: 'rep-a1', type: 'purchase', productId: 'p2', recommendationId: a1, value: 10, timestamp: at(3 * HOUR) }),
      impression('rep-b1', b1, ['p1', 'p2'], at(2 * HOUR)),
      event({ userId: 'rep-b1', productId: 'p1', recommendationId: b1, position: 0, timestamp: at(2 * HOUR) }),
      // Bought an hour after clicking it on the list: credited to that list's variant.
      event({ userId: 'rep-b1', type: 'purchase', productId: 'p1', value: 5.5, timestamp: at(HOUR) }),
      // Never clicked on a list: nobody's.
      event({ userId: 'rep-b1', type: 'purchase', productId: 'p9', value: 99, timestamp: at(HOUR) }),
      impression('rep-b2', b2, ['p4'], at(31 * HOUR)),
      event({ userId: 'rep-b2', productId: 'p4', recommendationId: b2, timestamp: at(31 * HOUR) }),
      // 30 hours after the click: outside the 24-hour window.
      event({ userId: 'rep-b2', type: 'purchase', productId: 'p4', value: 7, timestamp: at(HOUR) }),
      impression('rep-bot', bot, ['p1', 'p2'], at(HOUR)),
      event({ userId: 'rep-bot', productId: 'p1', recommendationId: bot, position: 0, timestamp: at(HOUR) }),
    ];
    // The click again, redelivered with its eventId: archived once.
    const messages = [...events, click].map((e) => ({ key: e.userId, value: JSON.stringify(e) }));
    await producer.send({ topic: topic.topic, acks: -1, messages });
    await waitFor(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM events WHERE user_id LIKE 'rep-%') + (SELECT count(*) FROM impressions WHERE user_id LIKE 'rep-%') AS n`,
        );
        return Number(rows[0]!.n) === events.length ? true : undefined;
      },
      { what: 'the events archived' },
    );
    // Flagged by the speed layer a moment ago, in Redis only: the report copies the ledger first.
    await botFlags.add([{ userId: 'rep-bot', reason: 'rate', from: Date.now() - 1000, until: Date.now() + 60_000 }]);

    const res = await app.inject({ url: '/experiments/report/report', headers: { authorization: auth } });
    expect(res.statusCode).toBe(200);
    const report = res.json();
    const counts = report.variants.map(({ ctr: _ctr, ctrInterval: _interval, ...rest }: Record<string, unknown>) => rest);
    expect(counts).toEqual([
      { name: 'control', users: 1, impressions: 1, itemsShown: 3, clicks: 1, addToCarts: 1, purchases: 1, revenue: 10 },
      { name: 'popular', users: 2, impressions: 2, itemsShown: 3, clicks: 2, addToCarts: 0, purchases: 1, revenue: 5.5 },
    ]);
    expect(report.variants[0].ctr).toBeCloseTo(1 / 3);
    expect(report).toMatchObject({ experimentId: 'report', mode: 'ab', comparison: { baseline: 'control', challenger: 'popular' } });
    expect(report.series.bucket).toBe('hour');
    expect(report.series.points.length).toBeGreaterThan(0);

    const page = await app.inject({ url: '/admin/experiments', headers: { authorization: auth } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<svg class="ctr-chart"');
    expect(page.body).toContain('data-variant="popular"');
    // Its buttons start and stop experiments: no other site may frame it under the operator's cursor.
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    const board = await app.inject({ url: '/admin/queues', headers: { authorization: auth } });
    expect(board.headers['x-frame-options']).toBe('DENY');

    // A run while the experiment runs carries its summary.
    const started = await app.inject({ method: 'POST', url: '/batch/runs', headers: { authorization: auth } });
    const run = await waitForRun(started.json().runId);
    expect(run.status).toBe('succeeded');
    expect(run.stats.experiment).toMatchObject({
      experimentId: 'report',
      variants: [
        { name: 'control', clicks: 1 },
        { name: 'popular', clicks: 2 },
      ],
    });
    expect((await put('report', { ...AB, status: 'stopped' })).statusCode).toBe(200);
  });
});
