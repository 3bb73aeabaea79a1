//! `results.json`: versioned, one entry per target × scenario ×
//! concurrency, each with every window it was measured in, so that every
//! figure of the report can be recomputed from the file.
//!
//! Version 2 measures in interleaved rounds and keeps each window's round;
//! version 1 files (repeats of one target after another) are read through
//! `v1`, which says they were not interleaved.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::stats::{Interval, Verdict};
use crate::{Error, v1};

/// A client host's clock against the suite's.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ClientClock {
    pub host: String,
    /// Ahead of the suite's clock (negative: behind).
    pub offset_us: i64,
    /// Half the best round trip of the readings: the offset is within it.
    pub uncertainty_us: u64,
}

/// Bumped when a field changes meaning. 3: counted cost (`cost_run`,
/// `cost`); a file of version 2 has neither and reads as it is. 4: the
/// database's own instructions (`cost[].database_instructions`), absent
/// from a file of version 3.
pub const RESULTS_VERSION: u32 = 4;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
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
    /// How the counted cost was counted, when it was (`bookbench cost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_run: Option<crate::cost::CostRun>,
    /// Counted cost per request, per target, scenario and concurrency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cost: Vec<crate::cost::CostPoint>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
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
    /// Connections to the database once every target had started: the
    /// targets' pools, held for the whole run.
    #[serde(default)]
    pub database_connections: Option<i64>,
    /// The hosts the load agents ran on, when not this machine
    /// (`bookbench-client1`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_hosts: Vec<String>,
    /// Each agent's clock against the suite's, read before the run, for
    /// agents started as processes on their hosts (a hosts file): each
    /// starts at the same instant corrected by it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_clocks: Vec<ClientClock>,
    /// The database's address, as the suite reached it (`127.0.0.1:5433`;
    /// `198.18.0.40:5433` on the lab's database host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_address: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Config {
    pub preset: String,
    pub scenarios: Vec<String>,
    pub concurrency: Vec<u32>,
    /// The measured window.
    pub duration_s: f64,
    /// The least warm-up before each window, on the window's connections.
    pub warmup_s: f64,
    /// Rounds per point: at least `min`, and more until `precision` is
    /// reached, `max` rounds are done, or the point's time is spent.
    pub rounds: Rounds,
    /// The half-width asked of every ratio's 95% interval, as a fraction
    /// (0.05: ±5%).
    pub precision: f64,
    /// Seconds a point may take, all targets and rounds together.
    pub point_budget_s: f64,
    /// The target every other is compared with.
    pub baseline: Option<String>,
    /// Which target each is compared with, when not the baseline (the
    /// calibration compares each copy with its own original).
    #[serde(default)]
    pub references: BTreeMap<String, String>,
    /// A ratio is judged faster or slower only when its interval lies
    /// wholly beyond this fraction (from `bookbench calibrate`).
    pub noise_threshold: f64,
    /// A window with more steal than this (percent of a CPU) is disturbed.
    pub steal_threshold: f64,
    /// Seeds each round's order of targets.
    pub seed: u64,
    /// Whether targets were measured in rounds, interleaved: only then are
    /// two targets' windows of one round a pair.
    pub interleaved: bool,
    /// Open loop at this rate, when set.
    pub rate: Option<f64>,
    /// The per-request timeout (absent in results written before it was
    /// recorded, which used 10 s).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// The database round trips swept, in microseconds (empty: the targets
    /// reached the database directly).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub db_round_trips_us: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TargetOutcome {
    pub name: String,
    pub description: String,
    pub workers: u32,
    pub cpus: Vec<usize>,
    pub status: TargetStatus,
    pub reason: Option<String>,
    pub notes: Vec<String>,
    pub verify: Vec<CheckResult>,
    /// The resident memory of its whole process group once it was ready
    /// (kibibytes): what keeping it started for the whole run costs.
    #[serde(default)]
    pub rss_kib: Option<u64>,
    /// The host it ran on, when not this machine (`bookbench-app`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The host its proxy ran on, when not the target's own
    /// (`bookbench-proxy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_host: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

/// The rounds of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rounds {
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Point {
    pub target: String,
    pub scenario: String,
    pub concurrency: u32,
    /// The round trip the latency relay added between the target and the
    /// database, in microseconds; absent when the target reached it
    /// directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_round_trip_us: Option<u64>,
    /// The median of the undisturbed windows' successful requests per
    /// second (of all windows when fewer than two are undisturbed).
    pub rps: f64,
    /// The median's 95% interval (distribution-free).
    pub rps_interval: Option<Interval>,
    pub rps_min: f64,
    pub rps_max: f64,
    /// Over all windows, from the merged histogram (microseconds).
    pub latency_us: Latency,
    pub requests: u64,
    pub errors: BTreeMap<String, u64>,
    pub status: BTreeMap<String, u64>,
    /// Percent of one core, medians over the windows.
    pub cpu: Usage,
    /// Statements (or transactions) PostgreSQL ran per successful request.
    pub db_statements_per_request: Option<f64>,
    /// What makes the figures of this point doubtful, each once.
    pub flags: Vec<Flag>,
    /// Against the reference target, over the rounds both were measured
    /// in; absent for the reference itself.
    pub comparison: Option<Comparison>,
    pub windows: Vec<Window>,
    /// The merged latency histogram, HdrHistogram V2 + deflate, base64.
    pub histogram: String,
}

impl Point {
    /// Where it was measured.
    pub fn at(&self) -> At<'_> {
        At {
            scenario: &self.scenario,
            concurrency: self.concurrency,
            db_round_trip_us: self.db_round_trip_us,
        }
    }
}

/// Where a point is measured: a scenario at a concurrency, the database at
/// a round trip (or direct). Every target of a run is measured at each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct At<'a> {
    pub scenario: &'a str,
    pub concurrency: u32,
    pub db_round_trip_us: Option<u64>,
}

impl At<'_> {
    /// ` db=2ms`, or nothing when the target reached the database
    /// directly: what follows a concurrency where the round trip matters.
    pub fn db_note(&self) -> String {
        self.db_round_trip()
            .map(|rt| format!(" db={rt}"))
            .unwrap_or_default()
    }

    /// The database round trip as written on the command line (`2ms`).
    pub fn db_round_trip(&self) -> Option<crate::RoundTrip> {
        self.db_round_trip_us
            .and_then(crate::RoundTrip::from_micros)
    }
}

/// A round trip of results (microseconds) as written on the command line
/// (`2ms`), or `direct` for none.
pub fn round_trip_label(us: Option<u64>) -> String {
    us.and_then(crate::RoundTrip::from_micros)
        .map_or_else(|| "direct".to_string(), |rt| rt.to_string())
}

impl std::fmt::Display for At<'_> {
    /// `author-detail c=10`, and ` db=2ms` with a relay.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} c={}{}",
            self.scenario,
            self.concurrency,
            self.db_note()
        )
    }
}

/// A target against its reference at one point.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    pub reference: String,
    /// This target's requests per second over the reference's: the
    /// geometric mean of the per-round ratios, with its 95% interval.
    pub ratio: Interval,
    pub verdict: Verdict,
    /// Rounds that paired an undisturbed window of each.
    pub rounds: u32,
}

/// One measured window: a target's load at one point in one round.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Window {
    /// From 0; two targets' windows of one round were measured minutes
    /// apart at most, so drift of the machine falls on both.
    pub round: u32,
    /// Its place in the round's shuffled order, from 0.
    pub position: u32,
    pub rps: f64,
    pub requests: u64,
    pub errors: u64,
    pub latency_us: Latency,
    /// Percent of one core over the window.
    pub cpu: Usage,
    /// CPU time per finished request, in microseconds.
    pub cpu_per_request_us: Usage,
    pub db_statements: Option<u64>,
    /// The load generator's user plus system time per request.
    pub client_cpu_per_request_us: f64,
    /// Of which system time (on loopback it pays the receiver's softirq
    /// work too; see docs/method.md).
    pub client_system_per_request_us: f64,
    /// Steal time of each CPU, in percent of the window: time the
    /// hypervisor gave this machine's CPU to someone else.
    pub steal_pct: Vec<f64>,
    /// The busiest other target's CPU over the window, in percent of one
    /// core: they should all be idle.
    pub others_cpu: f64,
    /// TCP sockets in TIME_WAIT on the machine when the window began
    /// (`/proc/net/sockstat`): what earlier loads of `Connection: close`
    /// left, which a `connect()` must work around.
    #[serde(default)]
    pub time_wait: u64,
    pub flags: Vec<Flag>,
    /// This window's latency histogram (base64), to merge exactly.
    pub histogram: String,
    /// With load from several agents, each one's requests (in the order of
    /// the client hosts); the window's figures are theirs merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_requests: Vec<u64>,
    /// With several agents: the latest started this long after the first
    /// (microseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_skew_us: Option<u64>,
}

impl Window {
    /// Whether something outside the target disturbed this window: it is
    /// kept and shown, but not counted in the statistics, and its round is
    /// made up for.
    pub fn disturbed(&self) -> bool {
        self.flags.iter().any(|f| f.disturbs())
    }
}

/// What became of a target in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    /// left when a window started.
    NotSettled,
    /// Steal time on a CPU passed the threshold during the window.
    Steal,
    /// Another target, not under load, used CPU during the window.
    NeighbourBusy,
    /// Connections were refused or timed out.
    ConnectErrors,
    /// The window served far below the target's median with the target
    /// far below its median CPU: it waited on something no party shows.
    Stalled,
    /// The target's host could not be read for its processes' CPU time
    /// (it runs on another host, read over ssh): the window's CPU figures
    /// of the target are not measured, not zero, and the point's CPU
    /// leaves the window out. Its throughput stands.
    CpuUnread,
    /// A request was still unanswered at the window's end after over a
    /// second and over ten times the slowest answered one: the target left
    /// some connections waiting while it served the others, so the window
    /// measured fewer connections than the point's concurrency.
    Unserved,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientBound => "client-bound",
            Self::Errors => "errors",
            Self::ScheduleSlipped => "schedule-slipped",
            Self::NoDatabaseWork => "no-database-work",
            Self::NotSettled => "not-settled",
            Self::Steal => "steal",
            Self::NeighbourBusy => "neighbour-busy",
            Self::ConnectErrors => "connect-errors",
            Self::Stalled => "stalled",
            Self::CpuUnread => "cpu-unread",
            Self::Unserved => "unserved",
        }
    }

    /// Whether the flag says the machine, not the target, spoilt a window.
    pub fn disturbs(self) -> bool {
        matches!(
            self,
            Self::NotSettled | Self::Steal | Self::NeighbourBusy | Self::Stalled
        )
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

/// CPU use between two samples, in percent of one core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Usage {
    pub server: f64,
    pub database: f64,
    pub client: f64,
    /// The latency relay between server and database (0 without one).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub relay: f64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// The outcome of one check of the API contract (`bookbench verify`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    pub name: String,
    /// `None` when the check passed.
    pub failure: Option<String>,
}

impl Results {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Reads a results.json of this version or of version 1.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let mut value: serde_json::Value = serde_json::from_str(text)?;
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        match version {
            Some(1) => v1::upgrade(&mut value),
            // Later versions only added fields that read as absent.
            Some(2 | 3) => value["version"] = serde_json::json!(RESULTS_VERSION),
            Some(v) if v == u64::from(RESULTS_VERSION) => {}
            _ => {
                let found = version.map_or("none".to_string(), |v| v.to_string());
                return Err(Error::Version(format!(
                    "results version {found}; this bookbench reads versions 1 to {RESULTS_VERSION}"
                )));
            }
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
