import { z } from 'zod';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const runStatsSchema = z.object({
  eventsRead: z.number().int().optional(),
  users: z.number().int().optional(),
  items: z.number().int().optional(),
  similarityPairs: z.number().int().optional(),
  durationMs: z.number().optional(),
  error: z.string().optional(),
});
export type RunStats = z.infer<typeof runStatsSchema>;

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
  stats: runStatsSchema,
  watermark: watermarkSchema.nullable(),
});
export type BatchRun = z.infer<typeof batchRunSchema>;

export const batchRunsAnswerSchema = z.object({ runs: z.array(batchRunSchema) });
export const runIdParamsSchema = z.strictObject({ runId: z.uuid('runId must be a UUID') });
export const runCreatedSchema = z.object({ runId: z.string() });
