/**
 * The settings every event topic (events.v1 and its DLQ) is created with, wherever it is created:
 * infra/local.sh and docker-compose.yml repeat them (they cannot import this), the test helpers
 * use this.
 *
 * Records carry the broker's append time, not a time the producer chose. Retention deletes a
 * segment by its newest record time, so a partition holding only backdated events (a history
 * import of 2011) would be deleted at the next retention check, archived or not. Event time stays
 * in the JSON; consumers read the record time as the event's arrival.
 */
export const EVENT_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'message.timestamp.type': 'LogAppendTime',
};

/** EVENT_TOPIC_CONFIG as kafkajs' createTopics takes it. */
export const eventTopicConfigEntries = (): Array<{ name: string; value: string }> =>
  Object.entries(EVENT_TOPIC_CONFIG).map(([name, value]) => ({ name, value }));
