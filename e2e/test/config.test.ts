import { describe, expect, it } from 'vitest';
import { spawnService } from './harness.js';

describe('start-up configuration', () => {
  it('a service with a missing or bad variable exits 1 naming each one', async () => {
    const { exited, output } = spawnService('batch', { KAFKA_BROKERS: 'localhost', REDIS_URL: 'http://nope', PORT: 'eighty' });
    expect(await exited).toBe(1);
    const text = output();
    expect(text).toMatch(/DATABASE_URL: required/);
    expect(text).toMatch(/DASHBOARD_PASSWORD: required/);
    expect(text).toMatch(/KAFKA_BROKERS: each broker must be host:port/);
    expect(text).toMatch(/REDIS_URL: must be a Redis URL/);
    expect(text).toMatch(/PORT:/);
  });
});
