-- Version 7: room on every page of the two small tables that each usage
-- flush rewrites one row per evaluated flag of (`vexil_usage_window`, the
-- window's sums, updated twice when hours fall out, so three quarters of
-- its pages are left free; and `vexil_usage_last`, the last evaluations,
-- half). With that room, PostgreSQL writes the new version of a row beside
-- the old one (a heap-only update; neither table indexes the column it
-- changes) and prunes the dead versions as it goes, so the tables stay a
-- few pages long between vacuums instead of growing by a copy of every
-- row at each flush (a week of back-to-back flushes for 10,000 flags had
-- grown them to 132 and 56 MB). Pages written before this version keep
-- their old fill until rewritten.
ALTER TABLE vexil_usage_window SET (fillfactor = 25);
ALTER TABLE vexil_usage_last SET (fillfactor = 50);
