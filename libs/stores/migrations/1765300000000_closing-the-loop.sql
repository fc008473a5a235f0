-- Up Migration

-- Which answer a click, add to cart or purchase acted on, and where it stood in it: attribution
-- credits that answer's variant. Null for events not taken from a recommendation (most of them).
-- Without defaults, adding the columns rewrites nothing.
ALTER TABLE events ADD COLUMN recommendation_id uuid;
ALTER TABLE events ADD COLUMN position integer CHECK (position >= 0);
-- A report reads one experiment's answers as a range of recommendationIds (their first bytes are
-- the experiment's tag, see ADR 015); partial, so that the events of no answer cost the index nothing.
CREATE INDEX events_recommendation_idx ON events (recommendation_id) WHERE recommendation_id IS NOT NULL;

-- A list shown to a shopper: one row per list, its products in the order shown, rather than one
-- row per item (an answer of ten is ten times the rows, and the order is what interleaving credits by).
-- Archived once per eventId, as the events are; not part of the model's input.
CREATE TABLE impressions (
  event_id          uuid PRIMARY KEY,
  user_id           text        NOT NULL,
  session_id        text,
  recommendation_id uuid        NOT NULL,
  product_ids       text[]      NOT NULL CHECK (cardinality(product_ids) BETWEEN 1 AND 100),
  event_time        timestamptz NOT NULL,
  arrived_at        timestamptz,
  kafka_topic       text        NOT NULL,
  kafka_partition   integer     NOT NULL,
  kafka_offset      bigint      NOT NULL,
  archived_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX impressions_recommendation_idx ON impressions (recommendation_id);

-- Experiments: at most one running, enforced by the database rather than by a check-then-act.
-- The tag is stamped into every recommendationId the experiment serves; it is never reused, so an
-- old answer cannot be credited to a newer experiment.
CREATE SEQUENCE experiment_tags AS integer MINVALUE 1 MAXVALUE 65535 NO CYCLE;
CREATE TABLE experiments (
  experiment_id text        PRIMARY KEY,
  tag           integer     NOT NULL UNIQUE DEFAULT nextval('experiment_tags'),
  mode          text        NOT NULL CHECK (mode IN ('ab', 'interleave')),
  status        text        NOT NULL CHECK (status IN ('running', 'stopped')),
  variants      jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  stopped_at    timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE experiment_tags OWNED BY experiments.tag;
CREATE UNIQUE INDEX experiments_one_running_idx ON experiments ((true)) WHERE status = 'running';

-- Down Migration
DROP TABLE experiments;
DROP TABLE impressions;
DROP INDEX events_recommendation_idx;
ALTER TABLE events DROP COLUMN position;
ALTER TABLE events DROP COLUMN recommendation_id;
