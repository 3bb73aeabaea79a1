//! The data set a run needs: seeded unless the database holds exactly it.

use bookbench_datagen::{GENERATOR_VERSION, Plan, Scale};
use bookbench_load::IdSpace;
use bookbench_schema::Dataset;
use tokio_postgres::Client;

use crate::Error;

/// Whether the author table holds any row.
const HAS_AUTHORS: &str = "SELECT EXISTS (SELECT 1 FROM author)";

/// Brings the schema up to date and makes the database hold the data set
/// of `scale`: left alone when it holds exactly that (same scale, same
/// generator), seeded again when bookbench seeded something else, refused
/// when it holds rows bookbench did not seed (they may be somebody's).
/// `seeding` is told before a seed starts, since one takes minutes.
pub async fn ensure(
    client: &mut Client,
    scale: Scale,
    seeding: &mut dyn FnMut(Scale),
) -> Result<Dataset, Error> {
    bookbench_schema::migrate(client).await?;
    let current = Dataset::read(&*client).await?;
    let fits = current.as_ref().is_some_and(|d| {
        d.scale.as_deref() == Some(scale.name()) && d.generator_version == GENERATOR_VERSION
    });
    if !fits {
        let has_rows: bool = client
            .query_one(HAS_AUTHORS, &[])
            .await
            .map_err(|e| Error::database("looking for rows", e))?
            .get(0);
        if has_rows && current.is_none() {
            return Err(Error::Usage(format!(
                "the database holds rows that bookbench did not seed; run 'bookbench seed --scale {} --force' first",
                scale.name()
            )));
        }
        seeding(scale);
        let plan = Plan::from_scale(scale, bookbench_datagen::DEFAULT_SEED);
        bookbench_datagen::seed(client, &plan, true, &bookbench_datagen::NoProgress).await?;
    }
    Dataset::read(&*client)
        .await?
        .ok_or_else(|| Error::Usage("the dataset record is missing after seeding".to_string()))
}

/// The ids a load can draw from `dataset`.
/// The ids a data set's rows have; none without one (a workload that
/// draws `{author_id}` is then refused).
pub fn id_space(dataset: Option<&Dataset>) -> IdSpace {
    dataset.map_or(
        IdSpace {
            seed: 0,
            authors: 0,
            books: 0,
        },
        |d| IdSpace {
            seed: d.seed,
            authors: d.authors,
            books: d.books,
        },
    )
}
