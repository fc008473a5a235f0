import { z } from 'zod';
import { ID_PATTERN, idSchema } from './event.js';

export const userIdParamsSchema = z.strictObject({ userId: idSchema('userId') });
export const productIdParamsSchema = z.strictObject({ productId: idSchema('productId') });

const limitSchema = z.coerce.number().int().min(1).max(100).default(10);

export const recommendationsQuerySchema = z.strictObject({
  limit: limitSchema,
  category: z.string().min(1).max(128).optional(),
  exclude: z
    .string()
    .max(16_384)
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return [];
      const ids = value
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id.length > 0);
      const bad = ids.find((id) => !ID_PATTERN.test(id));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `exclude contains an invalid productId: ${bad}` });
        return z.NEVER;
      }
      return ids;
    }),
});
export type RecommendationsQuery = z.output<typeof recommendationsQuerySchema>;

export const similarQuerySchema = z.strictObject({ limit: limitSchema });

export const recommendedItemSchema = z.object({
  productId: z.string(),
  score: z.number(),
  category: z.string().nullable(),
  reasons: z.array(z.string()),
  /** In an interleaved experiment: the variant that contributed the item. */
  team: z.string().optional(),
});
export type RecommendedItem = z.infer<typeof recommendedItemSchema>;

export const DEGRADED_SOURCES = ['session', 'batch'] as const;
export type DegradedSource = (typeof DEGRADED_SOURCES)[number];

/** Which experiment and variant produced an answer (docs/design.md, "Closing the loop"). */
export const servedExperimentSchema = z.object({ id: z.string(), variant: z.string() });
export type ServedExperiment = z.infer<typeof servedExperimentSchema>;

export const recommendationsAnswerSchema = z.object({
  userId: z.string(),
  /** One per answer: impressions and clicks name it, and attribution credits its variant. */
  recommendationId: z.uuid(),
  experiment: servedExperimentSchema.nullable(),
  items: z.array(recommendedItemSchema),
  sources: z.object({
    batchRunId: z.string().nullable(),
    batchPublishedAt: z.string().nullable(),
    session: z.boolean(),
  }),
  degraded: z.array(z.enum(DEGRADED_SOURCES)),
});
export type RecommendationsAnswer = z.infer<typeof recommendationsAnswerSchema>;

export const similarItemsAnswerSchema = z.object({
  productId: z.string(),
  items: z.array(recommendedItemSchema),
  degraded: z.array(z.enum(DEGRADED_SOURCES)).optional(),
});
export type SimilarItemsAnswer = z.infer<typeof similarItemsAnswerSchema>;

/** GET /sessions/:userId on the speed layer: an operator's view of one stored session. */
export const sessionViewSchema = z.object({
  userId: z.string(),
  /** Whether a bot flag holds now; `botFlag` stays after it ran out, until the session ends. */
  flagged: z.boolean(),
  botFlag: z.object({ reason: z.enum(['rate', 'repeat']), until: z.string() }).nullable(),
  /** Every stored event, oldest first, flagged ones included. */
  events: z.array(z.object({ type: z.string(), productId: z.string(), category: z.string().nullable(), at: z.string() })),
  /** The latest purchase of each product the session keeps. */
  purchases: z.array(z.object({ productId: z.string(), at: z.string() })),
});
export type SessionView = z.infer<typeof sessionViewSchema>;
