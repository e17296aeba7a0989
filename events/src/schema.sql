-- The event store's schema, version 1 (PRAGMA user_version). SCHEMA.md
-- explains every column; keep the two in step.
--
-- Both event tables are clustered on the key the aggregation reads by
-- (WITHOUT ROWID), so an insert costs one B-tree descent and the metric
-- query reads a unit's events from one place. The key ends with the
-- event's id, which makes re-ingesting a line a no-op.

CREATE TABLE IF NOT EXISTS exposures (
    experiment TEXT    NOT NULL,
    unit       TEXT    NOT NULL,
    time       INTEGER NOT NULL,              -- microseconds since the epoch
    id         BLOB    NOT NULL,              -- 16-byte XXH3-128 digest (SCHEMA.md)
    variant    TEXT    NOT NULL,
    PRIMARY KEY (experiment, unit, time, id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
    unit       TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    time       INTEGER NOT NULL,
    id         BLOB    NOT NULL,
    value      REAL    NOT NULL,              -- 1 when the producer gave none
    properties TEXT,                          -- canonical JSON object, or NULL
    PRIMARY KEY (unit, event, time, id)
) WITHOUT ROWID;

-- Ids that producers gave, so that an event sent again with the same id
-- but other fields (a retry with a fresh timestamp) is still a duplicate.
-- Events without a producer id are identified by their content alone.
CREATE TABLE IF NOT EXISTS producer_ids (
    id         BLOB    NOT NULL PRIMARY KEY
) WITHOUT ROWID;
