import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { runBenchScript } from './run-bench-script.js';

/**
 * `npm run bench:batch-model` reads the shared UCI file, which a clone elsewhere does not find:
 * here it runs on a small seeded history in the same layout, so that its model and ADR 017 lines
 * cannot rot between the times someone runs it on the real data.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'lrec-batch-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeHistory(): { file: string; customers: number } {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const lines = ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country'];
  const customers = new Set<number>();
  for (let invoice = 0; invoice < 600; invoice++) {
    const customer = 12000 + Math.floor(random() * 120);
    customers.add(customer);
    const day = new Date(Date.UTC(2011, 0, 1) + Math.floor(random() * 300) * 86_400_000).toISOString().slice(0, 10);
    // Each customer re-buys from a small home range of products, so the re-buy vectors have neighbours.
    for (let line = 0; line < 4; line++) {
      const product = 100 + (((customer % 12) * 5 + Math.floor(random() * 8)) % 60);
      lines.push(
        `${500000 + invoice},P${product},"ITEM ${product}, RED",${1 + Math.floor(random() * 6)},${day} 10:00:00,1.25,${customer}.0,United Kingdom`,
      );
    }
  }
  const file = path.join(dir, 'history.csv.gz');
  writeFileSync(file, gzipSync(`${lines.join('\n')}\n`));
  return { file, customers: customers.size };
}

describe('npm run bench:batch-model on a small history', () => {
  it("reports the model against reading the file, and ADR 017's re-rank against the merge alone", async () => {
    const history = writeHistory();
    const { code, output } = await runBenchScript('bench/batch-model.bench.ts', [], { ONLINE_RETAIL_CSV: history.file });
    expect(code, output).toBe(0);
    expect(output).toMatch(/2400 purchase lines/);
    const modelRatio = Number(/ratio model \/ read: ([\d.]+)/.exec(output)?.[1]);
    expect(modelRatio).toBeGreaterThan(0);
    const adr =
      /ADR 017: .* over (\d+) customers built alone in (\d+) ms; .* over the (\d+) with a list .* the merge alone ([\d.]+) µs, re-rank after a purchase \+ merge ([\d.]+) µs, ratio ([\d.]+)/.exec(
        output,
      );
    expect(adr, output).not.toBeNull();
    const [, customers, , withList, mergeUs, rerankUs, ratio] = adr!.map(Number);
    expect(customers).toBe(history.customers);
    expect(withList).toBeGreaterThan(0);
    expect(withList).toBeLessThanOrEqual(customers!);
    expect(mergeUs).toBeGreaterThan(0);
    expect(rerankUs).toBeGreaterThan(0);
    expect(Math.abs(Math.log(ratio! / (rerankUs! / mergeUs!)))).toBeLessThan(0.05);
  }, 120_000);
});
