import type { ClickEvent, TrackedEvent } from './event.js';

/** One valid event read from the topic, as every consumer of it sees it. */
export interface ConsumedEvent<E extends TrackedEvent = TrackedEvent> {
  event: E;
  /** Event time: the event's timestamp, else the Kafka record's. */
  eventTime: Date;
  /**
   * Arrival time: the Kafka record's timestamp (the broker's append time on topics created by this
   * project, else the producer's), not the client's clock. The bot guard judges rates on it.
   */
  arrivedAt: Date;
  /** Sent as a history import (the operator's key): not judged by the bot guard. */
  imported: boolean;
  /** The record's offset in its partition. */
  offset: string;
}

/** A batch of valid events from one partition: what the speed layer and the archiver apply. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  events: readonly ConsumedEvent[];
  /** The offset after the batch's last record (poison records included). */
  nextOffset: string;
}

/** A consumed product event: what moves sessions and what the model learns from. */
export type ConsumedProductEvent = ConsumedEvent<ClickEvent>;

/** The product events of a batch: impressions name lists, not products, and move no session. */
export const productEventsOf = (events: readonly ConsumedEvent[]): ConsumedProductEvent[] =>
  events.filter((consumed): consumed is ConsumedProductEvent => consumed.event.type !== 'impression');
