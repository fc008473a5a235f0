import { describe, expect, it } from 'vitest';
import { loadConfig } from './load-config.js';
import { servingConfigSchema, sessionPolicyFrom, speedConfigSchema } from './schemas.js';

const buildSpeedEnv = (overrides: Record<string, string | undefined> = {}) => ({
  KAFKA_BROKERS: '127.0.0.1:59092',
  REDIS_URL: 'redis://127.0.0.1:56379',
  ...overrides,
});

describe('sessionPolicyFrom', () => {
  it('converts minutes and hours to milliseconds', () => {
    expect(
      sessionPolicyFrom({
        SESSION_WINDOW_MINUTES: 90,
        BOOST_HALF_LIFE_MINUTES: 15,
        PURCHASE_SUPPRESSION_HOURS: 2,
        CATEGORY_BOOST: 0.5,
        REBUY_THRESHOLD: 0.25,
        REBUY_MIN_BUYERS: 3,
        BOT_MAX_EVENTS_PER_MINUTE: 20,
        BOT_REPEAT_LIMIT: 4,
        BOT_REPEAT_WINDOW_SECONDS: 10,
        BOT_FLAG_MINUTES: 5,
      }),
    ).toEqual({
      sessionWindowMs: 90 * 60_000,
      boostHalfLifeMs: 15 * 60_000,
      purchaseSuppressionMs: 2 * 3_600_000,
      categoryBoost: 0.5,
      maxSignals: 200,
      maxPurchases: 200,
      rebuyThreshold: 0.25,
      rebuyMinBuyers: 3,
      botMaxEventsPerMinute: 20,
      botRepeatLimit: 4,
      botRepeatWindowMs: 10_000,
      botFlagMs: 5 * 60_000,
    });
  });

  it('with the default settings gives the documented session policy (2 h window, 30 min half-life, 24 h, +0.3, bots at 50 a minute or 3 repeats)', () => {
    const config = loadConfig(speedConfigSchema, buildSpeedEnv());
    expect(sessionPolicyFrom(config)).toEqual({
      sessionWindowMs: 2 * 60 * 60 * 1000,
      boostHalfLifeMs: 30 * 60 * 1000,
      purchaseSuppressionMs: 24 * 60 * 60 * 1000,
      categoryBoost: 0.3,
      maxSignals: 200,
      maxPurchases: 200,
      rebuyThreshold: 0.1,
      rebuyMinBuyers: 5,
      botMaxEventsPerMinute: 50,
      botRepeatLimit: 3,
      botRepeatWindowMs: 30_000,
      botFlagMs: 30 * 60_000,
    });
  });

  it('refuses a re-buy threshold outside 0..1, naming the variable', () => {
    expect(() => loadConfig(speedConfigSchema, buildSpeedEnv({ REBUY_THRESHOLD: '1.5' }))).toThrow(/REBUY_THRESHOLD/);
  });

  it('keeps fractional minutes from the environment', () => {
    const config = loadConfig(speedConfigSchema, buildSpeedEnv({ BOOST_HALF_LIFE_MINUTES: '0.5' }));
    expect(sessionPolicyFrom(config).boostHalfLifeMs).toBe(30_000);
  });
});

describe('session settings', () => {
  it('reject a zero or negative window, half-life or suppression', () => {
    for (const key of ['SESSION_WINDOW_MINUTES', 'BOOST_HALF_LIFE_MINUTES', 'PURCHASE_SUPPRESSION_HOURS']) {
      expect(() => loadConfig(speedConfigSchema, buildSpeedEnv({ [key]: '0' })), key).toThrow(key);
      expect(() => loadConfig(speedConfigSchema, buildSpeedEnv({ [key]: '-5' })), key).toThrow(key);
    }
  });

  it('reject a CATEGORY_BOOST below 0 or above 10', () => {
    expect(() => loadConfig(speedConfigSchema, buildSpeedEnv({ CATEGORY_BOOST: '-0.1' }))).toThrow('CATEGORY_BOOST');
    expect(() => loadConfig(speedConfigSchema, buildSpeedEnv({ CATEGORY_BOOST: '11' }))).toThrow('CATEGORY_BOOST');
  });
});

describe('servingConfigSchema', () => {
  it('needs no Kafka and refreshes the batch view every 2 s by default', () => {
    const config = loadConfig(servingConfigSchema, {
      REDIS_URL: 'redis://127.0.0.1:56379',
      DATABASE_URL: 'postgres://127.0.0.1:55432/lrec',
    });
    expect(config.BATCH_VIEW_REFRESH_MS).toBe(2000);
    expect(config).not.toHaveProperty('KAFKA_BROKERS');
  });

  it("keeps the merge's order unless DIVERSITY, between 0 and 1, says otherwise", () => {
    const env = { REDIS_URL: 'redis://127.0.0.1:56379', DATABASE_URL: 'postgres://127.0.0.1:55432/lrec' };
    expect(loadConfig(servingConfigSchema, env).DIVERSITY).toBe(0);
    expect(loadConfig(servingConfigSchema, { ...env, DIVERSITY: '0.3' }).DIVERSITY).toBe(0.3);
    expect(() => loadConfig(servingConfigSchema, { ...env, DIVERSITY: '1.5' })).toThrow('DIVERSITY');
    expect(() => loadConfig(servingConfigSchema, { ...env, DIVERSITY: '-0.1' })).toThrow('DIVERSITY');
  });
});
