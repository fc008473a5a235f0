import { describe, expect, it } from 'vitest';
import { createCloser } from './close.js';
import { createLogger } from './logger.js';

const log = createLogger({ name: 'close-test', level: 'silent' });

describe('createCloser', () => {
  it('runs every step once, in order, however often close() is called', async () => {
    const calls: string[] = [];
    const close = createCloser(log, [
      ['server', () => void calls.push('server')],
      ['client', async () => void calls.push('client')],
    ]);
    await Promise.all([close(), close()]);
    await close();
    expect(calls).toEqual(['server', 'client']);
  });

  it('runs the remaining steps when one fails, then rethrows the first failure', async () => {
    const calls: string[] = [];
    const close = createCloser(log, [
      ['consumer', () => Promise.reject(new Error('consumer stuck'))],
      ['producer', () => Promise.reject(new Error('producer stuck'))],
      ['pool', () => void calls.push('pool')],
    ]);
    await expect(close()).rejects.toThrow('consumer stuck');
    expect(calls).toEqual(['pool']);
    // A second close() reports the same outcome without running anything again.
    await expect(close()).rejects.toThrow('consumer stuck');
    expect(calls).toEqual(['pool']);
  });

  it('names the step a close is waiting on', async () => {
    let release!: () => void;
    const close = createCloser(log, [
      ['server', () => undefined],
      ['producer', () => new Promise<void>((resolve) => (release = resolve))],
    ]);
    expect(close.running()).toBeUndefined();
    const closed = close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(close.running()).toBe('producer');
    release();
    await closed;
    expect(close.running()).toBeUndefined();
  });
});
