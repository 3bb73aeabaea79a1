-- The baseline for `bookbench seed`: the same row counts, keys, indexes and
-- foreign keys, made with plain server-side SQL and trivial values.
-- Variables: :authors, :books, :book_genres (run with psql -1, so the tables
-- are created in the loading transaction, as bookbench's are truncated in
-- it: both get the same WAL shortcut under wal_level = minimal).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP TABLE IF EXISTS b_book_genre, b_book, b_author;
CREATE TABLE b_author (
    id uuid NOT NULL, name text NOT NULL, country_code char(2) NOT NULL,
    email text NOT NULL, phone text NOT NULL, contact_address text NOT NULL,
    contract_started timestamptz, contract_finished timestamptz, contract_value integer);
CREATE TABLE b_book (
    id uuid NOT NULL, author_id uuid NOT NULL, title text NOT NULL, isbn text NOT NULL,
    published date, pages integer, price integer);
CREATE TABLE b_book_genre (book_id uuid NOT NULL, genre_id integer NOT NULL);

SET maintenance_work_mem = '1GB';
SET max_parallel_maintenance_workers = 2;

\echo rows
SELECT clock_timestamp() AS t0 \gset
INSERT INTO b_author
SELECT md5('a' || i)::uuid, 'author ' || i, 'GB', 'a' || i || '@example.com',
       '+44 20 0000 0000', i || ' High Street', now(), NULL, i
  FROM generate_series(0, :authors - 1) i;
INSERT INTO b_book
SELECT md5('b' || i)::uuid, md5('a' || (i % :authors))::uuid, 'book ' || i,
       '9780306406157', DATE '2000-01-01', 100, 999
  FROM generate_series(0, :books - 1) i;
-- Two genres a book for the first books, one for the rest: :book_genres rows.
INSERT INTO b_book_genre
SELECT md5('b' || i)::uuid, 1 FROM generate_series(0, :books - 1) i
UNION ALL
SELECT md5('b' || i)::uuid, 2 FROM generate_series(0, :book_genres - :books - 1) i;
SELECT clock_timestamp() AS t1 \gset

\echo keys
ALTER TABLE b_author ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (country_code) REFERENCES country (code);
ALTER TABLE b_book ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (author_id) REFERENCES b_author (id);
CREATE INDEX ON b_book (author_id);
ALTER TABLE b_book_genre ADD PRIMARY KEY (book_id, genre_id),
    ADD FOREIGN KEY (book_id) REFERENCES b_book (id),
    ADD FOREIGN KEY (genre_id) REFERENCES genre (id);
ANALYZE b_author, b_book, b_book_genre;
SELECT clock_timestamp() AS t2 \gset
SELECT round(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz)::numeric, 1) AS rows_s,
       round(extract(epoch FROM :'t2'::timestamptz - :'t1'::timestamptz)::numeric, 1) AS keys_s \gset
\echo baseline_rows_s :rows_s
\echo baseline_keys_s :keys_s
