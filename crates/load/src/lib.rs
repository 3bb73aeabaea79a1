//! The load generator behind `bookbench load`.
//!
//! One keep-alive HTTP/1.1 connection per virtual user, a current-thread
//! runtime per worker thread, requests made from templates parsed before the
//! run. Closed loop (each user sends its next request when the last one is
//! answered, as wrk does) or open loop (requests due on a fixed schedule,
//! latency measured from the due time so that a stalled server cannot hide
//! behind the requests it kept from being sent, as wrk2 does). Latencies go
//! into one HdrHistogram per worker, merged at the end and serialized in the
//! V2 format so that runs merge exactly.
//!
//! ```no_run
//! let config = bookbench_load::LoadConfig::scenario("http://127.0.0.1:8080", "hello-get")?;
//! let report = bookbench_load::run(&config)?;
//! println!("{}", report.summary());
//! # Ok::<(), bookbench_load::LoadError>(())
//! ```

mod cpu;
mod engine;
mod scenario;
mod stats;
mod summary;
mod template;

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use http::HeaderValue;
use serde::{Deserialize, Serialize};

pub use engine::LATE_AFTER;
pub use scenario::{BodyCheck, RequestSpec, SCENARIOS, scenario};
pub use stats::{
    ENCODING, EncodedHistogram, ErrorKind, Percentiles, merge_histograms, new_histogram,
};
pub use template::{Expander, IdSpace, Template};

/// The version of the JSON report; bumped when a field changes meaning.
pub const REPORT_VERSION: u32 = 1;

/// Limits beyond which a setting is a mistake rather than a plan.
pub const MAX_CONNECTIONS: u32 = 1_000_000;
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
pub const MAX_RATE: f64 = 10_000_000.0;

/// File descriptors a run needs besides one per connection.
const SPARE_FDS: u64 = 64;

/// Everything that can stop a run from starting.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Config(String),
    #[error("template {0}")]
    Template(String),
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

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `http://host[:port][/path]`; request paths are appended to its path.
    pub url: String,
    /// The scenario's name, for the report.
    pub scenario: Option<String>,
    /// The request kinds, chosen at random by weight for every request.
    pub requests: Vec<RequestSpec>,
    /// Virtual users, each with its own connection.
    pub connections: u32,
    /// Worker threads, each with a current-thread runtime.
    pub threads: u32,
    /// Load on the same connections before the measured `duration`: what
    /// ends in it is not counted, and what it left in flight is, when it
    /// ends in the window. The window then starts in a steady state, which
    /// matters when responses take seconds.
    pub warmup: Duration,
    pub duration: Duration,
    /// Requests per second over all connections: an open-loop run. `None`:
    /// closed loop.
    pub rate: Option<f64>,
    /// Stop after this many requests (sent), or at the end of the duration.
    pub max_requests: Option<u64>,
    /// Per request, and per connection attempt.
    pub timeout: Duration,
    /// The data set that `{author_id}` and `{book_id}` draw from.
    pub ids: Option<IdSpace>,
    /// Check the URL with one `HEAD` request before starting.
    pub preflight: bool,
    /// Keep every latency (corrected, in microseconds) in the report's
    /// `samples`: for tests and short runs.
    pub record_samples: bool,
    /// Seeds the random choices (ids, integers, request kinds); `None` for a
    /// fresh seed.
    pub rng_seed: Option<u64>,
}

impl LoadConfig {
    /// A closed-loop run of `requests` with the defaults: 10 connections, 1
    /// thread, 10 s, a 10 s timeout.
    pub fn new(url: &str, requests: Vec<RequestSpec>) -> Self {
        Self {
            url: url.to_string(),
            scenario: None,
            requests,
            connections: 10,
            threads: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(10),
            rate: None,
            max_requests: None,
            timeout: Duration::from_secs(10),
            ids: None,
            preflight: true,
            record_samples: false,
            rng_seed: None,
        }
    }

    /// A named scenario of the benchmark against the server at `url`.
    pub fn scenario(url: &str, name: &str) -> Result<Self, LoadError> {
        let requests = scenario(name).ok_or_else(|| {
            LoadError::Config(format!(
                "unknown scenario '{name}'; scenarios: {}",
                SCENARIOS.join(", ")
            ))
        })?;
        Ok(Self {
            scenario: Some(name.to_string()),
            ..Self::new(url, requests)
        })
    }

    /// Whether the workload draws existing ids.
    pub fn needs_ids(&self) -> Result<bool, LoadError> {
        for r in &self.requests {
            if Template::parse(&r.path)?.needs_ids() {
                return Ok(true);
            }
            if let Some(b) = &r.body
                && Template::parse(b)?.needs_ids()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn validate(&self) -> Result<(), LoadError> {
        let bad = |s: String| Err(LoadError::Config(s));
        if self.connections == 0 {
            return bad("connections must be at least 1".into());
        }
        if self.connections > MAX_CONNECTIONS {
            return bad(format!(
                "{} connections is more than the {MAX_CONNECTIONS} a run can have",
                self.connections
            ));
        }
        if self.threads == 0 {
            return bad("threads must be at least 1".into());
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return bad(format!(
                "the duration must be more than 0 and at most 24 h, not {:?}",
                self.duration
            ));
        }
        if self.warmup > MAX_DURATION {
            return bad(format!(
                "the warm-up must be at most 24 h, not {:?}",
                self.warmup
            ));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return bad(format!(
                "the timeout must be more than 0 and at most 1 h, not {:?}",
                self.timeout
            ));
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE)
        {
            return bad(format!(
                "the rate must be more than 0 and at most {MAX_RATE} requests per second, not {rate}"
            ));
        }
        if self.max_requests == Some(0) {
            return bad("the request count must be at least 1".into());
        }
        if self.requests.is_empty() {
            return bad("no request to send".into());
        }
        if self.requests.iter().all(|r| r.weight == 0) {
            return bad("every request kind has weight 0".into());
        }
        if let Some(ids) = self.ids
            && (ids.authors == 0 || ids.books == 0)
        {
            return bad("the data set has no authors or no books to draw ids from".into());
        }
        Ok(())
    }
}

/// Parses a duration: `10s`, `500ms`, `2m`, `1h`, `1.5s`, or a plain number
/// of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, LoadError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = |why: &str| LoadError::Config(format!("'{text}' is not a valid duration: {why}"));
    let n: f64 = number
        .parse()
        .map_err(|_| bad("expected a number and a unit, as in 10s, 500ms, 2m"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1_000.0,
        "us" => n / 1_000_000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3_600.0,
        u => return Err(bad(&format!("unknown unit '{u}' (use ms, s, m or h)"))),
    };
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(bad("it must be more than 0"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| bad("too long"))
}

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
    /// `client-bound` (a worker over 90% busy: the figures measure the
    /// client), `schedule-slipped` (over 1% of an open-loop run's requests
    /// late or never sent), `errors` (any error).
    pub flags: Vec<String>,
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

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// A worker busier than this makes the run client-bound.
pub const CLIENT_BOUND_BUSY: f64 = 0.9;

/// One line of progress, every second.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// Since the start.
    pub elapsed: Duration,
    /// Successful requests and errors in the last second.
    pub ok: u64,
    pub errors: u64,
    /// The process's CPU time in the last second over the threads' time.
    pub cpu_busy: f64,
}

/// Runs the load and returns its report.
pub fn run(config: &LoadConfig) -> Result<Report, LoadError> {
    run_with(config, |_| {})
}

/// Runs the load, calling `on_tick` once when the run starts (with
/// `elapsed` zero) and then about once a second.
pub fn run_with(config: &LoadConfig, mut on_tick: impl FnMut(&Tick)) -> Result<Report, LoadError> {
    config.validate()?;
    let target = target(&config.url)?;
    let kinds = config
        .requests
        .iter()
        .map(|r| engine::Kind::compile(r, &target))
        .collect::<Result<Vec<_>, _>>()?;
    if kinds.iter().any(engine::Kind::needs_ids) && config.ids.is_none() {
        return Err(LoadError::NeedIds);
    }
    let needed = u64::from(config.connections) + SPARE_FDS;
    let limit = cpu::ensure_fd_limit(needed);
    if limit < needed {
        return Err(LoadError::FileLimit {
            connections: config.connections,
            needed,
            limit,
        });
    }
    if config.preflight {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LoadError::Runtime)?;
        let local = tokio::task::LocalSet::new();
        rt.block_on(local.run_until(engine::preflight(&target, config.timeout)))?;
    }
    let threads = config.threads.min(config.connections);
    let plan = Arc::new(engine::Plan {
        target,
        kinds,
        connections: config.connections,
        threads,
        warmup: config.warmup,
        duration: config.duration,
        interval_s: config.rate.map(|r| 1.0 / r),
        timeout: config.timeout,
        cap: config.max_requests,
        claimed: AtomicU64::new(0),
        ids: config.ids,
        rng_seed: config.rng_seed.unwrap_or_else(|| fastrand::u64(..)),
        record_samples: config.record_samples,
        live: (0..threads).map(|_| engine::Live::default()).collect(),
    });

    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let (done_tx, done_rx) = mpsc::channel();
    let mut handles = Vec::new();
    for w in 0..threads {
        let plan = Arc::clone(&plan);
        let gate = Arc::clone(&barrier);
        let done = done_tx.clone();
        let h = std::thread::Builder::new()
            .name(format!("load-{w}"))
            .spawn(move || {
                let r = engine::worker(&plan, w, &gate);
                let _ = done.send(());
                r
            });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                // The started workers wait at the barrier; let them go (they
                // finish after the duration) and report the failure.
                for _ in handles.len()..threads as usize {
                    barrier.wait();
                }
                return Err(LoadError::Runtime(e));
            }
        }
    }
    drop(done_tx);
    barrier.wait();
    let start = Instant::now();
    let warm_end = start + config.warmup;
    // The process's CPU time from the end of the warm-up.
    let mut cpu_base = config.warmup.is_zero().then(cpu::process_cpu);
    let (user0, sys0) = cpu::process_cpu();
    on_tick(&Tick {
        elapsed: Duration::ZERO,
        ok: 0,
        errors: 0,
        cpu_busy: 0.0,
    });

    // Ticks while the workers run.
    let mut finished = 0;
    let mut last = (0u64, 0u64, user0 + sys0);
    let mut next = start + Duration::from_secs(1);
    while finished < threads {
        let now = Instant::now();
        if cpu_base.is_none() && now >= warm_end {
            cpu_base = Some(cpu::process_cpu());
        }
        if now >= next {
            let ok: u64 = plan.live.iter().map(|l| l.ok.load(Ordering::Relaxed)).sum();
            let errors: u64 = plan
                .live
                .iter()
                .map(|l| l.errors.load(Ordering::Relaxed))
                .sum();
            let (u, s) = cpu::process_cpu();
            let cpu = u + s;
            on_tick(&Tick {
                elapsed: now - start,
                ok: ok - last.0,
                errors: errors - last.1,
                cpu_busy: (cpu.saturating_sub(last.2)).as_secs_f64() / f64::from(threads),
            });
            last = (ok, errors, cpu);
            next += Duration::from_secs(1);
            continue;
        }
        let wake = if cpu_base.is_none() {
            next.min(warm_end)
        } else {
            next
        };
        match done_rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(()) => finished += 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let mut results = Vec::new();
    for h in handles {
        match h.join() {
            Ok(r) => results.push(r?),
            Err(_) => return Err(LoadError::Config("a worker thread panicked".to_string())),
        }
    }
    let (user1, sys1) = cpu::process_cpu();
    let (user0, sys0) = cpu_base.unwrap_or((user0, sys0));
    let wall = start
        .elapsed()
        .saturating_sub(config.warmup)
        .min(config.duration);
    report(
        config,
        &plan,
        results,
        wall,
        (user1.saturating_sub(user0), sys1.saturating_sub(sys0)),
    )
}

fn report(
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
    for r in results {
        worker_busy.push(round3(worker_busy_of(&r)));
        window = window.max(r.wall);
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
        flags.push("client-bound".to_string());
    }
    if let Some(s) = &schedule
        && (s.late + s.unsent) * 100 > s.scheduled
    {
        flags.push("schedule-slipped".to_string());
    }
    if errors.total > 0 {
        flags.push("errors".to_string());
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
        connects: stats.connects,
        bytes_read: stats.bytes,
        errors,
        status: stats::status_map(&stats.status),
        latency_us: Percentiles::of(&stats.latency),
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
        histogram: EncodedHistogram::encode(&stats.latency)?,
        histogram_uncorrected: stats
            .uncorrected
            .as_ref()
            .map(EncodedHistogram::encode)
            .transpose()?,
        samples: stats.samples,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Parses the URL and resolves its host once.
fn target(url: &str) -> Result<engine::Target, LoadError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        LoadError::Url(format!(
            "'{url}' is not a valid URL ({e}); expected http://HOST[:PORT][/PATH]"
        ))
    })?;
    match parsed.scheme() {
        "http" => {}
        "https" => {
            return Err(LoadError::Url(
                "https is not supported: the load generator speaks plain HTTP/1.1".to_string(),
            ));
        }
        s => {
            return Err(LoadError::Url(format!(
                "'{url}': the scheme must be http, not '{s}'"
            )));
        }
    }
    if parsed.query().is_some() {
        return Err(LoadError::Url(format!(
            "'{url}': put the query in the request path, not in the URL"
        )));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| LoadError::Url(format!("'{url}' names no host")))?
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let lookup = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (lookup, port)
        .to_socket_addrs()
        .map_err(|cause| LoadError::Resolve {
            host: host.clone(),
            cause,
        })?
        .next()
        .ok_or_else(|| LoadError::Resolve {
            host: host.clone(),
            cause: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        })?;
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let host_header = HeaderValue::from_str(&authority)
        .map_err(|_| LoadError::Url(format!("'{url}': the host is not a valid header value")))?;
    Ok(engine::Target {
        addr,
        host: host_header,
        base_path: parsed.path().trim_end_matches('/').to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_nonsense_is_refused() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        for bad in ["-5s", "0", "abc", "10 parsecs", "1e400s", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_checked() {
        let t = target("http://127.0.0.1:8080/api/").unwrap();
        assert_eq!(t.base_path, "/api");
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(target("http://127.0.0.1").unwrap().addr.port(), 80);
        assert!(
            target("https://127.0.0.1")
                .unwrap_err()
                .to_string()
                .contains("https")
        );
        assert!(target("127.0.0.1:80").is_err());
        assert!(target("http://127.0.0.1/?a=1").is_err());
    }
}
