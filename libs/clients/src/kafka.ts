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

/**
 * kafkajs warnings about a choice this project made on purpose, logged at debug so that a warning
 * in an operator's log calls for action. The idempotent producers limit their retries because a
 * request's wait is bounded (ingest answers 503 after 10 s), and a re-sent event is harmless: its
 * eventId de-duplicates it in both layers.
 */
const DELIBERATE_CHOICES = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

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
        const pinoLevel = DELIBERATE_CHOICES.has(message) ? 'debug' : (PINO_LEVEL[level] ?? 'info');
        kafkaLog[pinoLevel]({ namespace, ...extra }, message);
      },
    retry: { initialRetryTime: 200, retries: 8 },
    ...config,
  });
}
