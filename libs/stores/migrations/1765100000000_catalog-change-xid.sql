-- Up Migration
-- Serving keeps catalog facts in memory and asks only for what changed since its last look. A
-- clock cannot tell it that: updated_at is the writing transaction's start, so a transaction that
-- commits later than any look-back reaches is never seen. Each row records the transaction that
-- wrote it instead (xid8: 64 bits, never wraps). A read's snapshot says exactly which transactions
-- it could not see (those at or after its xmax, and those in progress), and the next look asks for
-- rows written by those: correct whatever a transaction's length.
-- Rows written before this migration keep 0: every look begins after it and has seen them.
ALTER TABLE products ADD COLUMN changed_xid xid8 NOT NULL DEFAULT '0';

-- A trigger, so that every writer is seen: PUT /products, and an operator's UPDATE alike.
CREATE FUNCTION products_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.changed_xid := pg_current_xact_id();
  RETURN NEW;
END
$$;

CREATE TRIGGER products_stamp_change BEFORE INSERT OR UPDATE ON products
  FOR EACH ROW EXECUTE FUNCTION products_stamp_change();

CREATE INDEX products_changed_xid ON products (changed_xid);
-- The look by clock was its only reader.
DROP INDEX products_updated_at;

-- Down Migration
CREATE INDEX products_updated_at ON products (updated_at);
DROP TRIGGER products_stamp_change ON products;
DROP FUNCTION products_stamp_change();
ALTER TABLE products DROP COLUMN changed_xid;
