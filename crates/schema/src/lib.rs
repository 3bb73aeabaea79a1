//! The bookstore schema: migrations embedded in the binary, and the record of
//! what the data generator made.

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The number of countries and genres that the migrations insert.
pub const COUNTRY_COUNT: usize = 249;
pub const GENRE_COUNT: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

/// Serialises concurrent migrations (a suite may start several servers on one
/// database at once); the key is arbitrary but fixed.
const MIGRATION_LOCK: &str = "SELECT pg_advisory_lock(7202605120)";
const MIGRATION_UNLOCK: &str = "SELECT pg_advisory_unlock(7202605120)";

/// Brings the database up to the newest schema. Safe to run concurrently.
pub async fn migrate(client: &mut Client) -> Result<(), Error> {
    client.execute(MIGRATION_LOCK, &[]).await?;
    let result = embedded::migrations::runner()
        .set_abort_divergent(true)
        .run_async(client)
        .await;
    client.execute(MIGRATION_UNLOCK, &[]).await?;
    result?;
    Ok(())
}

/// What `bookbench seed` made: enough to derive every generated id without
/// reading the rows (see bookbench-datagen's id scheme).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub generator_version: i32,
    pub seed: u64,
    pub scale: Option<String>,
    pub authors: u64,
    pub books: u64,
    pub book_genres: u64,
    pub load_seconds: f64,
    pub created_at: Option<DateTime<Utc>>,
}

const SELECT_DATASET: &str = "SELECT generator_version, seed, scale, authors, books, \
     book_genres, load_seconds, created_at FROM dataset";

const INSERT_DATASET: &str = "INSERT INTO dataset (generator_version, seed, scale, authors, \
     books, book_genres, load_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7)";

const DELETE_DATASET: &str = "DELETE FROM dataset";

impl Dataset {
    /// The record, or `None` when the database was never seeded (or the seed
    /// did not complete).
    pub async fn read(client: &impl tokio_postgres::GenericClient) -> Result<Option<Self>, Error> {
        let row = client.query_opt(SELECT_DATASET, &[]).await?;
        Ok(row.map(|r| Self {
            generator_version: r.get(0),
            seed: r.get::<_, i64>(1).cast_unsigned(),
            scale: r.get(2),
            authors: to_u64(r.get(3)),
            books: to_u64(r.get(4)),
            book_genres: to_u64(r.get(5)),
            load_seconds: r.get(6),
            created_at: r.get(7),
        }))
    }

    /// Replaces the record. Call it in the transaction that loads the rows.
    pub async fn write(&self, client: &impl tokio_postgres::GenericClient) -> Result<(), Error> {
        client.execute(DELETE_DATASET, &[]).await?;
        client
            .execute(
                INSERT_DATASET,
                &[
                    &self.generator_version,
                    &self.seed.cast_signed(),
                    &self.scale,
                    &to_i64(self.authors),
                    &to_i64(self.books),
                    &to_i64(self.book_genres),
                    &self.load_seconds,
                ],
            )
            .await?;
        Ok(())
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
