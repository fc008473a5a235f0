/**
 * Ties in name order, by UTF-16 code units: every ranking in the domain breaks ties this way. Not
 * localeCompare: that goes through ICU collation, and it was most of a batch run's per-user time
 * (ties are common: one view each of many products).
 */
export const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
