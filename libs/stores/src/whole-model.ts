import type { RunStats, Watermark } from '@lambdarec/contracts';
import type { BatchModel, UserHistory } from '@lambdarec/domain';
import type { PgPool } from '@lambdarec/clients';
import type { BatchRunsRepository } from './batch-runs-repository.js';
import { writeWholeModel } from './batch-view-writer.js';

/**
 * Writes and publishes a model computed in memory (`computeBatchModel`), as a run of one shard per
 * stage: for tests, benches and small tools. The run must be running. The batch service itself
 * writes shard by shard.
 */
export async function publishWholeModel(
  { pool, runs }: { pool: PgPool; runs: Pick<BatchRunsRepository, 'publish'> },
  runId: string,
  model: BatchModel,
  stats: RunStats = {},
  watermark: Watermark = { maxEventTime: null, offsets: {} },
  /** What the model was computed from: given, the run keeps it to re-rank customers after a purchase (ADR 017). */
  histories?: Iterable<UserHistory>,
): Promise<void> {
  await writeWholeModel(pool, runId, model, histories);
  await runs.publish(runId, {
    // The weights the model trained go with it, as the batch service's user-lists step stores them.
    stats: model.blend === undefined ? stats : { ...stats, blend: model.blend },
    watermark,
    popular: model.popular,
    popularByCategory: model.popularByCategory,
    repurchase: model.repurchase,
    shards: { similarItems: 1, userItems: 1 },
  });
}
