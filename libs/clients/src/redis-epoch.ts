import { Cluster, type Redis } from 'ioredis';

/**
 * Who holds the data now: a string that changes whenever writes acknowledged before may have
 * been lost. Redis replicates asynchronously, and a server that restarts keeps only what its
 * append-only file had on disk. So the epoch names, for each primary that serves slots, its node
 * id, its slots and its `run_id` (new on every start): a failover changes the node serving the
 * slots, a restart (with or without failover) changes the run id.
 */
export async function redisEpoch(redis: Redis | Cluster): Promise<string> {
  if (!(redis instanceof Cluster)) return `single ${runIdOf(await redis.info('server'))}`;
  const nodes = String(await redis.cluster('NODES'));
  // One line a node: <id> <ip:port@cport[,hostname]> <flags> <primary> <ping> <pong> <epoch> <link> <slot>...
  const primaries = nodes
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((fields) => fields.length >= 9 && fields[2]!.split(',').includes('master') && !fields[2]!.includes('fail'))
    .map((fields) => ({ id: fields[0]!, address: fields[1]!.split('@')[0]!, slots: fields.slice(8).join(' ') }));
  const runIds = new Map<string, string>();
  await Promise.all(
    redis.nodes('master').map(async (node) => {
      runIds.set(`${node.options.host}:${node.options.port}`, runIdOf(await node.info('server')));
    }),
  );
  return primaries
    .map(({ id, address, slots }) => {
      // The client learns of a promoted replica at its next slot refresh; until then the epoch is not settled.
      const runId = runIds.get(address);
      if (runId === undefined) throw new Error(`the client does not know the primary ${address} yet`);
      return `${address} ${id} ${runId} ${slots}`;
    })
    .sort()
    .join('\n');
}

function runIdOf(info: string): string {
  const match = /^run_id:(\w+)/m.exec(info);
  if (match === null) throw new Error('INFO server has no run_id');
  return match[1]!;
}
