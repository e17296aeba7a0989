-- Version 1: overrides, the state's version, the append-only audit log.
CREATE TABLE vexil_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO vexil_state (id, version) VALUES (1, 0);

CREATE TABLE vexil_overrides (
    flag TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);

CREATE TABLE vexil_audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    flag TEXT,
    reason TEXT,
    origin TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX vexil_audit_flag ON vexil_audit (flag, id);
CREATE INDEX vexil_audit_actor ON vexil_audit (actor, id);
CREATE INDEX vexil_audit_at ON vexil_audit (at);

-- Append-only: the store itself refuses to change or remove an entry.
CREATE TRIGGER vexil_audit_no_update BEFORE UPDATE ON vexil_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER vexil_audit_no_delete BEFORE DELETE ON vexil_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
