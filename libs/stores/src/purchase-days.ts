/**
 * A frozen row's purchase days from COPY's text form of an integer array (`{19007,19000}`, or
 * nothing for a row that is not a purchase), ascending as the re-buy vector reads them. The
 * freeze aggregates them in no particular order: on Postgres 15 an aggregate with ORDER BY sorts
 * within every group of the run, purchases or not, and most rows have one day or none.
 */
export function parsePurchaseDays(text: string | null | undefined): number[] | undefined {
  if (text === null || text === undefined) return undefined;
  return text
    .slice(1, -1)
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
}
