-- picket journal, schema 2: engine state for restarts, and the delivery outbox.

-- Last known state of each area (mode, running delays, bypasses), as JSON.
CREATE TABLE area_state (
    area       TEXT PRIMARY KEY,
    state_json TEXT NOT NULL
);

-- Last known state of each sensor as JSON; heartbeats only touch last_seen_ms.
CREATE TABLE sensor_state (
    sensor       TEXT PRIMARY KEY,
    state_json   TEXT,
    last_seen_ms INTEGER
);

-- One row per (alarm event, channel), filled by escalation, drained by channel workers.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    message_id    TEXT    NOT NULL UNIQUE,
    channel       TEXT    NOT NULL,
    alarm_id      INTEGER,
    event_seq     INTEGER,
    tier          INTEGER NOT NULL DEFAULT 0,
    due_at_ms     INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'acknowledged', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    payload_json  TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox(channel, state, due_at_ms);
