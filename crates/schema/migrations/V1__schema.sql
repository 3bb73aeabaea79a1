-- The bookstore of the contract (shared spec: api.md), plus `dataset`, the
-- record of what the generator made.
--
-- Constraint and index names are spelled out: the bulk load drops the
-- indexes and foreign keys of author, book and book_genre, and builds them
-- again after the rows are in (bookbench-datagen, BULK_LOAD_RESTORE), which
-- is several times faster than maintaining them row by row.

CREATE TABLE country (
    code char(2) NOT NULL,
    name text NOT NULL,
    CONSTRAINT country_pkey PRIMARY KEY (code)
);

CREATE TABLE genre (
    id integer NOT NULL,
    name text NOT NULL,
    CONSTRAINT genre_pkey PRIMARY KEY (id),
    CONSTRAINT genre_name_key UNIQUE (name)
);

CREATE TABLE author (
    id uuid NOT NULL,
    name text NOT NULL,
    country_code char(2) NOT NULL,
    email text NOT NULL,
    phone text NOT NULL,
    contact_address text NOT NULL,
    contract_started timestamptz,
    contract_finished timestamptz,
    contract_value integer,
    CONSTRAINT author_contract_value_check CHECK (contract_value >= 0),
    CONSTRAINT author_contract_check CHECK (contract_finished >= contract_started),
    CONSTRAINT author_pkey PRIMARY KEY (id),
    CONSTRAINT author_country_code_fkey FOREIGN KEY (country_code) REFERENCES country (code)
);

CREATE TABLE book (
    id uuid NOT NULL,
    author_id uuid NOT NULL,
    title text NOT NULL,
    isbn text NOT NULL,
    published date,
    pages integer,
    price integer,
    CONSTRAINT book_pages_check CHECK (pages BETWEEN 1 AND 100000),
    CONSTRAINT book_price_check CHECK (price >= 0),
    CONSTRAINT book_pkey PRIMARY KEY (id),
    CONSTRAINT book_author_id_fkey FOREIGN KEY (author_id) REFERENCES author (id)
);

-- The author detail reads an author's books.
CREATE INDEX book_author_id_idx ON book (author_id);

CREATE TABLE book_genre (
    book_id uuid NOT NULL,
    genre_id integer NOT NULL,
    CONSTRAINT book_genre_pkey PRIMARY KEY (book_id, genre_id),
    CONSTRAINT book_genre_book_id_fkey FOREIGN KEY (book_id) REFERENCES book (id),
    CONSTRAINT book_genre_genre_id_fkey FOREIGN KEY (genre_id) REFERENCES genre (id)
);

-- At most one row: what `bookbench seed` made. Written in the same
-- transaction as the rows, so it exists exactly when they are complete.
CREATE TABLE dataset (
    singleton boolean NOT NULL DEFAULT true,
    generator_version integer NOT NULL,
    seed bigint NOT NULL,
    scale text,
    authors bigint NOT NULL,
    books bigint NOT NULL,
    book_genres bigint NOT NULL,
    load_seconds double precision NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dataset_pkey PRIMARY KEY (singleton),
    CONSTRAINT dataset_singleton_check CHECK (singleton)
);
