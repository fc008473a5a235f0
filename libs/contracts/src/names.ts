/**
 * Names that services, scripts and tests agree on (docs/design.md). Each has a default that deployments
 * use, and tests pass their own so that they never share a topic, queue or key space.
 */
export const EVENTS_TOPIC = 'events.v1';

/** The dead-letter topic for a topic: messages a consumer could not accept, with the reason in a header. */
export const dlqTopicFor = (topic: string): string => `${topic}.dlq`;

export const SPEED_CONSUMER_GROUP = 'lambdarec-speed';
export const ARCHIVE_CONSUMER_GROUP = 'lambdarec-archive';

export const BATCH_QUEUE = 'batch';
export const BATCH_JOB_NAME = 'compute-recommendations';
export const NIGHTLY_SCHEDULER_ID = 'nightly';

export const DEFAULT_REDIS_KEY_PREFIX = 'lrec:';

/** Kafka header names on dead-lettered messages. */
export const DLQ_HEADERS = {
  reason: 'lrec-dlq-reason',
  sourceTopic: 'lrec-source-topic',
  sourcePartition: 'lrec-source-partition',
  sourceOffset: 'lrec-source-offset',
  consumerGroup: 'lrec-consumer-group',
  /**
   * Set when the record was too large for the DLQ even compressed: its value and original headers
   * were left out (the key is kept when small), and this gives the size they had, in bytes. The
   * original stays on the source topic, at the offset above, until its retention.
   */
  omittedBytes: 'lrec-dlq-omitted-bytes',
} as const;

/**
 * Set by the consumers' codecs on stand-in records for a batch that could not be decompressed:
 * the records are dead-lettered with this reason, and the partition moves on.
 */
export const UNDECODABLE_RECORD_HEADER = 'lrec-undecodable';

/**
 * Set (to "1") by ingest on the records of a history import, a request authenticated with the
 * operator's key: their events may be dated years back, and the bot guard does not judge them.
 * Anyone who can write to the topic directly is trusted as much as the operator.
 */
export const HISTORY_IMPORT_HEADER = 'lrec-history-import';

/**
 * The Redis key of one user's session state (a compact string, see ADR 010); the prefix isolates
 * deployments and tests.
 */
export const sessionKey = (prefix: string, userId: string) => `${prefix}session:${userId}`;

/**
 * One UTC day of the bot guard's flag ledger (the day each flagged burst began): a sorted set
 * that the batch layer copies into Postgres. The hash tag keeps a day's keys in one Redis Cluster
 * slot, so the script that caps a day touches one slot.
 */
export const botFlagDayKey = (prefix: string, day: string) => `${prefix}{bot-flags:${day}}`;

/** How many flags a day of the ledger refused because the day's cap was reached. */
export const botFlagDayDroppedKey = (prefix: string, day: string) => `${botFlagDayKey(prefix, day)}:dropped`;

/** Dashboard login attempts of one client address in one window (the login throttle), across instances. */
export const loginAttemptsKey = (prefix: string, client: string, window: number) => `${prefix}login-attempts:${client}:${window}`;
