-- picket journal, schema 4: evidence files (alarm clips) with their SHA-256, so a clip
-- handed to the police can be shown to be the one recorded; deletions by retention are
-- recorded, not erased.

CREATE TABLE evidence (
    id            INTEGER PRIMARY KEY,
    alarm_id      INTEGER NOT NULL,
    camera        TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('clip', 'snapshot')),
    path          TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,
    bytes         INTEGER NOT NULL,
    duration_ms   INTEGER,
    created_at_ms INTEGER NOT NULL,
    deleted_at_ms INTEGER,
    deleted_why   TEXT
);
CREATE INDEX evidence_alarm ON evidence(alarm_id);
CREATE INDEX evidence_kept ON evidence(created_at_ms) WHERE deleted_at_ms IS NULL;
