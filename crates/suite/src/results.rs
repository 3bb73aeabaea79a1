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
    /// `measured`, `failed` (it did not start, was not ready, failed
    /// `verify` or died) or `skipped` (it cannot run here).
    pub status: String,
    pub reason: Option<String>,
    pub notes: Vec<String>,
    pub verify: Vec<CheckResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// `client-bound`, `errors`, `schedule-slipped`, `no-database-work`,
    /// `target-died`, `not-settled` (the target or the database was still
    /// busy with what an earlier load left when a repeat started).
    pub flags: Vec<String>,
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
    pub flags: Vec<String>,
}

impl Results {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    pub fn from_json(text: &str) -> Result<Self, crate::Error> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| crate::Error::Results(e.to_string()))?;
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(RESULTS_VERSION)) {
            return Err(crate::Error::Results(format!(
                "results version {version:?}; this bookbench reads version {RESULTS_VERSION}"
            )));
        }
        serde_json::from_value(value).map_err(|e| crate::Error::Results(e.to_string()))
    }
}

/// `20261126-093000` (UTC): a directory name that sorts by time.
pub fn timestamp_for_path(unix_seconds: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(unix_seconds).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%Y%m%d-%H%M%S")
        .to_string()
}
