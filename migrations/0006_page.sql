-- picket journal, schema 6: what the status page and its API need.

-- Bearer tokens for /metrics and /api, created by an admin; only their SHA-256 is kept
-- (a token is 32 random bytes, so a fast hash is enough).
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL
        CHECK (role IN ('viewer', 'guard', 'supervisor', 'installer', 'admin')),
    token_sha256  TEXT    NOT NULL UNIQUE,
    created_by    TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

-- The event log's filters: each is an index walked backwards from a sequence number, so
-- every page costs the same on a journal of a million events.
CREATE INDEX events_category ON events(category, seq);
CREATE INDEX events_area ON events(area, seq) WHERE area IS NOT NULL;
CREATE INDEX events_zone ON events(zone, seq) WHERE zone IS NOT NULL;
CREATE INDEX events_sensor ON events(sensor, seq) WHERE sensor IS NOT NULL;
CREATE INDEX events_user ON events(user_name, seq) WHERE user_name IS NOT NULL;
CREATE INDEX events_kind ON events(kind, seq);

-- Who saw what: the audit log is read by person and by target (an alarm's evidence).
CREATE INDEX audit_target ON audit(target);
