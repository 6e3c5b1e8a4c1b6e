-- The QA clock's offset from real time, so a QA session that moved time a month ahead
-- stays there across restarts of the server (and of the desktop app that embeds it).
CREATE TABLE qa_clock (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    offset_seconds INTEGER NOT NULL
);
