-- Version 1: overrides, the state's version, the append-only audit log.
CREATE TABLE vexil_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    -- The audit log's next position: taken under this row's lock, so ids
    -- follow commit order across every server sharing the database.
    audit_seq BIGINT NOT NULL
);
INSERT INTO vexil_state (id, version, audit_seq) VALUES (1, 0, 0);

CREATE TABLE vexil_overrides (
    flag TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

CREATE TABLE vexil_audit (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
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

-- Append-only: the database itself refuses to change or remove an entry.
CREATE FUNCTION vexil_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER vexil_audit_no_change BEFORE UPDATE OR DELETE ON vexil_audit
    FOR EACH ROW EXECUTE FUNCTION vexil_audit_append_only();
CREATE TRIGGER vexil_audit_no_truncate BEFORE TRUNCATE ON vexil_audit
    FOR EACH STATEMENT EXECUTE FUNCTION vexil_audit_append_only();
