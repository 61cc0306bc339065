-- picket journal, schema 1: history, alarms, people.

-- Append-only history. Each row's hash covers the previous row's hash and every column,
-- so changing, deleting or inserting a row breaks the chain at that row.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    at_ms        INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    code         INTEGER,
    qualifier    INTEGER NOT NULL,
    area         TEXT,
    zone         TEXT,
    zone_number  INTEGER,
    sensor       TEXT,
    alarm_id     INTEGER,
    user_name    TEXT,
    message_vi   TEXT    NOT NULL,
    message_en   TEXT    NOT NULL,
    source_ref   TEXT,
    prev_hash    BLOB    NOT NULL,
    hash         BLOB    NOT NULL
);
CREATE INDEX events_alarm ON events(alarm_id) WHERE alarm_id IS NOT NULL;
CREATE INDEX events_at ON events(at_ms);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Current record of every alarm: raised -> acknowledged -> resolved.
CREATE TABLE alarms (
    id               INTEGER PRIMARY KEY,
    category         TEXT    NOT NULL,
    code             INTEGER NOT NULL,
    area             TEXT    NOT NULL,
    zone             TEXT,
    sensor           TEXT,
    raised_at_ms     INTEGER NOT NULL,
    confirmed        INTEGER NOT NULL,
    silent           INTEGER NOT NULL,
    cancelled        INTEGER NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('raised', 'acknowledged', 'resolved')),
    siren_until_ms   INTEGER,
    acknowledged_by  TEXT,
    acknowledged_at_ms INTEGER,
    resolved_by      TEXT,
    resolved_at_ms   INTEGER,
    resolution       TEXT CHECK (resolution IN ('real', 'false', 'test', 'unknown')),
    note             TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alarms_open ON alarms(state) WHERE state <> 'resolved';

-- Every person's action, with who, when and from where.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    user_name  TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    origin     TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    result     TEXT    NOT NULL
);

-- People and their arming codes (argon2id PHC strings).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL CHECK (role IN ('guard', 'supervisor', 'installer', 'admin')),
    code_hash     TEXT    NOT NULL,
    duress_hash   TEXT,
    created_at_ms INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);
