/**
 * The ground truth of a simulated experiment, without I/O: for every list a variant served, what
 * the shopper it was shown to would click on average (the shopper model's `expectedClicks`), which
 * no log of real shoppers can tell. The report measures the same thing from the clicks that did
 * happen, so the two can be set side by side, and the report's verdict held against the truth.
 */
import type { Verdict } from '@lambdarec/contracts';
import type { ShownItem } from '@lambdarec/domain';

/** What the ledger needs of a simulated shopper. */
export interface JudgingShopper {
  /** P(click) of an item at a 0-based position. */
  clickProbability(item: ShownItem, position: number): number;
  expectedClicks(list: readonly ShownItem[]): number;
}

/** What the ledger needs of serving's answer. */
export interface ServedList {
  experiment: { id: string; variant: string } | null;
  items: readonly (ShownItem & { team?: string | undefined })[];
}

/** One variant (A/B) or one team (interleaving), as the simulator saw it. */
export interface ArmTruth {
  /** Lists it served (interleaving: lists it placed at least one item in). */
  lists: number;
  itemsShown: number;
  /** Clicks the simulated shoppers made on its items. */
  clicks: number;
  /** The sum of P(click) over its items where they were shown: what its measured CTR estimates. */
  expectedClicks: number;
  /**
   * Interleaving: the expected clicks on each team's items as a list of their own, from the top
   * (the team's own ranking, less what the other team had placed first). Which team is better on
   * its own is the question the experiment answers; in place, each team's items also share the
   * other's positions. For A/B the same as `expectedClicks`.
   */
  ownListExpectedClicks: number;
}

/** Expected clicks per item shown, the report's CTR's estimand; undefined before any item was shown. */
export const trueCtr = (arm: ArmTruth | undefined): number | undefined =>
  arm === undefined || arm.itemsShown === 0 ? undefined : arm.expectedClicks / arm.itemsShown;

/** The truth of each team's own list (interleaving), or the same as `trueCtr` (A/B). */
export const trueOwnListCtr = (arm: ArmTruth | undefined): number | undefined =>
  arm === undefined || arm.itemsShown === 0 ? undefined : arm.ownListExpectedClicks / arm.itemsShown;

export interface TruthLedger {
  /**
   * Books one answer shown to `shopper` and the positions they clicked. An answer of another
   * experiment (or of none) counts only in `outside`: its lists are not in the report.
   */
  record(shopper: JudgingShopper, answer: ServedList, clickedPositions: readonly number[]): void;
  /** Per variant or team, in the order first seen. */
  arms(): ReadonlyMap<string, Readonly<ArmTruth>>;
  /** Answers that did not belong to the experiment. */
  readonly outside: number;
}

export function createTruthLedger(experimentId: string): TruthLedger {
  const arms = new Map<string, ArmTruth>();
  let outside = 0;
  const arm = (name: string) => {
    let found = arms.get(name);
    if (found === undefined) {
      found = { lists: 0, itemsShown: 0, clicks: 0, expectedClicks: 0, ownListExpectedClicks: 0 };
      arms.set(name, found);
    }
    return found;
  };
  return {
    record(shopper, answer, clickedPositions) {
      if (answer.experiment?.id !== experimentId || answer.items.length === 0) {
        outside++;
        return;
      }
      const clicked = new Set(clickedPositions);
      const interleaved = answer.items.some((item) => item.team !== undefined);
      if (!interleaved) {
        const figures = arm(answer.experiment.variant);
        const expected = shopper.expectedClicks(answer.items);
        figures.lists++;
        figures.itemsShown += answer.items.length;
        figures.clicks += clicked.size;
        figures.expectedClicks += expected;
        figures.ownListExpectedClicks += expected;
        return;
      }
      const byTeam = new Map<string, { position: number; item: ShownItem }[]>();
      answer.items.forEach((item, position) => {
        const team = item.team ?? 'unknown';
        byTeam.set(team, [...(byTeam.get(team) ?? []), { position, item }]);
      });
      for (const [team, placed] of byTeam) {
        const figures = arm(team);
        figures.lists++;
        figures.itemsShown += placed.length;
        figures.clicks += placed.filter(({ position }) => clicked.has(position)).length;
        figures.expectedClicks += placed.reduce((sum, { item, position }) => sum + shopper.clickProbability(item, position), 0);
        figures.ownListExpectedClicks += shopper.expectedClicks(placed.map(({ item }) => item));
      }
    },
    arms: () => new Map([...arms].map(([name, figures]) => [name, { ...figures }])),
    get outside() {
      return outside;
    },
  };
}

/** Whether a verdict says what the truth says. A verdict that has not decided is neither right nor wrong. */
export type Agreement = 'agrees' | 'disagrees' | 'undecided';

export function judgeVerdict(verdict: Verdict, baselineTruth: number | undefined, challengerTruth: number | undefined): Agreement {
  if (verdict === 'no-difference-yet' || baselineTruth === undefined || challengerTruth === undefined) return 'undecided';
  const challengerIsBetter = challengerTruth > baselineTruth;
  return (verdict === 'challenger-better') === challengerIsBetter ? 'agrees' : 'disagrees';
}
