//! The flow of `bookbench run`: start every target pinned and verify it,
//! then for each scenario and concurrency measure the targets in
//! interleaved rounds (`point`), each window a warm-up then a
//! measurement on the same connections, attributing CPU time; stop every
//! target and its whole process group. The results, as they grow, go to
//! the caller's [`Sink`] after every target started and every round
//! measured, so that an interrupted run leaves what it measured, marked
//! partial; measuring never renders them.
//!
//! Targets stay started for the whole run, idle while the others are
//! measured: a target's CPU during another's window is recorded, and a
//! window during which a neighbour was busy is flagged.
//!
//! Slow points are where a naive harness lies:
//! - A window shorter than the time a response takes counts nothing. In a
//!   closed loop a response takes connections / throughput on average
//!   (Little's law), so each window's warm-up lasts that long, from the
//!   target's last throughput, and its window starts in a steady state.
//! - When a load stops, the target still serves what it had accepted, and
//!   the database still runs those queries: each window waits until the
//!   target answers its readiness path and the database is idle.
//! - A concurrency at which responses would wait past the timeout is not
//!   measured (the report says why) rather than measured as timeouts.

mod counter;
mod load;
mod point;
mod relay;
mod target;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use bookbench_load::{IdSpace, Percentiles};
use bookbench_results::RoundTrip;
use tokio_postgres::Client;

use self::counter::StatementCounter;
use self::relay::DbRelay;
use self::target::TargetRun;
use crate::hosts::{ClockOffset, Host};
use crate::placeholders::Placeholders;
use crate::targets::Target;
use crate::{Error, process};
use bookbench_results::{At, Config, Env, Latency, Results, Rounds, TargetOutcome, TargetStatus};

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub preset: String,
    pub targets: Vec<Target>,
    pub scenarios: Vec<String>,
    /// What the scenarios name: built in, or read from files.
    pub workloads: bookbench_load::Workloads,
    pub concurrency: Vec<u32>,
    /// The measured part of each window.
    pub duration: Duration,
    /// The least warm-up before each window, on the same connections.
    pub warmup: Duration,
    pub rounds: Rounds,
    /// The half-width asked of every ratio's interval (0.05: ±5%).
    pub precision: f64,
    /// The longest a point may take, all targets and rounds together.
    pub point_budget: Duration,
    /// The target every other is compared with (the first when `None`).
    pub baseline: Option<String>,
    /// Targets compared with another than the baseline.
    pub references: BTreeMap<String, String>,
    /// A ratio is faster or slower only beyond this fraction.
    pub noise_threshold: f64,
    /// A window with more steal than this (percent of a CPU) is disturbed.
    pub steal_threshold: f64,
    /// Seeds each round's order.
    pub seed: u64,
    pub rate: Option<f64>,
    /// Round trips between the targets and the database, each an axis
    /// value like concurrency; empty: the targets connect directly.
    pub db_latency: Vec<RoundTrip>,
    /// Where the targets run; this machine's loopback when `None`.
    pub app_host: Option<AppHost>,
    /// Per request: a slower answer is a timeout error.
    pub timeout: Duration,
    pub out: PathBuf,
    /// `{port}` is chosen per target.
    pub placeholders: Placeholders,
    pub ids: IdSpace,
    pub env: Env,
}

impl RunConfig {
    /// The baseline's name: the one asked for, else the first target.
    pub fn baseline_name(&self) -> Option<&str> {
        self.baseline
            .as_deref()
            .or_else(|| self.targets.first().map(|t| t.name.as_str()))
    }

    /// Which target `name` is compared with.
    pub fn reference_of(&self, name: &str) -> Option<&str> {
        self.references
            .get(name)
            .map(String::as_str)
            .or_else(|| self.baseline_name())
    }
}

/// A host the targets run on, other than this machine's loopback: a
/// namespace of the lab, or a host of a hosts file (docs/hosts.md).
#[derive(Debug, Clone)]
pub struct AppHost {
    /// Its name (recorded with each target), prefix, address (targets
    /// listen on it; verify and load go to it) and placeholders.
    pub host: Host,
    /// This machine's address as the host reaches it: the relay to the
    /// database listens there (the database listens on loopback only).
    pub gateway: IpAddr,
    /// The client hosts: `verify` runs on the first, and the load on each
    /// (an agent each, the connections shared out); this machine when
    /// empty.
    pub clients: Vec<ClientHost>,
    /// A host for proxies: a target run behind one has it there, in front
    /// of its instances on the app host. Without it, on the app host.
    pub proxy: Option<Host>,
}

/// A client host, and how its load agent runs there.
#[derive(Debug, Clone)]
pub enum ClientHost {
    /// A namespace of this machine (the lab's): the agent is a thread of
    /// the suite that entered it.
    Namespace(String),
    /// Any host: the agent is `bookbench load` started there through the
    /// host's prefix, at an instant given on the host's clock, its JSON
    /// report read back.
    Agent { host: Host, clock: ClockOffset },
}

impl ClientHost {
    pub fn name(&self) -> &str {
        match self {
            Self::Namespace(ns) => ns,
            Self::Agent { host, .. } => &host.name,
        }
    }
}

/// Where `target`'s proxy runs when it has one and the run has a proxy
/// host; `None` puts it on the target's own host.
pub(crate) fn proxy_host<'c>(config: &'c RunConfig, target: &Target) -> Option<&'c Host> {
    target
        .proxy
        .and(config.app_host.as_ref())
        .and_then(|h| h.proxy.as_ref())
}

/// Told what the run does now.
pub trait Observer {
    fn target(&mut self, name: &str, status: &str);
    /// A point starts: `done` of `total` points are behind.
    fn point(&mut self, at: &At<'_>, done: usize, total: usize);
    /// A round of the current point starts (from 0).
    fn round(&mut self, at: &At<'_>, round: u32);
}

/// Where a run's results go as they grow: handed whole after every target
/// started and every round measured, and once more when the run ends
/// (`partial` false then unless it was interrupted or failed). The CLI's
/// writes `results.json` and renders the report from it.
pub trait Sink {
    /// Keeps `results`; an error stops the run.
    fn save(&mut self, results: &Results) -> Result<(), SinkError>;
}

/// Why a sink could not keep the results.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Scenarios that touch no data: everything else must reach the database.
const NO_DATABASE: &[&str] = &["hello-get", "hello-post"];

/// Runs the suite, handing the results to `sink` as they grow; the
/// targets' logs go to `config.out`'s `logs/`.
pub async fn run(
    config: &RunConfig,
    observer: &mut dyn Observer,
    sink: &mut dyn Sink,
) -> Result<Results, Error> {
    std::fs::create_dir_all(config.out.join("logs"))
        .map_err(|e| Error::io(format!("cannot create {}", config.out.display()), e))?;
    process::install_interrupt_handler();
    let db = connect(&config.placeholders.database_url).await?;
    let counter = StatementCounter::new(&db).await;
    // On another host the targets reach the database through the relay
    // (at 0 ms without --db-latency), listening where the host can reach it.
    let mut relay = match (&config.app_host, config.db_latency.is_empty()) {
        (None, true) => None,
        (host, _) => Some(DbRelay::start(
            &config.placeholders.bookbench,
            &config.placeholders.database_url,
            SocketAddr::new(
                host.as_ref()
                    .map_or(IpAddr::from([127, 0, 0, 1]), |h| h.gateway),
                0,
            ),
            &config.out.join("logs").join("relay.log"),
        )?),
    };
    let session = Session {
        config,
        db,
        counter,
        target_database_url: relay.as_ref().map_or_else(
            || config.placeholders.database_url.clone(),
            |r| r.database_url().to_string(),
        ),
        relay_pgid: relay.as_ref().map(DbRelay::pgid),
    };
    let mut results = Results {
        version: bookbench_results::RESULTS_VERSION,
        partial: true,
        started_at: now(),
        finished_at: None,
        env: config.env.clone(),
        config: Config {
            preset: config.preset.clone(),
            scenarios: config.scenarios.clone(),
            concurrency: config.concurrency.clone(),
            duration_s: config.duration.as_secs_f64(),
            warmup_s: config.warmup.as_secs_f64(),
            rounds: config.rounds,
            precision: config.precision,
            point_budget_s: config.point_budget.as_secs_f64(),
            baseline: config.baseline_name().map(str::to_string),
            references: config.references.clone(),
            noise_threshold: config.noise_threshold,
            steal_threshold: config.steal_threshold,
            seed: config.seed,
            interleaved: true,
            rate: config.rate,
            timeout_s: Some(config.timeout.as_secs_f64()),
            db_round_trips_us: config.db_latency.iter().map(|rt| rt.as_micros()).collect(),
        },
        targets: Vec::new(),
        runs: Vec::new(),
        cost_run: None,
        cost: Vec::new(),
    };
    let mut progress = Progress {
        observer,
        sink,
        done: 0,
        total: config.scenarios.len() * config.concurrency.len() * config.db_latency.len().max(1),
    };
    let measured = measure_all(&session, relay.as_mut(), &mut results, &mut progress).await;
    if let Some(relay) = relay {
        relay.stop();
    }
    results.partial = process::interrupted() || measured.is_err();
    results.finished_at = Some(now());
    progress.save(&results)?;
    measured?;
    if process::interrupted() {
        return Err(Error::Interrupted);
    }
    Ok(results)
}

/// Starts every target, then measures every point on those that started.
/// The targets stop when this returns, whatever it returns.
async fn measure_all(
    session: &Session<'_>,
    mut relay: Option<&mut DbRelay>,
    results: &mut Results,
    progress: &mut Progress<'_>,
) -> Result<(), Error> {
    let config = session.config;
    let mut live: Vec<TargetRun<'_>> = Vec::new();
    for (index, target) in config.targets.iter().enumerate() {
        if process::interrupted() {
            return Err(Error::Interrupted);
        }
        let mut outcome = TargetOutcome {
            name: target.name.clone(),
            description: target.description.clone(),
            workers: target.workers,
            cpus: target.cpus.clone(),
            status: TargetStatus::Measured,
            reason: None,
            notes: target.notes.clone(),
            verify: Vec::new(),
            rss_kib: None,
            host: config.app_host.as_ref().map(|h| h.host.name.clone()),
            proxy_host: proxy_host(config, target).map(|f| f.name.clone()),
        };
        match TargetRun::start(session, target, index, progress, &mut outcome.verify).await {
            Ok(run) => {
                progress.target(&target.name, "ready");
                // Read from this machine's /proc: not a remote host's.
                let remote = config
                    .app_host
                    .as_ref()
                    .is_some_and(|h| h.host.reach() == crate::hosts::Reach::Remote);
                outcome.rss_kib =
                    (!remote).then(|| run.pgids().into_iter().map(crate::cpu::group_rss_kib).sum());
                live.push(run);
            }
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) => {
                outcome.status = if matches!(e, Error::Unavailable(_)) {
                    TargetStatus::Skipped
                } else {
                    TargetStatus::Failed
                };
                let why = bookbench_errors::chain(&e);
                progress.target(&target.name, &format!("{}: {why}", outcome.status));
                outcome.reason = Some(why);
            }
        }
        results.targets.push(outcome);
        progress.save(results)?;
    }
    results.env.database_connections = session
        .db
        .query_one(CONNECTIONS, &[])
        .await
        .ok()
        .map(|row| row.get(0));
    results.env.database_address = relay::upstream_of(&config.placeholders.database_url)
        .ok()
        .map(|a| a.to_string());
    results.env.client_hosts = config
        .app_host
        .as_ref()
        .map(|h| h.clients.iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    results.env.client_clocks = config
        .app_host
        .iter()
        .flat_map(|h| &h.clients)
        .filter_map(|c| match c {
            ClientHost::Agent { host, clock } => Some(bookbench_results::ClientClock {
                host: host.name.clone(),
                offset_us: clock.offset_us,
                uncertainty_us: clock.uncertainty_us,
            }),
            ClientHost::Namespace(_) => None,
        })
        .collect();
    let target_cpus: Vec<usize> = live.iter().flat_map(|t| t.target.cpus.clone()).collect();
    results.env.client_cpus = client_cpus(&target_cpus);
    pin_client_away_from(&target_cpus);
    // The round trip is the outer axis: changing it is instant, and each
    // scenario's concurrency still rises within it (how far a target
    // reaches is judged from its last point).
    let round_trips: Vec<Option<RoundTrip>> = if config.db_latency.is_empty() {
        vec![None]
    } else {
        config.db_latency.iter().copied().map(Some).collect()
    };
    for round_trip in round_trips {
        if let (Some(rt), Some(relay)) = (round_trip, relay.as_deref_mut()) {
            relay.set(rt)?;
        }
        for scenario in &config.scenarios {
            for t in &mut live {
                t.last = None;
                t.given_up = false;
            }
            for &concurrency in &config.concurrency {
                let at = At {
                    scenario,
                    concurrency,
                    db_round_trip_us: round_trip.map(RoundTrip::as_micros),
                };
                progress.point(&at);
                if live.iter().all(|t| t.dead || t.given_up) {
                    continue;
                }
                point::measure(&mut live, at, results, progress).await?;
            }
        }
    }
    for t in live {
        let (name, dead) = (t.target.name.clone(), t.dead);
        t.stop();
        if !dead {
            progress.target(&name, "measured");
        }
    }
    Ok(())
}

/// Client connections to the database, this one included.
const CONNECTIONS: &str =
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'";

/// What every target's measurement shares: the run's settings and its
/// connection to the database.
struct Session<'a> {
    config: &'a RunConfig,
    db: Client,
    counter: StatementCounter,
    /// The run's database URL, or the relay's in front of it.
    target_database_url: String,
    /// The relay's process group, a party of its own in the CPU time.
    relay_pgid: Option<i32>,
}

/// The observer and the sink, and how many points are behind.
struct Progress<'o> {
    observer: &'o mut dyn Observer,
    sink: &'o mut dyn Sink,
    done: usize,
    total: usize,
}

impl Progress<'_> {
    fn target(&mut self, name: &str, status: &str) {
        self.observer.target(name, status);
    }

    fn point(&mut self, at: &At<'_>) {
        self.observer.point(at, self.done, self.total);
        self.done += 1;
    }

    fn round(&mut self, at: &At<'_>, round: u32) {
        self.observer.round(at, round);
    }

    fn save(&mut self, results: &Results) -> Result<(), Error> {
        self.sink.save(results).map_err(Error::Sink)
    }
}

/// Notes in the target's outcome that `levels` of the scenario of `at`
/// (at its database round trip) were not measured, and why.
fn give_up(results: &mut Results, index: usize, at: &At<'_>, levels: &[u32], why: &str) {
    let named: Vec<String> = levels.iter().map(|c| format!("c={c}")).collect();
    let round_trip = at
        .db_round_trip()
        .map(|rt| format!(" with the database {rt} away"))
        .unwrap_or_default();
    if let Some(outcome) = results.targets.get_mut(index) {
        outcome.notes.push(format!(
            "{}{round_trip}: {} not measured: {why}",
            at.scenario,
            named.join(", ")
        ));
    }
}

/// How long a closed loop of `concurrency` connections takes to fill at
/// `rps`: the mean response time (Little's law), at most the timeout.
fn fill_time(config: &RunConfig, concurrency: u32, rps: f64) -> Duration {
    if config.rate.is_some() {
        return Duration::ZERO;
    }
    if rps <= 0.0 {
        return config.timeout;
    }
    Duration::from_secs_f64((f64::from(concurrency) / rps).min(config.timeout.as_secs_f64()))
}

/// Why a point at `concurrency` would only measure timeouts, judged from
/// the scenario's last point: once the target is saturated, a closed loop's
/// mean response time is connections / throughput.
fn beyond_reach(config: &RunConfig, last: Option<(u32, f64)>, concurrency: u32) -> Option<String> {
    let (c, rps) = last?;
    if config.rate.is_some() || concurrency <= c {
        return None;
    }
    if rps <= 0.0 {
        return Some(format!("at c={c} no request ended within the window"));
    }
    // That is the mean; queued behind a saturated worker, a good share of
    // responses take twice as long, so half the timeout is the limit.
    let expected = f64::from(concurrency) / rps;
    (expected * 2.0 > config.timeout.as_secs_f64()).then(|| {
        format!(
            "at c={c} the target served {rps:.1} requests/s, so at c={concurrency} a response would take about {expected:.0} s on average, more than half the {:.0} s timeout",
            config.timeout.as_secs_f64()
        )
    })
}

fn latency(p: &Percentiles) -> Latency {
    Latency {
        p50: p.p50,
        p90: p.p90,
        p99: p.p99,
        p999: p.p999,
        max: p.max,
        mean: p.mean,
    }
}

/// Pins this process's load threads to the cores the target does not use.
fn pin_client_away_from(target_cpus: &[usize]) {
    use nix::sched::{CpuSet, sched_setaffinity};
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut set = CpuSet::new();
    let mut any = false;
    for c in (0..cores).filter(|c| !target_cpus.contains(c)) {
        any |= set.set(c).is_ok();
    }
    if any {
        // Threads started after this (the load workers) inherit it.
        let _ = sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// The cores the client uses when the target has `target_cpus`.
pub fn client_cpus(target_cpus: &[usize]) -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (0..cores).filter(|c| !target_cpus.contains(c)).collect()
}

async fn connect(url: &str) -> Result<Client, Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| Error::database("cannot connect", e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Ports this run handed out: a port is chosen free here, on this
/// machine, but a target on another host (a namespace of the lab, a
/// machine through ssh) binds it there, where this machine cannot see it,
/// so the kernel may offer the same one again. Two instances on one port
/// would pass each other's ready check while one of them had failed.
static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

/// A port free on this machine that no earlier call returned.
pub fn free_port() -> Result<u16, Error> {
    // A list of numbers is whole even if a holder panicked.
    let mut handed = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // The kernel picks at random among about 28,000: 64 repeats in a row
    // mean there is hardly any port left.
    for _ in 0..64 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| Error::io("no free port", e))?;
        if !handed.contains(&port) {
            handed.push(port);
            return Ok(port);
        }
    }
    Err(Error::Target(
        "no free port left that this run has not handed out already".to_string(),
    ))
}

/// Now, in UTC, as results record it: `2026-12-06T01:50:20Z`.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rate: Option<f64>) -> RunConfig {
        RunConfig {
            preset: "test".into(),
            targets: Vec::new(),
            scenarios: Vec::new(),
            workloads: bookbench_load::Workloads::default(),
            concurrency: vec![10, 50, 200],
            duration: Duration::from_secs(3),
            warmup: Duration::from_secs(2),
            rounds: Rounds { min: 2, max: 4 },
            precision: 0.05,
            point_budget: Duration::from_secs(60),
            baseline: None,
            references: BTreeMap::new(),
            noise_threshold: 0.02,
            steal_threshold: 20.0,
            seed: 1,
            rate,
            db_latency: Vec::new(),
            app_host: None,
            timeout: Duration::from_secs(30),
            out: PathBuf::new(),
            placeholders: Placeholders {
                bookbench: PathBuf::new(),
                address: String::new(),
                port: 0,
                database_url: String::new(),
                home: PathBuf::new(),
                repo: PathBuf::new(),
            },
            ids: IdSpace {
                seed: 0,
                authors: 1,
                books: 1,
            },
            env: Env::default(),
        }
    }

    #[test]
    fn free_ports_are_never_handed_out_twice_even_when_nothing_binds_them() {
        // 2,000 draws straight from the kernel repeat about a hundred times.
        let ports: Vec<u16> = (0..2000).map(|_| free_port().expect("a port")).collect();
        let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
    }

    #[test]
    fn a_closed_loop_fills_in_connections_over_throughput_at_most_the_timeout() {
        let c = config(None);
        assert_eq!(fill_time(&c, 50, 10.0), Duration::from_secs(5));
        assert_eq!(fill_time(&c, 200, 2.0), Duration::from_secs(30));
        assert_eq!(fill_time(&c, 10, 0.0), Duration::from_secs(30));
        assert_eq!(fill_time(&config(Some(100.0)), 10, 1.0), Duration::ZERO);
    }

    #[test]
    fn a_concurrency_whose_responses_would_wait_past_the_timeout_is_not_measured() {
        let c = config(None);
        assert_eq!(beyond_reach(&c, None, 10), None);
        // 50 connections at 5 requests/s: 10 s each, within half of 30 s.
        assert_eq!(beyond_reach(&c, Some((10, 5.0)), 50), None);
        let why = beyond_reach(&c, Some((10, 2.0)), 50).unwrap_or_default();
        assert!(
            why.contains("about 25 s on average, more than half the 30 s timeout"),
            "{why}"
        );
        let why = beyond_reach(&c, Some((10, 0.0)), 50).unwrap_or_default();
        assert!(why.contains("no request ended"), "{why}");
        // An open loop's latency does not grow with connections that way.
        assert_eq!(beyond_reach(&config(Some(5.0)), Some((50, 5.0)), 200), None);
    }
}
