-- Times are integer Unix seconds (UTC). Secrets are never stored: codes, tokens and device
-- ids appear only as keyed hashes (HMAC with the server secret, kept outside this file) or,
-- for 256-bit tokens, as SHA-256.

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY,
    email               TEXT    NOT NULL,           -- as typed (trimmed, domain in ASCII)
    email_key           TEXT    NOT NULL UNIQUE,    -- lower-cased: the lookup key
    password_hash       TEXT    NOT NULL,           -- argon2id PHC string
    two_factor          INTEGER NOT NULL DEFAULT 0, -- 1 = email codes on
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

-- A device an account has signed in from. trusted_at is set when a code was verified on it
-- or 2FA was turned on from it; removing the row forgets it.
CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_mac    BLOB    NOT NULL,   -- HMAC(device key, device id)
    name          TEXT    NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    trusted_at    INTEGER,
    UNIQUE (account_id, device_mac)
);

-- A network ("location"): the peer address reduced to an IPv4 /24 or IPv6 /48.
CREATE TABLE networks (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    prefix        TEXT    NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    trusted_at    INTEGER,
    UNIQUE (account_id, prefix)
);

-- A sign-in waiting for its emailed code. code_mac binds the code to this challenge;
-- attempts counts guesses across resends (a new code does not reset it).
CREATE TABLE challenges (
    id              TEXT    PRIMARY KEY,  -- 128-bit random, public
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_mac      BLOB    NOT NULL,
    device_name     TEXT    NOT NULL,
    network         TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    code_mac        BLOB    NOT NULL,     -- HMAC(code key, challenge id || code)
    code_issued_at  INTEGER NOT NULL,
    code_expires_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    consumed_at     INTEGER,
    outbox_id       INTEGER               -- the email carrying the current code
);
CREATE INDEX challenges_account ON challenges (account_id, created_at);

-- Every code issued, for the per-account hourly cap.
CREATE TABLE code_issues (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    issued_at  INTEGER NOT NULL
);
CREATE INDEX code_issues_account ON code_issues (account_id, issued_at);

-- A monthly login token, bound to the device it was issued to.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    token_hash  BLOB    NOT NULL UNIQUE,  -- SHA-256 of the 256-bit token
    network     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Failed-sign-in counters, per account and per network. The key is a keyed hash of the
-- email (so unknown emails are throttled exactly like known ones) or the network prefix.
CREATE TABLE throttles (
    key             TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    blocked_until   INTEGER NOT NULL
);

-- Mail waiting for delivery. The message is sealed (AES-GCM with a key outside the
-- database) because a code email holds the code; it is wiped once delivered or dropped.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,   -- signin_code, notice, ...
    recipient       TEXT    NOT NULL,
    sealed_message  BLOB,               -- NULL once delivered, failed or dropped
    status          TEXT    NOT NULL,   -- queued, retrying, sent, failed, dropped
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    discard_after   INTEGER,            -- drop instead of sending after this (an expired code)
    last_error      TEXT,               -- the relay's reply, never message content
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- The audit log: every sign-in, code, failure and settings change.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    account_id INTEGER,
    email      TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    network    TEXT    NOT NULL DEFAULT '',
    device     TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_email ON events (email, id);
