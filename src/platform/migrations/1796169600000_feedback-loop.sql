-- Up Migration
-- The feedback loop (src/feedback/): every report that came back after a relay accepted a message
-- (relay webhooks, DSNs and ARF complaints by mail, mail to the List-Unsubscribe address, and
-- POST /admin/bounces), kept once, with what it did; and per edition, what came back about it.

-- One row per report. (source, event_id) is unique: a report that arrives again (a webhook retried,
-- a DSN delivered twice) finds its row and changes nothing.
CREATE TABLE feedback_events (
  id bigserial PRIMARY KEY,
  -- ses, sendgrid, mailgun, postmark, dsn, arf, mailto or admin.
  source text NOT NULL,
  -- The relay's id of the event, or a hash of the report (DSN, ARF, mail).
  event_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'policy', 'unsubscribe')),
  -- When the report says it happened, and when it reached us.
  at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  -- The reader it was applied to; an erased reader takes their reports with them.
  subscriber_id bigint REFERENCES subscribers (id) ON DELETE CASCADE,
  edition_id text,
  -- The enhanced status code (5.1.1) and SMTP reply code (550) when the report gives them.
  status text,
  smtp_code integer,
  diagnostic text NOT NULL DEFAULT '',
  -- What it did: suppressed, unsubscribed, counted, noted, already-suppressed, not-subscribed, unknown-address, not-this-reader.
  outcome text NOT NULL,
  UNIQUE (source, event_id)
);
CREATE INDEX feedback_events_by_subscriber ON feedback_events (subscriber_id, id) WHERE subscriber_id IS NOT NULL;

-- Which readers an edition's reports were about, once per reader and kind: a complaint that comes
-- by ARF and again through the relay's webhook is one complaining reader. Bare ids, like the ledger.
CREATE TABLE edition_feedback_readers (
  edition_id text NOT NULL,
  kind text NOT NULL,
  subscriber_id bigint NOT NULL,
  PRIMARY KEY (edition_id, kind, subscriber_id)
);

-- Readers per edition, kind and code (the enhanced status, else the SMTP code, else ''), kept as
-- readers are counted above: the admin report reads a handful of rows, never the reports.
CREATE TABLE edition_feedback_counts (
  edition_id text NOT NULL,
  kind text NOT NULL,
  code text NOT NULL,
  count integer NOT NULL,
  PRIMARY KEY (edition_id, kind, code)
);

-- Reports since the start by source, kind and outcome (duplicates included), for /metrics in
-- whichever process serves it: reports are applied by workers, the listener and the API alike.
CREATE TABLE feedback_counts (
  source text NOT NULL,
  kind text NOT NULL,
  outcome text NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (source, kind, outcome)
);

-- Down Migration
DROP TABLE feedback_counts;
DROP TABLE edition_feedback_counts;
DROP TABLE edition_feedback_readers;
DROP TABLE feedback_events;
