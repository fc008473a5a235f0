import { randomUUID } from 'node:crypto';

/**
 * The most requests a second the instances answer with success, measured for `durationMs` with
 * `concurrency` requests always in flight, spread over the instances: the chaos run's load is a
 * share of it, measured in the same run on the same machine.
 */
export async function measureMaximum({
  urls,
  request,
  ok,
  durationMs = 5_000,
  concurrency = 32,
}: {
  urls: readonly string[];
  request: (url: string, n: number) => [string, RequestInit];
  ok: number;
  durationMs?: number;
  concurrency?: number;
}): Promise<number> {
  const end = Date.now() + durationMs;
  let successes = 0;
  let n = 0;
  const worker = async () => {
    while (Date.now() < end) {
      const [target, init] = request(urls[n % urls.length]!, n++);
      try {
        const res = await fetch(target, init);
        await res.arrayBuffer();
        if (res.status === ok) successes++;
      } catch {
        // a refused request counts as no success
      }
    }
  };
  const startedAt = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return successes / ((Date.now() - startedAt) / 1000);
}

/** A POST of `events` events for calibration users of their own (left in the archive like any traffic). */
export function calibrationPost(runId: string, events: number, product: { productId: string; category: string }) {
  return (url: string, n: number): [string, RequestInit] => [
    `${url}/events`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        events: Array.from({ length: events }, (_, i) => ({
          eventId: randomUUID(),
          // Spread wide: the calibration must not trip the bot guard.
          userId: `chaos-${runId}-calib-${(n * events + i) % 50_000}`,
          type: 'view',
          productId: product.productId,
          category: product.category,
        })),
      }),
    },
  ];
}
