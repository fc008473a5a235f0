/**
 * `npm run bench:batch-model`: the batch model alone (`computeBatchModel`, in memory, one process)
 * on real data, the UCI Online Retail history, read from the shared datasets folder (never copied
 * into the repository). `npm run bench:batch` measures the batch service end to end. It reports the model's time
 * against a baseline from the same run: one pass that reads and aggregates the same file.
 *
 * Data: Chen, D. (2015). Online Retail [Dataset]. UCI Machine Learning Repository.
 * https://doi.org/10.24432/C5BW33. Licensed under CC BY 4.0.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { computeBatchModel, DEFAULT_BATCH_POLICY, type Interaction } from '@lambdarec/domain';

const say = (line: string) => process.stdout.write(`${line}\n`);
const dataset =
  process.env['ONLINE_RETAIL_CSV'] ?? fileURLToPath(new URL('../../shared/datasets/online-retail/online_retail.csv.gz', import.meta.url));
if (!existsSync(dataset)) {
  say(`bench:batch needs the UCI Online Retail CSV (gzip) at ${dataset}, or ONLINE_RETAIL_CSV pointing to it`);
  process.exit(0);
}

/** Purchase lines (positive quantity, known customer) aggregated per (customer, product). */
async function readInteractions(): Promise<{ rows: number; interactions: Interaction[] }> {
  const byPair = new Map<string, Interaction>();
  let rows = 0;
  let header = true;
  for await (const line of createInterface({ input: createReadStream(dataset).pipe(createGunzip()) })) {
    if (header) {
      header = false;
      continue;
    }
    // InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country; the
    // description may hold commas, so the fields after it are taken from the end.
    const cols = line.split(',');
    const customer = cols[cols.length - 2];
    const quantity = Number(cols[cols.length - 5]);
    if (!customer || !(quantity > 0)) continue;
    rows++;
    const productId = cols[1]!;
    const at = Date.parse(`${cols[cols.length - 4]!.replace(' ', 'T')}Z`);
    const key = `${customer}\u0000${productId}`;
    const known = byPair.get(key);
    if (known === undefined) byPair.set(key, { userId: customer, productId, type: 'purchase', count: 1, lastAt: at, category: null });
    else {
      known.count++;
      known.lastAt = Math.max(known.lastAt, at);
    }
  }
  return { rows, interactions: [...byPair.values()] };
}

const readStart = performance.now();
const { rows, interactions } = await readInteractions();
const readMs = performance.now() - readStart;
let asOf = 0;
for (const interaction of interactions) asOf = Math.max(asOf, interaction.lastAt);

const modelStart = performance.now();
const model = computeBatchModel(interactions, asOf, DEFAULT_BATCH_POLICY);
const modelMs = performance.now() - modelStart;

say(`batch benchmark on UCI Online Retail: ${rows} purchase lines, ${interactions.length} (customer, product) interactions`);
say(`read + aggregate the CSV (baseline)  ${readMs.toFixed(0).padStart(6)} ms`);
say(
  `computeBatchModel                    ${modelMs.toFixed(0).padStart(6)} ms   ${model.stats.users} users, ${model.stats.items} products, ` +
    `${model.stats.similarityPairs} similar pairs, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
);
say(`ratio model / read: ${(modelMs / readMs).toFixed(1)}`);
