-- Up Migration

-- When a live event arrived: the Kafka record's timestamp (the broker's append time), which the
-- bot guard judges. A flag names an interval of arrival, so a run leaves out exactly the events
-- of the flagged burst, not the user's day. Null where the guard judged nothing: history imports
-- (the operator's key) and events archived before this column. Those always count.
-- Without a default, adding the column rewrites nothing.
ALTER TABLE events ADD COLUMN arrived_at timestamptz;

-- A run looks up each flag's events by user and arrival. Partial: imported histories (most of the
-- archive) stay out of it, and building it over an archive written before this column stores nothing.
CREATE INDEX events_user_arrived_idx ON events (user_id, arrived_at) WHERE arrived_at IS NOT NULL;

-- The bot guard's flags, as runs copied them from the speed layer's ledger (Redis keeps a few days
-- of them): a run reads the history horizon's flags here, joined in SQL. Runs prune it past that
-- horizon. A flag is its user and start: copied again, or extended since, it stays one row.
CREATE TABLE bot_flags (
  user_id  text        NOT NULL,
  from_at  timestamptz NOT NULL,
  until_at timestamptz NOT NULL CHECK (until_at >= from_at),
  reason   text        NOT NULL,
  PRIMARY KEY (user_id, from_at)
);
CREATE INDEX bot_flags_until_idx ON bot_flags (until_at);

-- Down Migration
DROP TABLE bot_flags;
DROP INDEX events_user_arrived_idx;
ALTER TABLE events DROP COLUMN arrived_at;
