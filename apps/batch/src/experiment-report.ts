import type { Experiment, ExperimentReport, ExperimentSummary, SeriesPoint } from '@lambdarec/contracts';
import type { Logger, PgPool } from '@lambdarec/clients';
import {
  compareTeams,
  compareVariants,
  ctrWithInterval,
  decodeRecommendationId,
  interleavingPreference,
  teamAt,
  type InterleavingTally,
  type PairedUserTally,
  type RecommendationIdParts,
  type UserTally,
} from '@lambdarec/domain';
import {
  createBotFlagHistory,
  createExperimentReportReader,
  createExperimentRepository,
  type BotFlagHistory,
  type BotFlagLedger,
  type ExperimentReportPage,
  type ExperimentReportReader,
  type ExperimentRepository,
} from '@lambdarec/stores';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Up to this long, the chart has a point an hour (72 at most); longer experiments get a point a day. */
const HOURLY_UP_TO_MS = 3 * DAY_MS;

export type SeriesBucket = 'hour' | 'day';

/** The chart's bucket for an experiment that ran from `since` to `until` (epoch ms). */
export const seriesBucketFor = (since: number, until: number): SeriesBucket => (until - since <= HOURLY_UP_TO_MS ? 'hour' : 'day');

interface VariantTotals {
  /** Per user: the tallies the clustered intervals are computed from. */
  users: Map<string, UserTally>;
  impressions: number;
  addToCarts: number;
  purchases: number;
  revenue: number;
}

const newTotals = (): VariantTotals => ({ users: new Map(), impressions: 0, addToCarts: 0, purchases: 0, revenue: 0 });

function tallyOf(users: Map<string, UserTally>, userId: string): UserTally {
  let tally = users.get(userId);
  if (tally === undefined) users.set(userId, (tally = { itemsShown: 0, clicks: 0 }));
  return tally;
}

/**
 * Adds up an experiment's lists and attributed actions into its report; pure, fed the reader's pages.
 *
 * Which variant a row counts for: in an A/B test, the variant whose index the recommendationId
 * carries; in an interleaved one, the team (variants[0] = baseline, variants[1] = challenger) that
 * placed the item, from its position in the list (`teamAt`). An interleaved action whose position
 * is unknown (the product is not in the list shown and the event gave none) credits neither team.
 * An interleaved list counts as an impression of each team that placed an item in it.
 */
export function createExperimentTally(experiment: Pick<Experiment, 'mode' | 'variants'>, bucket: SeriesBucket) {
  const variantCount = experiment.variants.length;
  const interleaved = experiment.mode === 'interleave';
  const bucketMs = bucket === 'hour' ? HOUR_MS : DAY_MS;
  const totals = experiment.variants.map(newTotals);
  /** Bucket start → per variant, per user tallies. */
  const buckets = new Map<number, Map<string, UserTally>[]>();
  /** Interleaved lists with a click: their user and each team's clicks. */
  const clickedLists = new Map<string, { userId: string; clicks: [number, number] }>();
  // Decoded anew for each row rather than kept: a list's parts take most of a kilobyte, and an
  // experiment serves millions of lists; decoding is a few microseconds.
  const partsOf = (recommendationId: string) => decodeRecommendationId(recommendationId);

  const bucketTally = (shownAt: Date, variant: number, userId: string) => {
    const start = Math.floor(shownAt.getTime() / bucketMs) * bucketMs;
    let perVariant = buckets.get(start);
    if (perVariant === undefined) buckets.set(start, (perVariant = experiment.variants.map(() => new Map())));
    return tallyOf(perVariant[variant]!, userId);
  };

  /** The variant an item counts for, or undefined when the id is not one of the experiment's. */
  const variantOf = (parts: RecommendationIdParts | undefined, position: number | null): number | undefined => {
    if (parts === undefined) return undefined;
    if (!interleaved) return parts.variantIndex < variantCount ? parts.variantIndex : undefined;
    return position === null ? undefined : teamAt(parts, position);
  };

  function addLists(rows: Extract<ExperimentReportPage, { kind: 'lists' }>['rows']) {
    for (const list of rows) {
      const parts = partsOf(list.recommendationId);
      if (parts === undefined) continue;
      const itemsPerVariant = new Array<number>(variantCount).fill(0);
      if (interleaved) for (let position = 0; position < list.items; position++) itemsPerVariant[teamAt(parts, position)]!++;
      else if (parts.variantIndex < variantCount) itemsPerVariant[parts.variantIndex] = list.items;
      itemsPerVariant.forEach((items, variant) => {
        if (items === 0) return;
        totals[variant]!.impressions++;
        tallyOf(totals[variant]!.users, list.userId).itemsShown += items;
        bucketTally(list.shownAt, variant, list.userId).itemsShown += items;
      });
    }
  }

  function addActions(rows: Extract<ExperimentReportPage, { kind: 'actions' }>['rows']) {
    for (const action of rows) {
      const parts = partsOf(action.recommendationId);
      const variant = variantOf(parts, action.position);
      if (variant === undefined) continue;
      const variantTotals = totals[variant]!;
      const userTally = tallyOf(variantTotals.users, action.userId);
      if (action.type === 'click') {
        userTally.clicks++;
        bucketTally(action.shownAt, variant, action.userId).clicks++;
        if (interleaved) {
          let list = clickedLists.get(action.recommendationId);
          if (list === undefined) clickedLists.set(action.recommendationId, (list = { userId: action.userId, clicks: [0, 0] }));
          list.clicks[variant as 0 | 1]++;
        }
      } else if (action.type === 'add_to_cart') {
        variantTotals.addToCarts++;
      } else {
        variantTotals.purchases++;
        variantTotals.revenue += action.value;
      }
    }
  }

  return {
    add(page: ExperimentReportPage): void {
      if (page.kind === 'lists') addLists(page.rows);
      else addActions(page.rows);
    },

    /**
     * The report. The comparison is variants[0] (the baseline) against variants[1] (the
     * challenger); an A/B test of more variants compares those two, and its table shows them all.
     */
    report({ experimentId, since, until }: { experimentId: string; since: string | null; until: string }): ExperimentReport {
      const variants = experiment.variants.map((variant, index) => {
        const { users, impressions, addToCarts, purchases, revenue } = totals[index]!;
        const tallies = [...users.values()];
        const itemsShown = tallies.reduce((sum, tally) => sum + tally.itemsShown, 0);
        const clicks = tallies.reduce((sum, tally) => sum + tally.clicks, 0);
        const { ctr, interval } = ctrWithInterval(tallies);
        // Sums of float values: rounded to cents, so that 0.1 + 0.2 reads 0.3.
        return {
          name: variant.name,
          users: users.size,
          impressions,
          itemsShown,
          clicks,
          ctr,
          ctrInterval: interval,
          addToCarts,
          purchases,
          revenue: Math.round(revenue * 100) / 100,
        };
      });
      const [baseline, challenger] = [0, 1].map((index) => [...totals[index]!.users.values()]) as [UserTally[], UserTally[]];
      // Interleaved, every user saw both teams: their two CTRs are paired, not independent samples.
      const comparison = interleaved
        ? compareTeams(pairedTallies(totals[0]!.users, totals[1]!.users))
        : compareVariants(baseline, challenger);
      const points: SeriesPoint[] = [...buckets.entries()]
        .sort(([a], [b]) => a - b)
        .map(([start, perVariant]) => ({
          at: new Date(start).toISOString(),
          variants: perVariant.map((users, index) => {
            const tallies = [...users.values()];
            const { ctr, interval } = ctrWithInterval(tallies);
            return {
              name: experiment.variants[index]!.name,
              itemsShown: tallies.reduce((sum, tally) => sum + tally.itemsShown, 0),
              clicks: tallies.reduce((sum, tally) => sum + tally.clicks, 0),
              ctr,
              ctrInterval: interval,
            };
          }),
        }));
      return {
        experimentId,
        mode: experiment.mode,
        since,
        until,
        variants,
        comparison: {
          baseline: experiment.variants[0]!.name,
          challenger: experiment.variants[1]!.name,
          difference: comparison.difference,
          interval: comparison.interval,
          pValue: comparison.pValue,
          verdict: comparison.verdict,
        },
        ...(interleaved ? { interleaving: interleavingOf(clickedLists) } : {}),
        series: { bucket, points },
      };
    },
  };
}

/** Each clicked list is won, lost or tied by the challenger, tallied per user for the clustered interval. */
function interleavingOf(clickedLists: Map<string, { userId: string; clicks: [number, number] }>): ExperimentReport['interleaving'] {
  const perUser = new Map<string, InterleavingTally>();
  for (const { userId, clicks } of clickedLists.values()) {
    let tally = perUser.get(userId);
    if (tally === undefined) perUser.set(userId, (tally = { wins: 0, losses: 0, ties: 0 }));
    if (clicks[1] > clicks[0]) tally.wins++;
    else if (clicks[1] < clicks[0]) tally.losses++;
    else tally.ties++;
  }
  const { wins, losses, ties, preference, interval, verdict } = interleavingPreference([...perUser.values()]);
  return { wins, losses, ties, preference, interval, verdict };
}

/** What a batch run's stats keep of a report: the counts and verdicts, not the intervals of each bar or the chart. */
export function summaryOf(report: ExperimentReport): ExperimentSummary {
  const { experimentId, mode, since, until, comparison, interleaving } = report;
  return {
    experimentId,
    mode,
    since,
    until,
    variants: report.variants.map(({ ctrInterval: _interval, ...counts }) => counts),
    comparison,
    ...(interleaving === undefined ? {} : { interleaving }),
  };
}

export interface ExperimentReportsOptions {
  experiments: Pick<ExperimentRepository, 'get' | 'running'>;
  reader: ExperimentReportReader;
  /** ATTRIBUTION_HOURS. */
  attributionHours: number;
  /**
   * The bot guard's flags. Runs copy the speed layer's ledger into Postgres nightly; a report copies
   * the flags since the experiment started first (at most every `copyEveryMs`), so that a user
   * flagged a minute ago is already left out. @defaultValue none: only the flags runs copied
   */
  botFlags?: { ledger: Pick<BotFlagLedger, 'flagsSince'>; history: Pick<BotFlagHistory, 'record'> };
  /** @defaultValue 30000 */
  copyEveryMs?: number;
  log: Logger;
  now?: () => number;
}

export interface ExperimentReports {
  /** The experiment's report as of now (no cache), or undefined for an unknown experiment. */
  report(experimentId: string): Promise<ExperimentReport | undefined>;
  /** The running experiment's summary, for a batch run's stats; undefined when none runs. */
  runningSummary(): Promise<ExperimentSummary | undefined>;
}

export function createExperimentReports({
  experiments,
  reader,
  attributionHours,
  botFlags,
  copyEveryMs = 30_000,
  log,
  now = Date.now,
}: ExperimentReportsOptions): ExperimentReports {
  let lastCopy = { at: -Infinity, since: Infinity };
  let copying: Promise<void> | undefined;

  /** Copies the ledger's flags since `since`, unless a copy that covers them is recent; one at a time. */
  async function copyFlags(since: number): Promise<void> {
    if (botFlags === undefined) return;
    if (now() - lastCopy.at < copyEveryMs && lastCopy.since <= since) return;
    copying ??= (async () => {
      const startedAt = now();
      try {
        const copied = await botFlags.history.record(botFlags.ledger.flagsSince(since));
        lastCopy = { at: startedAt, since };
        if (copied > 0) log.info({ copied }, 'bot flags copied from the ledger for an experiment report');
      } catch (err) {
        // The flags runs copied still count; a report is worth more than a minute's freshness.
        log.warn({ err }, 'could not copy bot flags from the ledger; the report leaves out the flags copied before');
      } finally {
        copying = undefined;
      }
    })();
    await copying;
  }

  async function reportOf(experiment: Experiment): Promise<ExperimentReport> {
    const until = experiment.status === 'running' || experiment.stoppedAt === null ? now() : Date.parse(experiment.stoppedAt);
    const since = experiment.startedAt === null ? null : Date.parse(experiment.startedAt);
    const tally = createExperimentTally(experiment, seriesBucketFor(since ?? until, until));
    // Never started: it served no answer, so there is nothing to read.
    if (since !== null) {
      await copyFlags(since);
      await reader.read({ tag: experiment.tag, since: new Date(since), until: new Date(until), attributionHours }, tally.add);
    }
    return tally.report({ experimentId: experiment.experimentId, since: experiment.startedAt, until: new Date(until).toISOString() });
  }

  return {
    async report(experimentId) {
      const experiment = await experiments.get(experimentId);
      return experiment === undefined ? undefined : reportOf(experiment);
    },

    async runningSummary() {
      const experiment = await experiments.running();
      return experiment === undefined ? undefined : summaryOf(await reportOf(experiment));
    },
  };
}

/**
 * The experiments' repository and reports over one database, wired once for main.ts and the tests:
 * the HTTP routes use both, and the run worker the running experiment's summary.
 */
export function createExperimentDependencies({
  pool,
  botFlagLedger,
  attributionHours,
  log,
}: {
  pool: PgPool;
  /** The speed layer's flag ledger, copied before a report. @defaultValue none: the flags runs copied */
  botFlagLedger?: Pick<BotFlagLedger, 'flagsSince'>;
  attributionHours: number;
  log: Logger;
}): { experiments: ExperimentRepository; experimentReports: ExperimentReports } {
  const experiments = createExperimentRepository({ pool });
  const experimentReports = createExperimentReports({
    experiments,
    reader: createExperimentReportReader({ pool }),
    attributionHours,
    botFlags: botFlagLedger === undefined ? undefined : { ledger: botFlagLedger, history: createBotFlagHistory({ pool }) },
    log: log.child({ component: 'experiment-reports' }),
  });
  return { experiments, experimentReports };
}

/** Each user's tallies of both teams (a user who saw no item of a team has zeros for it). */
function pairedTallies(baseline: ReadonlyMap<string, UserTally>, challenger: ReadonlyMap<string, UserTally>): PairedUserTally[] {
  const none: UserTally = { itemsShown: 0, clicks: 0 };
  const users = new Set([...baseline.keys(), ...challenger.keys()]);
  return [...users].map((userId) => ({ baseline: baseline.get(userId) ?? none, challenger: challenger.get(userId) ?? none }));
}
