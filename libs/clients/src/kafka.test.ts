import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createKafka } from './kafka.js';

function capture() {
  const lines: Array<{ level: number; msg: string }> = [];
  return {
    log: pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) }),
    lines,
  };
}

describe('kafkajs logs', () => {
  it('keep a deliberate choice (limited retries of an idempotent producer) out of the warnings, and pass the rest at their level', async () => {
    const { log, lines } = capture();
    const kafka = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'log-test',
      log,
      config: { retry: { retries: 0 }, connectionTimeout: 500 },
    });
    // kafkajs judges the producer's options when it is created: no broker is needed for that.
    const producer = kafka.producer({ idempotent: true, retry: { retries: 5 } });
    expect(lines.filter((line) => line.msg.startsWith('Limiting retries')).map((line) => line.level)).toEqual([20]);
    // Nothing listens on port 1: kafkajs logs the refused connection as an error, and it stays one.
    await expect(producer.connect()).rejects.toThrow();
    expect(lines.filter((line) => line.level === 50).map((line) => line.msg)).toContainEqual(expect.stringContaining('ECONNREFUSED'));
  });
});
