import type { Admin } from 'kafkajs';

/**
 * Records a consumer group has not committed yet, over all partitions of a topic (what the
 * consumers' lag gauge reports); a partition the group never committed counts from its start.
 */
export async function groupLag(admin: Admin, topic: string, groupId: string): Promise<number> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends.reduce((lag, { partition, high, low }) => {
    const from = at.get(partition) ?? -1;
    return lag + Number(high) - (from < 0 ? Number(low) : from);
  }, 0);
}
