//! Counted cost per request, behind `bookbench cost`: each target runs
//! under valgrind's callgrind, one at a time; the load generator, outside
//! valgrind, sends a fixed number of requests per window at the point's
//! concurrency; around each window the target's processes' counters are
//! zeroed and dumped (`callgrind_control`) and the database's statistics
//! reset and read (pg_stat_statements). Windows repeat until consecutive
//! ones agree within a tolerance; the figures are the medians of the
//! settled windows, with their spread (`bookbench_results::cost`). Then,
//! on bookbench's own cluster, a second pass counts the database's own
//! instructions: the cluster under callgrind, each target natively
//! (`backends`).
//!
//! Counts do not vary with what else the machine does, where timing here
//! varies by 10 to 25% from one second to the next (docs/method.md); they
//! are never presented as time.
//!
//! Errors: [`Error`]; a variant that wraps another failure keeps it as its
//! `source`.

mod backends;
pub mod calibrate;
pub mod callgrind;
mod database;
pub mod layout;
mod measure;
pub mod valgrind;

pub use self::backends::DatabaseCounting;
pub use self::measure::{CostConfig, Observer, measure};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request that cannot be carried out as asked (a tool missing), said
    /// in full with what to do.
    #[error("{0}")]
    Usage(String),
    /// `callgrind_control` could not zero or dump a process of a target.
    #[error("process {pid}: {message}")]
    Callgrind { pid: i32, message: String },
    /// A dump that cannot be read as callgrind's format.
    #[error("{}: {message}", path.display())]
    Dump {
        path: std::path::PathBuf,
        message: String,
    },
    /// The target itself: it stopped, or never answered.
    #[error("{0}")]
    Target(String),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database: {context}")]
    Database {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("load")]
    Load(#[from] bookbench_load::LoadError),
    /// Starting or stopping a target, its environment, a port: the suite's
    /// own words.
    #[error(transparent)]
    Suite(#[from] bookbench_suite::Error),
    #[error("cannot save the results")]
    Sink(#[source] bookbench_suite::run::SinkError),
    #[error("interrupted; targets stopped, what was counted is written")]
    Interrupted,
}

impl Error {
    fn database(context: &str, source: tokio_postgres::Error) -> Self {
        Self::Database {
            context: context.to_string(),
            source,
        }
    }
}
