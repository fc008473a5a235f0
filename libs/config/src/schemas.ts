import {
  ARCHIVE_CONSUMER_GROUP,
  BATCH_QUEUE,
  DEFAULT_EVENT_MAX_AGE_HOURS,
  DEFAULT_REDIS_KEY_PREFIX,
  EVENTS_TOPIC,
  SPEED_CONSUMER_GROUP,
} from '@lambdarec/contracts';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '@lambdarec/domain';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const url = (protocols: string[], what: string) =>
  z
    .string()
    .min(1)
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a ${what} URL (${protocols.map((p) => `${p}//`).join(' or ')}…)`,
    );

const positiveNumber = z.coerce.number({ error: 'must be a number' }).positive();

const port = (defaultPort: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a port number')
    .min(0, 'must be a port number 0–65535')
    .max(65535, 'must be a port number 0–65535')
    .default(defaultPort)
    .describe('HTTP port');

const common = {
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info').describe('pino log level'),
  HOST: z.string().min(1).default('127.0.0.1').describe('interface the HTTP server binds to'),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value): boolean | number | string[] => {
      if (value === 'true') return true;
      if (value === 'false') return false;
      if (/^\d+$/.test(value)) return Number(value);
      return value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean);
    })
    .describe('proxies whose X-Forwarded-For is believed: false, true, a hop count, or a comma list of addresses/CIDRs'),
};

const kafka = {
  KAFKA_BROKERS: z
    .string({ error: 'required (comma list of host:port)' })
    .transform((value) =>
      value
        .split(',')
        .map((broker) => broker.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker must be host:port')).min(1, 'at least one broker'))
    .describe('Kafka bootstrap brokers, comma separated host:port'),
  EVENTS_TOPIC: z.string().min(1).default(EVENTS_TOPIC).describe('topic of click events'),
};

const clusterNode = z.string().superRefine((node, ctx) => {
  const port = /^[^:\s]+:(\d+)$/.exec(node)?.[1];
  if (port === undefined) ctx.addIssue({ code: 'custom', message: 'each node must be host:port' });
  else if (Number(port) > 65535) ctx.addIssue({ code: 'custom', message: 'each node needs a port number 0–65535' });
});

// Exactly one of REDIS_URL and REDIS_CLUSTER_NODES: see redisSelection below.
const redis = {
  REDIS_URL: url(['redis:', 'rediss:'], 'Redis')
    .optional()
    .describe('Redis URL, e.g. redis://127.0.0.1:56379; unset when REDIS_CLUSTER_NODES names a Redis Cluster'),
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((node) => node.trim())
        .filter(Boolean),
    )
    .pipe(z.array(clusterNode).min(1, 'at least one node'))
    .optional()
    .describe('a Redis Cluster instead of REDIS_URL: some of its nodes, comma separated host:port (it finds the others)'),
  REDIS_KEY_PREFIX: z
    .string()
    .min(1)
    .default(DEFAULT_REDIS_KEY_PREFIX)
    .describe(
      'prefix of every key lambdarec keeps in Redis; on a Redis Cluster without a {hash tag}, which would put every key in one slot',
    ),
};

/** What the apps' Redis selection reads: the raw input (a bad value is reported by its own field). */
interface RedisSelectionInput {
  REDIS_URL?: unknown;
  REDIS_CLUSTER_NODES?: unknown;
  BULLMQ_PREFIX?: unknown;
}

/**
 * Exactly one Redis: REDIS_URL (one server) or REDIS_CLUSTER_NODES (a Redis Cluster). Both set is
 * refused rather than one silently winning: a half-migrated environment should not start on the
 * old server. Runs even when other variables are bad, so that every problem is listed at once.
 */
const redisSelection = [
  (config: RedisSelectionInput, ctx: z.RefinementCtx) => {
    const single = config.REDIS_URL !== undefined;
    const cluster = config.REDIS_CLUSTER_NODES !== undefined;
    if (!single && !cluster) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'required (or REDIS_CLUSTER_NODES for a Redis Cluster)' });
    } else if (single && cluster) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_CLUSTER_NODES'],
        message: 'set either REDIS_URL (one server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both',
      });
    }
    const prefix = config.BULLMQ_PREFIX;
    if (cluster && typeof prefix === 'string' && !hasHashTag(prefix)) {
      ctx.addIssue({
        code: 'custom',
        path: ['BULLMQ_PREFIX'],
        message: `must hold a hash tag on a Redis Cluster, e.g. {${prefix}}, so that each queue's keys share one slot`,
      });
    }
  },
  { when: () => true },
] as const;

/**
 * Whether a key prefix holds a Redis Cluster hash tag: a `{` with a non-empty text before the next
 * `}`. Then only that text places the key, so every key with the prefix lands in one slot.
 */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1;
}

/** The Redis of an app's configuration, in the shape createRedis (@lambdarec/clients) takes. */
export function redisConnectionFrom(config: {
  REDIS_URL?: string | undefined;
  REDIS_CLUSTER_NODES?: string[] | undefined;
}): { url: string } | { clusterNodes: string[] } {
  if (config.REDIS_CLUSTER_NODES !== undefined) return { clusterNodes: config.REDIS_CLUSTER_NODES };
  if (config.REDIS_URL !== undefined) return { url: config.REDIS_URL };
  throw new Error('REDIS_URL or REDIS_CLUSTER_NODES: required (the schema checks this; was the configuration loaded with it?)');
}

/**
 * BullMQ's key prefix: BULLMQ_PREFIX, else `bull` on one server (the queues that exist keep
 * working) and `{lrec-bull}` on a Redis Cluster, where BullMQ's scripts need each queue's keys in
 * one slot. One tag puts every queue on one primary: lambdarec has one queue.
 */
export function bullmqPrefixFrom(config: { BULLMQ_PREFIX?: string | undefined; REDIS_CLUSTER_NODES?: string[] | undefined }): string {
  return config.BULLMQ_PREFIX ?? (config.REDIS_CLUSTER_NODES === undefined ? 'bull' : DEFAULT_CLUSTER_BULLMQ_PREFIX);
}

export const DEFAULT_CLUSTER_BULLMQ_PREFIX = '{lrec-bull}';

const database = {
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'PostgreSQL').describe('PostgreSQL URL'),
};

/**
 * Secrets that ship in examples and tutorials (ours included, once): a service refuses to start
 * with one, so a copied .env.example or compose file never guards anything real.
 */
export const KNOWN_PLACEHOLDER_SECRETS: readonly string[] = [
  'change-me-please',
  'change-me',
  'changeme',
  'change_me',
  'password',
  'password1',
  'password123',
  'passw0rd',
  'secret',
  'admin',
  'admin123',
  'letmein',
  '12345678',
  '123456789',
  'qwertyui',
  'your-secret-here',
  'your-api-key',
  'a-real-secret',
];

const secret = (what: string, minLength: number) =>
  z
    .string({ error: `required (${what})` })
    .min(minLength, `must be at least ${minLength} characters`)
    .refine((value) => !KNOWN_PLACEHOLDER_SECRETS.includes(value.trim().toLowerCase()), 'is a known placeholder; set a secret of your own');

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

// The defaults are the domain's, in the units the variables are written in.
const policy = DEFAULT_SESSION_POLICY;

const session = {
  SESSION_WINDOW_MINUTES: positiveNumber.default(policy.sessionWindowMs / MINUTE_MS).describe('speed layer keeps events younger than this'),
  BOOST_HALF_LIFE_MINUTES: positiveNumber.default(policy.boostHalfLifeMs / MINUTE_MS).describe('half-life of a session category boost'),
  PURCHASE_SUPPRESSION_HOURS: positiveNumber
    .default(policy.purchaseSuppressionMs / HOUR_MS)
    .describe('how long a purchased product that customers rarely buy again is hidden'),
  REBUY_THRESHOLD: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(policy.rebuyThreshold)
    .describe('a purchased product stays recommended when at least this share of its buyers bought it again'),
  REBUY_MIN_BUYERS: z.coerce
    .number()
    .int()
    .min(1)
    .default(policy.rebuyMinBuyers)
    .describe('buyers a product (else its category) needs before its re-buy share counts'),
  CATEGORY_BOOST: z.coerce
    .number()
    .min(0)
    .max(10)
    .default(policy.categoryBoost)
    .describe('score fraction added for a fully boosted category'),
  BOT_MAX_EVENTS_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .max(policy.maxSignals - 1, `must stay below the ${policy.maxSignals} events a session keeps`)
    .default(policy.botMaxEventsPerMinute)
    .describe('bot guard: more events than this within 60 s flags a user'),
  BOT_REPEAT_LIMIT: z.coerce
    .number()
    .int()
    .min(2)
    .default(policy.botRepeatLimit)
    .describe('bot guard: this many events in a row of one type on one product flags a user'),
  BOT_REPEAT_WINDOW_SECONDS: positiveNumber
    .default(policy.botRepeatWindowMs / SECOND_MS)
    .describe('bot guard: the repeats must fall within this many seconds'),
  BOT_FLAG_MINUTES: positiveNumber
    .default(policy.botFlagMs / MINUTE_MS)
    .describe("bot guard: how long a flag lasts; a flagged user's events move no boosts and stay out of the batch model"),
};

const ingestVariables = z.object({
  ...common,
  ...kafka,
  ...database,
  ...redis,
  PORT: port(3001),
  CATALOG_API_KEY: secret('bearer token of PUT /products', 16).describe(
    'bearer token that PUT /products requires (Authorization: Bearer …)',
  ),
  STOREFRONT_ORIGINS: z
    .string()
    .default('http://localhost:3003,http://127.0.0.1:3003')
    .transform((value, ctx) => {
      const origins = value
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o.length > 0);
      for (const origin of origins) {
        let parsed: URL | undefined;
        try {
          parsed = new URL(origin);
        } catch {
          parsed = undefined;
        }
        if (parsed === undefined || parsed.origin !== origin) {
          ctx.addIssue({
            code: 'custom',
            message: `each entry must be an origin such as https://shop.example (scheme, host, optional port), not ${origin}`,
          });
          return z.NEVER;
        }
      }
      return origins;
    })
    .describe('browser origins allowed to POST /events (CORS), comma list'),
  EVENTS_WRITE_KEY: z
    .string()
    .min(8, 'must be at least 8 characters')
    .optional()
    .describe('when set, POST /events needs the header X-Write-Key with this value'),
  RATE_LIMIT_PER_MINUTE: z.coerce
    .number({ error: 'must be a number' })
    .int()
    .min(1)
    .default(6000)
    .describe('events (and catalog products) per minute and client address, across ingest instances (Redis)'),
  EVENT_MAX_AGE_HOURS: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number of hours')
    .min(1)
    .default(DEFAULT_EVENT_MAX_AGE_HOURS)
    .describe(
      'how far back POST /events may date an event, in hours; history imports (Authorization: Bearer <CATALOG_API_KEY>) may go back to 2000',
    ),
});
export const ingestConfigSchema = ingestVariables.superRefine(...redisSelection);
export type IngestConfig = z.output<typeof ingestConfigSchema>;

const speedVariables = z.object({
  ...common,
  ...kafka,
  ...redis,
  ...session,
  PORT: port(3004),
  SPEED_GROUP_ID: z.string().min(1).default(SPEED_CONSUMER_GROUP).describe('Kafka consumer group of the speed layer'),
  DASHBOARD_USER: z.string().min(1).default('admin').describe('basic-auth user of GET /sessions/:userId (the operator view)'),
  // Optional here: without it the speed layer still consumes, and only the operator view is off.
  DASHBOARD_PASSWORD: secret('basic-auth password of the operator view', 8)
    .optional()
    .describe('basic-auth password of GET /sessions/:userId; unset: that route is not served'),
});
export const speedConfigSchema = speedVariables.superRefine(...redisSelection);
export type SpeedConfig = z.output<typeof speedConfigSchema>;

/** `npm run replay-sessions`: the speed layer's settings, and Postgres to find the published run's watermark. */
export const replaySessionsConfigSchema = speedConfigSchema.extend({
  DATABASE_URL: database.DATABASE_URL.optional().describe(
    'PostgreSQL URL; when set, the replay starts one session window before the published run',
  ),
});

const batchVariables = z.object({
  ...common,
  ...kafka,
  ...redis,
  ...database,
  PORT: port(3002),
  ARCHIVE_GROUP_ID: z.string().min(1).default(ARCHIVE_CONSUMER_GROUP).describe('Kafka consumer group of the archiver'),
  BATCH_QUEUE: z.string().min(1).default(BATCH_QUEUE).describe('BullMQ queue of batch runs'),
  BULLMQ_PREFIX: z
    .string()
    .min(1)
    .optional()
    .describe(
      `prefix of BullMQ's keys; default bull, or ${DEFAULT_CLUSTER_BULLMQ_PREFIX} on a Redis Cluster, where it must hold a {hash tag}`,
    ),
  BATCH_CRON: z
    .string()
    .regex(/^\S+(\s+\S+){4,5}$/, 'must be a cron pattern of 5 or 6 fields, e.g. "0 2 * * *"')
    .default('0 2 * * *')
    .describe('when the nightly batch runs'),
  BATCH_TZ: z.string().min(1).default('UTC').describe('time zone of BATCH_CRON'),
  DASHBOARD_USER: z.string().min(1).default('admin').describe('basic-auth user of Bull Board and the batch runs API'),
  DASHBOARD_PASSWORD: secret('basic-auth password of the dashboard', 8).describe(
    'basic-auth password of Bull Board and the batch runs API',
  ),
  BATCH_HISTORY_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(365)
    .describe('days of history before the newest event that a run reads'),
  BATCH_KEEP_RUNS: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(3)
    .describe('succeeded runs whose view is kept for rollback (besides the published one)'),
  BATCH_WORKER_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe('batch jobs (run steps and shards) this process works on at once'),
  BATCH_SHARD_MAX_PAIRS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(12_000_000)
    .describe('item pairs one similar-items shard may hold (at most ~50 bytes each); a run is cut into enough shards to stay under it'),
  BATCH_SHARD_MAX_USERS: z.coerce
    .number()
    .int()
    .min(100)
    .default(100_000)
    .describe(
      "users per user-items shard (each shard loads the run's similar lists once, so fewer is cheaper; memory does not grow with it)",
    ),
  BATCH_MIN_SHARDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(2)
    .describe('shards per stage at least, so that every worker process gets a share'),
  BATCH_JOB_LOCK_MS: z.coerce
    .number()
    .int()
    .min(2000)
    .default(60_000)
    .describe('lock of a batch job; a job whose process died is taken by another after this long'),
  ATTRIBUTION_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(24)
    .describe(
      'experiment reports: a purchase without a recommendationId counts for the list the user clicked that product on within this many hours before',
    ),
});
export const batchConfigSchema = batchVariables.superRefine(...redisSelection);
export type BatchConfig = z.output<typeof batchConfigSchema>;

const servingVariables = z.object({
  ...common,
  ...redis,
  ...database,
  ...session,
  PORT: port(3000),
  DATABASE_READ_URL: url(['postgres:', 'postgresql:'], 'PostgreSQL')
    .optional()
    .describe(
      'PostgreSQL URL of a hot standby that serving reads the batch view and the catalog from; reads it cannot answer go to DATABASE_URL',
    ),
  BATCH_VIEW_REFRESH_MS: z.coerce.number().int().min(100).default(2000).describe('how often serving checks for a newly published run'),
  CATALOG_CACHE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe('how often, at most, serving asks the catalog what changed (so, about how long a sold-out product can still show)'),
  USER_ITEMS_CACHE_ENTRIES: z.coerce
    .number()
    .int()
    .min(0)
    .default(100_000)
    .describe('users whose batch lists serving keeps in memory (about 1.6 KB each), least recently used out; 0 turns the cache off'),
  DIVERSITY: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe(
      "λ of maximal marginal relevance by category over the merge's best 2 × limit (0 keeps the merge's order; 1 spreads categories first)",
    ),
  RERANK_AFTER_PURCHASE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true')
    .describe(
      "after a purchase the published run has not read, rank the customer's list again with it (ADR 017); each serving process then holds an index of the run's customers",
    ),
});
export const servingConfigSchema = servingVariables.superRefine(...redisSelection);
export type ServingConfig = z.output<typeof servingConfigSchema>;

/** Session tunables in the domain's units; what no variable sets keeps the domain's default. */
export const sessionPolicyFrom = (config: z.output<z.ZodObject<typeof session>>): SessionPolicy => ({
  sessionWindowMs: config.SESSION_WINDOW_MINUTES * MINUTE_MS,
  boostHalfLifeMs: config.BOOST_HALF_LIFE_MINUTES * MINUTE_MS,
  purchaseSuppressionMs: config.PURCHASE_SUPPRESSION_HOURS * HOUR_MS,
  categoryBoost: config.CATEGORY_BOOST,
  maxSignals: policy.maxSignals,
  maxPurchases: policy.maxPurchases,
  rebuyThreshold: config.REBUY_THRESHOLD,
  rebuyMinBuyers: config.REBUY_MIN_BUYERS,
  botMaxEventsPerMinute: config.BOT_MAX_EVENTS_PER_MINUTE,
  botRepeatLimit: config.BOT_REPEAT_LIMIT,
  botRepeatWindowMs: config.BOT_REPEAT_WINDOW_SECONDS * SECOND_MS,
  botFlagMs: config.BOT_FLAG_MINUTES * MINUTE_MS,
});
