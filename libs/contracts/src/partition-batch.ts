import type { ClickEvent } from './event.js';

/** One valid event read from the topic, as every consumer of it sees it. */
export interface ConsumedEvent {
  event: ClickEvent;
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
