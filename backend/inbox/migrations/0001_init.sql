-- The QA inbox: every message the embedded SMTP server accepted. It lives in its own file,
-- never in the account database: it keeps whole messages, codes included, because showing
-- them to QA is its job.

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,  -- arrival order: "newest" means the highest id
    received_ns INTEGER NOT NULL,     -- Unix nanoseconds; sub-second so "since" can tell two sends apart
    mail_from   TEXT    NOT NULL,     -- envelope sender (MAIL FROM)
    sender      TEXT    NOT NULL,     -- the From header as shown, else the envelope sender
    subject     TEXT    NOT NULL,     -- decoded
    kind        TEXT    NOT NULL,     -- X-Shoplogin-Kind, '' if absent
    code        TEXT    NOT NULL,     -- the sign-in code of a code email, else ''
    text_body   TEXT    NOT NULL,
    html_body   TEXT    NOT NULL,
    headers     TEXT    NOT NULL,     -- JSON object: field name -> values, as received
    raw         BLOB    NOT NULL
);

-- Envelope recipients (RCPT TO), which is what "sent to" means even for Bcc.
CREATE TABLE recipients (
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    address     TEXT    NOT NULL,     -- as given
    address_key TEXT    NOT NULL,     -- lower-cased: the lookup key
    PRIMARY KEY (message_id, position)
);
CREATE INDEX recipients_key ON recipients (address_key, message_id);
