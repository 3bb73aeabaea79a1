//! The report of a run: the versioned JSON document and how the workers'
//! results become it.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::engine::{self, LATE_AFTER};
use crate::stats::{self, EncodedHistogram, ErrorKind, Percentiles};
use crate::{LoadConfig, LoadError};

/// The version of the JSON report; bumped when a field changes meaning.
pub const REPORT_VERSION: u32 = 1;

/// Closed loop or open loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Closed,
    Open,
}

/// Errors by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors {
    pub connect: u64,
    pub timeout: u64,
    pub read: u64,
    pub status: u64,
    pub body: u64,
    pub total: u64,
}

/// How an open-loop run kept its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub rate: f64,
    /// Requests due before the end of the run.
    pub scheduled: u64,
    pub sent: u64,
    /// Requests that went out more than `late_after_us` after they were
    /// due.
    pub late: u64,
    pub late_after_us: u64,
    /// Due but never sent.
    pub unsent: u64,
}

/// The client's own CPU use over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCpu {
    /// The whole process's user and system time during the run.
    pub user_s: f64,
    pub system_s: f64,
    /// User plus system time per finished request, in microseconds.
    pub per_request_us: f64,
    /// The busiest worker thread's CPU time over the run's wall time.
    pub busy: f64,
    /// Each worker thread's CPU time over the run's wall time.
    pub worker_busy: Vec<f64>,
}

/// A run's results. Serializes to the versioned JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub url: String,
    pub scenario: Option<String>,
    pub mode: Mode,
    pub connections: u32,
    pub threads: u32,
    pub timeout_s: f64,
    /// The measured window.
    pub duration_s: f64,
    /// Successful requests (expected status and body) per second.
    pub rps: f64,
    /// Requests that ended: a response, a timeout or a failure.
    pub requests: u64,
    pub ok: u64,
    /// Requests written out, including the ones still in flight at the end.
    pub sent: u64,
    /// In flight when the run ended: neither answered nor failed.
    pub unfinished: u64,
    /// How long the oldest of those had waited, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished_oldest_s: Option<f64>,
    /// Connections made (a run with keep-alive makes one per user).
    pub connects: u64,
    pub bytes_read: u64,
    pub errors: Errors,
    /// Responses by status code.
    pub status: BTreeMap<String, u64>,
    /// Over every complete response (whatever its status). In an open-loop
    /// run, corrected for coordinated omission.
    pub latency_us: Percentiles,
    /// Open loop: from when each request went out.
    pub latency_us_uncorrected: Option<Percentiles>,
    pub schedule: Option<Schedule>,
    pub client_cpu: ClientCpu,
    /// What makes the run's figures doubtful.
    pub flags: Vec<Flag>,
    /// Started this long after the instant it was asked to start at
    /// (`bookbench load --start-at`), on its own clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_late_us: Option<u64>,
    pub histogram: EncodedHistogram,
    pub histogram_uncorrected: Option<EncodedHistogram>,
    /// Every latency, when the config asked for them.
    /// (Never in the JSON document.)
    #[serde(skip)]
    pub samples: Option<Vec<u64>>,
}

impl Report {
    /// The run's latency histogram.
    pub fn histogram(&self) -> Result<Histogram<u64>, LoadError> {
        self.histogram.decode()
    }

    /// The JSON document, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

/// Why a run's figures are doubtful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// A worker was over 90% busy: the figures measure the client.
    ClientBound,
    /// Over 1% of an open-loop run's requests went out late or never.
    ScheduleSlipped,
    /// Some request failed.
    Errors,
    /// A request still unanswered at the end had waited over a second and
    /// over ten times the slowest answered one: the server left that
    /// connection waiting while it answered the others (a limit on the
    /// connections it serves at once, such as Granian's `--backpressure`),
    /// so the run measured fewer connections than it opened.
    Unserved,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientBound => "client-bound",
            Self::ScheduleSlipped => "schedule-slipped",
            Self::Errors => "errors",
            Self::Unserved => "unserved",
        }
    }
}

/// A worker busier than this makes the run client-bound.
pub const CLIENT_BOUND_BUSY: f64 = 0.9;

/// A request unanswered at the end for longer than this, and than
/// `UNSERVED_FACTOR` times the slowest answered one, makes the run
/// `unserved`. A server that queues its connections fairly answers none
/// much later than the slowest it answered, however loaded; one that
/// leaves connections unserved leaves them for the whole run.
const UNSERVED_AFTER: Duration = Duration::from_secs(1);
const UNSERVED_FACTOR: f64 = 10.0;

/// Merges the workers' results into the report; `(user, sys)` is the
/// process's CPU time over the measured window only, so that the warm-up's
/// work is not charged to the requests counted.
pub(crate) fn report(
    config: &LoadConfig,
    plan: &engine::Plan,
    results: Vec<engine::WorkerResult>,
    wall: Duration,
    (user, sys): (Duration, Duration),
) -> Result<Report, LoadError> {
    let mut results = results.into_iter();
    let first = results
        .next()
        .ok_or_else(|| LoadError::Config("no worker ran".to_string()))?;
    let worker_busy_of =
        |r: &engine::WorkerResult| r.cpu.as_secs_f64() / r.wall.as_secs_f64().max(1e-9);
    let mut worker_busy = vec![round3(worker_busy_of(&first))];
    let mut window = first.wall;
    let mut stats = first.stats;
    let mut oldest_unfinished = first.oldest_unfinished;
    for r in results {
        worker_busy.push(round3(worker_busy_of(&r)));
        window = window.max(r.wall);
        oldest_unfinished = oldest_unfinished.max(r.oldest_unfinished);
        stats.merge(r.stats)?;
    }
    let duration_s = window.max(wall.min(window)).as_secs_f64().max(1e-9);
    let e = |k: ErrorKind| stats.errors[k as usize];
    let errors = Errors {
        connect: e(ErrorKind::Connect),
        timeout: e(ErrorKind::Timeout),
        read: e(ErrorKind::Read),
        status: e(ErrorKind::Status),
        body: e(ErrorKind::Body),
        total: stats.error_count(),
    };
    let schedule = config.rate.map(|rate| {
        let mut scheduled = (config.duration.as_secs_f64() * rate).ceil() as u64;
        if let Some(cap) = config.max_requests {
            scheduled = scheduled.min(cap);
        }
        Schedule {
            rate,
            scheduled,
            sent: stats.sent,
            late: stats.late,
            late_after_us: LATE_AFTER.as_micros() as u64,
            unsent: scheduled.saturating_sub(stats.sent),
        }
    });
    let busy = worker_busy.iter().copied().fold(0.0, f64::max);
    let mut flags = Vec::new();
    if busy > CLIENT_BOUND_BUSY {
        flags.push(Flag::ClientBound);
    }
    if let Some(s) = &schedule
        && (s.late + s.unsent) * 100 > s.scheduled
    {
        flags.push(Flag::ScheduleSlipped);
    }
    if errors.total > 0 {
        flags.push(Flag::Errors);
    }
    let latency_us = Percentiles::of(&stats.latency);
    // Only beside answered requests: a server that answers nothing fails
    // the run otherwise (timeouts, errors).
    if !stats.latency.is_empty()
        && oldest_unfinished.is_some_and(|age| unserved(age, latency_us.max))
    {
        flags.push(Flag::Unserved);
    }
    let cpu_s = (user + sys).as_secs_f64();
    Ok(Report {
        version: REPORT_VERSION,
        url: config.url.clone(),
        scenario: config.scenario.clone(),
        mode: if config.rate.is_some() {
            Mode::Open
        } else {
            Mode::Closed
        },
        connections: config.connections,
        threads: plan.threads,
        timeout_s: config.timeout.as_secs_f64(),
        duration_s: round3(duration_s),
        rps: round3(stats.ok as f64 / duration_s),
        requests: stats.finished,
        ok: stats.ok,
        sent: stats.sent,
        unfinished: stats.sent.saturating_sub(stats.finished),
        unfinished_oldest_s: oldest_unfinished.map(|age| round3(age.as_secs_f64())),
        connects: stats.connects,
        bytes_read: stats.bytes,
        errors,
        status: stats::status_map(&stats.status),
        latency_us,
        latency_us_uncorrected: stats.uncorrected.as_ref().map(Percentiles::of),
        schedule,
        client_cpu: ClientCpu {
            user_s: round3(user.as_secs_f64()),
            system_s: round3(sys.as_secs_f64()),
            per_request_us: round3(cpu_s * 1e6 / (stats.finished.max(1)) as f64),
            busy: round3(busy),
            worker_busy,
        },
        flags,
        start_late_us: None,
        histogram: EncodedHistogram::encode(&stats.latency)?,
        histogram_uncorrected: stats
            .uncorrected
            .as_ref()
            .map(EncodedHistogram::encode)
            .transpose()?,
        samples: stats.samples,
    })
}

/// Whether a request unanswered for `age` was left unserved, where the
/// slowest answered one took `slowest_us`.
fn unserved(age: Duration, slowest_us: u64) -> bool {
    age > UNSERVED_AFTER && age.as_secs_f64() * 1e6 > UNSERVED_FACTOR * slowest_us as f64
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Report {
    /// One report of the load several agents put on one target together
    /// (each its share of the connections, from its own host): counts and
    /// rates add up, latency comes from the merged histograms, exactly, as
    /// if one generator had recorded every response; the client's CPU is
    /// theirs together, its busiest thread the busiest of all. `None` for
    /// no report.
    pub fn merge(agents: &[Self]) -> Result<Option<Self>, LoadError> {
        let Some(first) = agents.first() else {
            return Ok(None);
        };
        let sum = |f: fn(&Self) -> u64| agents.iter().map(f).sum::<u64>();
        let histogram = stats::merge_histograms(agents.iter().map(|r| &r.histogram))?;
        let uncorrected = if agents.iter().all(|r| r.histogram_uncorrected.is_some()) {
            let h = stats::merge_histograms(
                agents
                    .iter()
                    .filter_map(|r| r.histogram_uncorrected.as_ref()),
            )?;
            Some(h)
        } else {
            None
        };
        let mut status: BTreeMap<String, u64> = BTreeMap::new();
        let mut flags: Vec<Flag> = Vec::new();
        let mut errors = Errors::default();
        for r in agents {
            for (code, n) in &r.status {
                *status.entry(code.clone()).or_insert(0) += n;
            }
            for &f in &r.flags {
                if !flags.contains(&f) {
                    flags.push(f);
                }
            }
            let e = r.errors;
            errors = Errors {
                connect: errors.connect + e.connect,
                timeout: errors.timeout + e.timeout,
                read: errors.read + e.read,
                status: errors.status + e.status,
                body: errors.body + e.body,
                total: errors.total + e.total,
            };
        }
        let requests = sum(|r| r.requests);
        let (user_s, system_s) = agents.iter().fold((0.0, 0.0), |(u, s), r| {
            (u + r.client_cpu.user_s, s + r.client_cpu.system_s)
        });
        let client_cpu = ClientCpu {
            user_s,
            system_s,
            per_request_us: if requests == 0 {
                0.0
            } else {
                (user_s + system_s) * 1e6 / requests as f64
            },
            busy: agents.iter().map(|r| r.client_cpu.busy).fold(0.0, f64::max),
            worker_busy: agents
                .iter()
                .flat_map(|r| r.client_cpu.worker_busy.iter().copied())
                .collect(),
        };
        Ok(Some(Self {
            version: first.version,
            url: first.url.clone(),
            scenario: first.scenario.clone(),
            mode: first.mode,
            connections: agents.iter().map(|r| r.connections).sum(),
            threads: agents.iter().map(|r| r.threads).sum(),
            timeout_s: first.timeout_s,
            duration_s: agents.iter().map(|r| r.duration_s).fold(0.0, f64::max),
            rps: agents.iter().map(|r| r.rps).sum(),
            requests,
            ok: sum(|r| r.ok),
            sent: sum(|r| r.sent),
            unfinished: sum(|r| r.unfinished),
            unfinished_oldest_s: agents
                .iter()
                .filter_map(|r| r.unfinished_oldest_s)
                .reduce(f64::max),
            connects: sum(|r| r.connects),
            bytes_read: sum(|r| r.bytes_read),
            errors,
            status,
            latency_us: Percentiles::of(&histogram),
            latency_us_uncorrected: uncorrected.as_ref().map(Percentiles::of),
            schedule: merge_schedules(agents),
            client_cpu,
            flags,
            // The latest agent's lateness.
            start_late_us: agents.iter().filter_map(|r| r.start_late_us).max(),
            histogram: EncodedHistogram::encode(&histogram)?,
            histogram_uncorrected: uncorrected
                .as_ref()
                .map(EncodedHistogram::encode)
                .transpose()?,
            samples: None,
        }))
    }
}

/// The agents' open-loop schedules as one: rates and counts add up.
fn merge_schedules(agents: &[Report]) -> Option<Schedule> {
    let all: Vec<Schedule> = agents.iter().filter_map(|r| r.schedule).collect();
    let first = all.first()?;
    Some(Schedule {
        rate: all.iter().map(|s| s.rate).sum(),
        scheduled: all.iter().map(|s| s.scheduled).sum(),
        sent: all.iter().map(|s| s.sent).sum(),
        late: all.iter().map(|s| s.late).sum(),
        late_after_us: first.late_after_us,
        unsent: all.iter().map(|s| s.unsent).sum(),
    })
}
