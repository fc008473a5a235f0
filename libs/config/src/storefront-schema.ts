import { servingConfigSchema } from './schemas.js';
import { ID_PATTERN } from '@lambdarec/contracts';
import { z } from 'zod';

const shopperId = z.string().regex(ID_PATTERN, 'each shopper must be a userId (1–128 of A-Z a-z 0-9 _ . : @ -)');

const baseUrl = (what: string) =>
  z
    .url({ protocol: /^https?$/, error: `must be an http:// or https:// URL of ${what}` })
    // One spelling, so the page and the client can append "/path" without doubling the slash.
    .transform((value) => value.replace(/\/+$/, ''));

/**
 * The storefront's environment. LOG_LEVEL, HOST and DATABASE_URL are taken from serving's schema
 * so that they parse and read the same in every service (its fields only: serving's check that
 * one Redis is configured is not the storefront's, and zod cannot pick from a refined object).
 */
export const storefrontConfigSchema = z
  .object(servingConfigSchema.shape)
  .pick({ LOG_LEVEL: true, HOST: true, DATABASE_URL: true })
  .extend({
    PORT: z.coerce
      .number({ error: 'must be a port number' })
      .int('must be a port number')
      .min(0, 'must be a port number 0–65535')
      .max(65535, 'must be a port number 0–65535')
      .default(3003)
      .describe('HTTP port'),
    SERVING_URL: baseUrl('serving')
      .default('http://127.0.0.1:3000')
      .describe('where the storefront server asks serving for recommendations and similar items (server to server)'),
    INGEST_URL: baseUrl('ingest')
      .default('http://127.0.0.1:3001')
      .describe("ingest's public URL: shoppers' browsers POST /events there (its STOREFRONT_ORIGINS must allow this storefront)"),
    EVENTS_WRITE_KEY: z
      .string()
      .min(8, 'must be at least 8 characters')
      .optional()
      .describe("ingest's EVENTS_WRITE_KEY when it has one: the page sends it as X-Write-Key (it is visible to shoppers)"),
    STOREFRONT_SHOPPERS: z
      .string()
      .default('demo-user-1,demo-user-2,demo-user-3,demo-user-4,demo-user-5,demo-user-6,demo-user-7,demo-user-8')
      .transform((value) =>
        value
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id.length > 0),
      )
      // A tuple with a rest: the type says what the check guarantees, a first (default) shopper.
      .pipe(z.tuple([shopperId], shopperId, { error: 'at least one shopper' }))
      .describe('user ids the shopper switch offers, comma list; the first is the default shopper'),
    SERVING_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(50)
      .default(2000)
      .describe('how long a page waits for serving before it shows the shop without recommendations'),
  });
export type StorefrontConfig = z.output<typeof storefrontConfigSchema>;
