import { BATCH_JOB_NAME, type RunStats } from '@lambdarec/contracts';
import type { Job, JobsOptions, Queue } from 'bullmq';

/**
 * The batch queue's jobs, their data and options, and how they are added: one module, so the API,
 * the scheduler, the coordinator and the shards cannot disagree.
 *
 * A run is a BullMQ flow in one queue. Its coordinator job (BATCH_JOB_NAME, what the nightly
 * schedule, Bull Board's "Run now" and POST /batch/runs add) freezes the run's input, then adds
 * its children stage by stage and waits for each: the user-lists job (one pass over the input:
 * per-user co-occurrence lists and product facts), the similar-items shards, the user-items
 * shards; then it publishes. Any batch process takes any of these jobs.
 */

export const SHARD_JOB_NAME = 'shard';

/** The coordinator's steps; it records the next one in its job data before waiting for children. */
export type RunStep = 'freeze-input' | 'user-lists' | 'similar-items' | 'user-items' | 'publish';

/** What the coordinator learned when it froze the input; shards and later steps need it. */
export interface RunPlan {
  /** Decay anchor: the newest event read, never later than the run's start. */
  asOf: number;
  similarShards: number;
  userShards: number;
  startedAt: number;
  /** When each step started (epoch ms), for the run's phase times. */
  stepStartedAt: Partial<Record<RunStep, number>>;
}

/** Coordinator job data: API runs carry their runId; scheduled ones get theirs when they start. */
export interface BatchJobData {
  runId?: string;
  trigger?: string;
  step?: RunStep;
  plan?: RunPlan;
}

export type BatchJobResult = { runId: string; skipped: false; stats?: RunStats } | { runId: string; skipped: true; reason: string };

export type ShardStage = 'user-lists' | 'similar-items' | 'user-items';

export interface ShardJobData {
  runId: string;
  stage: ShardStage;
  /**
   * The shard owns the products (or users) whose number is `shard` modulo `shards`. A
   * similar-items shard over its pair limit is split in two, `shard` and `shard + shards`
   * modulo `2 * shards`: the stage is done when its finished shards cover every residue.
   */
  shard: number;
  shards: number;
  asOf: number;
  /** Rows of the frozen input and its users: a shard that finds fewer fails the run (Postgres lost them). */
  inputRows: number;
  users: number;
}

export interface ShardJobResult {
  rowsRead: number;
  rowsWritten: number;
  skipped?: string;
  /** Over its pair limit, the shard handed its products to these two halves. */
  splitInto?: [ShardJobData['shard'], ShardJobData['shard']];
}

/** Anything in the batch queue. */
export type AnyBatchJobData = BatchJobData | ShardJobData;
export type BatchQueue = Queue<AnyBatchJobData>;

/** Coordinator jobs run once: a failed run is failed, and the next one starts from scratch. */
export const RUN_JOB_OPTIONS: JobsOptions = { attempts: 1, removeOnComplete: 100, removeOnFail: 100 };

/**
 * Shards retry (a Postgres blip, a killed process): a shard's rows and its record commit in one
 * transaction, so a retry either finds it done or starts clean. A shard that keeps failing fails
 * its run. Finished shards are kept a day: their deterministic job ids make a coordinator that
 * re-adds them after a crash find them instead of running them again.
 */
export const SHARD_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 60 * 60 },
  removeOnFail: { age: 7 * 24 * 60 * 60 },
  failParentOnFailure: true,
};

/** Queues the coordinator of a run the API created (its job id is the run id). */
export async function enqueueRun(queue: BatchQueue, runId: string, trigger: string): Promise<void> {
  await queue.add(BATCH_JOB_NAME, { runId, trigger } satisfies BatchJobData, { ...RUN_JOB_OPTIONS, jobId: runId });
}

export const shardJobId = (runId: string, stage: ShardStage, shard: number) => `${runId}.${stage}.${shard}`;

/** The halves of a split shard are named by their modulus too: half `shard` of `2 * shards` has its parent's number. */
export const shardHalfJobId = (runId: string, stage: ShardStage, shard: number, shards: number) =>
  `${runId}.${stage}.${shard}.of.${shards}`;

/** Adds a stage's shards as children of the coordinator job (again after a crash: the same ids, no duplicates). */
export async function addShardJobs(
  queue: BatchQueue,
  parent: Pick<Job, 'id' | 'queueQualifiedName'>,
  data: Omit<ShardJobData, 'shard'>,
): Promise<void> {
  await queue.addBulk(
    Array.from({ length: data.shards }, (_, shard) => ({
      name: SHARD_JOB_NAME,
      data: { ...data, shard } satisfies ShardJobData,
      opts: {
        ...SHARD_JOB_OPTIONS,
        jobId: shardJobId(data.runId, data.stage, shard),
        parent: { id: parent.id!, queue: parent.queueQualifiedName },
      },
    })),
  );
}

/**
 * Splits a shard in two: its halves join the same run job as children, so the run waits for them
 * too. Added before the shard completes (the run job is still waiting for it), and again if the
 * shard is retried (the same ids, no duplicates). Returns the halves' shard numbers.
 */
export async function addShardHalves(queue: BatchQueue, job: Pick<Job<ShardJobData>, 'data' | 'parent'>): Promise<[number, number]> {
  const { runId, stage, shard, shards } = job.data;
  const runJob = job.parent?.id === undefined ? undefined : { id: job.parent.id, queue: job.parent.queueKey };
  if (runJob === undefined) throw new Error(`shard ${shard} of run ${runId} has no run job to add its halves to`);
  const halves: [number, number] = [shard, shard + shards];
  await queue.addBulk(
    halves.map((half) => ({
      name: SHARD_JOB_NAME,
      data: { ...job.data, shard: half, shards: shards * 2 } satisfies ShardJobData,
      opts: { ...SHARD_JOB_OPTIONS, jobId: shardHalfJobId(runId, stage, half, shards * 2), parent: runJob },
    })),
  );
  return halves;
}
