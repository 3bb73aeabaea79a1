-- The contract sorts text by Unicode code point (genre names, and an
-- author's books by title). A database created with a language-aware
-- default collation (en_US.UTF-8, an ICU locale) would sort those columns
-- its own way under every implementation that leaves the order to it; the
-- "C" collation on the columns themselves makes `ORDER BY` on them sort by
-- code point on any database, with no implementation's query changed.
-- Only the collation changes: no table is rewritten (the unique index on
-- genre names is rebuilt).
ALTER TABLE genre ALTER COLUMN name TYPE text COLLATE "C";
ALTER TABLE book ALTER COLUMN title TYPE text COLLATE "C";
