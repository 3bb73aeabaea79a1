//! The suite behind `bookbench run`, `targets`, `target`, `verify`,
//! `compare` and `merge`: it starts each target pinned to its CPUs, checks that it
//! serves the contract, loads it across scenarios and concurrency levels
//! with `bookbench-load`, attributes CPU time to server, database and
//! client, and writes `results.json`, `summary.md` and `report.html`.

pub mod compare;
pub mod cpu;
pub mod merge;
pub mod peers;
pub mod process;
pub mod report;
pub mod results;
pub mod run;
pub mod targets;
pub mod verify;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("targets file: {0}")]
    Targets(String),
    #[error("it cannot run here: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Target(String),
    #[error("verify failed at check '{check}': {message}")]
    Verify { check: String, message: String },
    #[error("load: {0}")]
    Load(String),
    #[error("database: {0}")]
    Database(String),
    #[error("{0}")]
    Io(String),
    #[error("results file: {0}")]
    Results(String),
    #[error("interrupted; targets stopped, partial results written")]
    Interrupted,
}
