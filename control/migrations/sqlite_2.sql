-- Version 2: each webhook's delivery position in the audit log (the id of
-- the last entry it has taken), so that deliveries resume after a restart.
CREATE TABLE vexil_webhooks (
    hook TEXT PRIMARY KEY,
    delivered INTEGER NOT NULL
);
