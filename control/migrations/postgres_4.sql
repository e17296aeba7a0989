-- Version 4: usage rollups. Evaluations per flag (or experiment), variant,
-- reason, matched rule and error code in hourly buckets (the UTC hour's
-- start, in microseconds), written as deltas; each flag's last evaluation;
-- and since when the usage history is complete (moved forward as
-- retention deletes old hours).
CREATE TABLE vexil_usage (
    hour BIGINT NOT NULL,
    flag TEXT NOT NULL,
    variant TEXT NOT NULL,
    reason TEXT NOT NULL,
    rule TEXT NOT NULL,
    error TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (hour, flag, variant, reason, rule, error)
);
CREATE INDEX vexil_usage_by_flag ON vexil_usage (flag, hour);
CREATE TABLE vexil_usage_last (
    flag TEXT PRIMARY KEY,
    at BIGINT NOT NULL
);
CREATE TABLE vexil_usage_history (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    starts_at BIGINT NOT NULL
);
