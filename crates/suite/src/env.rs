//! The environment a run measured in, recorded in results.json: the
//! machine, the kernel, PostgreSQL and its settings, the data set.

use tokio_postgres::Client;

use crate::Error;
use bookbench_results::Env;

/// The server's version string, cut before " on <platform>".
const SERVER_VERSION: &str = "SELECT version()";

/// The settings that change what a benchmark of PostgreSQL measures.
const SETTINGS: &str = "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY($1)";

const RECORDED_SETTINGS: &[&str] = &[
    "shared_buffers",
    "work_mem",
    "max_connections",
    "synchronous_commit",
    "fsync",
    "wal_level",
    "jit",
    "effective_cache_size",
    "random_page_cost",
];

/// Describes this machine and the database behind `client`, with the data
/// set `dataset` (as [`crate::dataset::ensure`] found or made it).
pub async fn capture(
    client: &Client,
    dataset: Option<&bookbench_schema::Dataset>,
) -> Result<Env, Error> {
    let version: String = client
        .query_one(SERVER_VERSION, &[])
        .await
        .map_err(|e| Error::database("reading the server's version", e))?
        .get(0);
    let mut env = Env {
        bookbench_version: env!("CARGO_PKG_VERSION").to_string(),
        cpu_model: cpu_model().unwrap_or_default(),
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        postgres_version: version.split(" on ").next().unwrap_or_default().to_string(),
        database_cpus: "unpinned (all cores)".to_string(),
        ..Env::default()
    };
    let settings = client
        .query(SETTINGS, &[&RECORDED_SETTINGS])
        .await
        .map_err(|e| Error::database("reading the server's settings", e))?;
    for row in settings {
        env.postgres_settings.insert(row.get(0), row.get(1));
    }
    if let Some(d) = dataset {
        record_dataset(&mut env, d);
    }
    Ok(env)
}

/// The bookstore's data set, as results record it.
pub fn record_dataset(env: &mut Env, d: &bookbench_schema::Dataset) {
    env.scale.insert("seed".into(), d.seed.into());
    env.scale
        .insert("scale".into(), d.scale.clone().unwrap_or_default().into());
    env.scale.insert("authors".into(), d.authors.into());
    env.scale.insert("books".into(), d.books.into());
    env.scale.insert("book_genres".into(), d.book_genres.into());
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}
