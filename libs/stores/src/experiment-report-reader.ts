import { withTransaction, type PgClient, type PgPool } from '@lambdarec/clients';
import { recommendationIdRange } from '@lambdarec/domain';

/** A list an experiment's answer showed (an impression event). */
export interface ShownList {
  userId: string;
  recommendationId: string;
  /** How many products the list held. */
  items: number;
  shownAt: Date;
}

export type AttributedActionType = 'click' | 'add_to_cart' | 'purchase';

/** A click, add to cart or purchase credited to one of the experiment's lists. */
export interface AttributedAction {
  userId: string;
  type: AttributedActionType;
  /** The list credited: the event's own, or (a purchase without one) that of the click it followed. */
  recommendationId: string;
  /**
   * The item's place in that list: the event's (or the click's) own when the list shown has the
   * product there (or no list was archived), else where the list shown has it; null when neither
   * says (the product is not in the list shown).
   */
  position: number | null;
  /** The purchase's `value`; 0 for other types or when absent. */
  value: number;
  /** When the credited list was shown (the action's own time when no impression was archived): the chart's bucket. */
  shownAt: Date;
  /** True when a purchase is credited through an earlier click, not by its own recommendationId. */
  throughClick: boolean;
}

export type ExperimentReportPage = { kind: 'lists'; rows: ShownList[] } | { kind: 'actions'; rows: AttributedAction[] };

export interface ExperimentReportScope {
  /** The experiment's tag: its recommendationIds are one UUID range. */
  tag: number;
  /** Users with a bot flag overlapping [since, until] are left out of everything. */
  since: Date;
  until: Date;
  /** A purchase without a recommendationId counts for the user's latest click on the product within this many hours before it. */
  attributionHours: number;
}

export interface ExperimentReportReader {
  /**
   * Hands `visit` the experiment's lists, then its attributed actions, a page at a time (bounded
   * memory), all read in one snapshot so that an action and its list agree. `visit` runs while the
   * snapshot is open: it should tally, not wait. Events are the archive's rows, one per eventId, so
   * a redelivered or retried event is there once.
   */
  read(scope: ExperimentReportScope, visit: (page: ExperimentReportPage) => void): Promise<void>;
}

export interface ExperimentReportReaderOptions {
  pool: PgPool;
  /** Rows per page. @defaultValue 5000 */
  pageSize?: number;
}

interface ListRow {
  user_id: string;
  recommendation_id: string;
  items: number;
  shown_at: Date;
}

interface ActionRow {
  user_id: string;
  type: AttributedActionType;
  recommendation_id: string;
  position: number | null;
  value: number | null;
  shown_at: Date;
  through_click: boolean;
}

/*
 * Parameters of both statements: $1 and $2 bound the experiment's recommendationIds, $3 and $4 its
 * running span (for bot flags); the actions' $5 is the attribution window in hours.
 */
const FLAGGED_USERS = `flagged AS (SELECT DISTINCT user_id FROM bot_flags WHERE until_at >= $3 AND from_at <= $4)`;

const LISTS = `
  WITH ${FLAGGED_USERS}
  SELECT i.user_id, i.recommendation_id::text, cardinality(i.product_ids) AS items, i.event_time AS shown_at
  FROM impressions i
  WHERE i.recommendation_id BETWEEN $1::uuid AND $2::uuid
    AND NOT EXISTS (SELECT 1 FROM flagged f WHERE f.user_id = i.user_id)`;

const ACTIONS = `
  WITH ${FLAGGED_USERS},
  own AS (
    SELECT e.event_id, e.user_id, e.type, e.product_id, e.recommendation_id, e.position, e.value, e.event_time, false AS through_click
    FROM events e
    WHERE e.recommendation_id BETWEEN $1::uuid AND $2::uuid AND e.type IN ('click', 'add_to_cart', 'purchase')
  ),
  -- Purchases without a recommendationId that may follow one of the experiment's clicks: found from
  -- those clicks (an index range), not by scanning every purchase.
  candidates AS (
    SELECT DISTINCT p.event_id, p.user_id, p.product_id, p.value, p.event_time
    FROM own c
    JOIN events p ON p.user_id = c.user_id AND p.product_id = c.product_id
                 AND p.event_time >= c.event_time AND p.event_time <= c.event_time + make_interval(secs => $5::float8 * 3600)
    WHERE c.type = 'click' AND p.type = 'purchase' AND p.recommendation_id IS NULL
  ),
  -- Credited to the latest list the product was clicked on within the window, which may be another
  -- experiment's (or no experiment's): then it is not this one's.
  through_click AS (
    SELECT p.event_id, p.user_id, 'purchase'::text AS type, p.product_id, c.recommendation_id, c.position, p.value, p.event_time,
           true AS through_click
    FROM candidates p
    CROSS JOIN LATERAL (
      SELECT c.recommendation_id, c.position FROM events c
      WHERE c.user_id = p.user_id AND c.type = 'click' AND c.product_id = p.product_id AND c.recommendation_id IS NOT NULL
        AND c.event_time <= p.event_time AND c.event_time >= p.event_time - make_interval(secs => $5::float8 * 3600)
      ORDER BY c.event_time DESC, c.event_id DESC
      LIMIT 1
    ) c
    WHERE c.recommendation_id BETWEEN $1::uuid AND $2::uuid
  ),
  actions AS (SELECT * FROM own UNION ALL SELECT * FROM through_click)
  SELECT a.user_id, a.type, a.recommendation_id::text,
         -- The event's position when the list shown has its product there; else where the list has it
         -- (a client that counted positions on another list); with no list archived, the event's word.
         CASE WHEN l.product_ids IS NULL THEN a.position
              WHEN a.position IS NOT NULL AND l.product_ids[a.position + 1] = a.product_id THEN a.position
              ELSE array_position(l.product_ids, a.product_id) - 1 END AS position,
         CASE WHEN a.type = 'purchase' THEN a.value END AS value,
         COALESCE(l.event_time, a.event_time) AS shown_at, a.through_click
  FROM actions a
  LEFT JOIN LATERAL (
    SELECT i.product_ids, i.event_time FROM impressions i
    -- The same user's: ids are distinct per user only, and another user's impression must not move this one's positions.
    WHERE i.recommendation_id = a.recommendation_id AND i.user_id = a.user_id ORDER BY i.event_time LIMIT 1
  ) l ON true
  WHERE NOT EXISTS (SELECT 1 FROM flagged f WHERE f.user_id = a.user_id)`;

export function createExperimentReportReader({ pool, pageSize = 5000 }: ExperimentReportReaderOptions): ExperimentReportReader {
  return {
    async read({ tag, since, until, attributionHours }, visit) {
      const [low, high] = recommendationIdRange(tag);
      const params = [low, high, since.toISOString(), until.toISOString(), attributionHours];
      await withTransaction(
        pool,
        async (client) => {
          for await (const rows of fetchPages<ListRow>(client, 'experiment_lists', LISTS, params.slice(0, 4), pageSize)) {
            visit({
              kind: 'lists',
              rows: rows.map((row) => ({
                userId: row.user_id,
                recommendationId: row.recommendation_id,
                items: row.items,
                shownAt: row.shown_at,
              })),
            });
          }
          for await (const rows of fetchPages<ActionRow>(client, 'experiment_actions', ACTIONS, params, pageSize)) {
            visit({
              kind: 'actions',
              rows: rows.map((row) => ({
                userId: row.user_id,
                type: row.type,
                recommendationId: row.recommendation_id,
                position: row.position,
                value: row.value ?? 0,
                shownAt: row.shown_at,
                throughClick: row.through_click,
              })),
            });
          }
        },
        // One snapshot for both statements; read only, so it never waits on a writer.
        'REPEATABLE READ',
      );
    },
  };
}

async function* fetchPages<Row extends object>(
  client: PgClient,
  cursor: string,
  sql: string,
  params: unknown[],
  pageSize: number,
): AsyncGenerator<Row[]> {
  await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`, params);
  for (;;) {
    const { rows } = await client.query<Row>(`FETCH ${pageSize} FROM ${cursor}`);
    if (rows.length > 0) yield rows;
    if (rows.length < pageSize) break;
  }
  await client.query(`CLOSE ${cursor}`);
}
