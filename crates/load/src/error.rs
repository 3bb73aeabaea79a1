//! Everything that can stop a run from starting.

use std::net::SocketAddr;
use std::time::Duration;

/// Everything that can stop a run from starting.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Config(String),
    #[error("template {0}")]
    Template(String),
    /// A scenario file's mistake, at `FILE:LINE`.
    #[error("{at}: {message}")]
    Scenario { at: String, message: String },
    /// A setup request that failed, at its `FILE:LINE`.
    #[error("setup request at {at}: {message}")]
    Setup { at: String, message: String },
    #[error("{0}")]
    Url(String),
    #[error("cannot resolve '{host}': {cause}")]
    Resolve { host: String, cause: std::io::Error },
    #[error("cannot connect to {addr}: {cause}")]
    Connect {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error("{addr} does not answer as an HTTP server: {detail}")]
    NotHttp { addr: SocketAddr, detail: String },
    #[error("{addr} accepted a connection but sent no HTTP response within {timeout:?}")]
    NoResponse { addr: SocketAddr, timeout: Duration },
    #[error(
        "{connections} connections need {needed} open files, but the limit is {limit} \
         (raise it with 'ulimit -n', or use fewer connections)"
    )]
    FileLimit {
        connections: u32,
        needed: u64,
        limit: u64,
    },
    #[error(
        "the workload uses {{author_id}} or {{book_id}}, which need the data set's seed and counts"
    )]
    NeedIds,
    #[error("cannot start a worker: {0}")]
    Runtime(std::io::Error),
    #[error("histogram {0}")]
    Histogram(String),
}
