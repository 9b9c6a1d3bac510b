-- Imports of subscriber lists (src/subscribers/imports.ts).

-- name: start
INSERT INTO imports (file_name, by) VALUES ($1, $2) RETURNING id

-- name: add-rows
-- One batch of read rows, valid ones with their values, rejected ones with their text and reason.
INSERT INTO import_rows (import_id, line, email, email_key, name, state, consent_at, consent_ip, changed_at, raw, reason)
SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::timestamptz[], $10::text[], $11::text[])
ON CONFLICT (import_id, line) DO NOTHING

-- name: received
UPDATE imports SET status = 'received', rows = $2, rejected = $3, last_line = $4, updated_at = now() WHERE id = $1

-- name: failed
UPDATE imports SET status = 'failed', error = $2, updated_at = now() WHERE id = $1

-- name: begin-merge
-- The rows of one address after the first count once: the one saying the most restrictive thing
-- (complained, bounced, unsubscribed, then confirmed) wins, the latest line among equals. Done once:
-- a merge that resumes after a crash finds the import already merging.
WITH ranked AS (
  SELECT line, row_number() OVER (
    PARTITION BY email_key
    ORDER BY CASE state WHEN 'complained' THEN 4 WHEN 'bounced' THEN 3 WHEN 'unsubscribed' THEN 2 ELSE 1 END DESC, line DESC
  ) AS rank
  FROM import_rows WHERE import_id = $1 AND reason IS NULL
), marked AS (
  UPDATE import_rows r SET duplicate = true FROM ranked
  WHERE r.import_id = $1 AND r.line = ranked.line AND ranked.rank > 1
  RETURNING r.line
)
UPDATE imports SET status = 'merging', duplicates = (SELECT count(*) FROM marked), updated_at = now()
WHERE id = $1 AND status = 'received'

-- name: merge-chunk
-- Lines ($2, $3] into the subscribers, in one statement with the import's counters, so that a merge
-- that stops half-way resumes after the last chunk it recorded and never applies one twice. New
-- addresses get the row's status; a pending one becomes what the row says; a confirmed one that the
-- row says has left (unsubscribed, bounced, complained) leaves; nobody who left is re-subscribed.
WITH src AS (
  SELECT * FROM import_rows WHERE import_id = $1 AND line > $2 AND line <= $3 AND reason IS NULL AND NOT duplicate
), existing AS (
  SELECT s.id, s.state, src.email_key, src.state AS new_state, src.changed_at
  FROM subscribers s JOIN src ON s.email_key = src.email_key
  FOR UPDATE OF s
), inserted AS (
  INSERT INTO subscribers (email, email_key, name, state, consent_at, consent_ip, confirmed_at, unsubscribed_at, suppressed_at, suppression_reason, created_at, updated_at)
  SELECT email, email_key, name, state, COALESCE(consent_at, $4), COALESCE(consent_ip, 'import by ' || $5),
    CASE WHEN state = 'confirmed' THEN COALESCE(consent_at, $4) END,
    CASE WHEN state = 'unsubscribed' THEN COALESCE(changed_at, $4) END,
    CASE WHEN state IN ('bounced', 'complained') THEN COALESCE(changed_at, $4) END,
    CASE WHEN state IN ('bounced', 'complained') THEN 'imported as ' || state END,
    $4, $4
  FROM src WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.email_key = src.email_key)
  ON CONFLICT (email_key) DO NOTHING
  RETURNING id, state
), changed AS (
  UPDATE subscribers s SET
    state = e.new_state,
    updated_at = $4,
    confirmed_at = CASE WHEN e.new_state = 'confirmed' THEN $4 ELSE s.confirmed_at END,
    unsubscribed_at = CASE WHEN e.new_state = 'unsubscribed' THEN COALESCE(e.changed_at, $4) ELSE s.unsubscribed_at END,
    suppressed_at = CASE WHEN e.new_state IN ('bounced', 'complained') THEN COALESCE(e.changed_at, $4) ELSE s.suppressed_at END,
    suppression_reason = CASE WHEN e.new_state IN ('bounced', 'complained') THEN 'imported as ' || e.new_state ELSE s.suppression_reason END
  FROM existing e
  WHERE s.id = e.id AND e.state <> e.new_state AND (e.state = 'pending' OR (e.state = 'confirmed' AND e.new_state <> 'confirmed'))
  RETURNING s.id, e.state AS from_state, e.new_state AS to_state
), events AS (
  INSERT INTO subscriber_events (subscriber_id, at, from_state, to_state, reason, by)
  SELECT id, $4, NULL, state, CASE WHEN state = 'confirmed' THEN 'imported with consent' ELSE 'imported as ' || state END, $5 FROM inserted
  UNION ALL
  SELECT id, $4, from_state, to_state, CASE WHEN to_state = 'confirmed' THEN 'imported with consent' ELSE 'imported as ' || to_state END, $5 FROM changed
), skipped AS (
  SELECT 'already ' || e.state AS reason, count(*) AS n FROM existing e
  WHERE NOT EXISTS (SELECT 1 FROM changed c WHERE c.id = e.id) GROUP BY e.state
), added AS (
  SELECT state, count(*) AS n FROM inserted GROUP BY state
)
UPDATE imports SET
  merged_through = $3,
  imported = imported + (SELECT count(*) FROM inserted),
  imported_states = imported_states || COALESCE((SELECT jsonb_object_agg(state, n + COALESCE((imports.imported_states ->> state)::bigint, 0)) FROM added), '{}'),
  confirmed_existing = confirmed_existing + (SELECT count(*) FROM changed WHERE to_state = 'confirmed'),
  left_existing = left_existing + (SELECT count(*) FROM changed WHERE to_state <> 'confirmed'),
  skipped = skipped || COALESCE((SELECT jsonb_object_agg(reason, n + COALESCE((imports.skipped ->> reason)::bigint, 0)) FROM skipped), '{}'),
  updated_at = $4
WHERE id = $1 AND merged_through = $2

-- name: finish
-- Done: the valid rows are no longer needed (they are subscribers now); the rejected stay for the report.
WITH cleared AS (DELETE FROM import_rows WHERE import_id = $1 AND reason IS NULL)
UPDATE imports SET status = 'done', updated_at = now() WHERE id = $1

-- name: get
SELECT * FROM imports WHERE id = $1

-- name: list
SELECT * FROM imports ORDER BY id DESC LIMIT $1

-- name: rejected
SELECT line, raw, reason FROM import_rows WHERE import_id = $1 AND reason IS NOT NULL AND line > $2 ORDER BY line LIMIT $3
