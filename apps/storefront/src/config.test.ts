import { ConfigError, loadConfig, storefrontConfigSchema } from '@lambdarec/config';
import { demoEvents } from '@lambdarec/local-stack';
import { describe, expect, it } from 'vitest';

const DATABASE_URL = 'postgres://u:p@127.0.0.1:55432/db';

describe('storefront configuration', () => {
  it('defaults to port 3003, the local serving and ingest, and demo shoppers that exist in the demo data', () => {
    const config = loadConfig(storefrontConfigSchema, { DATABASE_URL });
    expect(config).toMatchObject({
      PORT: 3003,
      SERVING_URL: 'http://127.0.0.1:3000',
      INGEST_URL: 'http://127.0.0.1:3001',
      HOST: '127.0.0.1',
    });
    const demoUsers = new Set(demoEvents().map((event) => event.userId));
    for (const shopper of config.STOREFRONT_SHOPPERS) expect(demoUsers.has(shopper), shopper).toBe(true);
  });

  it('takes URLs without their trailing slash, and a comma list of shoppers', () => {
    const config = loadConfig(storefrontConfigSchema, {
      DATABASE_URL,
      SERVING_URL: 'http://serving:3000/',
      INGEST_URL: 'https://events.shop.example/',
      STOREFRONT_SHOPPERS: ' alice , bob ',
    });
    expect(config).toMatchObject({
      SERVING_URL: 'http://serving:3000',
      INGEST_URL: 'https://events.shop.example',
      STOREFRONT_SHOPPERS: ['alice', 'bob'],
    });
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig(storefrontConfigSchema, { SERVING_URL: 'ftp://x', INGEST_URL: 'nope', STOREFRONT_SHOPPERS: 'ok,not ok', PORT: '70000' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).problems.map((problem) => problem.split(':')[0]);
    expect(variables.sort()).toEqual(['DATABASE_URL', 'INGEST_URL', 'PORT', 'SERVING_URL', 'STOREFRONT_SHOPPERS']);
  });

  it('refuses an empty shopper list', () => {
    expect(() => loadConfig(storefrontConfigSchema, { DATABASE_URL, STOREFRONT_SHOPPERS: ' , ' })).toThrow(/STOREFRONT_SHOPPERS/);
  });
});
