-- Version 3: API keys created at run time, their secrets only as SHA-256
-- hashes; revoked keys stay, marked, for the record.
CREATE TABLE vexil_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER,
    revoked_by TEXT
);
