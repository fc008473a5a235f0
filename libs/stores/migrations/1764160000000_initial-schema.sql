-- Up Migration

-- The master dataset: every event once, keyed by its idempotency key.
CREATE TABLE events (
  event_id        uuid PRIMARY KEY,
  user_id         text        NOT NULL,
  session_id      text,
  type            text        NOT NULL CHECK (type IN ('view', 'click', 'add_to_cart', 'purchase')),
  product_id      text        NOT NULL,
  category        text,
  event_time      timestamptz NOT NULL,
  value           double precision,
  kafka_topic     text        NOT NULL,
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  archived_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_event_time_idx ON events (event_time);
CREATE INDEX events_user_time_idx ON events (user_id, event_time);

-- How far the archiver got per partition, written in the same transaction as the events: the
-- batch watermark and the replay point of the speed layer come from here.
CREATE TABLE archive_offsets (
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  next_offset bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
);

CREATE TABLE products (
  product_id text PRIMARY KEY,
  category   text,
  title      text,
  price      double precision CHECK (price >= 0),
  in_stock   boolean     NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE batch_runs (
  run_id      uuid PRIMARY KEY,
  status      text        NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  trigger     text        NOT NULL,
  job_id      text,
  published   boolean     NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz,
  finished_at timestamptz,
  stats       jsonb       NOT NULL DEFAULT '{}',
  watermark   jsonb
);
CREATE INDEX batch_runs_created_idx ON batch_runs (created_at DESC);
-- At most one run queued or running at a time, enforced by the database rather than by a check-then-act.
CREATE UNIQUE INDEX batch_runs_one_active_idx ON batch_runs ((true)) WHERE status IN ('queued', 'running');

-- The batch view, per run; a run becomes visible only when published_run points at it.
CREATE TABLE rec_user_items (
  run_id  uuid NOT NULL REFERENCES batch_runs (run_id) ON DELETE CASCADE,
  user_id text NOT NULL,
  items   jsonb NOT NULL,
  PRIMARY KEY (run_id, user_id)
);
CREATE TABLE rec_similar_items (
  run_id     uuid NOT NULL REFERENCES batch_runs (run_id) ON DELETE CASCADE,
  product_id text NOT NULL,
  items      jsonb NOT NULL,
  PRIMARY KEY (run_id, product_id)
);
CREATE TABLE rec_popular_items (
  run_id uuid PRIMARY KEY REFERENCES batch_runs (run_id) ON DELETE CASCADE,
  items  jsonb NOT NULL
);

-- One row: the published run. Swapping it in the transaction that wrote the run publishes atomically.
CREATE TABLE published_run (
  singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  run_id       uuid        NOT NULL REFERENCES batch_runs (run_id),
  published_at timestamptz NOT NULL
);

-- Down Migration
DROP TABLE published_run;
DROP TABLE rec_popular_items;
DROP TABLE rec_similar_items;
DROP TABLE rec_user_items;
DROP TABLE batch_runs;
DROP TABLE products;
DROP TABLE archive_offsets;
DROP TABLE events;
