import { BATCH_JOB_NAME } from '@lambdarec/contracts';
import type { ExperimentSummary } from '@lambdarec/contracts';
import type { Logger, PgPool, RedisClient } from '@lambdarec/clients';
import { DEFAULT_BATCH_POLICY, type BatchPolicy } from '@lambdarec/domain';
import {
  createArchiveReader,
  createBatchViewWriter,
  createBotFlagHistory,
  type ArchiveReader,
  type BatchRunsRepository,
  type BotFlagLedger,
} from '@lambdarec/stores';
import { Worker, type Job } from 'bullmq';
import {
  SHARD_JOB_NAME,
  type AnyBatchJobData,
  type BatchJobData,
  type BatchJobResult,
  type BatchQueue,
  type ShardJobData,
  type ShardJobResult,
} from './jobs.js';
import { createRunCoordinator, type RunSettings } from './run-coordinator.js';
import { createShardProcessor } from './shards.js';

export interface BatchWorkerOptions {
  queueName: string;
  /** BullMQ's key prefix of the queue (on a Redis Cluster, hash-tagged). @defaultValue BullMQ's, bull */
  prefix?: string;
  connection: RedisClient;
  runs: Pick<BatchRunsRepository, 'markFailed'>;
  /** Where a failed run's frozen input is dropped. */
  inputs: Pick<ArchiveReader, 'dropInput'>;
  coordinator: (job: Job<BatchJobData, BatchJobResult>, token?: string) => Promise<BatchJobResult>;
  shard: (job: Job<ShardJobData, ShardJobResult>) => Promise<ShardJobResult>;
  /** Jobs (run steps and shards) this process works on at once. @defaultValue 1 */
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a killed worker's job is taken again after it. @defaultValue 60000 */
  lockDurationMs?: number;
  /**
   * Jobs waiting in the queue, for the watchdog: a worker that sits idle while jobs wait, at two
   * looks `watchdogMs` apart, is replaced. Without it, no watchdog.
   */
  waitingJobs?: () => Promise<number>;
  /** @defaultValue 10000 */
  watchdogMs?: number;
  log: Logger;
}

/**
 * The batch worker: takes coordinator and shard jobs of the batch queue, from whichever process
 * added them. Any number of batch processes run one; together they are the run's compute.
 */
export function createBatchWorker({
  queueName,
  prefix,
  connection,
  runs,
  inputs,
  coordinator,
  shard,
  concurrency = 1,
  lockDurationMs = 60_000,
  waitingJobs,
  watchdogMs = 10_000,
  log,
}: BatchWorkerOptions) {
  let worker: Worker<AnyBatchJobData> | undefined;
  let inProgress = 0;
  const process = async (job: Job<AnyBatchJobData>, token?: string) => {
    inProgress++;
    try {
      if (job.name === SHARD_JOB_NAME) return await shard(job as Job<ShardJobData, ShardJobResult>);
      if (job.name === BATCH_JOB_NAME) return await coordinator(job as Job<BatchJobData, BatchJobResult>, token);
      throw new Error(`unknown batch job ${job.name}`);
    } finally {
      inProgress--;
    }
  };

  // A BullMQ worker can stop taking jobs after a Redis failover, with no error (its blocking
  // call lost on a connection that went away: bullmq issues 648, 3088, 3185); BullMQ leaves
  // recovery to the application. An idle worker takes a waiting job within milliseconds, so one
  // that sat idle while jobs waited at two looks apart is replaced by a new worker.
  let watchdog: NodeJS.Timeout | undefined;
  let idleWithJobsWaiting = 0;
  let closing = false;
  const look = async () => {
    if (waitingJobs === undefined || worker === undefined || closing) return;
    const waiting = await waitingJobs().catch(() => 0);
    idleWithJobsWaiting = inProgress === 0 && waiting > 0 ? idleWithJobsWaiting + 1 : 0;
    if (idleWithJobsWaiting < 2) return;
    idleWithJobsWaiting = 0;
    log.warn({ waiting }, 'the batch worker sat idle while jobs waited; replacing it with a new worker');
    const stuck = worker;
    worker = undefined;
    // Forced (it has no job to finish), and not waited on for long: its connections may be the stuck part.
    await Promise.race([stuck.close(true), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]).catch((err: unknown) =>
      log.warn({ err }, 'closing the stalled batch worker failed'),
    );
    if (!closing) await startWorker();
  };

  async function startWorker() {
    worker = new Worker<AnyBatchJobData>(queueName, process, {
      connection,
      ...(prefix === undefined ? {} : { prefix }),
      concurrency,
      lockDuration: lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(lockDurationMs / 2)),
    });
    worker.on('failed', (job, err) => {
      log.error({ jobId: job?.id, job: job?.name, err }, 'batch job failed');
      // A shard that failed for good (out of attempts, or unrecoverable) fails its run, as BullMQ
      // fails the coordinator without running it again; say so on the run now rather than at the
      // next reconciliation, and drop its frozen input, which only a later run's success would.
      // A shard that will be retried is waiting or delayed, not failed: its run goes on.
      if (job?.name !== SHARD_JOB_NAME) return;
      const { runId, stage, shard } = job.data as ShardJobData;
      void job
        .getState()
        .then(async (state) => {
          if (state !== 'failed') return;
          // Dropped before the run reads as failed, so whoever sees it failed finds it clean.
          await inputs
            .dropInput(runId)
            .catch((dropErr: unknown) =>
              log.error({ err: dropErr, runId }, "could not drop the failed run's input; the next run's success will"),
            );
          await runs.markFailed(runId, `${stage} shard ${shard} failed (${err.name}); see the batch service log`);
        })
        .catch((markErr: unknown) => log.error({ err: markErr, runId }, 'could not mark the run failed; the reconciler will'));
    });
    worker.on('error', (err) => log.error({ err }, 'batch worker error'));
    await worker.waitUntilReady();
  }

  return {
    async start() {
      await startWorker();
      if (waitingJobs !== undefined) {
        const schedule = () => {
          watchdog = setTimeout(() => void look().finally(() => !closing && schedule()), watchdogMs);
          watchdog.unref();
        };
        schedule();
      }
    },
    async close() {
      closing = true;
      clearTimeout(watchdog);
      await worker?.close();
    },
  };
}

export interface RunWorkerOptions {
  pool: PgPool;
  /** The queue the coordinator adds shards to (the worker's queue). */
  queue: BatchQueue;
  /** The worker's own connection: its blocking calls wait for Redis to come back. */
  connection: RedisClient;
  runs: BatchRunsRepository;
  settings: RunSettings;
  policy?: BatchPolicy;
  /** The bot guard's flag ledger (Redis): the flagged bursts' events stay out of runs. */
  botFlags?: Pick<BotFlagLedger, 'flagsSince'>;
  /** The running experiment's summary, for a succeeded run's stats. @defaultValue none */
  experimentSummary?: () => Promise<ExperimentSummary | undefined>;
  concurrency?: number;
  lockDurationMs?: number;
  log: Logger;
}

/** The batch worker wired with its coordinator and shard processor: what main.ts, tests and the bench start. */
export function createRunWorker({
  pool,
  queue,
  connection,
  runs,
  settings,
  policy = DEFAULT_BATCH_POLICY,
  botFlags,
  experimentSummary,
  concurrency,
  lockDurationMs,
  log,
}: RunWorkerOptions) {
  const reader = createArchiveReader({ pool });
  const writer = createBatchViewWriter({ pool });
  return createBatchWorker({
    queueName: queue.name,
    // The queue's own prefix: a worker under another prefix would wait on keys no job reaches.
    prefix: queue.opts.prefix,
    connection,
    runs,
    inputs: reader,
    waitingJobs: () => queue.getWaitingCount(),
    concurrency,
    lockDurationMs,
    coordinator: createRunCoordinator({
      queue,
      runs,
      reader,
      writer,
      policy,
      settings,
      botFlags: botFlags === undefined ? undefined : { ledger: botFlags, history: createBotFlagHistory({ pool }) },
      experimentSummary,
      log,
    }),
    shard: createShardProcessor({ queue, runs, reader, writer, policy, maxPairsPerShard: settings.maxPairsPerShard, log }),
    log,
  });
}
