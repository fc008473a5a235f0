import { randomUUID } from 'node:crypto';
import { createPgPool } from '@lambdarec/clients';
import { computeBatchModel, DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import { buildClickEvent, buildProduct, createTestDatabase } from '@lambdarec/testing';
import { describe, expect, inject, it } from 'vitest';
import { createArchiveReader } from '../src/archive-reader.js';
import { createBatchRunsRepository } from '../src/batch-runs-repository.js';
import { createBatchViewReader } from '../src/batch-view-reader.js';
import { createCatalogListing } from '../src/catalog-listing.js';
import { createCatalogRepository, unseenByEither } from '../src/catalog-repository.js';
import { createEventArchive } from '../src/event-archive.js';
import { runMigrations } from '../src/migrations.js';
import { publishWholeModel } from '../src/whole-model.js';
import { log, pool, useMigratedPostgres } from './migrated-postgres.js';

useMigratedPostgres();

const archived = (event = buildClickEvent(), offset = '0') => ({
  event,
  eventTime: new Date(event.timestamp!),
  arrivedAt: new Date(event.timestamp!),
  imported: true,
  offset,
});

describe('event archive', () => {
  it('stores every event once, however often it is appended', async () => {
    const archive = createEventArchive({ pool });
    const events = [archived(buildClickEvent({ userId: 'a1' }), '10'), archived(buildClickEvent({ userId: 'a1' }), '11')];
    expect(await archive.append({ topic: 't-once', partition: 0, events, nextOffset: '12' })).toBe(2);
    expect(await archive.append({ topic: 't-once', partition: 0, events, nextOffset: '12' })).toBe(0);
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM events WHERE user_id = 'a1'");
    expect(rows[0].n).toBe(2);
  });

  it('records how far each partition got, never moving back', async () => {
    const archive = createEventArchive({ pool });
    await archive.append({ topic: 't-progress', partition: 2, events: [archived()], nextOffset: '40' });
    await archive.append({ topic: 't-progress', partition: 2, events: [], nextOffset: '30' });
    const { rows } = await pool.query("SELECT next_offset FROM archive_offsets WHERE topic = 't-progress' AND partition = 2");
    expect(rows[0].next_offset).toBe(40);
  });
});

describe('catalog listing', () => {
  it('lists categories with their counts, products by category (sold-out ones only when asked) and products by id', async () => {
    const own = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
    const ownPool = createPgPool({ url: own.url, log, applicationName: 'test' });
    try {
      await createCatalogRepository({ pool: ownPool }).upsert([
        buildProduct({ productId: 'l1', category: 'lamps', title: 'Arc' }),
        buildProduct({ productId: 'l2', category: 'lamps', title: 'Bulb', inStock: false }),
        buildProduct({ productId: 'r1', category: 'rugs', title: 'Kilim' }),
      ]);
      const listing = createCatalogListing({ pool: ownPool });
      expect(await listing.categories()).toEqual([
        { category: 'lamps', products: 2 },
        { category: 'rugs', products: 1 },
      ]);
      expect((await listing.products({ category: 'lamps', limit: 10 })).map((p) => [p.productId, p.inStock])).toEqual([
        ['l1', true],
        ['l2', false],
      ]);
      expect((await listing.products({ limit: 10, inStockOnly: true })).map((p) => p.productId)).toEqual(['l1', 'r1']);
      expect([...(await listing.byIds(['r1', 'nope'])).keys()]).toEqual(['r1']);
    } finally {
      await ownPool.end();
      await own.drop();
    }
  });
});

describe('catalog', () => {
  it('upserts products and answers their facts; unknown products are absent', async () => {
    const catalog = createCatalogRepository({ pool });
    await catalog.upsert([buildProduct({ productId: 'c1', category: 'hats' }), buildProduct({ productId: 'c2', inStock: false })]);
    await catalog.upsert([buildProduct({ productId: 'c1', category: 'caps' })]);
    const facts = await catalog.facts(['c1', 'c2', 'unknown']);
    expect(facts.get('c1')).toEqual({ category: 'caps', inStock: true });
    expect(facts.get('c2')).toEqual({ category: 'shoes', inStock: false });
    expect(facts.has('unknown')).toBe(false);
  });

  const rowOf = async (productId: string) =>
    (await pool.query('SELECT category, title, price, in_stock FROM products WHERE product_id = $1', [productId])).rows[0];

  it('a partial upsert sets the fields it sends and keeps the category, title, price and stock it leaves out', async () => {
    const catalog = createCatalogRepository({ pool });
    await catalog.upsert([buildProduct({ productId: 'k1', category: 'hats', title: 'Felt hat', price: 40, inStock: false })]);
    await catalog.upsert([{ productId: 'k1', price: 35 }]);
    expect(await rowOf('k1')).toEqual({ category: 'hats', title: 'Felt hat', price: 35, in_stock: false });
    await catalog.upsert([{ productId: 'k1', category: 'caps', inStock: true }]);
    expect(await rowOf('k1')).toEqual({ category: 'caps', title: 'Felt hat', price: 35, in_stock: true });
  });

  it('when a product was marked sold out, a price-only update keeps it sold out', async () => {
    const catalog = createCatalogRepository({ pool });
    await catalog.upsert([{ productId: 'k2', category: 'tea' }]);
    await catalog.upsert([{ productId: 'k2', inStock: false }]);
    await catalog.upsert([{ productId: 'k2', price: 9 }]);
    expect((await catalog.facts(['k2'])).get('k2')).toEqual({ category: 'tea', inStock: false });
    expect(await rowOf('k2')).toMatchObject({ price: 9, in_stock: false });
  });

  it('a new product sent without inStock is in stock, and its unsent fields are empty', async () => {
    const catalog = createCatalogRepository({ pool });
    await catalog.upsert([
      { productId: 'k3', price: 5 },
      { productId: 'k4', inStock: false },
    ]);
    expect(await rowOf('k3')).toEqual({ category: null, title: null, price: 5, in_stock: true });
    expect(await rowOf('k4')).toEqual({ category: null, title: null, price: null, in_stock: false });
  });

  it('when a productId occurs twice in one request, the result is as if they were sent one after the other', async () => {
    const catalog = createCatalogRepository({ pool });
    await catalog.upsert([{ productId: 'k5', category: 'socks', inStock: false }]);
    expect(
      await catalog.upsert([
        { productId: 'k5', inStock: true, price: 1 },
        { productId: 'k5', price: 2 },
      ]),
    ).toBe(2);
    expect(await rowOf('k5')).toEqual({ category: 'socks', title: null, price: 2, in_stock: true });
  });
});

describe('catalog changes', () => {
  it('each look answers the writes the previous snapshot could not see, once a transaction open for any length commits', async () => {
    const own = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
    const ownPool = createPgPool({ url: own.url, log, applicationName: 'test' });
    const long = await ownPool.connect();
    try {
      const catalog = createCatalogRepository({ pool: ownPool });
      await catalog.upsert([buildProduct({ productId: 'old', category: 'mugs' }), buildProduct({ productId: 'slow', category: 'mugs' })]);
      // No earlier snapshot: nothing, and the snapshot to look from next.
      const first = await catalog.changesSince(undefined);
      expect(first.changes.size).toBe(0);
      await catalog.upsert([buildProduct({ productId: 'new', category: 'mugs' }), { productId: 'old', inStock: false }]);
      const second = await catalog.changesSince(first.snapshot);
      expect(second.changes).toEqual(
        new Map([
          ['new', { category: 'mugs', inStock: true }],
          ['old', { category: 'mugs', inStock: false }],
        ]),
      );
      // A transaction that writes and stays open while looks go on (its clock stamp, now(), is
      // its start: here ten minutes ago, as for a transaction open that long).
      await long.query('BEGIN');
      await long.query("UPDATE products SET in_stock = false, updated_at = now() - interval '10 minutes' WHERE product_id = 'slow'");
      await catalog.upsert([{ productId: 'new', price: 3 }]);
      const third = await catalog.changesSince(second.snapshot);
      expect([...third.changes.keys()]).toEqual(['new']);
      expect([...(await catalog.changesSince(third.snapshot)).changes.keys()]).toEqual([]);
      await long.query('COMMIT');
      // Found from the snapshot that saw it running, and only what that snapshot did not see.
      const fourth = await catalog.changesSince(third.snapshot);
      expect(fourth.changes).toEqual(new Map([['slow', { category: 'mugs', inStock: false }]]));
      expect((await catalog.changesSince(fourth.snapshot)).changes.size).toBe(0);
    } finally {
      await long.query('ROLLBACK').catch(() => undefined);
      long.release();
      await ownPool.end();
      await own.drop();
    }
  });

  it('a read of facts gives the snapshot it ran in: a look from it finds what the read could not see', async () => {
    const catalog = createCatalogRepository({ pool });
    await catalog.upsert([buildProduct({ productId: 'snap-1', category: 'mugs' })]);
    const read = await catalog.factsWithSnapshot(['snap-1', 'snap-unknown']);
    expect(read.facts).toEqual(new Map([['snap-1', { category: 'mugs', inStock: true }]]));
    await catalog.upsert([{ productId: 'snap-1', inStock: false }, buildProduct({ productId: 'snap-unknown', category: 'cups' })]);
    const look = await catalog.changesSince(read.snapshot);
    expect(look.changes.get('snap-1')).toEqual({ category: 'mugs', inStock: false });
    expect(look.changes.get('snap-unknown')).toEqual({ category: 'cups', inStock: true });
  });

  it('the snapshots of two reads combine into what either could not see', () => {
    expect(unseenByEither({ xmax: 20n, inProgress: [12n, 15n] }, { xmax: 14n, inProgress: [9n, 12n] })).toEqual({
      xmax: 14n,
      inProgress: [12n, 9n],
    });
    expect(unseenByEither(undefined, { xmax: 3n, inProgress: [] })).toEqual({ xmax: 3n, inProgress: [] });
    expect(unseenByEither(undefined, undefined)).toBeUndefined();
  });
});

describe('batch runs', () => {
  it('allows one active run at a time and names the active one', async () => {
    const runs = createBatchRunsRepository({ pool });
    const first = randomUUID();
    expect(await runs.create({ runId: first, trigger: 'test' })).toEqual({ created: true });
    expect(await runs.create({ runId: randomUUID(), trigger: 'test' })).toEqual({ created: false, activeRunId: first });
    await runs.markFailed(first, 'test over');
    expect((await runs.get(first))?.status).toBe('failed');
    expect(await runs.create({ runId: randomUUID(), trigger: 'test' })).toMatchObject({ created: true });
    for (const run of await runs.active()) await runs.markFailed(run.runId, 'test over');
  });

  it('publishes a run atomically: the view switches from the old run to the new one', async () => {
    const runs = createBatchRunsRepository({ pool });
    const view = createBatchViewReader({ pool });
    const archive = createEventArchive({ pool });
    const reader = createArchiveReader({ pool });
    const t = Date.now();
    await archive.append({
      topic: 't-publish',
      partition: 0,
      nextOffset: '4',
      events: [
        archived(buildClickEvent({ userId: 'v1', productId: 'x', timestamp: new Date(t).toISOString() }), '0'),
        archived(buildClickEvent({ userId: 'v1', productId: 'y', timestamp: new Date(t).toISOString() }), '1'),
        archived(buildClickEvent({ userId: 'v2', productId: 'x', timestamp: new Date(t).toISOString() }), '2'),
        archived(buildClickEvent({ userId: 'v2', productId: 'y', timestamp: new Date(t + 5).toISOString() }), '3'),
      ],
    });

    const publishOne = async () => {
      const runId = randomUUID();
      await runs.create({ runId, trigger: 'test' });
      await runs.markRunning(runId);
      const input = await reader.freezeInput(runId, { historyDays: 365, maxItemsPerUser: 100, now: Date.now() });
      const interactions = [];
      for await (const user of reader.users(runId)) interactions.push(...user.rows);
      const model = computeBatchModel(interactions, Date.parse(input.watermark.maxEventTime!), DEFAULT_BATCH_POLICY);
      await publishWholeModel({ pool, runs }, runId, model, { eventsRead: input.eventsRead }, input.watermark);
      return { runId, input };
    };

    const { runId: firstRun, input } = await publishOne();
    expect(input.watermark.offsets['t-publish']).toEqual({ '0': '4' });
    expect(input.watermark.maxEventTime).toBe(new Date(t + 5).toISOString());
    expect((await view.publishedRun())?.runId).toBe(firstRun);
    expect((await view.userItems(firstRun, 'v1')).map((i) => i.productId)).toContain('y');

    const { runId: secondRun } = await publishOne();
    expect((await view.publishedRun())?.runId).toBe(secondRun);
    expect(await runs.get(secondRun)).toMatchObject({ status: 'succeeded', published: true });
    expect((await view.similarItems(secondRun, ['x'])).get('x')?.[0]?.productId).toBe('y');
    expect((await view.popularItems(secondRun)).length).toBeGreaterThan(0);
    // The builder's events are all shoes (other tests' too): the category's list holds both products.
    expect((await view.categoryPopular(secondRun)).get('shoes')?.map((c) => c.productId)).toEqual(expect.arrayContaining(['x', 'y']));
  });

  it("freezes each purchased product's days (the re-buy vector's baskets), once a day however often it was bought", async () => {
    const runs = createBatchRunsRepository({ pool });
    const archive = createEventArchive({ pool });
    const reader = createArchiveReader({ pool });
    const user = `days-${randomUUID()}`;
    const DAY = 24 * 60 * 60 * 1000;
    const today = Math.floor(Date.now() / DAY);
    const at = (day: number, ms = 0) => new Date(day * DAY + ms).toISOString();
    const event = (productId: string, type: 'purchase' | 'view', timestamp: string, offset: string) =>
      archived(buildClickEvent({ userId: user, productId, type, timestamp }), offset);
    await archive.append({
      topic: `t-days-${user}`,
      partition: 0,
      nextOffset: '6',
      // Archived latest first, and a third day: three baskets of tea, ascending.
      events: [
        event('tea', 'purchase', at(today - 2), '0'),
        event('tea', 'purchase', at(today - 9), '1'),
        event('tea', 'purchase', at(today - 2, 1000), '2'),
        event('mug', 'purchase', at(today - 2), '3'),
        event('tea', 'view', at(today - 30), '4'),
        event('tea', 'purchase', at(today - 5), '5'),
      ],
    });
    const runId = randomUUID();
    await runs.create({ runId, trigger: 'test' });
    await runs.markRunning(runId);
    await reader.freezeInput(runId, { historyDays: 365, maxItemsPerUser: 100, now: Date.now() });
    const rows = [];
    for await (const history of reader.users(runId)) if (history.userId === user) rows.push(...history.rows);
    expect(rows.map((row) => [row.productId, row.type, row.count, row.purchaseDays])).toEqual([
      ['mug', 'purchase', 1, [today - 2]],
      ['tea', 'purchase', 4, [today - 9, today - 5, today - 2]],
      ['tea', 'view', 1, undefined],
    ]);
    await reader.dropInput(runId);
    await runs.markFailed(runId, 'test over');
  });

  it('a run that fails while publishing changes nothing that is served', async () => {
    const runs = createBatchRunsRepository({ pool });
    const view = createBatchViewReader({ pool });
    const before = await view.publishedRun();
    const runId = randomUUID();
    await runs.create({ runId, trigger: 'test' });
    // Never marked running: publish must refuse, and roll back everything it wrote.
    const model = computeBatchModel(
      [{ userId: 'z', productId: 'q', type: 'view', count: 1, lastAt: 0, category: null }],
      0,
      DEFAULT_BATCH_POLICY,
    );
    await expect(publishWholeModel({ pool, runs }, runId, model)).rejects.toThrow(/no longer running/);
    expect(await view.publishedRun()).toEqual(before);
    expect(await view.popularItems(runId)).toEqual([]);
    await runs.markFailed(runId, 'test over');
  });
});

describe('daily report', () => {
  it('reports the newest day: events by type, new and returning users, top products and categories with the catalog winning', async () => {
    const own = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
    const ownPool = createPgPool({ url: own.url, log, applicationName: 'test' });
    try {
      const day = Date.parse('2026-03-10T12:00:00Z');
      const earlier = day - 3 * 24 * 60 * 60 * 1000;
      const at = (time: number) => new Date(time).toISOString();
      const events = [
        // r-old shopped days ago and returns today; r-new appears today for the first time.
        buildClickEvent({ userId: 'r-old', productId: 'mug', category: 'kitchen', timestamp: at(earlier) }),
        buildClickEvent({ userId: 'r-old', productId: 'mug', category: 'kitchen', type: 'purchase', timestamp: at(day) }),
        buildClickEvent({ userId: 'r-old', productId: 'lamp', category: 'lighting', timestamp: at(day + 1) }),
        buildClickEvent({ userId: 'r-new', productId: 'mug', category: 'kitchen', timestamp: at(day + 2) }),
        buildClickEvent({ userId: 'r-new', productId: 'mug', category: 'kitchen', type: 'add_to_cart', timestamp: at(day + 3) }),
        buildClickEvent({ userId: 'r-new', productId: 'kettle', category: 'kitchen', type: 'click', timestamp: at(day + 4) }),
      ];
      await createEventArchive({ pool: ownPool }).append({
        topic: 't-report',
        partition: 0,
        nextOffset: String(events.length),
        events: events.map((e, i) => archived(e, String(i))),
      });
      // The catalog files the kettle elsewhere: its category wins over the one the events named.
      await createCatalogRepository({ pool: ownPool }).upsert([buildProduct({ productId: 'kettle', category: 'appliances' })]);
      const runs = createBatchRunsRepository({ pool: ownPool });
      const runId = randomUUID();
      await runs.create({ runId, trigger: 'test' });
      const input = await createArchiveReader({ pool: ownPool }).freezeInput(runId, {
        historyDays: 365,
        maxItemsPerUser: 100,
        now: Date.now(),
      });

      expect(input.eventsByType).toEqual({ view: 3, click: 1, add_to_cart: 1, purchase: 1 });
      expect(input.report).toEqual({
        day: '2026-03-10',
        eventsByType: { view: 2, click: 1, add_to_cart: 1, purchase: 1 },
        users: { active: 2, new: 1, returning: 1 },
        topProducts: [
          { productId: 'mug', category: 'kitchen', events: 3, purchases: 1 },
          { productId: 'kettle', category: 'appliances', events: 1, purchases: 0 },
          { productId: 'lamp', category: 'lighting', events: 1, purchases: 0 },
        ],
        topCategories: [
          { category: 'kitchen', events: 3, purchases: 1 },
          { category: 'appliances', events: 1, purchases: 0 },
          { category: 'lighting', events: 1, purchases: 0 },
        ],
      });
    } finally {
      await ownPool.end();
      await own.drop();
    }
  });
});
