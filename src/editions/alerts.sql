-- The desk's alerts (src/editions/alerts.ts).

-- name: raise
-- One alert per condition and edition (and what it is about, '' for the whole edition): a second
-- raise changes nothing and answers no row.
INSERT INTO alerts (edition_id, kind, about, raised_at, text) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (edition_id, kind, about) DO NOTHING
RETURNING kind

-- name: resolve
UPDATE alerts SET resolved_at = $3, resolved_text = $4
WHERE edition_id = $1 AND kind = ANY($2::text[]) AND resolved_at IS NULL
RETURNING kind, text

-- name: of-edition
SELECT kind, about, raised_at, text, resolved_at, resolved_text FROM alerts WHERE edition_id = $1 ORDER BY raised_at, about

-- name: counts
SELECT kind, count(*) AS raised, count(resolved_at) AS resolved FROM alerts GROUP BY kind
