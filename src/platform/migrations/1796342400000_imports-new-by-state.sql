-- Up Migration
-- An import's new subscribers by the state they were created in ({"confirmed": 2, "unsubscribed": 1}),
-- so that its report says how many of them are confirmed (`imported` counts them all).
ALTER TABLE imports ADD COLUMN imported_states jsonb NOT NULL DEFAULT '{}';

-- Down Migration
ALTER TABLE imports DROP COLUMN imported_states;
