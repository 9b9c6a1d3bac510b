-- Up Migration
-- The system of record: subscribers (consent, history, preferences, bounce reports), articles,
-- editions (content, state, editors' actions), resends, feeds and console users. Redis keeps the
-- queues, the delivery ledger and its counters, rate limits, sessions and caches.

CREATE TABLE subscribers (
  id bigserial PRIMARY KEY,
  -- As given: the local part as typed, the domain lower-cased.
  email text NOT NULL,
  -- The whole address lower-cased: one subscriber per mailbox. "C" collation so that a btree serves prefix search.
  email_key text COLLATE "C" NOT NULL UNIQUE,
  name text NOT NULL DEFAULT '',
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'confirmed', 'unsubscribed', 'bounced', 'complained')),
  format text NOT NULL DEFAULT 'html' CHECK (format IN ('html', 'text')),
  -- Bumped by every new sign-up, so that older confirmation links stop working.
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  confirmed_at timestamptz,
  unsubscribed_at timestamptz,
  suppressed_at timestamptz,
  suppression_reason text,
  consent_at timestamptz,
  consent_ip text,
  consent_user_agent text,
  confirm_ip text,
  confirm_user_agent text
);
-- Fan-out reads confirmed ids in order behind a cursor; the console pages through each state.
CREATE INDEX subscribers_by_state ON subscribers (state, id);
-- Unconfirmed sign-ups expire.
CREATE INDEX subscribers_pending_since ON subscribers (updated_at) WHERE state = 'pending';

-- Subscribers per state, kept by the statement triggers below: the console never counts a million rows.
CREATE TABLE subscriber_counts (
  state text PRIMARY KEY,
  count bigint NOT NULL DEFAULT 0
);
INSERT INTO subscriber_counts (state) VALUES ('pending'), ('confirmed'), ('unsubscribed'), ('bounced'), ('complained');

-- One update per state and statement (an import of a million rows is one), always in state order,
-- so that concurrent transactions lock the counter rows in the same order and never deadlock.
CREATE FUNCTION count_subscribers_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE subscriber_counts c SET count = c.count + d.n
  FROM (SELECT state, count(*) AS n FROM inserted GROUP BY state ORDER BY state) d WHERE c.state = d.state;
  RETURN NULL;
END $$;
CREATE FUNCTION count_subscribers_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE subscriber_counts c SET count = c.count - d.n
  FROM (SELECT state, count(*) AS n FROM deleted GROUP BY state ORDER BY state) d WHERE c.state = d.state;
  RETURN NULL;
END $$;
CREATE FUNCTION count_subscribers_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE subscriber_counts c SET count = c.count + d.n
  FROM (
    SELECT state, sum(n) AS n FROM (
      SELECT state, 1 AS n FROM updated_new UNION ALL SELECT state, -1 AS n FROM updated_old
    ) changes GROUP BY state HAVING sum(n) <> 0 ORDER BY state
  ) d WHERE c.state = d.state;
  RETURN NULL;
END $$;
CREATE TRIGGER subscribers_counted_on_insert AFTER INSERT ON subscribers REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION count_subscribers_inserted();
CREATE TRIGGER subscribers_counted_on_delete AFTER DELETE ON subscribers REFERENCING OLD TABLE AS deleted
  FOR EACH STATEMENT EXECUTE FUNCTION count_subscribers_deleted();
CREATE FUNCTION count_subscribers_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE subscriber_counts SET count = 0;
  RETURN NULL;
END $$;
CREATE TRIGGER subscribers_counted_on_truncate AFTER TRUNCATE ON subscribers
  FOR EACH STATEMENT EXECUTE FUNCTION count_subscribers_truncated();
CREATE TRIGGER subscribers_counted_on_update AFTER UPDATE ON subscribers REFERENCING OLD TABLE AS updated_old NEW TABLE AS updated_new
  FOR EACH STATEMENT EXECUTE FUNCTION count_subscribers_updated();

-- Every state change and reported bounce, with who and why.
CREATE TABLE subscriber_events (
  id bigserial PRIMARY KEY,
  subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT now(),
  from_state text,
  to_state text NOT NULL,
  reason text NOT NULL,
  by text
);
CREATE INDEX subscriber_events_by_subscriber ON subscriber_events (subscriber_id, id);

-- Soft bounces reported after delivery: SOFT_BOUNCE_LIMIT of them within 30 days suppress the address.
CREATE TABLE soft_bounces (
  subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  at timestamptz NOT NULL
);
CREATE INDEX soft_bounces_by_subscriber ON soft_bounces (subscriber_id, at);

CREATE TABLE articles (
  -- Derived from the stable id: safe in URLs whatever the feed's guid is.
  key text PRIMARY KEY,
  id text NOT NULL,
  url text NOT NULL,
  title text NOT NULL,
  summary text NOT NULL DEFAULT '',
  image_url text NOT NULL DEFAULT '',
  image_alt text NOT NULL DEFAULT '',
  section text NOT NULL DEFAULT 'News',
  published_at timestamptz NOT NULL,
  source text NOT NULL,
  -- Editors' curation: true chosen (ordered by position), false left out, null not curated.
  selected boolean,
  position integer,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The edition whose window took this article when it was sent (chosen or not): an article belongs
  -- to one edition at most, and one that arrives late for a window already sent goes to the next.
  edition_id text
);
CREATE INDEX articles_by_published ON articles (published_at);
CREATE INDEX articles_waiting ON articles (published_at) WHERE edition_id IS NULL;

-- An edition's day: held (waiting for articles, an editor's approval or decision) -> approved ->
-- ready (content fixed) -> sending -> sent; or skipped (by whom, why), or failed (cannot be composed).
CREATE TABLE editions (
  -- The calendar date of the cut-off in DIGEST_TZ, e.g. 2026-11-24.
  id text PRIMARY KEY,
  cutoff timestamptz NOT NULL,
  window_start timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('held', 'approved', 'ready', 'sending', 'sent', 'skipped', 'failed')),
  -- Why a held edition waits: too-few-articles, awaiting-approval, stale (needs send late or skip).
  hold_reason text,
  subject text NOT NULL DEFAULT '',
  preheader text NOT NULL DEFAULT '',
  article_keys jsonb NOT NULL DEFAULT '[]',
  -- Rendered once when the content is fixed: parts and the positions of the per-reader values (see personal-fields.ts).
  html jsonb NOT NULL DEFAULT '{"parts": [""], "fields": []}',
  -- The browser version (/editions/:id), with every article: the email leaves the last ones out when
  -- it would be heavier than Gmail shows whole.
  web_html jsonb NOT NULL DEFAULT '{"parts": [""], "fields": []}',
  text jsonb NOT NULL DEFAULT '{"parts": [""], "fields": []}',
  -- With TRACKING, the article links the HTML reaches through /t/<edition>/<index>/….
  links jsonb NOT NULL DEFAULT '[]',
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  sending_at timestamptz,
  sent_at timestamptz,
  -- When the per-recipient delivery records left Redis (LEDGER_RETENTION_DAYS).
  records_removed_at timestamptz
);
CREATE INDEX editions_by_cutoff ON editions (cutoff);
CREATE INDEX editions_open ON editions (cutoff) WHERE status IN ('held', 'approved', 'ready', 'sending');

-- Who did what to an edition and when: editors' actions and the scheduler's.
CREATE TABLE edition_events (
  id bigserial PRIMARY KEY,
  edition_id text NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT now(),
  by text NOT NULL,
  action text NOT NULL,
  from_status text,
  to_status text NOT NULL,
  note text NOT NULL DEFAULT ''
);
CREATE INDEX edition_events_by_edition ON edition_events (edition_id, id);

-- Conditions the desk was told about, one per kind and edition (no storm), and when each cleared.
CREATE TABLE alerts (
  edition_id text NOT NULL,
  kind text NOT NULL,
  raised_at timestamptz NOT NULL DEFAULT now(),
  text text NOT NULL,
  resolved_at timestamptz,
  resolved_text text,
  PRIMARY KEY (edition_id, kind)
);

-- The editors' subject and preheader for the next edition.
CREATE TABLE edition_draft (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  subject text NOT NULL DEFAULT '',
  preheader text NOT NULL DEFAULT ''
);

-- Explicit resends of an edition (runs r1, r2, …): who, when, to whom.
CREATE TABLE resends (
  edition_id text NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
  number integer NOT NULL,
  scope text NOT NULL CHECK (scope IN ('email', 'failed', 'all')),
  email text,
  by text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  recipients integer NOT NULL DEFAULT 0,
  PRIMARY KEY (edition_id, number)
);

-- Each configured feed's last poll, for the admins.
CREATE TABLE feeds (
  url text PRIMARY KEY,
  last_poll_at timestamptz,
  last_error text,
  last_report jsonb
);

-- Imports of subscriber lists (CSV from the console or `digest import`): their progress and outcome.
CREATE TABLE imports (
  id bigserial PRIMARY KEY,
  file_name text NOT NULL DEFAULT '',
  by text NOT NULL,
  -- receiving (rows being read) -> received (waiting for the merge) -> merging -> done | failed
  status text NOT NULL DEFAULT 'receiving',
  rows integer NOT NULL DEFAULT 0,
  -- The file's last line: merging goes through the lines up to it.
  last_line integer NOT NULL DEFAULT 0,
  rejected integer NOT NULL DEFAULT 0,
  duplicates integer NOT NULL DEFAULT 0,
  merged_through integer NOT NULL DEFAULT 0,
  imported integer NOT NULL DEFAULT 0,
  confirmed_existing integer NOT NULL DEFAULT 0,
  left_existing integer NOT NULL DEFAULT 0,
  skipped jsonb NOT NULL DEFAULT '{}',
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- An import's rows as read, valid or with the reason they were rejected; emptied once merged but for the rejected.
CREATE UNLOGGED TABLE import_rows (
  import_id bigint NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  line integer NOT NULL,
  email text,
  email_key text COLLATE "C",
  name text,
  state text,
  consent_at timestamptz,
  consent_ip text,
  changed_at timestamptz,
  duplicate boolean NOT NULL DEFAULT false,
  raw text,
  reason text,
  PRIMARY KEY (import_id, line)
);

-- Console logins made with `digest admin-user NAME` (scrypt; ADMIN_USERS entries work as well).
CREATE TABLE admin_users (
  name text PRIMARY KEY,
  salt text NOT NULL,
  hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE admin_users;
DROP TABLE import_rows;
DROP TABLE imports;
DROP TABLE feeds;
DROP TABLE resends;
DROP TABLE edition_draft;
DROP TABLE alerts;
DROP TABLE edition_events;
DROP TABLE editions;
DROP TABLE articles;
DROP TABLE soft_bounces;
DROP TABLE subscriber_events;
DROP TABLE subscribers;
DROP TABLE subscriber_counts;
DROP FUNCTION count_subscribers_inserted();
DROP FUNCTION count_subscribers_deleted();
DROP FUNCTION count_subscribers_updated();
DROP FUNCTION count_subscribers_truncated();
