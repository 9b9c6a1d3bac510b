-- Up Migration
-- The infrastructure's own table, and nothing of the stores yet (their tables come in later
-- migrations): one row saying whose schema this is, so that a database shared by mistake shows.
CREATE TABLE schema_info (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  application text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO schema_info (application) VALUES ('evening-digest');

-- Down Migration
DROP TABLE schema_info;
