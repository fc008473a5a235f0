import { randomUUID } from 'node:crypto';
import { computeBatchModel, DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { createBatchRunsRepository } from '../src/batch-runs-repository.js';
import { createBatchViewReader } from '../src/batch-view-reader.js';
import { publishWholeModel } from '../src/whole-model.js';
import { pool, useMigratedPostgres } from './migrated-postgres.js';

useMigratedPostgres();

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
