-- The feedback store's SQL (src/feedback/feedback-store.ts): reports kept once each, readers counted
-- per edition, totals for /metrics (tables: the feedback-loop migration).

-- name: record
-- Keeps a report unless it was kept before: no row back means a replay, which must change nothing.
INSERT INTO feedback_events (source, event_id, kind, at, edition_id, status, smtp_code, diagnostic, outcome)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'applying')
ON CONFLICT (source, event_id) DO NOTHING
RETURNING id

-- name: settle
UPDATE feedback_events SET outcome = $2, subscriber_id = $3 WHERE id = $1

-- name: count-reader
-- Counts a reader against an edition once per kind, under the report's code, if the edition exists;
-- answers a row only when this report was the reader's first of its kind for the edition.
WITH reader AS (
  INSERT INTO edition_feedback_readers (edition_id, kind, subscriber_id)
  SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM editions WHERE id = $1)
  ON CONFLICT DO NOTHING
  RETURNING edition_id
)
INSERT INTO edition_feedback_counts (edition_id, kind, code, count)
SELECT edition_id, $2, $4, 1 FROM reader
ON CONFLICT (edition_id, kind, code) DO UPDATE SET count = edition_feedback_counts.count + 1
RETURNING count

-- name: count-total
INSERT INTO feedback_counts (source, kind, outcome, count) VALUES ($1, $2, $3, 1)
ON CONFLICT (source, kind, outcome) DO UPDATE SET count = feedback_counts.count + 1

-- name: edition-counts
SELECT kind, code, count FROM edition_feedback_counts WHERE edition_id = $1 ORDER BY kind, count DESC, code

-- name: of-subscriber
SELECT source, kind, at, received_at, edition_id, status, smtp_code, diagnostic, outcome
FROM feedback_events WHERE subscriber_id = $1 ORDER BY id DESC LIMIT $2

-- name: totals
SELECT source, kind, outcome, count FROM feedback_counts
