/**
 * Team-draft interleaving (Radlinski, Kurup & Joachims, "How does clickthrough data reflect
 * retrieval quality?", CIKM 2008), as small as the experiments bench needs it. The bench's own copy
 * because @lambdarec/domain did not export `teamDraftInterleave` yet when the bench was written:
 * once it does, the bench should use that one, so that it measures the code the services run.
 */
export type Team = 'baseline' | 'challenger';

export interface DraftedItem<T> {
  item: T;
  team: Team;
}

/**
 * One interleaved list of at most `length` items: in each round a coin decides which team picks
 * first, and each team in turn adds its best-ranked item not in the list yet. A team with nothing
 * left to add passes. Every item carries the team that contributed it, for the click credit.
 */
export function teamDraft<T>(
  baseline: readonly T[],
  challenger: readonly T[],
  length: number,
  random: () => number,
  keyOf: (item: T) => string,
): DraftedItem<T>[] {
  const drafted: DraftedItem<T>[] = [];
  const taken = new Set<string>();
  const next = { baseline: 0, challenger: 0 };
  const ranking = { baseline, challenger };
  const pick = (team: Team): boolean => {
    const list = ranking[team];
    while (next[team] < list.length && taken.has(keyOf(list[next[team]]!))) next[team]++;
    if (next[team] >= list.length || drafted.length >= length) return false;
    const item = list[next[team]]!;
    taken.add(keyOf(item));
    drafted.push({ item, team });
    return true;
  };
  while (drafted.length < length) {
    const first: Team = random() < 0.5 ? 'baseline' : 'challenger';
    const second: Team = first === 'baseline' ? 'challenger' : 'baseline';
    const pickedFirst = pick(first);
    const pickedSecond = pick(second);
    if (!pickedFirst && !pickedSecond) break;
  }
  return drafted;
}
