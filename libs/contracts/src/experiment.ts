import { z } from 'zod';
import { idSchema } from './event.js';

/** How a variant builds its list: today's merge, the merge without session state, or best-sellers. */
export const STRATEGIES = ['lambda', 'batch-only', 'popular'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const EXPERIMENT_MODES = ['ab', 'interleave'] as const;
export type ExperimentMode = (typeof EXPERIMENT_MODES)[number];

export const EXPERIMENT_STATUSES = ['running', 'stopped'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

/**
 * The tuning variables a variant may override, named as in the README's configuration table, in
 * their units there; the merge's source weights are set only here (their defaults are the tuned ones).
 */
export const variantParamsSchema = z.strictObject({
  CATEGORY_BOOST: z.number().min(0).max(10).optional(),
  BOOST_HALF_LIFE_MINUTES: z
    .number()
    .positive()
    .max(7 * 24 * 60)
    .optional(),
  PURCHASE_SUPPRESSION_HOURS: z
    .number()
    .min(0)
    .max(24 * 365)
    .optional(),
  REBUY_THRESHOLD: z.number().min(0).max(1).optional(),
  REBUY_MIN_BUYERS: z.number().int().min(1).max(1_000_000).optional(),
  SESSION_SIMILAR_WEIGHT: z.number().min(0).max(100).optional(),
  REBOUGHT_WEIGHT: z.number().min(0).max(100).optional(),
  POPULAR_WEIGHT: z.number().min(0).max(100).optional(),
  DIVERSITY: z.number().min(0).max(1).optional(),
});
export type VariantParams = z.infer<typeof variantParamsSchema>;

/** The most variants one experiment may have: the variant's index travels in 4 bits of the recommendationId. */
export const MAX_VARIANTS = 16;

export const variantSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'variant name must be 1–64 characters of A-Z a-z 0-9 _ . -'),
  weight: z.number().min(0, 'weight must be 0 or more').max(1_000_000),
  strategy: z.enum(STRATEGIES),
  params: variantParamsSchema.default({}),
});
export type Variant = z.infer<typeof variantSchema>;

/** PUT /experiments/:experimentId. */
export const experimentDefinitionSchema = z
  .strictObject({
    mode: z.enum(EXPERIMENT_MODES),
    status: z.enum(EXPERIMENT_STATUSES),
    variants: z.array(variantSchema).min(2, 'an experiment compares at least two variants').max(MAX_VARIANTS),
  })
  .superRefine((definition, ctx) => {
    const seen = new Set<string>();
    definition.variants.forEach((variant, index) => {
      if (seen.has(variant.name)) {
        ctx.addIssue({ code: 'custom', path: ['variants', index, 'name'], message: `two variants are named ${variant.name}` });
      }
      seen.add(variant.name);
    });
    const total = definition.variants.reduce((sum, variant) => sum + variant.weight, 0);
    if (!(total > 0)) ctx.addIssue({ code: 'custom', path: ['variants'], message: "the variants' weights must sum to a positive number" });
    if (definition.mode === 'interleave' && definition.variants.length !== 2) {
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'an interleaved experiment has exactly two variants (baseline first)' });
    }
    // Interleaving credits items one by one; a list's variety is a property of the whole list (ADR 018).
    if (definition.mode === 'interleave') {
      definition.variants.forEach((variant, index) => {
        if (variant.params.DIVERSITY !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['variants', index, 'params', 'DIVERSITY'],
            message: 'DIVERSITY is tested in an A/B experiment: interleaving credits single items, not what a whole list does',
          });
        }
      });
    }
  });
export type ExperimentDefinition = z.infer<typeof experimentDefinitionSchema>;

export const experimentIdParamsSchema = z.strictObject({ experimentId: idSchema('experimentId') });

/** An experiment as stored and listed. */
export const experimentSchema = z.object({
  experimentId: z.string(),
  mode: z.enum(EXPERIMENT_MODES),
  status: z.enum(EXPERIMENT_STATUSES),
  variants: z.array(variantSchema),
  /** Stamped into every recommendationId the experiment serves, so that attribution needs no lookup. */
  tag: z.number().int(),
  createdAt: z.string(),
  /** When it first ran, and when it last stopped (null while running or never stopped). */
  startedAt: z.string().nullable(),
  stoppedAt: z.string().nullable(),
});
export type Experiment = z.infer<typeof experimentSchema>;

export const experimentListSchema = z.object({ experiments: z.array(experimentSchema) });

export const VERDICTS = ['challenger-better', 'baseline-better', 'no-difference-yet'] as const;
export type Verdict = (typeof VERDICTS)[number];

const intervalSchema = z.tuple([z.number(), z.number()]);

export const variantReportSchema = z.object({
  name: z.string(),
  users: z.number().int(),
  impressions: z.number().int(),
  itemsShown: z.number().int(),
  clicks: z.number().int(),
  ctr: z.number(),
  ctrInterval: intervalSchema,
  addToCarts: z.number().int(),
  purchases: z.number().int(),
  revenue: z.number(),
});
export type VariantReport = z.infer<typeof variantReportSchema>;

/** A variant's CTR over the lists shown in one time bucket (an hour or a day), for the operator's chart. */
export const seriesPointSchema = z.object({
  /** The bucket's start (ISO-8601, UTC). */
  at: z.string(),
  variants: z.array(
    z.object({ name: z.string(), itemsShown: z.number().int(), clicks: z.number().int(), ctr: z.number(), ctrInterval: intervalSchema }),
  ),
});
export type SeriesPoint = z.infer<typeof seriesPointSchema>;

/** GET /experiments/:experimentId/report. */
export const experimentReportSchema = z.object({
  experimentId: z.string(),
  mode: z.enum(EXPERIMENT_MODES),
  since: z.string().nullable(),
  until: z.string(),
  variants: z.array(variantReportSchema),
  comparison: z.object({
    baseline: z.string(),
    challenger: z.string(),
    difference: z.number(),
    interval: intervalSchema,
    pValue: z.number(),
    verdict: z.enum(VERDICTS),
  }),
  interleaving: z
    .object({
      wins: z.number().int(),
      losses: z.number().int(),
      ties: z.number().int(),
      preference: z.number(),
      interval: intervalSchema,
      verdict: z.enum(VERDICTS),
    })
    .optional(),
  /** CTR per variant per hour (experiments up to three days long) or per day, by when the lists were shown. */
  series: z.object({ bucket: z.enum(['hour', 'day']), points: z.array(seriesPointSchema) }).optional(),
});
export type ExperimentReport = z.infer<typeof experimentReportSchema>;

/** What a batch run's stats carry of the experiment running when it published: its counts and comparison. */
export const experimentSummarySchema = experimentReportSchema
  .pick({
    experimentId: true,
    mode: true,
    since: true,
    until: true,
    comparison: true,
    interleaving: true,
  })
  .extend({ variants: z.array(variantReportSchema.omit({ ctrInterval: true })) });
export type ExperimentSummary = z.infer<typeof experimentSummarySchema>;
