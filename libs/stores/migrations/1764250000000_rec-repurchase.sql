-- Up Migration

-- Re-buying learned by a run, per product and per category: how many customers bought, and how
-- many bought again. Serving reads it to decide whether a just-purchased product is suppressed.
CREATE TABLE rec_repurchase (
  run_id   uuid NOT NULL REFERENCES batch_runs (run_id) ON DELETE CASCADE,
  scope    text NOT NULL CHECK (scope IN ('product', 'category')),
  key      text NOT NULL,
  buyers   integer NOT NULL CHECK (buyers >= 0),
  rebuyers integer NOT NULL CHECK (rebuyers >= 0 AND rebuyers <= buyers),
  PRIMARY KEY (run_id, scope, key)
);

-- Down Migration
DROP TABLE rec_repurchase;
