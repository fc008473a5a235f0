import { randomUUID } from 'node:crypto';
import { createPgPool, type PgPool } from '@lambdarec/clients';
import { computeBatchModel, DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import { createTestDatabase, testLogger, type TestDatabase } from '@lambdarec/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBatchRunsRepository } from '../src/batch-runs-repository.js';
import { createBatchViewReader } from '../src/batch-view-reader.js';
import { runMigrations } from '../src/migrations.js';
import { publishWholeModel } from '../src/whole-model.js';

const log = testLogger('test');
let db: TestDatabase;
let pool: PgPool;

beforeAll(async () => {
  db = await createTestDatabase(inject('infra').databaseUrl, (url) => runMigrations({ databaseUrl: url, log }));
  pool = createPgPool({ url: db.url, log, applicationName: 'test' });
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

describe('batch view reader', () => {
  it("stores the run's re-buy figures per product and per category, read back by run", async () => {
    const runs = createBatchRunsRepository({ pool });
    const view = createBatchViewReader({ pool });
    const runId = randomUUID();
    await runs.create({ runId, trigger: 'test' });
    await runs.markRunning(runId);
    const purchase = (userId: string, count: number) => ({
      userId,
      productId: 'rb-tea',
      type: 'purchase' as const,
      count,
      lastAt: 0,
      category: 'rb-grocery',
    });
    const model = computeBatchModel([purchase('w1', 3), purchase('w2', 1), purchase('w3', 2)], 0, DEFAULT_BATCH_POLICY);
    await publishWholeModel({ pool, runs }, runId, model);
    const facts = await view.repurchase(runId, ['rb-tea', 'rb-unknown'], ['rb-grocery']);
    expect(facts.products).toEqual(new Map([['rb-tea', { buyers: 3, rebuyers: 2 }]]));
    expect(facts.categories).toEqual(new Map([['rb-grocery', { buyers: 3, rebuyers: 2 }]]));
    expect((await view.repurchase(randomUUID(), ['rb-tea'], [])).products.size).toBe(0);
  });
});
