-- Up Migration
-- "Due again" (ADR 016): the user-lists stage learns each product's usual wait before customers buy
-- it again (its own median gap between purchase days, else its category's; null when neither has
-- enough repeats), and the user-items shards read it with the other product facts.
ALTER TABLE batch_product_facts ADD COLUMN rebuy_interval_days integer;

-- Down Migration
ALTER TABLE batch_product_facts DROP COLUMN rebuy_interval_days;
