/**
 * Coordinate search for the paper baselines' settings: a full grid of TIFU-KNN's six parameters
 * is hundreds of runs over the validation window, too slow for two cores. Each stage tries every
 * combination of its own parameters with the others held at the best found so far; one pass.
 */

/** Values to try per parameter; a stage's parameters are searched jointly. */
export type SearchStage<S> = { [K in keyof S]?: ReadonlyArray<S[K]> };

export interface SearchResult<S> {
  best: S;
  value: number;
  /** Distinct settings evaluated. */
  evaluated: number;
}

const keyOf = (settings: object) =>
  Object.entries(settings)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(',');

/** Every combination of the stage's values, over `base`. */
export function stageCandidates<S extends object>(base: S, stage: SearchStage<S>): S[] {
  let candidates: S[] = [base];
  for (const name of Object.keys(stage) as Array<keyof S>) {
    const values = stage[name] ?? [];
    candidates = candidates.flatMap((candidate) => values.map((value) => ({ ...candidate, [name]: value })));
  }
  return candidates;
}

/**
 * Maximises `evaluate`, starting at `start` (evaluated too), stage by stage. A setting is
 * evaluated once however many stages reach it; on a tie the earlier setting stays.
 */
export function coordinateSearch<S extends object>(
  start: S,
  stages: ReadonlyArray<SearchStage<S>>,
  evaluate: (settings: S) => number,
): SearchResult<S> {
  const seen = new Map<string, number>();
  const valueOf = (settings: S) => {
    const key = keyOf(settings);
    let value = seen.get(key);
    if (value === undefined) seen.set(key, (value = evaluate(settings)));
    return value;
  };
  let best = start;
  let value = valueOf(start);
  for (const stage of stages) {
    for (const candidate of stageCandidates(best, stage)) {
      const candidateValue = valueOf(candidate);
      if (candidateValue > value) {
        best = candidate;
        value = candidateValue;
      }
    }
  }
  return { best, value, evaluated: seen.size };
}
