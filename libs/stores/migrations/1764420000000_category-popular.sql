-- Up Migration
-- Each run's most popular products per category: cold starts in a category (a new shopper who
-- browses shoes, or asks for shoes) get the category's best-sellers, not the shop's filtered down.
CREATE TABLE rec_category_popular (
  run_id   uuid NOT NULL REFERENCES batch_runs (run_id) ON DELETE CASCADE,
  category text NOT NULL,
  items    json NOT NULL,
  PRIMARY KEY (run_id, category)
);

-- Down Migration
DROP TABLE rec_category_popular;
