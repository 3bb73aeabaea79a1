//! `results.json`: versioned, one entry per target × scenario × concurrency.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cpu::Usage;
use crate::verify::CheckResult;

/// Bumped when a field changes meaning.
pub const RESULTS_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub version: u32,
    /// True when the run was interrupted or is still being written.
    pub partial: bool,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub env: Env,
    pub config: Config,
    pub targets: Vec<TargetOutcome>,
    pub runs: Vec<Point>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Env {
    pub bookbench_version: String,
    pub cpu_model: String,
    pub cores: usize,
    pub kernel: String,
    pub postgres_version: String,
    pub postgres_settings: BTreeMap<String, String>,
    /// The data set: seed, scale and counts.
    pub scale: BTreeMap<String, serde_json::Value>,
    /// Where the load generator ran.
    pub client_cpus: Vec<usize>,
    /// Where PostgreSQL ran (unpinned: every core).
    pub database_cpus: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub preset: String,
    pub scenarios: Vec<String>,
    pub concurrency: Vec<u32>,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub repeat: u32,
    /// Open loop at this rate, when set.
    pub rate: Option<f64>,
    /// The per-request timeout (absent in results written before it was
    /// recorded, which used 10 s).
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetOutcome {
    pub name: String,
    pub description: String,
    pub workers: u32,
    pub cpus: Vec<usize>,
    pub status: TargetStatus,
    pub reason: Option<String>,
    pub notes: Vec<String>,
    pub verify: Vec<CheckResult>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    pub target: String,
    pub scenario: String,
    pub concurrency: u32,
    /// The median of the repeats' successful requests per second.
    pub rps: f64,
    pub rps_min: f64,
    pub rps_max: f64,
    /// Over all repeats, from the merged histogram (microseconds).
    pub latency_us: Latency,
    pub requests: u64,
    pub errors: BTreeMap<String, u64>,
    pub status: BTreeMap<String, u64>,
    /// Percent of one core, medians over the repeats.
    pub cpu: Usage,
    /// Statements (or transactions) PostgreSQL ran per successful request.
    pub db_statements_per_request: Option<f64>,
    /// What makes the figures of this point doubtful, each once.
    pub flags: Vec<Flag>,
    pub repeats: Vec<Repeat>,
    /// The merged latency histogram, HdrHistogram V2 + deflate, base64.
    pub histogram: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repeat {
    pub rps: f64,
    pub requests: u64,
    pub errors: u64,
    pub latency_us: Latency,
    pub cpu: Usage,
    pub db_statements: Option<u64>,
    pub client_cpu_per_request_us: f64,
    pub flags: Vec<Flag>,
}

/// What became of a target in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetStatus {
    Measured,
    /// It did not start, was not ready, failed `verify` or died.
    Failed,
    /// It cannot run here (a missing program, an environment that does not
    /// install, a CPU this machine lacks).
    Skipped,
}

impl TargetStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Measured => "measured",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a point's (or a repeat's) figures are doubtful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// A load generator's thread was over 90% busy: the figures measure the
    /// client.
    ClientBound,
    /// Some requests failed.
    Errors,
    /// An open-loop run sent over 1% of its requests late or never.
    ScheduleSlipped,
    /// A scenario that must reach the database ran under 0.9 statements per
    /// request.
    NoDatabaseWork,
    /// The target or the database was still busy with what an earlier load
    /// left when a repeat started.
    NotSettled,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientBound => "client-bound",
            Self::Errors => "errors",
            Self::ScheduleSlipped => "schedule-slipped",
            Self::NoDatabaseWork => "no-database-work",
            Self::NotSettled => "not-settled",
        }
    }

    /// The flags of a load generator's report.
    pub fn of_load(flag: bookbench_load::Flag) -> Self {
        match flag {
            bookbench_load::Flag::ClientBound => Self::ClientBound,
            bookbench_load::Flag::Errors => Self::Errors,
            bookbench_load::Flag::ScheduleSlipped => Self::ScheduleSlipped,
        }
    }
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The flags, as a table cell: `client-bound, errors`.
pub fn flag_list(flags: &[Flag]) -> String {
    flags
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Results {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    pub fn from_json(text: &str) -> Result<Self, crate::Error> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(RESULTS_VERSION)) {
            return Err(crate::Error::Results(format!(
                "results version {version:?}; this bookbench reads version {RESULTS_VERSION}"
            )));
        }
        Ok(serde_json::from_value(value)?)
    }
}

/// `20261126-093000` (UTC): a directory name that sorts by time.
pub fn timestamp_for_path(unix_seconds: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(unix_seconds).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%Y%m%d-%H%M%S")
        .to_string()
}
