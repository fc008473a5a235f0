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
import {
  computeBatchRun,
  customerIndex,
  DEFAULT_BATCH_POLICY,
  DEFAULT_SESSION_POLICY,
  EMPTY_SESSION_PROFILE,
  groupByUser,
  mergeRecommendations,
  withPurchases,
  type Candidate,
  type Interaction,
} from '@lambdarec/domain';

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
// computeBatchModel is this run's model; the run also keeps what ranks one more history (ADR 017).
const run = computeBatchRun(interactions, asOf, DEFAULT_BATCH_POLICY);
const { model } = run;
const modelMs = performance.now() - modelStart;

say(`batch benchmark on UCI Online Retail: ${rows} purchase lines, ${interactions.length} (customer, product) interactions`);
say(`read + aggregate the CSV (baseline)  ${readMs.toFixed(0).padStart(6)} ms`);
say(
  `computeBatchModel                    ${modelMs.toFixed(0).padStart(6)} ms   ${model.stats.users} users, ${model.stats.items} products, ` +
    `${model.stats.similarityPairs} similar pairs, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
);
say(`ratio model / read: ${(modelMs / readMs).toFixed(1)}`);

/**
 * ADR 017: what re-ranking a customer after a purchase costs serving. Per request, in process, on
 * every customer with a list: the merge of their published list alone (the baseline) against
 * folding one purchase into their history, ranking it again against the run, and the same merge.
 * The purchase is the product at the top of their list, a day after the run. Serving also builds
 * the run's customer index once per run: timed alone here. Neither figure includes Postgres (one
 * more query per such request) or HTTP; `npm run bench:serving` measures serving end to end.
 */
const DAY = 24 * 60 * 60 * 1000;
const histories = groupByUser(interactions);
const products = [...new Set(interactions.map((row) => row.productId))].sort();
// Its memory is not reported: readings around it were dominated by the collector's timing.
const indexStart = performance.now();
customerIndex(histories, products, asOf, DEFAULT_BATCH_POLICY);
const indexMs = performance.now() - indexStart;
const merge = (personal: readonly Candidate[]) =>
  mergeRecommendations({
    personal,
    similarToRecent: new Map(),
    popular: model.popular,
    session: EMPTY_SESSION_PROFILE,
    catalog: new Map(),
    limit: 10,
    policy: DEFAULT_SESSION_POLICY,
  });
const customers = histories.filter(({ userId }) => (model.perUser.get(userId)?.length ?? 0) > 0);
const at = asOf + DAY;
const rounds: Array<{ mergeUs: number; rerankUs: number }> = [];
let answered = 0;
for (let round = 0; round < 3; round++) {
  const mergeStart = performance.now();
  for (const { userId } of customers) answered += merge(model.perUser.get(userId)!).length;
  const mergeUs = ((performance.now() - mergeStart) * 1000) / customers.length;
  const rerankStart = performance.now();
  for (const { userId, rows } of customers) {
    const bought = model.perUser.get(userId)![0]!.productId;
    const folded = withPurchases(userId, rows, [{ productId: bought, at, category: null }]);
    answered += merge(run.rankHistory(userId, folded, at)).length;
  }
  rounds.push({ mergeUs, rerankUs: ((performance.now() - rerankStart) * 1000) / customers.length });
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mergeUs = median(rounds.map((r) => r.mergeUs));
const rerankUs = median(rounds.map((r) => r.rerankUs));
say(
  `ADR 017: the run's customer index over ${histories.length} customers built alone in ${indexMs.toFixed(0)} ms; ` +
    `per request, median of 3 rounds over the ${customers.length} with a list ` +
    `(${answered} items answered): the merge alone ${mergeUs.toFixed(1)} µs, re-rank after a purchase + merge ` +
    `${rerankUs.toFixed(1)} µs, ratio ${(rerankUs / mergeUs).toFixed(1)}`,
);
