-- The edition store's SQL (src/editions/edition-store.ts).

-- name: create-if-absent
-- With two schedulers at the cut-off, exactly one edition per id: the other insert does nothing.
INSERT INTO editions (id, status, cutoff, window_start, subject, preheader, article_keys, html, text, links, error, created_at, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (id) DO NOTHING

-- name: get
SELECT * FROM editions WHERE id = $1

-- name: set-status
UPDATE editions SET status = $2 WHERE id = $1

-- name: latest-cutoff-before
SELECT max(cutoff) AS cutoff FROM editions WHERE cutoff < $1

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
SELECT id FROM editions WHERE cutoff < $1 AND records_removed_at IS NULL ORDER BY cutoff

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
