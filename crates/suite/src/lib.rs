//! The collector behind `bookbench run`, `targets`, `target`, `verify`
//! and `calibrate`: it starts each target pinned to its CPUs, checks that it
//! serves the contract, loads it across scenarios and concurrency levels
//! with `bookbench-load`, attributes CPU time to server, database and
//! client, and writes `results.json`, `summary.md` and `report.html`.
//!
//! Errors: every fallible function of the suite returns [`Error`]. A
//! variant that wraps a failure of something else (a file, the database,
//! the load generator) keeps it as its `source`, and its own message says
//! only what the suite was doing; [`bookbench_errors::chain`] (or anyhow's
//! `{:#}` in the binary) prints the whole story on one line. A variant
//! without a source is a judgement of the suite's own, said in full.

pub mod calibrate;
pub mod cgroup;
pub mod cpu;
pub mod dataset;
pub mod env;
pub mod host_check;
pub mod hosts;
pub mod peers;
pub mod placeholders;
pub mod preset;
pub mod process;
pub mod proxy;
pub mod run;
pub mod targets;
pub mod verify;
pub mod which;

use bookbench_load::LoadError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request that cannot be carried out as asked.
    #[error("{0}")]
    Usage(String),
    /// A targets or hosts file that cannot be used, with the line at fault.
    #[error("{file}, line {line}: {message}")]
    ConfigFile {
        file: String,
        line: usize,
        message: String,
    },
    /// A host of a hosts file that cannot be reached or used, said in
    /// full with the host's name.
    #[error("{0}")]
    Host(String),
    #[error("it cannot run here: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Target(String),
    /// The latency relay between the targets and the database.
    #[error("the latency relay: {0}")]
    Relay(String),
    #[error("verify failed at check '{check}': {message}")]
    Verify { check: String, message: String },
    #[error("load")]
    Load(#[source] LoadError),
    #[error("database: {context}")]
    Database {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("seeding the data set")]
    Seed(#[from] bookbench_datagen::Error),
    #[error("the database's schema")]
    Schema(#[from] bookbench_schema::Error),
    #[error("results")]
    Results(#[from] bookbench_results::Error),
    #[error("cannot save the results")]
    Sink(#[source] run::SinkError),
    #[error("interrupted; targets stopped, partial results written")]
    Interrupted,
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    pub fn database(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        Self::Database {
            context: context.into(),
            source,
        }
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|&&b| b == b'\n').count() + 1
}
