import { clusterCommand, until, type ClusterLayout, type Fleet } from '@lambdarec/local-stack';

/** What a fault can act on: the cluster's pieces, the services, and what they have logged. */
export interface FaultContext {
  layout: ClusterLayout;
  fleet: Fleet;
  say: (line: string) => void;
  /** Every log line the services wrote so far, labelled `[instance] …`. */
  logLines: () => readonly string[];
  /** Dashboard credentials for the batch routes. */
  authorization: string;
  /** How long a killed piece stays down while the load goes on. */
  holdMs: number;
}

/** One fault: what it kills, how it comes back; `inject` answers a description of what it killed. */
export interface Fault {
  name: FaultName;
  inject(ctx: FaultContext): Promise<string>;
  /** Brings the killed piece back and waits until the topology is whole again. */
  restore(ctx: FaultContext): Promise<void>;
  /** For the batch fault: the run that had to publish exactly once. */
  runId?: string;
}

export const FAULT_NAMES = [
  'kafka-leader',
  'kafka-controller',
  'redis-primary',
  'speed',
  'batch',
  'ingest',
  'serving',
  'postgres-standby',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The broker leading the most partitions of the topic: its death moves the most leaders. */
async function busiestLeader(layout: ClusterLayout, topic: string): Promise<string> {
  const counts = new Map<string, number>();
  for (const line of (await clusterCommand(layout, 'kafka-leaders', topic)).trim().split('\n')) {
    const leader = line.trim().split(/\s+/)[1];
    if (leader !== undefined) counts.set(leader, (counts.get(leader) ?? 0) + 1);
  }
  const [best] = [...counts].sort((a, b) => b[1] - a[1]);
  if (best === undefined) throw new Error(`no leaders found for ${topic}`);
  return best[0];
}

const primaries = async (layout: ClusterLayout) => (await clusterCommand(layout, 'redis-primaries')).trim().split(/\s+/).filter(Boolean);

/** A killed infrastructure piece comes back with `start`, then `up` waits until the whole component is ready (ISR full, cluster ok). */
function infraFault(name: FaultName, component: 'kafka' | 'redis' | 'postgres', pick: (ctx: FaultContext) => Promise<string>): Fault {
  let piece = '';
  return {
    name,
    async inject(ctx) {
      piece = await pick(ctx);
      await clusterCommand(ctx.layout, 'kill', piece);
      return piece;
    },
    async restore(ctx) {
      await clusterCommand(ctx.layout, 'start', piece);
      await clusterCommand(ctx.layout, 'up', component);
    },
  };
}

function serviceFault(name: FaultName, instance: string): Fault {
  return {
    name,
    async inject(ctx) {
      await ctx.fleet.kill(instance, 'SIGKILL');
      return instance;
    },
    async restore(ctx) {
      ctx.fleet.start(instance);
      await ctx.fleet.ready([instance]);
    },
  };
}

/**
 * Kills the batch instance that coordinates a run, once the run has frozen its input (in the
 * middle of its work). BullMQ hands the job to the other instance when its lock expires, which
 * resumes the same run; `runId` is checked afterwards to have published exactly once.
 */
function batchFault(): Fault {
  let killed = '';
  const fault: Fault = {
    name: 'batch',
    async inject(ctx) {
      const batchInstances = ctx.fleet.instances.filter((i) => i.app === 'batch').map((i) => i.name);
      const res = await fetch(`${ctx.fleet.url(batchInstances[0]!)}/batch/runs`, {
        method: 'POST',
        headers: { authorization: ctx.authorization },
      });
      if (res.status !== 202) throw new Error(`POST /batch/runs answered ${res.status}: ${await res.text()}`);
      const runId = ((await res.json()) as { runId: string }).runId;
      fault.runId = runId;
      killed = await until(
        `run ${runId} to freeze its input`,
        async () => {
          const line = ctx.logLines().find((l) => l.includes(runId) && l.includes('batch input frozen'));
          return line === undefined ? undefined : /^\[(\S+)/.exec(line)?.[1];
        },
        120_000,
      );
      await ctx.fleet.kill(killed, 'SIGKILL');
      return `${killed} (coordinating run ${runId.slice(0, 8)})`;
    },
    async restore(ctx) {
      const other = ctx.fleet.instances.find((i) => i.app === 'batch' && i.name !== killed)!.name;
      await until(
        `run ${fault.runId} to finish on ${other}`,
        async () => {
          const run = (await (
            await fetch(`${ctx.fleet.url(other)}/batch/runs/${fault.runId}`, { headers: { authorization: ctx.authorization } })
          ).json()) as { status: string };
          return run.status === 'succeeded' || run.status === 'failed' ? run.status : undefined;
        },
        10 * 60_000,
      );
      ctx.fleet.start(killed);
      await ctx.fleet.ready([killed]);
    },
  };
  return fault;
}

export function createFault(name: FaultName, topic: string): Fault {
  switch (name) {
    case 'kafka-leader':
      return infraFault(name, 'kafka', async (ctx) => `kafka-${await busiestLeader(ctx.layout, topic)}`);
    case 'kafka-controller':
      return infraFault(name, 'kafka', async (ctx) => `kafka-${(await clusterCommand(ctx.layout, 'kafka-controller')).trim()}`);
    case 'redis-primary':
      return infraFault(name, 'redis', async (ctx) => `redis-${(await primaries(ctx.layout))[0]}`);
    case 'postgres-standby':
      return infraFault(name, 'postgres', async () => 'postgres-standby');
    case 'speed':
      return serviceFault(name, 'speed-1');
    case 'ingest':
      return serviceFault(name, 'ingest-1');
    case 'serving':
      return serviceFault(name, 'serving-1');
    case 'batch':
      return batchFault();
  }
}

export { sleep };
