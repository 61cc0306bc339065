-- picket journal, schema 7: an index of arming codes, so a code typed at a keypad, on the
-- MQTT command topic or in an SMS is looked up with one argon2id computation instead of
-- checking every user's hash in turn (with 50 users a wrong code cost 100 of them, seconds
-- on a Pi). Each code's tag is argon2id of the code with this installation's own salt;
-- the per-user salted hash stays the authority a matched tag is verified against. Users
-- from before this version get their tag the first time their code is used.

CREATE TABLE code_index (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    salt BLOB    NOT NULL
);
INSERT INTO code_index (id, salt) VALUES (1, randomblob(16));

ALTER TABLE users ADD COLUMN code_tag TEXT;
ALTER TABLE users ADD COLUMN duress_tag TEXT;
CREATE INDEX users_code_tag ON users (code_tag);
CREATE INDEX users_duress_tag ON users (duress_tag);
