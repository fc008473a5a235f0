import type { Experiment } from '@lambdarec/contracts';
import { encodeRecommendationId } from '@lambdarec/domain';
import type { AttributedAction, ShownList } from '@lambdarec/stores';
import { describe, expect, it } from 'vitest';
import { createExperimentTally, seriesBucketFor, summaryOf } from './experiment-report.js';
import { escapeHtml, renderCtrChart, renderExperimentsPage } from './experiments-page.js';

const variants: Experiment['variants'] = [
  { name: 'base', weight: 1, strategy: 'lambda', params: {} },
  { name: 'chal', weight: 1, strategy: 'batch-only', params: {} },
];
const shownAt = new Date('2026-12-01T10:15:00Z');
const idWith = (variantIndex: number, firstCoins = 0, seed = 1) => {
  const bytes = new Uint8Array(16).fill(seed);
  // Bytes 10–15 are team-draft coins: 0 lets the baseline pick first in every round.
  bytes.fill(0, 10);
  bytes[10] = firstCoins;
  return encodeRecommendationId(bytes, { tag: 7, variantIndex });
};
const list = (userId: string, recommendationId: string, items: number): ShownList => ({ userId, recommendationId, items, shownAt });
const action = (userId: string, recommendationId: string, overrides: Partial<AttributedAction> = {}): AttributedAction => ({
  userId,
  type: 'click',
  recommendationId,
  position: 0,
  value: 0,
  shownAt,
  throughClick: false,
  ...overrides,
});
const REPORT_SPAN = { experimentId: 'exp', since: '2026-12-01T00:00:00.000Z', until: '2026-12-02T00:00:00.000Z' };

describe('the experiment tally', () => {
  it('in an A/B test, credits each list and action to the variant its recommendationId carries', () => {
    const tally = createExperimentTally({ mode: 'ab', variants }, 'hour');
    const [a, b, stray] = [idWith(0, 0, 1), idWith(1, 0, 2), idWith(5, 0, 3)];
    tally.add({ kind: 'lists', rows: [list('u1', a, 4), list('u2', b, 3), list('u3', stray, 9)] });
    tally.add({
      kind: 'actions',
      rows: [
        action('u1', a),
        action('u1', a, { type: 'add_to_cart' }),
        action('u2', b, { type: 'purchase', value: 0.1, position: null }),
        action('u2', b, { type: 'purchase', value: 0.2, throughClick: true }),
        action('u3', stray),
      ],
    });
    const report = tally.report(REPORT_SPAN);
    expect(report.variants.map(({ ctrInterval: _interval, ...counts }) => counts)).toEqual([
      { name: 'base', users: 1, impressions: 1, itemsShown: 4, clicks: 1, ctr: 0.25, addToCarts: 1, purchases: 0, revenue: 0 },
      { name: 'chal', users: 1, impressions: 1, itemsShown: 3, clicks: 0, ctr: 0, addToCarts: 0, purchases: 2, revenue: 0.3 },
    ]);
    expect(report.interleaving).toBeUndefined();
    expect(report.series).toEqual({
      bucket: 'hour',
      points: [
        {
          at: '2026-12-01T10:00:00.000Z',
          variants: [
            expect.objectContaining({ name: 'base', itemsShown: 4, clicks: 1 }),
            expect.objectContaining({ name: 'chal', itemsShown: 3 }),
          ],
        },
      ],
    });
    expect(summaryOf(report).variants[1]).not.toHaveProperty('ctrInterval');
  });

  it('in an interleaved test, credits each item to the team that placed it and scores each clicked list', () => {
    const tally = createExperimentTally({ mode: 'interleave', variants }, 'hour');
    // Baseline first in every round: positions 0, 2 are the baseline's, 1, 3 the challenger's.
    const won = idWith(0, 0x00, 1);
    // Challenger first in rounds 0–7: positions 0, 2 are the challenger's.
    const tied = idWith(0, 0xff, 2);
    const lost = idWith(0, 0x00, 3);
    tally.add({ kind: 'lists', rows: [list('u1', won, 4), list('u2', tied, 4), list('u2', lost, 2)] });
    tally.add({
      kind: 'actions',
      rows: [
        action('u1', won, { position: 1 }),
        action('u1', won, { position: 3 }),
        action('u1', won, { position: 0 }),
        action('u1', won, { type: 'purchase', position: 1, value: 3 }),
        // The product is not in the list and the event gave no position: neither team's.
        action('u1', won, { type: 'purchase', position: null, value: 50, throughClick: true }),
        action('u2', tied, { position: 0 }),
        action('u2', tied, { position: 1 }),
        action('u2', lost, { position: 0 }),
      ],
    });
    const report = tally.report(REPORT_SPAN);
    expect(
      report.variants.map(({ name, users, impressions, itemsShown, clicks, purchases, revenue }) => ({
        name,
        users,
        impressions,
        itemsShown,
        clicks,
        purchases,
        revenue,
      })),
    ).toEqual([
      { name: 'base', users: 2, impressions: 3, itemsShown: 5, clicks: 3, purchases: 0, revenue: 0 },
      { name: 'chal', users: 2, impressions: 3, itemsShown: 5, clicks: 3, purchases: 1, revenue: 3 },
    ]);
    expect(report.interleaving).toMatchObject({ wins: 1, losses: 1, ties: 1, preference: 0, verdict: 'no-difference-yet' });
  });

  it('charts by the hour up to three days, by the day beyond', () => {
    const day = 24 * 60 * 60 * 1000;
    expect(seriesBucketFor(0, 3 * day)).toBe('hour');
    expect(seriesBucketFor(0, 3 * day + 1)).toBe('day');
  });
});

describe('the experiments page', () => {
  const experiment: Experiment = {
    experimentId: 'x"><script>alert(1)</script>',
    mode: 'ab',
    status: 'running',
    variants: [{ ...variants[0]!, name: '<b>base</b>' }, variants[1]!],
    tag: 1,
    createdAt: REPORT_SPAN.since,
    startedAt: REPORT_SPAN.since,
    stoppedAt: null,
  };

  it('escapes everything it renders', () => {
    expect(escapeHtml(`<a href="x" title='y'>&`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;');
    const tally = createExperimentTally(experiment, 'hour');
    tally.add({ kind: 'lists', rows: [list('u1', idWith(0), 3)] });
    const html = renderExperimentsPage({ experiments: [experiment], shown: experiment, report: tally.report(REPORT_SPAN) });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>base</b>');
    expect(html).toContain('&lt;b&gt;base&lt;/b&gt;');
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('draws a line and an interval band per variant', () => {
    const point = (at: string, ctr: number) => ({
      at,
      variants: variants.map((v) => ({
        name: v.name,
        itemsShown: 10,
        clicks: 1,
        ctr,
        ctrInterval: [ctr / 2, ctr * 2] as [number, number],
      })),
    });
    const svg = renderCtrChart({
      bucket: 'hour',
      points: [point('2026-12-01T10:00:00.000Z', 0.1), point('2026-12-01T11:00:00.000Z', 0.2)],
    });
    expect(svg.match(/<polygon class="band"/g)).toHaveLength(2);
    expect(svg.match(/<polyline class="ctr"/g)).toHaveLength(2);
    expect(renderCtrChart({ bucket: 'day', points: [] })).toContain('No lists shown yet');
  });
});
