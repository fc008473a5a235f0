-- Up Migration
-- The re-buy vector (ADR 016) weighs each basket by its place in the user's sequence of baskets,
-- so a run's input keeps the days on which each product was bought (a day's purchases are one
-- basket; days since 1970-01-01, ascending), and the user-lists stage passes every user's vector
-- (product numbers and weights, like the co-occurrence lists) to the user-items shards, which
-- find each user's nearest customers among them.
ALTER TABLE batch_input ADD COLUMN purchase_days integer[];
ALTER TABLE batch_user_lists ADD COLUMN rebuy_products text NOT NULL DEFAULT '', ADD COLUMN rebuy_weights text NOT NULL DEFAULT '';

-- Down Migration
ALTER TABLE batch_user_lists DROP COLUMN rebuy_products, DROP COLUMN rebuy_weights;
ALTER TABLE batch_input DROP COLUMN purchase_days;
