import type { Logger } from '@lambdarec/clients';
import {
  BlendTrainer,
  CooccurrenceShard,
  CustomerNeighbourIndex,
  CustomerVectorsBuilder,
  numberedRebuyVector,
  PairLimitError,
  ProductFactsAccumulator,
  rankUser,
  rebuyIntervals,
  rebuyRates,
  SimilarityIndex,
  userProfile,
  userSignals,
  type BatchPolicy,
  type BlendWeights,
} from '@lambdarec/domain';
import type { ArchiveReader, BatchRunsRepository, BatchViewWriter } from '@lambdarec/stores';
import { UnrecoverableError, type Job } from 'bullmq';
import { addShardHalves, type BatchQueue, type ShardJobData, type ShardJobResult } from './jobs.js';
import { createRunScopedCache } from './run-scoped-cache.js';

export interface ShardProcessorOptions {
  queue: BatchQueue;
  runs: Pick<BatchRunsRepository, 'status' | 'get'>;
  reader: ArchiveReader;
  writer: BatchViewWriter;
  policy: BatchPolicy;
  /** Item pairs one similar-items shard may hold; the coordinator cut the run so that it does not. */
  maxPairsPerShard: number;
  log: Logger;
}

/**
 * Works one shard of a run. User lists: one pass over the frozen input. Similar items: streams
 * every user's list, counts the pairs of the products this shard owns (product number ≡ shard),
 * and writes their neighbours. User items: reads the run's similar lists (catalogue × neighbours,
 * not history), streams the users of its buckets, and writes their lists as it goes. Memory is
 * bounded by the catalogue and by `maxPairsPerShard`, never by the length of the history.
 */
export function createShardProcessor({ queue, runs, reader, writer, policy, maxPairsPerShard, log }: ShardProcessorOptions) {
  /** The input is unlogged (ADR 008): after a Postgres crash it is gone, and the run must fail, not publish less. */
  const assertInputIntact = (found: number, { inputRows, runId }: ShardJobData) => {
    if (found !== inputRows) {
      throw new UnrecoverableError(`run ${runId}: its frozen input has ${found} rows, not ${inputRows} (lost in a Postgres restart?)`);
    }
  };

  /**
   * One pass over the frozen input: each user's co-occurrence list (product numbers in the run's
   * product order, log-damped weights) for the similar-items shards, and every product's facts.
   */
  async function userLists(data: ShardJobData): Promise<ShardJobResult> {
    const { runId, asOf } = data;
    const numberOf = new Map((await reader.products(runId)).map((productId, index) => [productId, index]));
    const facts = new ProductFactsAccumulator(asOf, policy);
    const trainer = new BlendTrainer([...numberOf.keys()], asOf, policy);
    let rowsRead = 0;
    async function* lists() {
      for await (const user of reader.users(runId)) {
        for (const row of user.rows) facts.add(row);
        trainer.addUser(user.userId, user.rows);
        rowsRead += user.rows.length;
        const signals = userSignals(user.rows, asOf, policy);
        const list = signals.cooccurrence;
        const rebuy = numberedRebuyVector(signals.rebuy, numberOf);
        yield [
          user.userId,
          list.map(([productId]) => numberOf.get(productId)!).join(','),
          list.map(([, weight]) => weight).join(','),
          rebuy.numbers.join(','),
          rebuy.values.join(','),
        ] as const;
      }
    }
    const rowsWritten = await writer.writeUserLists(runId, { stage: 'user-lists', shard: 0, shards: 1 }, lists(), () => {
      // Checked before the transaction commits: a lost input must not leave a record of success.
      assertInputIntact(rowsRead, data);
      return { facts: facts.facts(), rowsRead, blend: trainer.train(), asOf };
    });
    return { rowsRead, rowsWritten };
  }

  /**
   * Streams every user's list, counts the pairs of the products this shard owns (number ≡ shard),
   * writes their neighbours. The run was cut by its total pair bound, and a skewed history can
   * put more than the limit in one shard: that shard is split in halves instead of failing the run.
   */
  async function similarItems(job: Pick<Job<ShardJobData>, 'data' | 'parent'>): Promise<ShardJobResult> {
    const { data } = job;
    const { runId, shard, shards } = data;
    // The user-lists step wrote facts for every product of the input: the same list, in the same order.
    const facts = await writer.productFactsOf(runId);
    const products = facts.map((fact) => fact.productId).sort();
    const cooccurrence = new CooccurrenceShard(products, (index) => index % shards === shard, maxPairsPerShard);
    let usersRead = 0;
    try {
      for await (const { products: numbers, weights } of reader.userLists(runId)) {
        cooccurrence.addNumbered(numbers, weights);
        usersRead++;
      }
    } catch (err) {
      if (!(err instanceof PairLimitError)) throw err;
      const owned = Math.ceil((products.length - shard) / shards);
      // One product's neighbours alone over the limit: no split helps (the limit is below the catalogue).
      if (owned <= 1) throw new UnrecoverableError(`run ${runId}: ${err.message}, with one product in the shard`);
      const splitInto = await addShardHalves(queue, job);
      log.info(
        { runId, shard, shards, owned, usersRead, splitInto, maxPairsPerShard },
        'similar-items shard over its pair limit; split in halves',
      );
      return { rowsRead: usersRead, rowsWritten: 0, splitInto };
    }
    if (usersRead !== data.users) {
      throw new UnrecoverableError(`run ${runId}: ${usersRead} user lists, not ${data.users} (lost in a Postgres restart?)`);
    }
    const similar = cooccurrence.similarItems(policy, new Map(facts.map((fact) => [fact.productId, fact.category])));
    await writer.writeSimilarShard(
      runId,
      { stage: 'similar-items', shard, shards, rowsRead: usersRead, pairs: cooccurrence.pairs },
      similar,
    );
    return { rowsRead: usersRead, rowsWritten: similar.size };
  }

  /** What every user-items shard of a run ranks with: read once per process per run (`createRunScopedCache`). */
  const userItemsInputs = createRunScopedCache(
    async (runId: string): Promise<UserItemsInputs> => {
      const [index, facts] = await Promise.all([similarityIndexOf(runId), writer.productFactsOf(runId)]);
      return {
        index,
        categoryOf: new Map(facts.map((fact) => [fact.productId, fact.category])),
        customers: await customerIndexOf(runId, facts.map((fact) => fact.productId).sort()),
        rates: rebuyRates(facts, policy.rebuyRatePrior),
        intervals: rebuyIntervals(facts),
        // The weights the user-lists step trained on the run's last weeks (absent: the policy's).
        blendWeights: (await runs.get(runId))?.stats.blend,
      };
    },
    { idleMs: USER_ITEMS_INPUTS_IDLE_MS },
  );

  async function userItems(data: ShardJobData): Promise<ShardJobResult> {
    assertInputIntact(await reader.inputRows(data.runId), data);
    return userItemsInputs.use(data.runId, (inputs) => rankShard(data, inputs));
  }

  async function rankShard(
    { runId, shard, shards, asOf }: ShardJobData,
    { index, categoryOf, customers, rates, intervals, blendWeights }: UserItemsInputs,
  ): Promise<ShardJobResult> {
    let rowsRead = 0;
    async function* lists() {
      for await (const user of reader.users(runId, { shard, shards })) {
        rowsRead += user.rows.length;
        yield [
          user.userId,
          rankUser(userProfile(user.rows, asOf, policy), index, policy, {
            userId: user.userId,
            customers,
            rebuyRates: rates,
            rebuyIntervals: intervals,
            blendWeights,
          }),
        ] as const;
      }
    }
    const rowsWritten = await writer.writeUserShard(runId, { stage: 'user-items', shard, shards }, lists(), {
      categoryOf,
      rowsRead: () => rowsRead,
    });
    return { rowsRead, rowsWritten };
  }

  /**
   * The run's similar lists as an index. The decoded lists (an object per item; their heap is in
   * ADR 008) are garbage once it is built, instead of staying referenced while the shard streams
   * its users.
   */
  async function similarityIndexOf(runId: string): Promise<SimilarityIndex> {
    return new SimilarityIndex(await writer.similarItemsOf(runId));
  }

  /**
   * Every user's re-buy vector, as the user-lists step wrote them, numbered in the run's product
   * order (the order it numbered them in): each shard finds its users' nearest customers among
   * all of them. Typed arrays, about 12 bytes per (user, product bought).
   */
  async function customerIndexOf(runId: string, products: readonly string[]): Promise<CustomerNeighbourIndex> {
    const vectors = new CustomerVectorsBuilder();
    for await (const { userId, products: numbers, weights } of reader.rebuyVectors(runId)) vectors.add(userId, numbers, weights);
    return new CustomerNeighbourIndex(products, vectors.build(), policy);
  }

  return async (job: Pick<Job<ShardJobData, ShardJobResult>, 'id' | 'data' | 'parent'>): Promise<ShardJobResult> => {
    const { runId, stage, shard, shards } = job.data;
    const shardLog = log.child({ runId, stage, shard, shards });
    // A run failed meanwhile (its coordinator removed, another shard failed for good): its shards stop.
    const status = await runs.status(runId);
    if (status !== 'running') return { rowsRead: 0, rowsWritten: 0, skipped: `its run is ${status ?? 'gone'}` };
    if (await writer.shardDone(runId, stage, shard)) return { rowsRead: 0, rowsWritten: 0, skipped: 'it was already done' };
    const started = performance.now();
    let result: ShardJobResult;
    try {
      result =
        stage === 'similar-items' ? await similarItems(job) : await { 'user-lists': userLists, 'user-items': userItems }[stage](job.data);
    } catch (err) {
      // Another shard failed the run while this one worked, and its input was dropped: what this
      // one then fails on says nothing, and must not become the run's reason.
      const now = await runs.status(runId).catch(() => 'running');
      if (now !== 'running') return { rowsRead: 0, rowsWritten: 0, skipped: `its run ended (${now ?? 'gone'}) while it worked` };
      throw err;
    }
    // The process's peak so far (maxRSS is in KiB): the stage whose shard first shows the peak made it.
    const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    shardLog.info({ ...result, ms: Math.round(performance.now() - started), peakRssMiB }, 'batch shard done');
    await reportProgress(job, shardsOf(stage, await writer.shardsDone(runId)), shards).catch((err: unknown) =>
      shardLog.warn({ err }, 'could not report progress to the run job'),
    );
    return result;
  };

  /** Bull Board shows a run's progress on its coordinator job, which waits while its shards work. */
  async function reportProgress(job: Pick<Job<ShardJobData>, 'data' | 'parent'>, done: number, total: number) {
    const parentId = job.parent?.id;
    if (parentId === undefined) return;
    const parent = await queue.getJob(parentId);
    await parent?.updateProgress({ phase: job.data.stage, shardsDone: done, shardsTotal: total });
  }
}

/**
 * How long a process keeps a run's user-items inputs once none of its shards uses them: a worker
 * asks for the run's next shard as soon as it finishes one, so this only has to bridge that; a
 * run that is over (or whose other shards went to other workers) is let go soon after.
 */
const USER_ITEMS_INPUTS_IDLE_MS = 10_000;

/** What every user-items shard of a run ranks with. */
interface UserItemsInputs {
  index: SimilarityIndex;
  categoryOf: Map<string, string | null>;
  customers: CustomerNeighbourIndex;
  rates: Map<string, number>;
  intervals: ReturnType<typeof rebuyIntervals>;
  blendWeights: BlendWeights | undefined;
}

const shardsOf = (stage: ShardJobData['stage'], done: Awaited<ReturnType<BatchViewWriter['shardsDone']>>) => done[stage].shards;
