-- The subscriber store's SQL (src/subscribers/subscriber-store.ts). Counts per state are kept by
-- triggers (see the migration); the history is written in the same statement as each change.

-- name: create
-- A new address becomes pending with its consent record; an existing one is left as it is.
WITH created AS (
  INSERT INTO subscribers (email, email_key, name, format, consent_at, consent_ip, consent_user_agent, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
  ON CONFLICT (email_key) DO NOTHING
  RETURNING id
), event AS (
  INSERT INTO subscriber_events (subscriber_id, at, from_state, to_state, reason)
  SELECT id, $8, NULL, 'pending', 'subscribed' FROM created
)
SELECT id, true AS created FROM created
UNION ALL
SELECT id, false AS created FROM subscribers WHERE email_key = $2 AND NOT EXISTS (SELECT 1 FROM created)

-- name: id-by-email
SELECT id FROM subscribers WHERE email_key = $1

-- name: get
SELECT * FROM subscribers WHERE id = $1

-- name: get-many
SELECT * FROM subscribers WHERE id = ANY($1::bigint[]) ORDER BY id

-- name: transition
-- Moves a subscriber to $3 if it is in one of the states $2, setting the given fields (null: kept)
-- and recording the change; answers the state it came from (null if refused) and the current one.
WITH current AS (
  SELECT id, state FROM subscribers WHERE id = $1 FOR UPDATE
), changed AS (
  UPDATE subscribers s SET
    state = $3,
    updated_at = $4,
    version = s.version + $5,
    name = COALESCE($8, s.name),
    confirmed_at = COALESCE($9, s.confirmed_at),
    unsubscribed_at = COALESCE($10, s.unsubscribed_at),
    suppressed_at = COALESCE($11, s.suppressed_at),
    suppression_reason = COALESCE($12, s.suppression_reason),
    consent_at = COALESCE($13, s.consent_at),
    consent_ip = COALESCE($14, s.consent_ip),
    consent_user_agent = COALESCE($15, s.consent_user_agent),
    confirm_ip = COALESCE($16, s.confirm_ip),
    confirm_user_agent = COALESCE($17, s.confirm_user_agent)
  FROM current
  WHERE s.id = current.id AND current.state = ANY($2::text[])
  RETURNING s.id, current.state AS from_state
), event AS (
  INSERT INTO subscriber_events (subscriber_id, at, from_state, to_state, reason, by)
  SELECT id, $4, from_state, $3, $6, $7 FROM changed
)
SELECT (SELECT from_state FROM changed) AS from_state, (SELECT state FROM current) AS current_state

-- name: record-soft-bounce
-- Counts a soft bounce at $2 (the ones before the window start $3 are forgotten) and notes it in the
-- history; a soft bounce changes no state by itself. Answers the state and the bounces in the window.
WITH sub AS (
  SELECT id, state FROM subscribers WHERE id = $1 FOR UPDATE
), pruned AS (
  DELETE FROM soft_bounces WHERE subscriber_id = $1 AND at < $3
), added AS (
  INSERT INTO soft_bounces (subscriber_id, at) SELECT id, $2 FROM sub
), event AS (
  INSERT INTO subscriber_events (subscriber_id, at, from_state, to_state, reason, by)
  SELECT id, $2, state, state, $4, 'bounce-report' FROM sub
)
SELECT sub.state, 1 + (SELECT count(*) FROM soft_bounces b WHERE b.subscriber_id = sub.id AND b.at >= $3) AS count FROM sub

-- name: note
-- A report that changed no state (a policy block, a complaint about an address already suppressed),
-- in the history beside the changes.
INSERT INTO subscriber_events (subscriber_id, at, from_state, to_state, reason, by)
SELECT id, $2, state, state, $3, $4 FROM subscribers WHERE id = $1

-- name: history
SELECT at, from_state, to_state, reason, by FROM subscriber_events WHERE subscriber_id = $1 ORDER BY id DESC LIMIT 200

-- name: page-all
SELECT * FROM subscribers WHERE id > $1 ORDER BY id LIMIT $2

-- name: page-in-state
SELECT * FROM subscribers WHERE state = $1 AND id > $2 ORDER BY id LIMIT $3

-- name: search
-- Addresses that start with $1 (lower-cased): a range on the "C"-collated key, so the index serves it.
SELECT * FROM subscribers WHERE email_key >= $1 AND email_key < $1 || chr(1114111) ORDER BY email_key LIMIT $2

-- name: update-profile
UPDATE subscribers SET name = $2, format = $3, updated_at = now() WHERE id = $1

-- name: erase
DELETE FROM subscribers WHERE id = $1

-- name: counts
SELECT state, count FROM subscriber_counts

-- name: confirmed-after
SELECT id FROM subscribers WHERE state = 'confirmed' AND id > $1 AND id <= $2 ORDER BY id LIMIT $3

-- name: highest-id
SELECT COALESCE(max(id), 0) AS id FROM subscribers

-- name: for-delivery
SELECT id, email, name, format, state FROM subscribers WHERE id = ANY($1::bigint[])

-- name: expire-pending
DELETE FROM subscribers WHERE state = 'pending' AND updated_at < $1
