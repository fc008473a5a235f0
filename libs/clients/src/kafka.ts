import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { registerCompressionCodecs } from './compression.js';
import type { Logger } from './logger.js';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  log: Logger;
  /** Overrides for tests and tuning (retry, timeouts). */
  config?: Partial<KafkaConfig>;
}

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose own logs go through pino, under a `kafka` child logger, reading every codec. */
export function createKafka({ brokers, clientId, log, config }: KafkaClientOptions): Kafka {
  registerCompressionCodecs();
  const kafkaLog = log.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...extra } = entry;
        kafkaLog[PINO_LEVEL[level] ?? 'info']({ namespace, ...extra }, message);
      },
    retry: { initialRetryTime: 200, retries: 8 },
    ...config,
  });
}
