-- Version 7: nothing to change on SQLite. On PostgreSQL this version
-- leaves free room on the pages of the usage window and the last
-- evaluations, which every flush rewrites (fillfactor; SQLite has no such
-- setting and rewrites a row in place). Kept so both stores count the
-- same versions.
SELECT 1;
