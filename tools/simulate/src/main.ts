/**
 * `npm run simulate`: shoppers against a running system (by default the one `npm start` runs), in
 * one of two modes.
 *
 * Traffic (traffic-mode.ts): `npm run simulate -- [--rate 20] [--duration 60] [--products a,b,c]
 * [--sample-every 10] [--ingest-url …] [--serving-url …] [--speed-url …] [--seed N]`. Shoppers
 * view products, some click, a few fill a cart and fewer buy; every event goes through ingest's
 * public `POST /events` with its own eventId. A live line shows events/s, the answers, the speed
 * layer's consumer lag and how long a new shopper's session takes to show in serving's answer
 * (`sources.session` turns true) for every Nth shopper. Ctrl-C stops early with the same summary.
 * Exit code 1 if any request got a 5xx or no answer.
 *
 * Experiment (experiment-mode.ts): `npm run simulate -- --experiment <id> [--create ab:popular,lambda]
 * [--stop] [--shoppers 200] [--visits 3-6] [--rate 5] [--duration S] [--seed N] [--limit 10]
 * [--ingest-url …] [--serving-url …] [--batch-url …]`. Simulated shoppers whose preferences are
 * known (@lambdarec/domain's shopper model) browse, ask for recommendations, and click, cart and buy
 * what suits them, all through @lambdarec/client; the experiment's report is printed beside the
 * truth: the expected CTR of the lists each variant served, and whether the verdict agrees.
 */
const experimentMode = process.argv.slice(2).some((arg) => arg === '--experiment' || arg.startsWith('--experiment='));
await import(experimentMode ? './experiment-mode.js' : './traffic-mode.js');
