import { teamAt, type InterleavingLayout } from './recommendation-id.js';

/** An item of an interleaved list, with the team (0 = baseline, 1 = challenger) that contributed it. */
export interface Drafted<T> {
  item: T;
  team: 0 | 1;
}

/**
 * Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008): in each round both teams pick
 * their best item not yet in the list, the coin deciding who picks first; once one team has nothing
 * new left, the other fills the rest. A click then credits the team that placed the item: the
 * team with more clicks in a list wins it, which cancels position bias because each team gets the
 * top slot half of the time.
 *
 * `coins[k]` is round k's coin (1: the challenger picks first); the returned layout is what the
 * recommendationId stores so that the teams can be told from the position alone.
 */
export function teamDraftInterleave<T>(
  baseline: readonly T[],
  challenger: readonly T[],
  limit: number,
  coins: readonly (0 | 1)[],
  keyOf: (item: T) => string,
): { items: Drafted<T>[]; layout: InterleavingLayout } {
  const lists = [baseline, challenger] as const;
  const next = [0, 0];
  const taken = new Set<string>();
  const items: Drafted<T>[] = [];
  let aloneFrom: number | undefined;
  let continuingTeam: 0 | 1 | undefined;

  /** The team's best item not in the list yet, or undefined when it has none left. */
  const pick = (team: 0 | 1): T | undefined => {
    const list = lists[team];
    while (next[team]! < list.length) {
      const item = list[next[team]!++]!;
      if (!taken.has(keyOf(item))) return item;
    }
    return undefined;
  };

  while (items.length < limit) {
    if (aloneFrom !== undefined) {
      const item = pick(continuingTeam!);
      if (item === undefined) break;
      taken.add(keyOf(item));
      items.push({ item, team: continuingTeam! });
      continue;
    }
    const position = items.length;
    // Within a round the second picker's turn follows the first's: by position, as teamAt reads it.
    const team = teamAt({ coins }, position);
    const item = pick(team);
    if (item === undefined) {
      aloneFrom = position;
      continuingTeam = (1 - team) as 0 | 1;
      continue;
    }
    taken.add(keyOf(item));
    items.push({ item, team });
  }
  return { items, layout: aloneFrom === undefined ? { coins } : { coins, aloneFrom, continuingTeam: continuingTeam! } };
}
