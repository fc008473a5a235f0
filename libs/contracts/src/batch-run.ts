import { z } from 'zod';
import { experimentSummarySchema } from './experiment.js';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const countsByTypeSchema = z.object({
  view: z.number().int(),
  click: z.number().int(),
  add_to_cart: z.number().int(),
  purchase: z.number().int(),
});

/**
 * The daily report a run carries: the day of its newest event (UTC), as the shop saw it. Users
 * are new when that day holds their first archived event, returning when they had events before.
 */
export const dailyReportSchema = z.object({
  day: z.string(),
  eventsByType: countsByTypeSchema,
  users: z.object({ active: z.number().int(), new: z.number().int(), returning: z.number().int() }),
  /** The day's most interacted-with products (events of any type), with their purchases. */
  topProducts: z.array(
    z.object({ productId: z.string(), category: z.string().nullable(), events: z.number().int(), purchases: z.number().int() }),
  ),
  topCategories: z.array(z.object({ category: z.string(), events: z.number().int(), purchases: z.number().int() })),
});
export type DailyReport = z.infer<typeof dailyReportSchema>;

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
  /** Events the bot guard flagged (a flagged user's, arrived within the flag), which the run left out. */
  botEventsExcluded: z.number().int().optional(),
  /** Runs from before flags named bursts: the flagged users' days they left out. */
  botUserDaysExcluded: z.number().int().optional(),
  /** Events read within the history horizon, by type. */
  eventsByType: countsByTypeSchema.optional(),
  /** The report of the day of the newest event; absent when the archive is empty. */
  report: dailyReportSchema.optional(),
  /** The experiment running when the run published: per-variant counts and the comparison; absent without one. */
  experiment: experimentSummarySchema.optional(),
  /**
   * The personal side's weights the run trained on its last weeks (ADR 016): α (own re-buys
   * against the nearest customers'), the re-buy share's weight, the users trained on and their
   * mean NDCG@10. Absent when no user had a basket in those weeks (the policy's weights serve).
   */
  blend: z.object({ ownRebuyWeight: z.number(), rebuyRateWeight: z.number(), samples: z.number().int(), ndcg: z.number() }).optional(),
  error: z.string().optional(),
});
export type RunStats = z.infer<typeof runStatsSchema>;

/**
 * Where a run is: freezing its input, reading it once into per-user co-occurrence lists and
 * product facts, computing item similarities (shards by product), per-user recommendations (shards
 * by user), publishing; then done or failed.
 */
export const RUN_PHASES = [
  'queued',
  'freezing-input',
  'user-lists',
  'similar-items',
  'user-items',
  'publishing',
  'done',
  'failed',
] as const;
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
