-- Up Migration
-- Serving keeps catalog facts in memory and asks only for what changed since its last look
-- (updated_at within a window): an index keeps that one query cheap however large the catalog.
CREATE INDEX products_updated_at ON products (updated_at);

-- Down Migration
DROP INDEX products_updated_at;
