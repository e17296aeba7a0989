-- Version 5: the dashboard's sessions, shared by every server on the store
-- and kept over restarts. A session is found by the SHA-256 of its token
-- (the token itself is only in the browser's cookie); expired ones are
-- deleted as new ones open.
CREATE TABLE vexil_sessions (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX vexil_sessions_by_expiry ON vexil_sessions (expires_at);
