-- The edition store's SQL (src/editions/edition-store.ts).

-- name: create-if-absent
-- With two schedulers at the cut-off, exactly one edition per id: the other insert does nothing.
-- An edition skipped before it was stored was open: reopening it makes it open again.
WITH created AS (
  INSERT INTO editions (id, status, hold_reason, cutoff, window_start, subject, preheader, article_keys, html, text, links, error, created_at, created_by, skipped_from_status)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $2 = 'skipped' THEN 'open' END)
  ON CONFLICT (id) DO NOTHING
  RETURNING id, status
)
INSERT INTO edition_events (edition_id, at, by, action, from_status, to_status, note)
SELECT id, $13, $14, $15, NULL, status, $16 FROM created
RETURNING edition_id

-- name: get
SELECT * FROM editions WHERE id = $1

-- name: lock
SELECT status FROM editions WHERE id = $1 FOR UPDATE

-- name: transition
-- Moves an edition from one of the statuses $2 to $3 (compare-and-set: of two processes, one wins)
-- with its event; $4 sets the hold reason, $5 the error; answers the status it came from. A skip
-- keeps the status and hold reason it came from, which a reopen restores.
WITH current AS (
  SELECT id, status, hold_reason FROM editions WHERE id = $1 FOR UPDATE
), changed AS (
  UPDATE editions e SET
    status = $3,
    hold_reason = CASE WHEN $3 = 'held' THEN $4 ELSE NULL END,
    skipped_from_status = CASE WHEN $3 = 'skipped' THEN current.status END,
    skipped_from_hold_reason = CASE WHEN $3 = 'skipped' THEN current.hold_reason END,
    error = COALESCE($5, e.error),
    sending_at = CASE WHEN $3 = 'sending' THEN COALESCE(e.sending_at, $6) ELSE e.sending_at END,
    sent_at = CASE WHEN $3 = 'sent' THEN $6 ELSE e.sent_at END
  FROM current WHERE e.id = current.id AND current.status = ANY($2::text[])
  RETURNING e.id, current.status AS from_status
), event AS (
  INSERT INTO edition_events (edition_id, at, by, action, from_status, to_status, note)
  SELECT id, $6, $7, $8, from_status, $3, $9 FROM changed
)
SELECT (SELECT from_status FROM changed) AS from_status, (SELECT status FROM current) AS current_status

-- name: fix-content
-- The content is fixed when an edition is sent: rendered once, and its window's articles become its
-- own (those another edition took meanwhile stay with it).
UPDATE editions SET status = 'ready', hold_reason = NULL, window_start = $2, subject = $3, preheader = $4,
  article_keys = $5, html = $6, text = $7, links = $8, cutoff = $9, web_html = $10
WHERE id = $1

-- name: claim-articles
UPDATE articles SET edition_id = $1 WHERE key = ANY($2::text[]) AND edition_id IS NULL

-- name: add-event
INSERT INTO edition_events (edition_id, at, by, action, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6, $7)

-- name: events
SELECT at, by, action, from_status, to_status, note FROM edition_events WHERE edition_id = $1 ORDER BY id

-- name: unfinished
SELECT * FROM editions WHERE status IN ('open', 'held', 'approved', 'ready', 'sending') ORDER BY cutoff

-- name: previous-sent
-- The latest edition before $1 whose content was fixed (sent or being sent): the next window starts at its cut-off.
SELECT cutoff, window_start FROM editions WHERE cutoff < $1 AND status IN ('ready', 'sending', 'sent') ORDER BY cutoff DESC LIMIT 1

-- name: earliest-window-start
-- Before any edition was sent, the first window reaches back to the first edition's start (one skipped or held included).
SELECT min(window_start) AS start FROM editions WHERE cutoff < $1

-- name: draft
SELECT subject, preheader FROM edition_draft

-- name: set-draft
INSERT INTO edition_draft (subject, preheader) VALUES ($1, $2)
ON CONFLICT (singleton) DO UPDATE SET subject = EXCLUDED.subject, preheader = EXCLUDED.preheader

-- name: clear-draft
DELETE FROM edition_draft

-- name: list
SELECT id FROM editions ORDER BY cutoff DESC LIMIT $1

-- name: summaries
SELECT id, status, subject, cutoff FROM editions WHERE id = ANY($1::text[])

-- name: with-records-cut-before
SELECT id FROM editions WHERE cutoff < $1 AND records_removed_at IS NULL AND status IN ('sending', 'sent') ORDER BY cutoff

-- name: links
SELECT links FROM editions WHERE id = $1

-- name: mark-records-removed
UPDATE editions SET records_removed_at = $2 WHERE id = $1

-- name: add-resend
-- The next resend number of the edition; the primary key turns a concurrent twin into an error to retry.
INSERT INTO resends (edition_id, number, scope, email, by, at)
SELECT $1, COALESCE(max(number), 0) + 1, $2, $3, $4, $5 FROM resends WHERE edition_id = $1
RETURNING number

-- name: set-resend-recipients
UPDATE resends SET recipients = $3 WHERE edition_id = $1 AND number = $2

-- name: resends
SELECT number, scope, email, by, at, recipients FROM resends WHERE edition_id = $1 ORDER BY number
