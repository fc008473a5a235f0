/**
 * `npm run bench:speed [-- --events 1000000 --users 100000 --products 10000 --burst 100000]`: the
 * speed layer's consumer (the graph main.ts runs: createSpeedDependencies) applying a pre-filled
 * topic to Redis, against a raw kafkajs consumer in a group of its own that only reads the same
 * records and JSON.parses each value, both in this run on this machine (shared and noisy: the
 * ratio is the figure that travels). Then, with the speed consumer caught up, a burst is produced
 * while it consumes, and the time until its group's lag is 0 again is measured.
 *
 * The events are a seeded retail history (power-law products and shoppers, a view → purchase
 * funnel) dated inside the session window (now minus up to 1 h), with UCI-like product codes
 * ("85123A") and named categories. The session state is written through the SessionStore
 * interface only, so these figures follow any change of its Redis layout.
 *
 * The raw consumer is measured before and after the speed consumer, and the baseline is the
 * mean of the two: a machine shared with other work drifts within a run.
 *
 * Two more passes show where the speed consumer's time goes, because the three processes it
 * needs (Node, Redis, the Kafka broker) share this machine's cores:
 * - the same consumer with a session store that discards what it is given: Kafka, parsing,
 *   validation and the session rule, without Redis;
 * - the Redis floor: one pipelined SET with an expiry per event, of a stored session's size, as
 *   many pipelines in flight as the consumer has partitions: the least any design that writes
 *   each event to Redis can cost Redis.
 * Each pass also reports CPU time per event by process (this Node process, redis-server, the
 * broker's JVM).
 *
 * `--cluster` adds a pass right after the speed consumer's: the same consumer, in a group of its
 * own, with REDIS_CLUSTER_NODES set to the tests' Redis Cluster (infra/cluster.sh's, or
 * REDIS_CLUSTER_NODES), with the CPU per event of its primaries and replicas (INFO of each node).
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { closeRedis, createKafka, createLogger, createRedis, primariesOf, type Redis } from '@lambdarec/clients';
import { loadConfig, speedConfigSchema } from '@lambdarec/config';
import type { ClickEvent } from '@lambdarec/contracts';
import { seededRandom, type SessionPolicy } from '@lambdarec/domain';
import { createMetricsRegistry, type Registry } from '@lambdarec/metrics';
import { createSpeedConsumer, createSpeedDependencies } from '@lambdarec/speed';
import type { SessionStore } from '@lambdarec/stores';
import { createTestTopic, removeKeys, retailHistory, startInfra, uniqueName } from '@lambdarec/testing';
import { cpuSecondsOf, findProcesses, ownCpuSeconds } from './cpu-time.js';
import { groupLag } from './kafka-lag.js';
import { writeBenchReport, type BenchFigure } from './report.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '100000' },
    products: { type: 'string', default: '10000' },
    /** Events produced at once after the backlog, to see the lag drain. */
    burst: { type: 'string', default: '100000' },
    /** As events.v1 has by default. */
    partitions: { type: 'string', default: '6' },
    /** Also apply the topic to the tests' Redis Cluster, next to the one Redis. */
    cluster: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(args.events);
const USERS = Number(args.users);
const PRODUCTS = Number(args.products);
const BURST = Number(args.burst);
const PARTITIONS = Number(args.partitions);
const SESSION_SPAN_DAYS = 1 / 24;
const PRODUCE_BATCH = 10_000;
const GOAL_RATIO = 0.5;
const GOAL_RATE = 20_000;
const DRAIN_TIMEOUT_MS = 120_000;
/** Writes in the Redis floor pass: enough for a steady rate, far fewer than a million. */
const FLOOR_WRITES = 300_000;
const FLOOR_PIPELINE = 1000;
const CONSUME_TIMEOUT_MS = 30 * 60_000;

const log = createLogger({ name: 'bench', level: 'error' });
const say = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Product codes shaped like the UCI Online Retail StockCodes: five digits, a third of them with a
 * letter for a variant ("85123A"), distinct and seeded.
 */
function uciLikeProductCodes(count: number): string[] {
  const random = seededRandom(11);
  const codes = new Set<string>();
  while (codes.size < count) {
    const digits = String(10_000 + Math.floor(random() * 90_000));
    codes.add(random() < 0.33 ? `${digits}${'ABCDEFGHJKLMNPS'[Math.floor(random() * 15)]}` : digits);
  }
  return [...codes];
}

const CATEGORY_NAMES = [
  'home-decor',
  'kitchen',
  'lighting',
  'bags',
  'gifts',
  'christmas',
  'stationery',
  'garden',
  'toys',
  'party',
  'candles',
  'storage',
  'textiles',
  'jewellery',
  'clocks',
  'signs',
  'baking',
  'tea',
  'vintage',
  'cards',
];

/**
 * The generated history with shop-like names (`p17` → a product code, `c3` → a category name), in
 * time order, as a live topic holds each shopper's events: the history generator dates events at
 * random within its span.
 */
function shopEvents(options: { events: number; seed: number }, codes: readonly string[]): ClickEvent[] {
  const events: ClickEvent[] = [];
  for (const event of retailHistory({ ...options, users: USERS, products: PRODUCTS, days: SESSION_SPAN_DAYS, end: Date.now() })) {
    const category = Number(event.category!.slice(1));
    events.push({
      ...event,
      productId: codes[Number(event.productId.slice(1))]!,
      category: `${CATEGORY_NAMES[category % CATEGORY_NAMES.length]}${category < CATEGORY_NAMES.length ? '' : `-${Math.floor(category / CATEGORY_NAMES.length)}`}`,
    });
  }
  // ISO timestamps of one format sort as text in time order.
  return events.sort((a, b) => (a.timestamp! < b.timestamp! ? -1 : a.timestamp! > b.timestamp! ? 1 : 0));
}

/** Setup, not measured: big batches keyed by userId with kafkajs' Java-compatible partitioner, as ingest sends them. */
async function produce(producer: Producer, topic: string, events: Iterable<ClickEvent>): Promise<number> {
  let sent = 0;
  let batch: Array<{ key: string; value: string }> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await producer.send({ topic, acks: -1, messages: batch });
    sent += batch.length;
    batch = [];
  };
  for (const event of events) {
    batch.push({ key: event.userId, value: JSON.stringify(event) });
    if (batch.length >= PRODUCE_BATCH) await flush();
  }
  await flush();
  return sent;
}

interface Throughput {
  eventsPerSecond: number;
  /** From start() to the last event, group join included. */
  wallSeconds: number;
}

/**
 * Polls a consumer's count of handled events until it reaches `total`. The rate is taken from the
 * first handled batch on, so the group join (the same for both consumers) and the first fetch do
 * not count against either.
 */
async function measure(start: () => Promise<void>, handled: () => Promise<number> | number, total: number): Promise<Throughput> {
  const began = performance.now();
  await start();
  let first: { at: number; count: number } | undefined;
  const deadline = began + CONSUME_TIMEOUT_MS;
  for (;;) {
    const count = await handled();
    const at = performance.now();
    if (first === undefined && count > 0) first = { at, count };
    if (count >= total) {
      const steady = first!.count >= total ? (at - began) / 1000 : (at - first!.at) / 1000;
      const counted = first!.count >= total ? total : total - first!.count;
      return { eventsPerSecond: counted / steady, wallSeconds: (at - began) / 1000 };
    }
    if (at > deadline) throw new Error(`only ${count} of ${total} events handled in ${CONSUME_TIMEOUT_MS / 1000} s`);
    await sleep(10);
  }
}

/** The baseline: the same records read in a group of its own, each value JSON.parsed, offsets committed per batch. */
async function rawConsumerRate(kafka: Kafka, topic: string, total: number): Promise<Throughput> {
  const consumer = kafka.consumer({
    groupId: uniqueName('bench-raw'),
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    allowAutoTopicCreation: false,
  });
  let parsed = 0;
  try {
    return await measure(
      async () => {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
            for (const message of batch.messages) JSON.parse(message.value!.toString('utf8'));
            parsed += batch.messages.length;
            resolveOffset(batch.lastOffset());
            await commitOffsetsIfNecessary();
            await heartbeat();
          },
        });
      },
      () => parsed,
      total,
    );
  } finally {
    await consumer.disconnect();
  }
}

/** Keys under the prefix, and their memory and value length from a sample (MEMORY USAGE, STRLEN), whatever layout the store uses. */
async function sessionMemory(redis: Redis, prefix: string): Promise<{ keys: number; bytesPerKey: number; valueBytes: number }> {
  let cursor = '0';
  let keys = 0;
  const sample: string[] = [];
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    keys += found.length;
    for (const key of found) if (sample.length < 1000) sample.push(key);
  } while (cursor !== '0');
  const usage = await Promise.all(sample.map((key) => redis.memory('USAGE', key)));
  const lengths = await Promise.all(sample.map((key) => redis.strlen(key).catch(() => 0)));
  const mean = (values: ReadonlyArray<number | null>) =>
    sample.length === 0 ? 0 : values.reduce<number>((sum, v) => sum + Number(v ?? 0), 0) / sample.length;
  return { keys, bytesPerKey: mean(usage), valueBytes: mean(lengths) };
}

/** Microseconds Redis has spent in commands so far, and how many it ran (INFO commandstats: the whole server, other clients included). */
async function redisCommandTime(redis: Redis): Promise<{ usec: number; calls: number }> {
  const stats = await redis.info('commandstats');
  let usec = 0;
  let calls = 0;
  for (const match of stats.matchAll(/calls=(\d+),usec=(\d+)/g)) {
    calls += Number(match[1]);
    usec += Number(match[2]);
  }
  return { usec, calls };
}

/** CPU seconds used so far by this process (the consumer under test), redis-server and the Kafka broker. */
interface CpuSample {
  node: number;
  redis: number;
  kafka: number | undefined;
}
const brokerPids = findProcesses('kafka.Kafka');

async function cpuSample(redis: Redis): Promise<CpuSample> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return { node: ownCpuSeconds(), redis: field('used_cpu_user') + field('used_cpu_sys'), kafka: cpuSecondsOf(brokerPids) };
}

/** Microseconds of CPU per event by process between two samples (the broker's: undefined where /proc cannot tell). */
interface CpuPerEvent {
  node: number;
  redis: number;
  kafka: number | undefined;
  toString(): string;
}

function cpuPerEvent(before: CpuSample, after: CpuSample, events: number): CpuPerEvent {
  const us = (from: number, to: number) => ((to - from) * 1e6) / events;
  const kafka = before.kafka === undefined || after.kafka === undefined ? undefined : us(before.kafka, after.kafka);
  const node = us(before.node, after.node);
  const redis = us(before.redis, after.redis);
  return {
    node,
    redis,
    kafka,
    toString: () =>
      `Node ${node.toFixed(1)}, Redis ${redis.toFixed(1)}, Kafka broker ${kafka === undefined ? 'n/a' : kafka.toFixed(1)} µs per event`,
  };
}

/**
 * What no design that writes every event to Redis can beat on this machine (ADR 014): all cores
 * busy, with the CPU per event of the consumer without Redis (Node and broker), of this speed
 * consumer's writes in Node, and of a bare SET in Redis in place of the session script.
 */
function writeEveryEventBound(
  withoutRedis: CpuPerEvent,
  speed: CpuPerEvent,
  floor: CpuPerEvent,
): { eventsPerSecond: number; microseconds: number } {
  const microseconds = withoutRedis.node + (withoutRedis.kafka ?? 0) + Math.max(0, speed.node - withoutRedis.node) + floor.redis;
  return { eventsPerSecond: (cpus().length * 1e6) / microseconds, microseconds };
}

/** Events the speed consumer has handled, from its metric (every outcome). */
async function handledBy(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('lrec_speed_events_total');
  if (metric === undefined) return 0;
  return (await metric.get()).values.reduce((sum, { value }) => sum + value, 0);
}

/**
 * The speed consumer with Redis left out: the same consumer, policy and session rule, in a group
 * of its own, given a store that discards the signals. What it reaches is the ceiling of
 * everything but Redis.
 */
async function speedWithoutRedisRate(kafka: Kafka, topic: string, policy: SessionPolicy, total: number): Promise<Throughput> {
  const registry = createMetricsRegistry('bench-speed-without-redis');
  const discarding: SessionStore = {
    record: async () => [],
    read: () => Promise.reject(new Error('not read in this pass')),
    inspect: () => Promise.reject(new Error('not read in this pass')),
  };
  const consumer = createSpeedConsumer({
    kafka,
    topic,
    groupId: uniqueName('bench-speed-without-redis'),
    sessions: discarding,
    policy,
    log,
    registry,
  });
  try {
    return await measure(
      () => consumer.start(),
      () => handledBy(registry),
      total,
    );
  } finally {
    await consumer.close();
  }
}

/**
 * The Redis floor: `writes` SETs with an expiry, of `valueBytes` each over as many keys as there
 * are users, in pipelines of FLOOR_PIPELINE with `inFlight` of them at once, from one connection
 * (the consumer's shape). The least any design that writes every event to Redis can cost it.
 */
async function redisWriteFloor(
  redis: Redis,
  prefix: string,
  writes: number,
  valueBytes: number,
  inFlight: number,
): Promise<{ eventsPerSecond: number }> {
  const value = 'x'.repeat(Math.max(1, Math.round(valueBytes)));
  let next = 0;
  const began = performance.now();
  const writer = async () => {
    while (next < writes) {
      const from = next;
      next = Math.min(writes, next + FLOOR_PIPELINE);
      const pipeline = redis.pipeline();
      for (let i = from; i < next; i++) pipeline.set(`${prefix}floor:${i % USERS}`, value, 'PX', 7_200_000);
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err !== null);
      if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('redis pipeline aborted');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, writer));
  return { eventsPerSecond: writes / ((performance.now() - began) / 1000) };
}

/** CPU seconds so far of a set of Redis servers (INFO cpu of each), and the command time they report (INFO commandstats). */
async function serversCpu(servers: readonly Redis[]): Promise<{ cpu: number; usec: number }> {
  let cpu = 0;
  let usec = 0;
  for (const server of servers) {
    const info = await server.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    cpu += field('used_cpu_user') + field('used_cpu_sys');
    usec += (await redisCommandTime(server)).usec;
  }
  return { cpu, usec };
}

interface ClusterPass {
  throughput: Throughput;
  primaries: number;
  replicas: number;
  /** Microseconds per event: this Node process, all primaries together, all replicas together, the broker. */
  nodeUs: number;
  primariesUs: number;
  replicasUs: number;
  kafkaUs: number | undefined;
  /** Command time on the primaries per event (INFO commandstats). */
  commandUs: number;
}

/** The speed consumer as main.ts wires it with REDIS_CLUSTER_NODES, in a group of its own, over the same topic. */
async function clusterPass(nodes: readonly string[], env: Record<string, string>, prefix: string, total: number): Promise<ClusterPass> {
  const clusterConfig = loadConfig(speedConfigSchema, {
    ...env,
    REDIS_CLUSTER_NODES: nodes.join(','),
    REDIS_KEY_PREFIX: prefix,
    SPEED_GROUP_ID: uniqueName('bench-speed-cluster'),
  });
  const deps = createSpeedDependencies(clusterConfig, log);
  const client = createRedis({ clusterNodes: nodes, log, purpose: 'requests', options: { commandTimeout: 30_000 } });
  try {
    const primaries = await primariesOf(client);
    const replicas = client.nodes('slave');
    const sample = async () => ({
      node: ownCpuSeconds(),
      kafka: cpuSecondsOf(brokerPids),
      primaries: await serversCpu(primaries),
      replicas: await serversCpu(replicas),
    });
    const before = await sample();
    const throughput = await measure(
      () => deps.consumer.start(),
      () => handledBy(deps.registry),
      total,
    );
    const after = await sample();
    const us = (from: number, to: number) => ((to - from) * 1e6) / total;
    return {
      throughput,
      primaries: primaries.length,
      replicas: replicas.length,
      nodeUs: us(before.node, after.node),
      primariesUs: us(before.primaries.cpu, after.primaries.cpu),
      replicasUs: us(before.replicas.cpu, after.replicas.cpu),
      kafkaUs: before.kafka === undefined || after.kafka === undefined ? undefined : us(before.kafka, after.kafka),
      commandUs: (after.primaries.usec - before.primaries.usec) / total,
    };
  } finally {
    await deps.consumer.close().catch(() => undefined);
    await closeRedis(deps.redis);
    await removeKeys(client, `${prefix}*`);
    await closeRedis(client);
  }
}

const infra = await startInfra();
const topic = await createTestTopic(infra.kafkaBrokers, { partitions: PARTITIONS });
const keyPrefix = `${uniqueName('bench-speed')}:`;
const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'bench', log });
// The bench's own client (session state, CPU samples, the SET floor) waits out a loaded machine:
// a 1 s timeout of its own would end the run, while the timeouts under test are the consumer's.
const redis = createRedis({ url: infra.redisUrl, log, purpose: 'requests', options: { commandTimeout: 30_000 } });
const config = loadConfig(speedConfigSchema, {
  KAFKA_BROKERS: infra.kafkaBrokers.join(','),
  REDIS_URL: infra.redisUrl,
  EVENTS_TOPIC: topic.topic,
  REDIS_KEY_PREFIX: keyPrefix,
  SPEED_GROUP_ID: uniqueName('bench-speed'),
  LOG_LEVEL: 'error',
});
const speed = createSpeedDependencies(config, log);
const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
const admin = kafka.admin();

try {
  const codes = uciLikeProductCodes(PRODUCTS);
  await Promise.all([producer.connect(), admin.connect()]);
  let began = performance.now();
  const prefilled = await produce(producer, topic.topic, shopEvents({ events: EVENTS, seed: 1 }, codes));
  say(
    `pre-filled ${fmt(prefilled)} events from ${fmt(USERS)} users on ${PARTITIONS} partitions in ${((performance.now() - began) / 1000).toFixed(1)} s (setup)`,
  );

  let cpu = await cpuSample(redis);
  const rawBefore = await rawConsumerRate(kafka, topic.topic, prefilled);
  const rawCpu = cpuPerEvent(cpu, (cpu = await cpuSample(redis)), prefilled);
  say(
    `raw kafkajs consumer         ${fmt(rawBefore.eventsPerSecond).padStart(9)} events/s  (${rawBefore.wallSeconds.toFixed(1)} s with the group join)  ${rawCpu}`,
  );

  const withoutRedis = await speedWithoutRedisRate(kafka, topic.topic, speed.policy, prefilled);
  const withoutRedisCpu = cpuPerEvent(cpu, (cpu = await cpuSample(redis)), prefilled);
  say(`speed consumer, no Redis     ${fmt(withoutRedis.eventsPerSecond).padStart(9)} events/s  ${withoutRedisCpu}`);

  const redisBefore = await redisCommandTime(redis);
  const applied = await measure(
    () => speed.consumer.start(),
    () => handledBy(speed.registry),
    prefilled,
  );
  const redisAfter = await redisCommandTime(redis);
  const speedCpu = cpuPerEvent(cpu, (cpu = await cpuSample(redis)), prefilled);
  const redisBusy = (redisAfter.usec - redisBefore.usec) / 1e6 / applied.wallSeconds;
  const redisPerEvent = (redisAfter.usec - redisBefore.usec) / prefilled;
  say(
    `speed consumer → Redis       ${fmt(applied.eventsPerSecond).padStart(9)} events/s  (${applied.wallSeconds.toFixed(1)} s with the group join)  ${speedCpu}`,
  );
  const outcomes = Object.fromEntries(
    ((await speed.registry.getSingleMetric('lrec_speed_events_total')?.get())?.values ?? []).map(({ labels, value }) => [
      String(labels['outcome']),
      value,
    ]),
  );
  if ((outcomes['dead-lettered'] ?? 0) > 0)
    throw new Error(`the speed consumer dead-lettered ${outcomes['dead-lettered']} generated events`);
  const memory = await sessionMemory(redis, keyPrefix);
  say(`Redis busy in commands ${(redisBusy * 100).toFixed(0)}% of the speed consumer's run, ${redisPerEvent.toFixed(1)} µs per event`);
  say(
    `session state: ${fmt(memory.keys)} keys, ${fmt(memory.bytesPerKey)} bytes each (MEMORY USAGE of a sample), values of ${fmt(memory.valueBytes)} bytes`,
  );
  say(`one Redis core at this CPU per event: ${fmt(1e6 / speedCpu.redis)} events/s`);

  let cluster: ClusterPass | undefined;
  if (args.cluster) {
    cluster = await clusterPass(
      infra.redisClusterNodes,
      { KAFKA_BROKERS: infra.kafkaBrokers.join(','), EVENTS_TOPIC: topic.topic, LOG_LEVEL: 'error' },
      `${uniqueName('bench-speed-cluster')}:`,
      prefilled,
    );
    say(
      `speed consumer → Redis Cluster ${fmt(cluster.throughput.eventsPerSecond).padStart(7)} events/s  (${cluster.throughput.wallSeconds.toFixed(1)} s with the group join)  ` +
        `Node ${cluster.nodeUs.toFixed(1)}, ${cluster.primaries} primaries ${cluster.primariesUs.toFixed(1)} (commands ${cluster.commandUs.toFixed(1)}), ` +
        `${cluster.replicas} replicas ${cluster.replicasUs.toFixed(1)}, Kafka broker ${cluster.kafkaUs?.toFixed(1) ?? 'n/a'} µs per event`,
    );
    say(`one primary core at the cluster's CPU per event: ${fmt(1e6 / cluster.primariesUs)} events/s`);
  }

  const floorWrites = Math.min(FLOOR_WRITES, prefilled);
  cpu = await cpuSample(redis);
  const floor = await redisWriteFloor(redis, keyPrefix, floorWrites, memory.valueBytes, PARTITIONS);
  const floorCpu = cpuPerEvent(cpu, (cpu = await cpuSample(redis)), floorWrites);
  say(`Redis floor, one SET per event ${fmt(floor.eventsPerSecond).padStart(7)} events/s  ${floorCpu}`);

  const rawAfter = await rawConsumerRate(kafka, topic.topic, prefilled);
  const rawAfterCpu = cpuPerEvent(cpu, (cpu = await cpuSample(redis)), prefilled);
  say(`raw kafkajs consumer (again) ${fmt(rawAfter.eventsPerSecond).padStart(9)} events/s  ${rawAfterCpu}`);
  const rawRate = (rawBefore.eventsPerSecond + rawAfter.eventsPerSecond) / 2;
  const ratio = applied.eventsPerSecond / rawRate;
  say(`ratio speed / raw: ${ratio.toFixed(2)}`);
  const bound = writeEveryEventBound(withoutRedisCpu, speedCpu, floorCpu);
  say(
    `bound for any design that writes every event to Redis: ${fmt(bound.eventsPerSecond)} events/s (${(bound.eventsPerSecond / rawRate).toFixed(2)}× raw): ` +
      `${cpus().length} cores / ${bound.microseconds.toFixed(1)} µs of CPU per event`,
  );

  // The burst: produced as fast as one producer goes while the caught-up speed consumer runs.
  let drained: { afterBurstStartMs: number; afterLastAckMs: number; peakLag: number } | undefined;
  let peakLag = 0;
  let burstProduced: number | undefined;
  began = performance.now();
  const producing = produce(producer, topic.topic, shopEvents({ events: BURST, seed: 2 }, codes)).then(
    () => (burstProduced = performance.now()),
  );
  while (drained === undefined && performance.now() - began < DRAIN_TIMEOUT_MS) {
    const lag = await groupLag(admin, topic.topic, config.SPEED_GROUP_ID);
    const at = performance.now();
    peakLag = Math.max(peakLag, lag);
    if (burstProduced !== undefined && lag === 0) drained = { afterBurstStartMs: at - began, afterLastAckMs: at - burstProduced, peakLag };
    else await sleep(50);
  }
  await producing;
  say(
    drained === undefined
      ? `burst of ${fmt(BURST)}: lag not 0 after ${DRAIN_TIMEOUT_MS / 1000} s (peak ${fmt(peakLag)})`
      : `burst of ${fmt(BURST)} produced in ${((burstProduced! - began) / 1000).toFixed(1)} s; lag 0 ${(drained.afterBurstStartMs / 1000).toFixed(1)} s after it began (${(drained.afterLastAckMs / 1000).toFixed(1)} s after the last record was acknowledged), peak lag ${fmt(peakLag)}`,
  );

  const figures: BenchFigure[] = [
    {
      label: `speed consumer → Redis, ${fmt(prefilled)} events`,
      value: applied.eventsPerSecond,
      unit: 'events/s',
      baseline: { label: 'raw kafkajs consumer, JSON.parse only', value: rawRate, unit: 'events/s' },
      ratio,
      goal: `≥ ${GOAL_RATIO}× the raw consumer`,
      met: ratio >= GOAL_RATIO,
    },
    {
      label: 'where it goes: the speed consumer with a store that discards (no Redis)',
      value: withoutRedis.eventsPerSecond,
      unit: 'events/s',
      baseline: { label: 'raw kafkajs consumer, JSON.parse only', value: rawRate, unit: 'events/s' },
      ratio: withoutRedis.eventsPerSecond / rawRate,
    },
    {
      label: `where it goes: the Redis floor, one pipelined SET of ${fmt(memory.valueBytes)} bytes per event`,
      value: floor.eventsPerSecond,
      unit: 'events/s',
      baseline: { label: 'raw kafkajs consumer, JSON.parse only', value: rawRate, unit: 'events/s' },
      ratio: floor.eventsPerSecond / rawRate,
    },
    {
      label: `where it goes: the most any design that writes every event to Redis could reach here (${cpus().length} cores / ${bound.microseconds.toFixed(1)} µs of CPU per event: the consumer without Redis, this consumer's writes in Node, a bare SET in Redis)`,
      value: bound.eventsPerSecond,
      unit: 'events/s',
      baseline: { label: 'raw kafkajs consumer, JSON.parse only', value: rawRate, unit: 'events/s' },
      ratio: bound.eventsPerSecond / rawRate,
    },
    ...(cluster === undefined
      ? []
      : [
          {
            label: `speed consumer → Redis Cluster (${cluster.primaries} primaries, ${cluster.replicas} replicas, all on this host)`,
            value: cluster.throughput.eventsPerSecond,
            unit: 'events/s',
            baseline: { label: 'raw kafkajs consumer, JSON.parse only', value: rawRate, unit: 'events/s' },
            ratio: cluster.throughput.eventsPerSecond / rawRate,
          },
          {
            label: 'Redis Cluster against one Redis, the same consumer and topic',
            value: cluster.throughput.eventsPerSecond,
            unit: 'events/s',
            baseline: { label: 'speed consumer → one Redis', value: applied.eventsPerSecond, unit: 'events/s' },
            ratio: cluster.throughput.eventsPerSecond / applied.eventsPerSecond,
          },
        ]),
    {
      label: 'speed consumer, absolute',
      value: applied.eventsPerSecond,
      unit: 'events/s',
      goal: `≥ ${fmt(GOAL_RATE)} events/s`,
      met: applied.eventsPerSecond >= GOAL_RATE,
    },
    {
      label: `lag back to 0 after a burst of ${fmt(BURST)}`,
      value: (drained?.afterBurstStartMs ?? DRAIN_TIMEOUT_MS) / 1000,
      unit: 's',
      goal: `drains (≤ ${DRAIN_TIMEOUT_MS / 1000} s)`,
      met: drained !== undefined,
    },
  ];
  const markdown = writeBenchReport({
    name: 'speed',
    setup:
      `${fmt(prefilled)} events from ${fmt(USERS)} users and ${fmt(PRODUCTS)} products (UCI-like codes), dated in the last hour, on a topic of ${PARTITIONS} partitions; ` +
      `the speed consumer as main.ts wires it (createSpeedDependencies, a key prefix of its own) against a raw kafkajs consumer, each in its own group, one after the other; ` +
      `to show where the time goes, the same consumer with a store that discards (no Redis) and the Redis floor (one pipelined SET per event); then a burst of ${fmt(BURST)} while the speed consumer runs.`,
    figures,
    notes: [
      `Raw consumer before and after the speed consumer: ${fmt(rawBefore.eventsPerSecond)} and ${fmt(rawAfter.eventsPerSecond)} events/s; the baseline is their mean.`,
      'Rates count from the first handled batch to the last event, so the group join is left out of both; with it: ' +
        `raw ${rawBefore.wallSeconds.toFixed(1)} s, speed ${applied.wallSeconds.toFixed(1)} s.`,
      `Redis was busy running commands ${(redisBusy * 100).toFixed(0)}% of the speed consumer's ${applied.wallSeconds.toFixed(1)} s (${redisPerEvent.toFixed(1)} µs per event; ` +
        `INFO commandstats of the whole server, so other clients of a shared Redis count too). Redis runs commands on one thread: near 100%, Redis is the ceiling.`,
      `CPU per event by process (this Node process, redis-server, the broker's JVM): raw consumer ${rawCpu}; again ${rawAfterCpu}; ` +
        `speed consumer without Redis ${withoutRedisCpu}; speed consumer ${speedCpu}; Redis floor (${fmt(floorWrites)} SETs) ${floorCpu}.`,
      `Speed outcomes: ${Object.entries(outcomes)
        .map(([outcome, n]) => `${outcome} ${fmt(n)}`)
        .join(', ')}.`,
      ...(cluster === undefined
        ? []
        : [
            `Redis Cluster pass: CPU per event Node ${cluster.nodeUs.toFixed(1)} µs, ${cluster.primaries} primaries together ${cluster.primariesUs.toFixed(1)} µs ` +
              `(commands ${cluster.commandUs.toFixed(1)} µs), ${cluster.replicas} replicas together ${cluster.replicasUs.toFixed(1)} µs, broker ${cluster.kafkaUs?.toFixed(1) ?? 'n/a'} µs; ` +
              `one Redis (speed pass) ${speedCpu.redis.toFixed(1)} µs. INFO of each node: other clients of the shared cluster count too.`,
          ]),
      `Session state afterwards: ${fmt(memory.keys)} Redis keys, ${fmt(memory.bytesPerKey)} bytes each (MEMORY USAGE over a sample of up to 1,000).`,
      drained === undefined
        ? `The burst's lag was still above 0 after ${DRAIN_TIMEOUT_MS / 1000} s (peak ${fmt(peakLag)}).`
        : `Burst produced in ${((burstProduced! - began) / 1000).toFixed(1)} s by one producer; peak lag ${fmt(drained.peakLag)}; lag 0 ${(drained.afterLastAckMs / 1000).toFixed(1)} s after its last record was acknowledged (lag sampled every 50 ms).`,
    ],
  });
  say('');
  say(markdown);
} finally {
  await producer.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  await speed.consumer.close().catch(() => undefined);
  await closeRedis(speed.redis);
  await removeKeys(redis, `${keyPrefix}*`);
  await closeRedis(redis);
  await topic.remove();
  await infra.stop();
}
