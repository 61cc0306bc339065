-- picket journal, schema 5: people as the receiving centre and the status page know them.
-- Each person gets a user number (1-999, Contact ID ZZZ of openings, closings, cancels
-- and duress), existing people numbered in the order they were added; a read-only
-- `viewer` role (the page and the log, no commands); a page password (argon2id, separate
-- from the arming code, which a viewer need not have); and an optional phone number.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt.

CREATE TABLE users_v5 (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL
        CHECK (role IN ('viewer', 'guard', 'supervisor', 'installer', 'admin')),
    number        INTEGER NOT NULL UNIQUE CHECK (number BETWEEN 1 AND 999),
    code_hash     TEXT,
    duress_hash   TEXT,
    password_hash TEXT,
    phone         TEXT,
    created_at_ms INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO users_v5 (id, name, role, number, code_hash, duress_hash, created_at_ms, disabled)
    SELECT id, name, role,
           (SELECT COUNT(*) FROM users AS earlier WHERE earlier.id <= users.id),
           code_hash, duress_hash, created_at_ms, disabled
    FROM users;
DROP TABLE users;
ALTER TABLE users_v5 RENAME TO users;

-- Every action in the audit log also says from where exactly: the page's client address,
-- a phone number.
ALTER TABLE audit ADD COLUMN address TEXT;
