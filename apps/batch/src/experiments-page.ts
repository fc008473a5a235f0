import type { Experiment, ExperimentReport } from '@lambdarec/contracts';

export const EXPERIMENTS_PAGE_PATH = '/admin/experiments';

/** Text and attribute values alike: nothing an operator or a variant name holds can open a tag or end an attribute. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const percent = (share: number, digits = 2) => `${(share * 100).toFixed(digits)} %`;
const interval = ([low, high]: readonly [number, number], format: (n: number) => string) => `[${format(low)}, ${format(high)}]`;
const signedPercent = (share: number) => `${share >= 0 ? '+' : '−'}${percent(Math.abs(share))}`;
const VARIANT_COLOURS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989'];
const colourOf = (index: number) => VARIANT_COLOURS[index % VARIANT_COLOURS.length]!;

const CHART = { width: 720, height: 260, left: 56, right: 16, top: 16, bottom: 36 };

/**
 * CTR per variant over time as SVG: a line per variant through its buckets, and its 95 % interval
 * as a translucent band. Server-rendered, so the page needs no charting library.
 */
export function renderCtrChart(series: NonNullable<ExperimentReport['series']>): string {
  const { width, height, left, right, top, bottom } = CHART;
  const points = series.points;
  const label = `CTR per variant per ${series.bucket}, with 95 % intervals`;
  if (points.length === 0) {
    return `<svg class="ctr-chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<text x="${width / 2}" y="${height / 2}" text-anchor="middle">No lists shown yet</text></svg>`;
  }
  const highest = Math.max(0.01, ...points.flatMap((point) => point.variants.map((variant) => Math.min(1, variant.ctrInterval[1]))));
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const x = (index: number) => left + (points.length === 1 ? plotWidth / 2 : (index / (points.length - 1)) * plotWidth);
  const y = (share: number) => top + plotHeight - (Math.min(share, highest) / highest) * plotHeight;
  const coordinates = (pairs: Array<[number, number]>) => pairs.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
  const variantNames = points[0]!.variants.map((variant) => variant.name);

  const layers = variantNames.map((name, v) => {
    const colour = colourOf(v);
    const upper = points.map((point, i): [number, number] => [x(i), y(point.variants[v]!.ctrInterval[1])]);
    const lower = points.map((point, i): [number, number] => [x(i), y(point.variants[v]!.ctrInterval[0])]).reverse();
    const line = points.map((point, i): [number, number] => [x(i), y(point.variants[v]!.ctr)]);
    const dots = line
      .map(
        ([px, py], i) =>
          `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${colour}"><title>${escapeHtml(
            `${name} ${points[i]!.at}: ${percent(points[i]!.variants[v]!.ctr)} ${interval(points[i]!.variants[v]!.ctrInterval, (n) => percent(n))}`,
          )}</title></circle>`,
      )
      .join('');
    return `<g class="variant" data-variant="${escapeHtml(name)}">
<polygon class="band" points="${coordinates([...upper, ...lower])}" fill="${colour}" fill-opacity="0.15" stroke="none"/>
<polyline class="ctr" points="${coordinates(line)}" fill="none" stroke="${colour}" stroke-width="2"/>${dots}</g>`;
  });

  const ticks = [0, highest / 2, highest]
    .map(
      (share) =>
        `<line x1="${left}" x2="${width - right}" y1="${y(share).toFixed(1)}" y2="${y(share).toFixed(1)}" stroke="#d0d7de"/>` +
        `<text x="${left - 6}" y="${(y(share) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(percent(share, 1))}</text>`,
    )
    .join('');
  const timeLabel = (at: string) => (series.bucket === 'hour' ? `${at.slice(0, 10)} ${at.slice(11, 16)}` : at.slice(0, 10));
  const xLabels =
    `<text x="${x(0).toFixed(1)}" y="${height - 12}" text-anchor="${points.length === 1 ? 'middle' : 'start'}">${escapeHtml(timeLabel(points[0]!.at))}</text>` +
    (points.length > 1
      ? `<text x="${x(points.length - 1).toFixed(1)}" y="${height - 12}" text-anchor="end">${escapeHtml(timeLabel(points.at(-1)!.at))}</text>`
      : '');
  const legend = variantNames
    .map(
      (name, v) =>
        `<g transform="translate(${left + 8 + v * 140},${top + 4})"><rect width="12" height="12" fill="${colourOf(v)}"/>` +
        `<text x="16" y="10">${escapeHtml(name)}</text></g>`,
    )
    .join('');
  return `<svg class="ctr-chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-size="11" font-family="system-ui, sans-serif">
<title>${escapeHtml(label)}</title>${ticks}${layers.join('')}${xLabels}${legend}</svg>`;
}

function renderReport(experiment: Experiment, report: ExperimentReport): string {
  const rows = report.variants
    .map((variant, index) => {
      const definition = experiment.variants[index];
      return `<tr data-variant="${escapeHtml(variant.name)}">
<th scope="row"><span class="swatch" style="background:${colourOf(index)}"></span>${escapeHtml(variant.name)}</th>
<td>${escapeHtml(definition?.strategy ?? '')}</td><td class="n">${escapeHtml(definition?.weight ?? '')}</td>
<td class="n">${variant.users}</td><td class="n">${variant.impressions}</td><td class="n">${variant.itemsShown}</td>
<td class="n">${variant.clicks}</td><td class="n">${escapeHtml(percent(variant.ctr))}</td>
<td class="n">${escapeHtml(interval(variant.ctrInterval, (n) => percent(n)))}</td>
<td class="n">${variant.addToCarts}</td><td class="n">${variant.purchases}</td><td class="n">${escapeHtml(variant.revenue.toFixed(2))}</td></tr>`;
    })
    .join('\n');
  const { comparison, interleaving } = report;
  return `<section class="report" data-experiment-id="${escapeHtml(report.experimentId)}">
<h2>${escapeHtml(report.experimentId)} <small>(${escapeHtml(report.mode)}, ${escapeHtml(experiment.status)})</small></h2>
<p>From ${escapeHtml(report.since ?? 'never started')} to ${escapeHtml(report.until)}.</p>
<table class="variants">
<thead><tr><th>variant</th><th>strategy</th><th>weight</th><th>users</th><th>impressions</th><th>items shown</th><th>clicks</th><th>CTR</th><th>95 % interval</th><th>add to carts</th><th>purchases</th><th>revenue</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p class="comparison" data-verdict="${escapeHtml(comparison.verdict)}">CTR of <b>${escapeHtml(comparison.challenger)}</b> (challenger) against <b>${escapeHtml(
    comparison.baseline,
  )}</b> (baseline): ${escapeHtml(signedPercent(comparison.difference))} ${escapeHtml(
    interval(comparison.interval, signedPercent),
  )}, p ${escapeHtml(comparison.pValue < 0.001 ? '< 0.001' : `= ${comparison.pValue.toFixed(3)}`)}: <b>${escapeHtml(comparison.verdict)}</b>.</p>
${
  interleaving === undefined
    ? ''
    : `<p class="interleaving" data-verdict="${escapeHtml(interleaving.verdict)}">Interleaving: the challenger won ${interleaving.wins}, lost ${
        interleaving.losses
      } and tied ${interleaving.ties} clicked lists; preference ${escapeHtml(interleaving.preference.toFixed(3))} ${escapeHtml(
        interval(interleaving.interval, (n) => n.toFixed(3)),
      )}: <b>${escapeHtml(interleaving.verdict)}</b>.</p>`
}
${report.series === undefined ? '' : renderCtrChart(report.series)}
</section>`;
}

function renderList(experiments: readonly Experiment[]): string {
  if (experiments.length === 0) return '<p>No experiments yet.</p>';
  const rows = experiments
    .map((experiment) => {
      const definition = { mode: experiment.mode, variants: experiment.variants };
      const next = experiment.status === 'running' ? 'stopped' : 'running';
      return `<tr data-experiment-id="${escapeHtml(experiment.experimentId)}" data-status="${escapeHtml(experiment.status)}">
<th scope="row"><a href="?experimentId=${encodeURIComponent(experiment.experimentId)}">${escapeHtml(experiment.experimentId)}</a></th>
<td>${escapeHtml(experiment.mode)}</td><td>${escapeHtml(experiment.status)}</td>
<td>${escapeHtml(experiment.variants.map((v) => `${v.name} (${v.strategy}, ${v.weight})`).join(', '))}</td>
<td>${escapeHtml(experiment.startedAt ?? '')}</td><td>${escapeHtml(experiment.stoppedAt ?? '')}</td>
<td><button type="button" class="set-status" data-experiment-id="${escapeHtml(experiment.experimentId)}" data-status="${next}" data-definition="${escapeHtml(
        JSON.stringify(definition),
      )}">${next === 'running' ? 'Start' : 'Stop'}</button></td></tr>`;
    })
    .join('\n');
  return `<table class="experiments"><thead><tr><th>experiment</th><th>mode</th><th>status</th><th>variants</th><th>started</th><th>stopped</th><th></th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

const EXAMPLE_VARIANTS = JSON.stringify(
  [
    { name: 'control', weight: 1, strategy: 'lambda', params: {} },
    { name: 'stronger-boost', weight: 1, strategy: 'lambda', params: { CATEGORY_BOOST: 0.6 } },
  ],
  null,
  2,
);

/*
 * The page's script: PUT /experiments/:id with fetch, same-origin (the browser sends its Origin and
 * the cached credentials, which the Origin guard and basic auth check like any other client's).
 */
const PAGE_SCRIPT = `
const problem = document.querySelector('#problem');
async function putExperiment(id, definition) {
  problem.textContent = '';
  const res = await fetch('/experiments/' + encodeURIComponent(id), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(definition),
  });
  if (res.ok) { location.href = '?experimentId=' + encodeURIComponent(id); return; }
  const body = await res.json().catch(() => ({}));
  problem.textContent = res.status + ': ' + (body.message || res.statusText);
}
document.querySelector('#create').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.target;
  let variants;
  try { variants = JSON.parse(form.elements.variants.value); }
  catch (err) { problem.textContent = 'variants: not JSON (' + err.message + ')'; return; }
  void putExperiment(form.elements.experimentId.value, { mode: form.elements.mode.value, status: form.elements.status.value, variants });
});
for (const button of document.querySelectorAll('button.set-status')) {
  button.addEventListener('click', () => {
    const definition = JSON.parse(button.dataset.definition);
    void putExperiment(button.dataset.experimentId, { ...definition, status: button.dataset.status });
  });
}
`;

export interface ExperimentsPageInput {
  experiments: readonly Experiment[];
  /** The experiment whose report is shown (the running one unless another was asked for). */
  shown: Experiment | undefined;
  report: ExperimentReport | undefined;
}

/** The operator's experiments page: the shown experiment's report and chart, every experiment, and a form to create one. */
export function renderExperimentsPage({ experiments, shown, report }: ExperimentsPageInput): string {
  const running = experiments.find((experiment) => experiment.status === 'running');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lambdarec experiments</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; }
table.variants th, table.variants td { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; }
#problem { color: #d1242f; }
textarea { width: 40rem; height: 10rem; font-family: ui-monospace, monospace; }
</style></head>
<body>
<h1>Experiments</h1>
<p class="running">${running === undefined ? 'No experiment is running.' : `Running: <b>${escapeHtml(running.experimentId)}</b> (${escapeHtml(running.mode)}).`}
 <a href="/admin/queues">Batch runs (Bull Board)</a></p>
<p id="problem" role="alert"></p>
${shown !== undefined && report !== undefined ? renderReport(shown, report) : ''}
<h2>All experiments</h2>
${renderList(experiments)}
<h2>New experiment</h2>
<form id="create">
<p><label>Experiment id <input name="experimentId" required pattern="[A-Za-z0-9_.:@\\-]{1,128}"></label>
<label>Mode <select name="mode"><option value="ab">A/B</option><option value="interleave">interleave</option></select></label>
<label>Status <select name="status"><option value="running">running</option><option value="stopped">stopped</option></select></label></p>
<p><label>Variants (JSON; the first is the baseline, the second the challenger)<br><textarea name="variants">${escapeHtml(EXAMPLE_VARIANTS)}</textarea></label></p>
<p><button type="submit">Create</button></p>
</form>
<script type="module">${PAGE_SCRIPT}</script>
</body></html>`;
}
