-- Up Migration

-- The archive aggregated as it is written: per day, user, product and event type, how many events
-- and the latest. The archiver upserts it in the transaction that inserts the events (only those
-- that were new), so it counts every archived event exactly once. A run reads this, not the raw
-- events: a year of history is at most 365 rows per (user, product, type), and usually one or two.
-- Ids use the "C" collation: runs stream users in byte order, as the domain orders them.
CREATE TABLE event_daily (
  day        date        NOT NULL,
  user_id    text COLLATE "C" NOT NULL,
  product_id text COLLATE "C" NOT NULL,
  type       text        NOT NULL,
  n          integer     NOT NULL CHECK (n > 0),
  last_at    timestamptz NOT NULL,
  -- The latest category the day's events named (a product's category rarely changes).
  category   text,
  PRIMARY KEY (day, user_id, product_id, type)
);

INSERT INTO event_daily (day, user_id, product_id, type, n, last_at, category)
SELECT (event_time AT TIME ZONE 'UTC')::date, user_id, product_id, type, count(*), max(event_time),
       (array_agg(category ORDER BY event_time DESC) FILTER (WHERE category IS NOT NULL))[1]
FROM events
GROUP BY 1, 2, 3, 4;

-- A run's input, frozen when the run starts: every shard of the run, in any process and retried
-- any number of times, reads the same rows. Deleted when the run ends.
-- UNLOGGED and without a foreign key: a run writes a million rows here and reads them a few times;
-- WAL for them (and shipping it to replicas) and a key check per row cost more than the whole
-- read. A Postgres crash empties an unlogged table: shards compare the rows they find with the
-- count recorded when the input was frozen, and fail the run rather than publish a partial model.
CREATE UNLOGGED TABLE batch_input (
  run_id     uuid        NOT NULL,
  user_id    text COLLATE "C" NOT NULL,
  product_id text COLLATE "C" NOT NULL,
  type       text COLLATE "C" NOT NULL,
  n          integer     NOT NULL,
  last_at    timestamptz NOT NULL,
  category   text,
  -- A hash of the user (0..4095): a per-user shard takes the buckets congruent to it.
  bucket     smallint    NOT NULL
);
-- The order shards stream in, so no read sorts.
CREATE INDEX batch_input_run_user_idx ON batch_input (run_id, user_id, product_id, type);

-- Per user, the products co-occurrence counts (numbered in the run's product order) and their
-- log-damped weights, computed once from the input: every similar-items shard streams these
-- 100k short rows instead of the million input rows. Unlogged, like the input, and as guarded.
CREATE UNLOGGED TABLE batch_user_lists (
  run_id   uuid NOT NULL,
  user_id  text COLLATE "C" NOT NULL,
  products text NOT NULL,
  weights  text NOT NULL
);
CREATE INDEX batch_user_lists_run_user_idx ON batch_user_lists (run_id, user_id);

-- Per product, what the run learned from every row that names it (written with the user lists);
-- the shards read the categories, publishing reads popularity and re-buying.
CREATE TABLE batch_product_facts (
  run_id     uuid             NOT NULL REFERENCES batch_runs (run_id) ON DELETE CASCADE,
  product_id text COLLATE "C" NOT NULL,
  category   text,
  popularity double precision NOT NULL,
  buyers     integer          NOT NULL,
  rebuyers   integer          NOT NULL,
  PRIMARY KEY (run_id, product_id)
);

-- The shards of a run that finished, written in the transaction that wrote their rows: publishing
-- checks that every shard is here, so a run never goes out with a shard's rows missing.
CREATE TABLE batch_run_shards (
  run_id      uuid        NOT NULL REFERENCES batch_runs (run_id) ON DELETE CASCADE,
  stage       text        NOT NULL CHECK (stage IN ('user-lists', 'similar-items', 'user-items')),
  shard       integer     NOT NULL,
  shards      integer     NOT NULL,
  rows_read   bigint      NOT NULL,
  rows_written bigint     NOT NULL,
  pairs       bigint      NOT NULL DEFAULT 0,
  finished_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, stage, shard)
);

-- Where a run is (phase, shards) for GET /batch/runs and Bull Board; when its view rows were pruned
-- (a pruned run cannot be published again).
ALTER TABLE batch_runs ADD COLUMN progress jsonb;
ALTER TABLE batch_runs ADD COLUMN pruned_at timestamptz;

-- The view's lists are written once per run (a million-user shop: gigabytes of them) and always
-- read whole, never queried inside: json keeps the text as sent (jsonb converts it to a binary
-- form on the way in and back to text on the way out), and lz4 compresses it at a fraction of
-- pglz's CPU. Measured on 100k lists of 5.7 KB: jsonb + pglz 10.8 s to write, json + lz4 3.4 s.
ALTER TABLE rec_user_items ALTER COLUMN items TYPE json USING items::json;
ALTER TABLE rec_similar_items ALTER COLUMN items TYPE json USING items::json;
DO $$
BEGIN
  ALTER TABLE rec_user_items ALTER COLUMN items SET COMPRESSION lz4;
  ALTER TABLE rec_similar_items ALTER COLUMN items SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'this PostgreSQL has no lz4: the lists stay compressed with pglz';
END
$$;

-- Down Migration
ALTER TABLE rec_similar_items ALTER COLUMN items SET COMPRESSION default;
ALTER TABLE rec_user_items ALTER COLUMN items SET COMPRESSION default;
ALTER TABLE rec_similar_items ALTER COLUMN items TYPE jsonb USING items::jsonb;
ALTER TABLE rec_user_items ALTER COLUMN items TYPE jsonb USING items::jsonb;
ALTER TABLE batch_runs DROP COLUMN pruned_at;
ALTER TABLE batch_runs DROP COLUMN progress;
DROP TABLE batch_run_shards;
DROP TABLE batch_product_facts;
DROP TABLE batch_user_lists;
DROP TABLE batch_input;
DROP TABLE event_daily;
