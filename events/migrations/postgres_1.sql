-- The event store on PostgreSQL, version 1: the tables of schema.sql (the
-- SQLite store) with PostgreSQL's types. SCHEMA.md explains every column;
-- keep the three in step. Text compares byte by byte (COLLATE "C"), as in
-- SQLite, so keys sort the same way on both and index comparisons stay
-- cheap.
CREATE TABLE exposures (
    experiment TEXT COLLATE "C" NOT NULL,
    unit       TEXT COLLATE "C" NOT NULL,
    time       BIGINT NOT NULL,              -- microseconds since the epoch
    id         BYTEA  NOT NULL,              -- 16-byte XXH3-128 digest (SCHEMA.md)
    variant    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (experiment, unit, time, id)
);

CREATE TABLE events (
    unit       TEXT COLLATE "C" NOT NULL,
    event      TEXT COLLATE "C" NOT NULL,
    time       BIGINT NOT NULL,
    id         BYTEA  NOT NULL,
    value      DOUBLE PRECISION NOT NULL,    -- 1 when the producer gave none
    properties TEXT,                         -- canonical JSON object, or NULL
    PRIMARY KEY (unit, event, time, id)
);

-- Ids that producers gave (see schema.sql).
CREATE TABLE producer_ids (
    id         BYTEA NOT NULL PRIMARY KEY
);
