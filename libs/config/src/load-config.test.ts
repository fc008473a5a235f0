import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config.js';
import { batchConfigSchema, ingestConfigSchema, servingConfigSchema, speedConfigSchema } from './schemas.js';

type Env = Record<string, string | undefined>;

const buildBatchEnv = (overrides: Env = {}): Env => ({
  KAFKA_BROKERS: '127.0.0.1:59092',
  DATABASE_URL: 'postgres://lrec:lrec@127.0.0.1:55432/lrec',
  REDIS_URL: 'redis://127.0.0.1:56379',
  DASHBOARD_PASSWORD: 'correct-horse',
  CATALOG_API_KEY: 'catalog-key-for-tests',
  ...overrides,
});

/** The ConfigError that loading throws (fails the test if loading succeeds). */
const configErrorOf = (schema: z.ZodType, env: Env): ConfigError => {
  try {
    loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
};

const problemFor = (error: ConfigError, key: string) => error.problems.filter((problem) => problem.startsWith(`${key}`));

describe('loadConfig', () => {
  it('returns the typed config with defaults applied', () => {
    const config = loadConfig(batchConfigSchema, buildBatchEnv());
    expect(config).toMatchObject({
      PORT: 3002,
      BATCH_CRON: '0 2 * * *',
      BATCH_TZ: 'UTC',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      EVENTS_TOPIC: 'events.v1',
      ARCHIVE_GROUP_ID: 'lambdarec-archive',
      BATCH_QUEUE: 'batch',
      DASHBOARD_USER: 'admin',
      REDIS_KEY_PREFIX: 'lrec:',
      KAFKA_BROKERS: ['127.0.0.1:59092'],
    });
  });

  it('takes values given in the environment over the defaults, coercing numbers', () => {
    const config = loadConfig(batchConfigSchema, buildBatchEnv({ PORT: '4000', BATCH_CRON: '*/5 * * * *', LOG_LEVEL: 'debug' }));
    expect(config.PORT).toBe(4000);
    expect(config.BATCH_CRON).toBe('*/5 * * * *');
    expect(config.LOG_LEVEL).toBe('debug');
  });

  it('gives each app its own default port', () => {
    const ingest = loadConfig(ingestConfigSchema, buildBatchEnv());
    const speed = loadConfig(speedConfigSchema, buildBatchEnv());
    const serving = loadConfig(servingConfigSchema, buildBatchEnv());
    expect([serving.PORT, ingest.PORT, speed.PORT]).toEqual([3000, 3001, 3004]);
  });

  it('ignores variables the schema does not know (the environment is full of them)', () => {
    const config = loadConfig(batchConfigSchema, buildBatchEnv({ PATH: '/usr/bin', HOME: '/root' }));
    expect(config).not.toHaveProperty('PATH');
  });

  it('names every missing required variable in one ConfigError', () => {
    const error = configErrorOf(batchConfigSchema, { REDIS_URL: 'redis://127.0.0.1:56379' });
    expect(error.code).toBe('LREC_INVALID_CONFIG');
    expect([...error.problems].sort()).toEqual(['DASHBOARD_PASSWORD: required', 'DATABASE_URL: required', 'KAFKA_BROKERS: required']);
    for (const key of ['KAFKA_BROKERS', 'DATABASE_URL', 'DASHBOARD_PASSWORD']) expect(error.message).toContain(key);
  });

  it('lists missing and bad variables together, one line each', () => {
    const error = configErrorOf(batchConfigSchema, {
      REDIS_URL: 'http://x',
      PORT: 'abc',
      BATCH_CRON: 'nope',
      KAFKA_BROKERS: 'a:1,b',
    });
    expect(error.problems).toHaveLength(6);
    expect(error.message.split('\n')).toHaveLength(7);
    expect(error.message).toMatch(/^invalid configuration:\n/);
  });

  it('names a REDIS_URL that is not a redis:// URL', () => {
    const error = configErrorOf(batchConfigSchema, buildBatchEnv({ REDIS_URL: 'http://x' }));
    expect(error.problems).toEqual([expect.stringMatching(/^REDIS_URL: must be a Redis URL/)]);
  });

  it('names a DATABASE_URL that is not a PostgreSQL URL or not a URL at all', () => {
    expect(configErrorOf(batchConfigSchema, buildBatchEnv({ DATABASE_URL: 'mysql://x/y' })).problems).toEqual([
      expect.stringMatching(/^DATABASE_URL: must be a PostgreSQL URL/),
    ]);
    expect(configErrorOf(batchConfigSchema, buildBatchEnv({ DATABASE_URL: 'localhost:5432' })).problems).toEqual([
      expect.stringMatching(/^DATABASE_URL: /),
    ]);
  });

  it('accepts rediss:// and postgresql:// URLs', () => {
    const config = loadConfig(batchConfigSchema, buildBatchEnv({ REDIS_URL: 'rediss://cache:6380', DATABASE_URL: 'postgresql://db/lrec' }));
    expect([config.REDIS_URL, config.DATABASE_URL]).toEqual(['rediss://cache:6380', 'postgresql://db/lrec']);
  });

  it('names a PORT that is not a number, without calling it missing', () => {
    const error = configErrorOf(batchConfigSchema, buildBatchEnv({ PORT: 'abc' }));
    expect(problemFor(error, 'PORT')).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^PORT: /);
    expect(error.problems[0]).not.toBe('PORT: required');
  });

  it('rejects a PORT out of range or not an integer', () => {
    expect(problemFor(configErrorOf(batchConfigSchema, buildBatchEnv({ PORT: '65536' })), 'PORT')).toHaveLength(1);
    expect(problemFor(configErrorOf(batchConfigSchema, buildBatchEnv({ PORT: '80.5' })), 'PORT')).toHaveLength(1);
  });

  it('names a BATCH_CRON that is not a cron pattern', () => {
    expect(configErrorOf(batchConfigSchema, buildBatchEnv({ BATCH_CRON: 'nope' })).problems).toEqual([
      'BATCH_CRON: must be a cron pattern of 5 or 6 fields, e.g. "0 2 * * *"',
    ]);
  });

  it('accepts a six-field cron pattern (with seconds) and rejects seven fields', () => {
    expect(loadConfig(batchConfigSchema, buildBatchEnv({ BATCH_CRON: '0 0 2 * * *' })).BATCH_CRON).toBe('0 0 2 * * *');
    expect(configErrorOf(batchConfigSchema, buildBatchEnv({ BATCH_CRON: '0 0 2 * * * 2025' })).problems).toHaveLength(1);
  });

  it('names KAFKA_BROKERS when a broker is not host:port', () => {
    const error = configErrorOf(batchConfigSchema, buildBatchEnv({ KAFKA_BROKERS: 'a:1,b' }));
    expect(error.problems).toEqual([expect.stringMatching(/^KAFKA_BROKERS: each broker must be host:port/)]);
  });

  it('rejects a KAFKA_BROKERS list that contains no broker', () => {
    expect(configErrorOf(batchConfigSchema, buildBatchEnv({ KAFKA_BROKERS: ' , ' })).problems).toEqual([
      'KAFKA_BROKERS: at least one broker',
    ]);
  });

  it('parses KAFKA_BROKERS as a comma list, trimming whitespace and empty entries', () => {
    const config = loadConfig(batchConfigSchema, buildBatchEnv({ KAFKA_BROKERS: ' k1:9092 ,k2:9093,, k3:9094 ' }));
    expect(config.KAFKA_BROKERS).toEqual(['k1:9092', 'k2:9093', 'k3:9094']);
  });

  it('requires a DASHBOARD_PASSWORD of at least 8 characters', () => {
    expect(configErrorOf(batchConfigSchema, buildBatchEnv({ DASHBOARD_PASSWORD: 'short' })).problems).toEqual([
      'DASHBOARD_PASSWORD: must be at least 8 characters',
    ]);
  });

  it('refuses a known placeholder password or API key at start-up, whatever its case', () => {
    expect(configErrorOf(batchConfigSchema, buildBatchEnv({ DASHBOARD_PASSWORD: 'change-me-please' })).problems).toEqual([
      'DASHBOARD_PASSWORD: is a known placeholder; set a secret of your own',
    ]);
    expect(configErrorOf(batchConfigSchema, buildBatchEnv({ DASHBOARD_PASSWORD: 'Password123' })).problems).toEqual([
      'DASHBOARD_PASSWORD: is a known placeholder; set a secret of your own',
    ]);
    expect(configErrorOf(ingestConfigSchema, buildBatchEnv({ CATALOG_API_KEY: 'your-secret-here' })).problems).toEqual([
      'CATALOG_API_KEY: is a known placeholder; set a secret of your own',
    ]);
  });

  it('requires a CATALOG_API_KEY of at least 16 characters for ingest', () => {
    expect(configErrorOf(ingestConfigSchema, buildBatchEnv({ CATALOG_API_KEY: undefined })).problems).toEqual([
      'CATALOG_API_KEY: required',
    ]);
    expect(configErrorOf(ingestConfigSchema, buildBatchEnv({ CATALOG_API_KEY: 'too-short' })).problems).toEqual([
      'CATALOG_API_KEY: must be at least 16 characters',
    ]);
  });

  it('reads STOREFRONT_ORIGINS as a list of origins and names a bad entry', () => {
    expect(
      loadConfig(ingestConfigSchema, buildBatchEnv({ STOREFRONT_ORIGINS: 'https://shop.example, http://localhost:3003' }))
        .STOREFRONT_ORIGINS,
    ).toEqual(['https://shop.example', 'http://localhost:3003']);
    expect(loadConfig(ingestConfigSchema, buildBatchEnv()).STOREFRONT_ORIGINS).toEqual(['http://localhost:3003', 'http://127.0.0.1:3003']);
    expect(
      problemFor(
        configErrorOf(ingestConfigSchema, buildBatchEnv({ STOREFRONT_ORIGINS: 'https://shop.example/path' })),
        'STOREFRONT_ORIGINS',
      ),
    ).toHaveLength(1);
  });

  it('reads EVENT_MAX_AGE_HOURS, 168 by default, and names a value that is not a whole number of hours', () => {
    expect(loadConfig(ingestConfigSchema, buildBatchEnv()).EVENT_MAX_AGE_HOURS).toBe(168);
    expect(loadConfig(ingestConfigSchema, buildBatchEnv({ EVENT_MAX_AGE_HOURS: '48' })).EVENT_MAX_AGE_HOURS).toBe(48);
    for (const bad of ['0', '1.5', 'a week']) {
      expect(
        problemFor(configErrorOf(ingestConfigSchema, buildBatchEnv({ EVENT_MAX_AGE_HOURS: bad })), 'EVENT_MAX_AGE_HOURS'),
      ).toHaveLength(1);
    }
  });

  it('rejects an unknown LOG_LEVEL', () => {
    expect(problemFor(configErrorOf(batchConfigSchema, buildBatchEnv({ LOG_LEVEL: 'verbose' })), 'LOG_LEVEL')).toHaveLength(1);
  });

  it('a ConfigError is an Error with its name and code, for start-up code to report and exit 1', () => {
    const error = configErrorOf(batchConfigSchema, {});
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.code).toBe('LREC_INVALID_CONFIG');
  });

  it('works with any zod schema, not only the app schemas', () => {
    const schema = z.object({ A: z.string(), B: z.coerce.number().default(7) });
    expect(loadConfig(schema, { A: 'x' })).toEqual({ A: 'x', B: 7 });
    expect(configErrorOf(schema, {}).problems).toEqual(['A: required']);
  });

  // BUG (schemas.ts, every `PORT: z.coerce.number()...min(0)`): an empty variable (`PORT=` in an .env
  // file, or `PORT: ${PORT}` in compose with PORT unset) is coerced by Number('') to 0, which passes
  // min(0), so the service silently listens on a random ephemeral port instead of its default
  // (or failing with a message naming PORT). The same coercion turns an empty CATEGORY_BOOST into 0.
  it('an empty PORT is not silently taken as port 0', () => {
    expect(loadConfig(batchConfigSchema, buildBatchEnv({ PORT: '' })).PORT).toBe(3002);
  });
});
