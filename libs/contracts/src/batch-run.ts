import { z } from 'zod';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const runStatsSchema = z.object({
  eventsRead: z.number().int().optional(),
  users: z.number().int().optional(),
  items: z.number().int().optional(),
  similarityPairs: z.number().int().optional(),
  durationMs: z.number().optional(),
  /** Wall time of each phase of the run, in ms. */
  phaseMs: z.record(z.string(), z.number()).optional(),
  /** How many shards each stage was cut into. */
  shards: z.object({ similarItems: z.number().int(), userItems: z.number().int() }).optional(),
  /** The history horizon the run read, in days before its newest event. */
  historyDays: z.number().int().optional(),
  error: z.string().optional(),
});
export type RunStats = z.infer<typeof runStatsSchema>;

/**
 * Where a run is: freezing its input, reading it once into per-user co-occurrence lists and
 * product facts, computing item similarities (shards by product), per-user recommendations (shards
 * by user), publishing; then done or failed.
 */
export const RUN_PHASES = ['queued', 'freezing-input', 'user-lists', 'similar-items', 'user-items', 'publishing', 'done', 'failed'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];
export const runProgressSchema = z.object({
  phase: z.enum(RUN_PHASES),
  /** Shards of the current phase finished, and how many there are (0 in phases without shards). */
  shardsDone: z.number().int(),
  shardsTotal: z.number().int(),
});
export type RunProgress = z.infer<typeof runProgressSchema>;

/** Up to which event time and Kafka offsets the archived events a run read go. */
export const watermarkSchema = z.object({
  maxEventTime: z.string().nullable(),
  /** topic → partition → next offset to archive (Kafka's committed-offset convention). */
  offsets: z.record(z.string(), z.record(z.string(), z.string())),
});
export type Watermark = z.infer<typeof watermarkSchema>;

export const batchRunSchema = z.object({
  runId: z.string(),
  status: z.enum(RUN_STATUSES),
  published: z.boolean(),
  trigger: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  progress: runProgressSchema.nullable(),
  stats: runStatsSchema,
  watermark: watermarkSchema.nullable(),
});
export type BatchRun = z.infer<typeof batchRunSchema>;

export const batchRunsAnswerSchema = z.object({ runs: z.array(batchRunSchema) });
export const runIdParamsSchema = z.strictObject({ runId: z.uuid('runId must be a UUID') });
export const runCreatedSchema = z.object({ runId: z.string() });
