import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.js';

export type { Redis };

export interface RedisClientOptions {
  url: string;
  log: Logger;
  /**
   * BullMQ needs `maxRetriesPerRequest: null` (blocking commands must wait out a reconnect);
   * request paths want a bounded retry and a command timeout, so a Redis outage fails fast and
   * degrades the answer instead of hanging it.
   */
  purpose: 'requests' | 'bullmq';
  options?: RedisOptions;
}

/** An ioredis client with reconnects logged, never thrown as unhandled 'error' events. */
export function createRedis({ url, log, purpose, options }: RedisClientOptions): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: purpose === 'bullmq' ? null : 1,
    // A request waits at most this long for Redis, then degrades; BullMQ's blocking calls must not time out.
    ...(purpose === 'requests' ? { commandTimeout: 1_000 } : {}),
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    ...options,
  });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // One line per distinct error while reconnecting, not one per retry.
    if (err.message !== lastError) log.warn({ err }, 'redis error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    if (lastError !== '') log.info('redis reconnected');
    lastError = '';
  });
  return redis;
}

/** QUIT, or a hard disconnect when Redis does not answer within `timeoutMs` (QUIT waits out an outage). */
export async function closeRedis(redis: Redis, timeoutMs = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([redis.quit().catch(() => 'failed' as const), timedOut]);
    if (outcome !== 'OK') redis.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
