// Checks that kafkajs 2.2.4 works against the local broker (infra/local.sh up):
// admin, acks=-1 and idempotent producers, a consumer group that commits and resumes,
// and a transactional consume-transform-produce with sendOffsets (exactly-once path).
// kafkajs's own CI stopped at Kafka 2.4, so run this whenever the broker version changes:
//   node infra/verify-kafka.mjs            (KAFKA_BROKERS defaults to 127.0.0.1:59092)
// Uses throwaway topics/groups (lrec-verify-*) and deletes them; exit 0 = all checks passed.
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Resolve kafkajs from the working directory first (scratch checks), then the repo root.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function loadKafkajs() {
  for (const base of [process.cwd(), repoRoot]) {
    try {
      const req = createRequire(path.join(base, 'noop.js'));
      return { ...req('kafkajs'), version: req('kafkajs/package.json').version };
    } catch {}
  }
  console.error('kafkajs not found: run npm install in the repo first');
  process.exit(1);
}
const { Kafka, Partitioners, logLevel, version: kafkajsVersion } = loadKafkajs();

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:59092').split(',');
const run = `lrec-verify-${randomUUID().slice(0, 8)}`;
const SRC = `${run}-src`;
const OUT = `${run}-out`;
// kafkajs logs retriable broker errors (e.g. CONCURRENT_TRANSACTIONS right after a commit) at
// ERROR level although it retries them fine; failures surface through the checks instead.
const kafka = new Kafka({
  clientId: run,
  brokers,
  logLevel: process.env.VERIFY_KAFKA_VERBOSE ? logLevel.INFO : logLevel.NOTHING,
  retry: { retries: 5 },
});
const admin = kafka.admin();
const createPartitioner = Partitioners.DefaultPartitioner;

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${err?.stack ?? err}`);
    throw err;
  }
}
const assert = (cond, msg) => {
  if (!cond) throw new Error(msg);
};
const msgs = (prefix, n) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` }));

// Collect `expected` messages from `topics` in `groupId`, committing offsets manually.
async function consumeN({ groupId, topic, expected, readUncommitted = false, timeoutMs = 30000 }) {
  const consumer = kafka.consumer({ groupId, readUncommitted, sessionTimeout: 10000, heartbeatInterval: 1000 });
  const seen = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise((resolve) => {
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        seen.push(message.value.toString());
        await consumer.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        if (seen.length >= expected) resolve();
      },
    });
  });
  const timer = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${groupId}: got ${seen.length}/${expected} messages`)), timeoutMs),
  );
  try {
    await Promise.race([done, timer]);
    // Give a stray extra message (e.g. a duplicate) a moment to show up.
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

async function main() {
  await admin.connect();
  const t0 = Date.now();

  await check('admin: create topics with 6 partitions', async () => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [SRC, OUT].map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })),
    });
    const md = await admin.fetchTopicMetadata({ topics: [SRC, OUT] });
    for (const t of md.topics) assert(t.partitions.length === 6, `${t.name}: ${t.partitions.length} partitions`);
  });

  await check('producer acks=-1', async () => {
    const p = kafka.producer({ createPartitioner });
    await p.connect();
    const res = await p.send({ topic: SRC, acks: -1, messages: msgs('acks', 60) });
    assert(new Set(res.map((r) => r.partition)).size > 1, 'all messages landed on one partition');
    await p.disconnect();
  });

  await check('idempotent producer', async () => {
    const p = kafka.producer({ createPartitioner, idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    await p.send({ topic: SRC, messages: msgs('idem', 60) });
    await p.disconnect();
  });

  const group = `${run}-group`;
  await check('consumer group: join, receive all, commit', async () => {
    const seen = await consumeN({ groupId: group, topic: SRC, expected: 120 });
    assert(seen.length === 120, `expected 120, got ${seen.length}`);
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [SRC] });
    const committed = offsets[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    assert(committed === 120, `committed offsets sum to ${committed}`);
  });

  await check('consumer group: restart resumes from committed offsets', async () => {
    const p = kafka.producer({ createPartitioner });
    await p.connect();
    await p.send({ topic: SRC, acks: -1, messages: msgs('after-restart', 30) });
    await p.disconnect();
    const seen = await consumeN({ groupId: group, topic: SRC, expected: 30 });
    assert(seen.length === 30, `expected only the 30 new messages, got ${seen.length}`);
    assert(
      seen.every((v) => v.startsWith('after-restart')),
      'old messages were re-delivered',
    );
  });

  const txGroup = `${run}-tx`;
  await check('transactions: consume-transform-produce with sendOffsets, commit and abort', async () => {
    const producer = kafka.producer({
      createPartitioner,
      transactionalId: `${run}-tx-producer`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();

    // An aborted transaction must stay invisible to read_committed consumers.
    const aborted = await producer.transaction();
    await aborted.send({ topic: OUT, messages: msgs('aborted', 5) });
    await aborted.abort();

    // Read a batch from SRC as group txGroup, write it to OUT and commit the group's
    // offsets inside the same transaction.
    const consumer = kafka.consumer({ groupId: txGroup, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic: SRC, fromBeginning: true });
    let moved = 0;
    const done = new Promise((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (batch.messages.length === 0) return;
            const tx = await producer.transaction();
            try {
              await tx.send({
                topic: OUT,
                messages: batch.messages.map((m) => ({ key: m.key, value: `out:${m.value}` })),
              });
              await tx.sendOffsets({
                consumerGroupId: txGroup,
                topics: [
                  {
                    topic: batch.topic,
                    partitions: [{ partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }],
                  },
                ],
              });
              await tx.commit();
            } catch (err) {
              await tx.abort();
              reject(err);
              return;
            }
            moved += batch.messages.length;
            if (moved >= 150) resolve();
          },
        })
        .catch(reject);
    });
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`moved ${moved}/150`)), 30000))]);
    await consumer.disconnect();
    await producer.disconnect();

    const offsets = await admin.fetchOffsets({ groupId: txGroup, topics: [SRC] });
    const committed = offsets[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    assert(committed === 150, `transactional offsets sum to ${committed}, expected 150`);

    const out = await consumeN({ groupId: `${run}-reader`, topic: OUT, expected: 150 });
    assert(out.length === 150, `read_committed saw ${out.length}, expected 150`);
    assert(!out.some((v) => v.startsWith('aborted')), 'aborted messages are visible');
  });

  await admin.deleteGroups([group, txGroup, `${run}-reader`]).catch(() => {});
  await admin.deleteTopics({ topics: [SRC, OUT] });
  await admin.disconnect();
  console.log(`kafkajs ${kafkajsVersion} against ${brokers.join(',')}: ${results.length} checks passed in ${Date.now() - t0} ms`);
}

main().then(
  () => process.exit(0),
  async (err) => {
    if (!results.some((r) => !r.ok)) console.error(err);
    await admin.deleteTopics({ topics: [SRC, OUT] }).catch(() => {});
    await admin.disconnect().catch(() => {});
    process.exit(1);
  },
);
