//! The bulk load: one transaction that empties the tables, streams the rows
//! in with binary `COPY … FREEZE`, rebuilds keys and indexes, analyses, and
//! writes the `dataset` record.
//!
//! Why this shape:
//! - Truncating in the loading transaction lets `COPY` skip the WAL
//!   (`wal_level = minimal`, as the embedded cluster runs) and lets `FREEZE`
//!   write the rows frozen with the visibility map set, so index-only scans
//!   work at once and no VACUUM has to rewrite 2 GB of pages afterwards.
//! - Building indexes and checking foreign keys once over sorted input is
//!   several times faster than maintaining them row by row.
//! - One transaction: an interrupted load rolls back to what was there.

use std::pin::pin;
use std::time::Instant;

use bookbench_schema::Dataset;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};

use crate::ids::{Stream, author_id, book_id, key};
use crate::{Counts, GENERATOR_VERSION, Plan, book_rng, books_of, genres, values};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the database already holds data ({0}); pass --force to empty it and seed again")]
    NotEmpty(String),
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Schema(#[from] bookbench_schema::Error),
}

/// The stages of a seed, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Authors,
    Books,
    BookGenres,
    /// Keys, indexes, foreign keys, statistics.
    Indexes,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Self::Authors => "author",
            Self::Books => "book",
            Self::BookGenres => "book_genre",
            Self::Indexes => "keys, indexes, analyse",
        }
    }
}

/// Told how the seed advances.
pub trait Progress: Sync {
    /// A phase starts; `rows` is its row count (0 for [`Phase::Indexes`]).
    fn phase(&self, phase: Phase, rows: u64);
    /// `n` more rows of the current phase were sent.
    fn rows(&self, n: u64);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: Phase, _: u64) {}
    fn rows(&self, _: u64) {}
}

const HAS_DATA: &str = "SELECT (SELECT count(*) FROM dataset), \
     EXISTS (SELECT 1 FROM author), EXISTS (SELECT 1 FROM book)";

const SESSION_SETTINGS: &str = "SET LOCAL maintenance_work_mem = '1GB'; \
     SET LOCAL max_parallel_maintenance_workers = 2; \
     SET LOCAL synchronous_commit = on";

/// Drops what the bulk load rebuilds (the reverse of [`BULK_LOAD_RESTORE`]),
/// then empties the tables in this transaction.
const BULK_LOAD_PREPARE: &str = "\
ALTER TABLE book_genre DROP CONSTRAINT book_genre_book_id_fkey, \
    DROP CONSTRAINT book_genre_genre_id_fkey, DROP CONSTRAINT book_genre_pkey; \
ALTER TABLE book DROP CONSTRAINT book_author_id_fkey, DROP CONSTRAINT book_pkey; \
DROP INDEX book_author_id_idx; \
ALTER TABLE author DROP CONSTRAINT author_country_code_fkey, DROP CONSTRAINT author_pkey; \
TRUNCATE author, book, book_genre, dataset";

/// Exactly the keys, indexes and foreign keys of the V1 migration (a test
/// compares the two).
const BULK_LOAD_RESTORE: &str = "\
ALTER TABLE author ADD CONSTRAINT author_pkey PRIMARY KEY (id), \
    ADD CONSTRAINT author_country_code_fkey FOREIGN KEY (country_code) REFERENCES country (code); \
ALTER TABLE book ADD CONSTRAINT book_pkey PRIMARY KEY (id), \
    ADD CONSTRAINT book_author_id_fkey FOREIGN KEY (author_id) REFERENCES author (id); \
CREATE INDEX book_author_id_idx ON book (author_id); \
ALTER TABLE book_genre ADD CONSTRAINT book_genre_pkey PRIMARY KEY (book_id, genre_id), \
    ADD CONSTRAINT book_genre_book_id_fkey FOREIGN KEY (book_id) REFERENCES book (id), \
    ADD CONSTRAINT book_genre_genre_id_fkey FOREIGN KEY (genre_id) REFERENCES genre (id); \
ANALYZE author, book, book_genre";

const COPY_AUTHOR: &str = "COPY author (id, name, country_code, email, phone, \
     contact_address, contract_started, contract_finished, contract_value) \
     FROM STDIN (FORMAT binary, FREEZE)";
const AUTHOR_TYPES: &[Type] = &[
    Type::UUID,
    Type::TEXT,
    Type::BPCHAR,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
    Type::INT4,
];

const COPY_BOOK: &str = "COPY book (id, author_id, title, isbn, published, pages, price) \
     FROM STDIN (FORMAT binary, FREEZE)";
const BOOK_TYPES: &[Type] = &[
    Type::UUID,
    Type::UUID,
    Type::TEXT,
    Type::TEXT,
    Type::DATE,
    Type::INT4,
    Type::INT4,
];

const COPY_BOOK_GENRE: &str =
    "COPY book_genre (book_id, genre_id) FROM STDIN (FORMAT binary, FREEZE)";
const BOOK_GENRE_TYPES: &[Type] = &[Type::UUID, Type::INT4];

const SELECT_COUNTRIES: &str = "SELECT code FROM country ORDER BY code";

/// How often progress hears of new rows.
const PROGRESS_EVERY: u64 = 8_192;

/// Fills the (migrated) database with `plan`'s rows, replacing what it held
/// only when `force` is set. Returns the record it wrote.
pub async fn seed(
    client: &mut Client,
    plan: &Plan,
    force: bool,
    progress: &dyn Progress,
) -> Result<Dataset, Error> {
    let started = Instant::now();
    let row = client.query_one(HAS_DATA, &[]).await?;
    let (records, authors, books): (i64, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if !force && (records > 0 || authors || books) {
        let what = match Dataset::read(&*client).await? {
            Some(d) => format!(
                "{} authors and {} books from seed {}",
                d.authors, d.books, d.seed
            ),
            None => "rows that no completed seed recorded".to_string(),
        };
        return Err(Error::NotEmpty(what));
    }
    let counts = plan.counts();
    let countries: Vec<String> = client
        .query(SELECT_COUNTRIES, &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();

    let tx = client.transaction().await?;
    tx.batch_execute(SESSION_SETTINGS).await?;
    tx.batch_execute(BULK_LOAD_PREPARE).await?;
    copy_authors(&tx, plan, &countries, progress).await?;
    copy_books(&tx, plan, counts, progress).await?;
    copy_book_genres(&tx, plan, counts, progress).await?;
    progress.phase(Phase::Indexes, 0);
    tx.batch_execute(BULK_LOAD_RESTORE).await?;
    let dataset = Dataset {
        generator_version: GENERATOR_VERSION,
        seed: plan.seed,
        scale: plan.scale.clone(),
        authors: counts.authors,
        books: counts.books,
        book_genres: counts.book_genres,
        load_seconds: started.elapsed().as_secs_f64(),
        created_at: None,
    };
    dataset.write(&tx).await?;
    tx.commit().await?;
    Ok(dataset)
}

/// Counts rows and tells `progress` every [`PROGRESS_EVERY`] of them.
struct Ticker<'a> {
    progress: &'a dyn Progress,
    pending: u64,
}

impl<'a> Ticker<'a> {
    fn new(progress: &'a dyn Progress, phase: Phase, rows: u64) -> Self {
        progress.phase(phase, rows);
        Self {
            progress,
            pending: 0,
        }
    }

    fn tick(&mut self) {
        self.pending += 1;
        if self.pending == PROGRESS_EVERY {
            self.progress.rows(self.pending);
            self.pending = 0;
        }
    }
}

impl Drop for Ticker<'_> {
    fn drop(&mut self) {
        self.progress.rows(self.pending);
    }
}

async fn copy_authors(
    tx: &Transaction<'_>,
    plan: &Plan,
    countries: &[String],
    progress: &dyn Progress,
) -> Result<(), Error> {
    let sink = tx.copy_in(COPY_AUTHOR).await?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, AUTHOR_TYPES));
    let mut ticker = Ticker::new(progress, Phase::Authors, plan.authors);
    let (mut name, mut email, mut phone, mut address) =
        (String::new(), String::new(), String::new(), String::new());
    for a in 0..plan.authors {
        let mut rng = fastrand::Rng::with_seed(key(plan.seed, Stream::AuthorValues, a));
        values::name_and_email(&mut rng, &mut name, &mut email);
        let country = countries[rng.usize(..countries.len())].as_str();
        values::phone(&mut rng, &mut phone);
        values::address(&mut rng, &mut address);
        let contract = values::contract(&mut rng);
        let row: [&(dyn ToSql + Sync); 9] = [
            &author_id(plan.seed, a),
            &name,
            &country,
            &email,
            &phone,
            &address,
            &contract.started,
            &contract.finished,
            &contract.value,
        ];
        writer.as_mut().write(&row).await?;
        ticker.tick();
    }
    writer.finish().await?;
    Ok(())
}

async fn copy_books(
    tx: &Transaction<'_>,
    plan: &Plan,
    counts: Counts,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let sink = tx.copy_in(COPY_BOOK).await?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, BOOK_TYPES));
    let mut ticker = Ticker::new(progress, Phase::Books, counts.books);
    let (mut title, mut isbn) = (String::new(), String::new());
    let mut b = 0u64;
    for a in 0..plan.authors {
        let author = author_id(plan.seed, a);
        for _ in 0..books_of(plan.seed, a) {
            let mut rng = book_rng(plan.seed, b);
            let _ = genres(&mut rng);
            values::title(&mut rng, &mut title);
            values::isbn(&mut rng, &mut isbn);
            let row: [&(dyn ToSql + Sync); 7] = [
                &book_id(plan.seed, b),
                &author,
                &title,
                &isbn,
                &values::published(&mut rng),
                &values::pages(&mut rng),
                &values::price(&mut rng),
            ];
            writer.as_mut().write(&row).await?;
            ticker.tick();
            b += 1;
        }
    }
    writer.finish().await?;
    Ok(())
}

async fn copy_book_genres(
    tx: &Transaction<'_>,
    plan: &Plan,
    counts: Counts,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let sink = tx.copy_in(COPY_BOOK_GENRE).await?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, BOOK_GENRE_TYPES));
    let mut ticker = Ticker::new(progress, Phase::BookGenres, counts.book_genres);
    for b in 0..counts.books {
        let id = book_id(plan.seed, b);
        let (ids, n) = genres(&mut book_rng(plan.seed, b));
        for genre in &ids[..n] {
            writer.as_mut().write(&[&id, genre]).await?;
            ticker.tick();
        }
    }
    writer.finish().await?;
    Ok(())
}
