-- picket journal, schema 3: deliveries may be skipped (acknowledged before their tier was
-- due, or cancelled), and record when they were delivered.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt.

CREATE TABLE outbox_v3 (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT    NOT NULL UNIQUE,
    channel         TEXT    NOT NULL,
    alarm_id        INTEGER,
    event_seq       INTEGER,
    tier            INTEGER NOT NULL DEFAULT 0,
    due_at_ms       INTEGER NOT NULL,
    state           TEXT    NOT NULL
        CHECK (state IN ('pending', 'sent', 'acknowledged', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    payload_json    TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    delivered_at_ms INTEGER
);
INSERT INTO outbox_v3 (id, message_id, channel, alarm_id, event_seq, tier, due_at_ms, state,
                       attempts, last_error, payload_json, created_at_ms, updated_at_ms)
    SELECT id, message_id, channel, alarm_id, event_seq, tier, due_at_ms, state, attempts,
           last_error, payload_json, created_at_ms, updated_at_ms
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v3 RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox(channel, state, due_at_ms, id);
CREATE INDEX outbox_alarm ON outbox(alarm_id);
