import { Partitioners } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();

/**
 * The partition of `events.v1` (of `partitions`) that ingest's producer puts a key on: murmur2,
 * as Java clients do. For tools that need a user on each partition (the chaos run's probes).
 */
export function partitionOfKey(key: string, partitions: number): number {
  return partitioner({
    topic: 'events.v1',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      partitionErrorCode: 0,
      offlineReplicas: [],
    })),
    message: { key, value: null },
  });
}
