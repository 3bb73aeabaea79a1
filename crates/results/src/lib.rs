//! The results format, and the judgements made on it: what a run of
//! bookbench writes (`results.json`, versioned, every window kept), the
//! statistics that turn windows into intervals, the rule that says which
//! windows count, the verdicts and their thresholds, and the operations on
//! whole files (`merge`, `compare`, calibration's summary).
//!
//! It is the contract between the collector (`bookbench-suite`, which
//! writes it) and the report (`bookbench-report`, which renders it): it
//! depends on neither, does no I/O beyond reading and writing a results
//! file, and `results.schema.json` beside this crate describes the file for
//! readers that are not written in Rust.
//!
//! Errors: [`Error`]; a variant that wraps another failure keeps it as its
//! `source`.

pub mod calibration;
pub mod compare;
pub mod cost;
pub mod cost_calibration;
pub mod cost_compare;
mod format;
pub mod judge;
pub mod merge;
mod round_trip;
pub mod stats;
mod v1;

pub use self::format::{
    At, CheckResult, ClientClock, Comparison, Config, Env, Flag, Latency, Point, RESULTS_VERSION,
    Results, Rounds, TargetOutcome, TargetStatus, Usage, Window, flag_list, round_trip_label,
    timestamp_for_path,
};
pub use self::round_trip::{MAX_ROUND_TRIP, ParseRoundTripError, RoundTrip};

/// What can go wrong reading, writing or combining results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file of a version this build does not read, said in full.
    #[error("results file: {0}")]
    Version(String),
    /// Files that cannot be combined or compared as asked, said in full.
    #[error("{0}")]
    Mismatch(String),
    #[error("results file")]
    Json(#[from] serde_json::Error),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// The JSON Schema of `results.json` of this version, as committed in
/// `crates/results/results.schema.json` (a test keeps the two the same).
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(Results).to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "$comment".to_string(),
            serde_json::Value::String(format!(
                "results.json of bookbench, version {RESULTS_VERSION} (a file of version 2 is one without counted cost, and one of version 3 without the database's instructions; both read as this); version 1 is read by bookbench and upgraded, not described here"
            )),
        );
    }
    schema
}

impl Results {
    /// Reads `path` (this version or an older one).
    pub fn read(path: &std::path::Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            context: format!("cannot read {}", path.display()),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Writes `path` whole: to a file beside it, then renamed over it, so
    /// that a reader never sees half a file.
    pub fn write(&self, path: &std::path::Path) -> Result<(), Error> {
        let io = |source| Error::Io {
            context: format!("cannot write {}", path.display()),
            source,
        };
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, self.to_json()).map_err(io)?;
        std::fs::rename(&partial, path).map_err(io)
    }
}
