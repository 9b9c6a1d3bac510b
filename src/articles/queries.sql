-- The article store's SQL (src/articles/article-store.ts).

-- name: upsert
-- Creates or updates an article by key; curation left unsaid ($12/$13 null with $14/$15 false) is
-- kept. Feeds re-publish items, so with $16 the first publish time seen is kept: an item cannot move
-- into a later window. Answers whether the article is new.
INSERT INTO articles AS a (key, id, url, title, summary, image_url, image_alt, section, source, updated_at, published_at, selected, position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (key) DO UPDATE SET
  id = EXCLUDED.id, url = EXCLUDED.url, title = EXCLUDED.title, summary = EXCLUDED.summary,
  image_url = EXCLUDED.image_url, image_alt = EXCLUDED.image_alt, section = EXCLUDED.section,
  source = EXCLUDED.source, updated_at = EXCLUDED.updated_at,
  published_at = CASE WHEN $16 THEN a.published_at ELSE EXCLUDED.published_at END,
  selected = CASE WHEN $14 THEN EXCLUDED.selected ELSE a.selected END,
  position = CASE WHEN $15 THEN EXCLUDED.position ELSE a.position END
RETURNING (xmax = 0) AS created

-- name: get
SELECT * FROM articles WHERE key = $1

-- name: get-many
SELECT * FROM articles WHERE key = ANY($1::text[])

-- name: published-between
SELECT * FROM articles WHERE published_at >= $1 AND published_at < $2 ORDER BY published_at, key

-- name: set-curation
UPDATE articles SET selected = $2, position = $3 WHERE key = $1

-- name: waiting-between
-- Articles published in [$1, $2) that no edition has taken yet: a window's candidates, late arrivals included.
SELECT * FROM articles WHERE edition_id IS NULL AND published_at >= $1 AND published_at < $2 ORDER BY published_at, key
