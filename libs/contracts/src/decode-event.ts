import { MAX_FUTURE_SKEW_MS, topicSchemaFor, type TrackedEvent } from './event.js';
import { HISTORY_IMPORT_HEADER, UNDECODABLE_RECORD_HEADER } from './names.js';
import type { ConsumedEvent } from './partition-batch.js';

/** The parts of a Kafka record that carry an event (structural, so this stays free of kafkajs). */
export interface EventRecord {
  value: Buffer | null;
  /** Record timestamp, epoch ms as a string (kafkajs' convention). */
  timestamp: string;
  headers?: Record<string, unknown> | undefined;
}

/**
 * How far a consumer's clock may run behind the broker's before a record's time is no longer taken
 * as its arrival: wide, since it only bounds records whose time a producer chose.
 */
const MAX_CONSUMER_CLOCK_LAG_MS = 60 * 60 * 1000;

export type DecodedEvent =
  { ok: true; event: TrackedEvent; eventTime: Date; arrivedAt: Date; imported: boolean } | { ok: false; reason: string };

/**
 * A record on events.v1 → a validated event and its event time (the event's timestamp, else the
 * record's). Anything else is poison for every consumer alike, with the reason for the DLQ.
 * Outside publishers get the same rules as ingest: an event time more than 5 minutes after the
 * record's arrival is refused (one event dated 2099 would otherwise anchor the batch's decay and
 * trim sessions). `now` is this consumer's clock, used only where the record gives no time.
 */
export function decodeEventRecord(message: EventRecord, now: number = Date.now()): DecodedEvent {
  const undecodable = message.headers?.[UNDECODABLE_RECORD_HEADER];
  if (undecodable !== undefined) return { ok: false, reason: String(undecodable) };
  if (message.value === null) return { ok: false, reason: 'empty message (tombstone)' };
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = topicSchemaFor(json).safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.message}`).join('; '),
    };
  }
  // Kafka marks a record without a timestamp with -1; only a positive epoch is a time.
  const recordTime = /^\d+$/.test(message.timestamp) ? Number(message.timestamp) : Number.NaN;
  const eventTime = new Date(parsed.data.timestamp ?? recordTime);
  if (Number.isNaN(eventTime.getTime()) || eventTime.getTime() <= 0) return { ok: false, reason: 'no usable event time' };
  // A record without a usable timestamp arrived, as far as anyone can tell, when it was read.
  const arrivedAt = new Date(Number.isNaN(recordTime) || recordTime <= 0 ? now : recordTime);
  // "Ahead" is judged against the arrival, the broker's append time on this project's topics: one
  // clock for every consumer, so that a consumer host whose clock runs behind ingest's does not
  // dead-letter events ingest accepted, and the speed layer, the archiver and a replay all decide
  // alike. A record time far ahead of this host is a producer's own (a CreateTime topic), not an arrival.
  const reference = Math.min(arrivedAt.getTime(), now + MAX_CONSUMER_CLOCK_LAG_MS);
  if (eventTime.getTime() > reference + MAX_FUTURE_SKEW_MS) {
    return {
      ok: false,
      reason: `event time ${eventTime.toISOString()} is more than 5 minutes after its arrival (${new Date(reference).toISOString()})`,
    };
  }
  const imported = String(message.headers?.[HISTORY_IMPORT_HEADER] ?? '') === '1';
  return { ok: true, event: parsed.data, eventTime, arrivedAt, imported };
}

/** A decoded record as every consumer hands it on: the event, its two times, and its offset. */
export function consumedEvent(
  { event, eventTime, arrivedAt, imported }: Extract<DecodedEvent, { ok: true }>,
  offset: string,
): ConsumedEvent {
  return { event, eventTime, arrivedAt, imported, offset };
}
