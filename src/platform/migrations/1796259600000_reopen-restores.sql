-- Up Migration
-- Reopening a skipped edition restores exactly what it was before the skip: a skip keeps the status
-- and hold reason it came from. An edition skipped before it was cut is `open` again once reopened:
-- stored, not cut yet, and cut by the scheduler at its cut-off like any other.
ALTER TABLE editions DROP CONSTRAINT editions_status_check;
ALTER TABLE editions ADD CONSTRAINT editions_status_check CHECK (status IN ('open', 'held', 'approved', 'ready', 'sending', 'sent', 'skipped', 'failed'));
ALTER TABLE editions ADD COLUMN skipped_from_status text, ADD COLUMN skipped_from_hold_reason text;
DROP INDEX editions_open;
CREATE INDEX editions_open ON editions (cutoff) WHERE status IN ('open', 'held', 'approved', 'ready', 'sending');

-- Down Migration
DROP INDEX editions_open;
CREATE INDEX editions_open ON editions (cutoff) WHERE status IN ('held', 'approved', 'ready', 'sending');
ALTER TABLE editions DROP COLUMN skipped_from_status, DROP COLUMN skipped_from_hold_reason;
UPDATE editions SET status = 'skipped' WHERE status = 'open';
ALTER TABLE editions DROP CONSTRAINT editions_status_check;
ALTER TABLE editions ADD CONSTRAINT editions_status_check CHECK (status IN ('held', 'approved', 'ready', 'sending', 'sent', 'skipped', 'failed'));
