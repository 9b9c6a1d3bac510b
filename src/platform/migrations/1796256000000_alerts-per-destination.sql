-- Up Migration
-- An alert may be about one part of an edition: a policy block is about the destination that refused
-- us (as the pacer names it: a domain, or its provider's group such as outlook.com), so that each
-- destination is told once per edition, however many of its readers were refused. Alerts about the
-- whole edition have about = ''.
ALTER TABLE alerts ADD COLUMN about text NOT NULL DEFAULT '';
ALTER TABLE alerts DROP CONSTRAINT alerts_pkey;
ALTER TABLE alerts ADD PRIMARY KEY (edition_id, kind, about);

-- Down Migration
-- One alert per edition and kind again: the first destination's (by name) stays.
DELETE FROM alerts a USING alerts b WHERE a.edition_id = b.edition_id AND a.kind = b.kind AND a.about > b.about;
ALTER TABLE alerts DROP CONSTRAINT alerts_pkey;
ALTER TABLE alerts DROP COLUMN about;
ALTER TABLE alerts ADD PRIMARY KEY (edition_id, kind);
