-- Version 6: each flag's evaluations in the usage window, so a list of
-- every flag reads one row per flag instead of summing every hourly
-- bucket. `vexil_usage_window` holds, for each flag, the sum of its
-- `vexil_usage` counts with `hour >= since` (`vexil_usage_window_start`);
-- the writer keeps it in the same transaction as the buckets and moves
-- `since` forward (never back), subtracting the hours that fall out;
-- a reader corrects for the hours between `since` and the window it asks
-- for. Backfilled here from the buckets of the last 24 hours of usage.
CREATE TABLE vexil_usage_window_start (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    since BIGINT NOT NULL
);
INSERT INTO vexil_usage_window_start (id, since)
    SELECT 1, COALESCE(MAX(hour), 0) - 86400000000 FROM vexil_usage;
CREATE TABLE vexil_usage_window (
    flag TEXT PRIMARY KEY,
    count BIGINT NOT NULL
);
INSERT INTO vexil_usage_window (flag, count)
    SELECT flag, SUM(count) FROM vexil_usage
    WHERE hour >= (SELECT since FROM vexil_usage_window_start WHERE id = 1)
    GROUP BY flag;
