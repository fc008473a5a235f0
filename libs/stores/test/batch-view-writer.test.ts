import { randomUUID } from 'node:crypto';
import { computeBatchModel, DEFAULT_BATCH_POLICY } from '@lambdarec/domain';
import { describe, expect, it } from 'vitest';
import { createBatchRunsRepository } from '../src/batch-runs-repository.js';
import { createBatchViewReader } from '../src/batch-view-reader.js';
import { publishWholeModel } from '../src/whole-model.js';
import { pool, useMigratedPostgres } from './migrated-postgres.js';

useMigratedPostgres();

describe('batch view writer', () => {
  it('stores lists compactly and reads back exactly what the model computed, older object rows too', async () => {
    const runs = createBatchRunsRepository({ pool });
    const view = createBatchViewReader({ pool });
    const runId = randomUUID();
    await runs.create({ runId, trigger: 'test' });
    await runs.markRunning(runId);
    const at = Date.now();
    const rows = ['x', 'y', 'z'].flatMap((productId, i) => [
      { userId: 'enc-1', productId, type: 'purchase' as const, count: 1 + i, lastAt: at - i, category: i === 2 ? null : 'c\t"1' },
      { userId: 'enc-2', productId, type: 'view' as const, count: 1, lastAt: at, category: 'c\t"1' },
    ]);
    const model = computeBatchModel(rows, at, DEFAULT_BATCH_POLICY);
    await publishWholeModel({ pool, runs }, runId, model);
    expect(await view.userItems(runId, 'enc-1')).toEqual(model.perUser.get('enc-1'));
    expect((await view.userItems(runId, 'enc-1')).some((item) => item.reasons.includes('batch:bought-before'))).toBe(true);
    expect((await view.similarItems(runId, ['x'])).get('x')).toEqual(model.similar.get('x'));
    expect(await view.popularItems(runId)).toEqual(model.popular);
    const stored = await pool.query<{ items: unknown[] }>("SELECT items FROM rec_user_items WHERE run_id = $1 AND user_id = 'enc-1'", [
      runId,
    ]);
    expect(Array.isArray(stored.rows[0]!.items[0])).toBe(true);
    // A list written before the compact form (objects) reads the same.
    await pool.query("UPDATE rec_user_items SET items = $2::json WHERE run_id = $1 AND user_id = 'enc-2'", [
      runId,
      JSON.stringify(model.perUser.get('enc-2')),
    ]);
    expect(await view.userItems(runId, 'enc-2')).toEqual(model.perUser.get('enc-2'));
  });
});
