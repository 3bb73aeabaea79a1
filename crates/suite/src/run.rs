//! The flow of `bookbench run`: for each target, start it pinned, wait until
//! ready, verify it, then for each scenario and concurrency measure repeats,
//! each a warm-up then a window on the same connections, attributing CPU
//! time; stop it and its whole process group. Results are written after
//! every point, so an interrupted run leaves what it measured, marked
//! partial.
//!
//! Slow points are where a naive harness lies:
//! - A window shorter than the time a response takes counts nothing. In a
//!   closed loop a response takes connections / throughput on average
//!   (Little's law), so each repeat's warm-up lasts that long, from the last
//!   repeat's throughput, and its window starts in a steady state.
//! - When a load stops, the target still serves what it had accepted, and
//!   the database still runs those queries: each repeat waits until the
//!   target answers its readiness path and the database is idle.
//! - A concurrency at which responses would wait past the timeout is not
//!   measured (the report says why) rather than measured as timeouts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bookbench_load::{IdSpace, LoadConfig, Percentiles, Report};
use tokio_postgres::Client;

use crate::cpu::{self, Usage};
use crate::process::{self, Output, Running};
use crate::results::{
    Config, Env, Flag, Latency, Point, Repeat, Results, TargetOutcome, TargetStatus,
};
use crate::targets::{Placeholders, Target};
use crate::{Error, report};

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub preset: String,
    pub targets: Vec<Target>,
    pub scenarios: Vec<String>,
    pub concurrency: Vec<u32>,
    pub duration: Duration,
    /// Before each repeat's window, on the same connections.
    pub warmup: Duration,
    pub repeat: u32,
    pub rate: Option<f64>,
    /// Per request: a slower answer is a timeout error.
    pub timeout: Duration,
    pub out: PathBuf,
    /// `{port}` is chosen per target.
    pub placeholders: Placeholders,
    pub ids: IdSpace,
    pub env: Env,
}

/// Told what the run does now.
pub trait Observer {
    fn target(&mut self, name: &str, status: &str);
    /// A point starts: `done` of `total` points are behind.
    fn point(&mut self, target: &str, scenario: &str, concurrency: u32, done: usize, total: usize);
}

/// Scenarios that touch no data: everything else must reach the database.
const NO_DATABASE: &[&str] = &["hello-get", "hello-post"];

/// Runs the suite, writing `results.json`, `summary.md` and `report.html` to
/// `config.out`.
pub async fn run(config: &RunConfig, observer: &mut dyn Observer) -> Result<Results, Error> {
    std::fs::create_dir_all(config.out.join("logs"))
        .map_err(|e| Error::io(format!("cannot create {}", config.out.display()), e))?;
    process::install_interrupt_handler();
    let db = connect(&config.placeholders.database_url).await?;
    let counter = StatementCounter::new(&db).await;
    let session = Session {
        config,
        db,
        counter,
    };

    let mut results = Results {
        version: crate::results::RESULTS_VERSION,
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
            repeat: config.repeat,
            rate: config.rate,
            timeout_s: Some(config.timeout.as_secs_f64()),
        },
        targets: Vec::new(),
        runs: Vec::new(),
    };
    if let Some(first) = config.targets.first() {
        results.env.client_cpus = client_cpus(&first.cpus);
    }
    let points = config.scenarios.len() * config.concurrency.len();
    let mut progress = Progress {
        observer,
        done: 0,
        total: config.targets.len() * points,
    };
    for (i, target) in config.targets.iter().enumerate() {
        if process::interrupted() {
            break;
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
        };
        match measure_target(&session, target, &mut outcome, &mut results, &mut progress).await {
            Ok(()) => progress.target(&target.name, "measured"),
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
        // Points given up or never reached count as done.
        progress.done = (i + 1) * points;
        results.targets.push(outcome);
        write_all(config, &results)?;
    }
    results.partial = process::interrupted();
    results.finished_at = Some(now());
    write_all(config, &results)?;
    if process::interrupted() {
        return Err(Error::Interrupted);
    }
    Ok(results)
}

/// What every target's measurement shares: the run's settings and its
/// connection to the database.
struct Session<'a> {
    config: &'a RunConfig,
    db: Client,
    counter: StatementCounter,
}

/// The observer, and how many points are behind.
struct Progress<'o> {
    observer: &'o mut dyn Observer,
    done: usize,
    total: usize,
}

impl Progress<'_> {
    fn target(&mut self, name: &str, status: &str) {
        self.observer.target(name, status);
    }

    fn point(&mut self, target: &str, scenario: &str, concurrency: u32) {
        self.observer
            .point(target, scenario, concurrency, self.done, self.total);
        self.done += 1;
    }
}

/// Sets the target up, measures every point of it into `results` and
/// `outcome`, and stops it (also on an error: [`Running`] stops its target
/// when dropped).
async fn measure_target(
    session: &Session<'_>,
    target: &Target,
    outcome: &mut TargetOutcome,
    results: &mut Results,
    progress: &mut Progress<'_>,
) -> Result<(), Error> {
    let mut run = TargetRun::start(session, target, progress).await?;
    progress.target(&target.name, "verifying");
    outcome.verify = crate::verify::verify(&run.base).await?;
    if let Some(failed) = outcome.verify.iter().find(|c| c.failure.is_some()) {
        return Err(Error::Verify {
            check: failed.name.clone(),
            message: failed.failure.clone().unwrap_or_default(),
        });
    }
    pin_client_away_from(&target.cpus);
    for scenario in &session.config.scenarios {
        run.measure_scenario(scenario, outcome, results, progress)
            .await?;
    }
    run.running.stop();
    Ok(())
}

/// One target, started, and what its measurement carries from point to
/// point.
struct TargetRun<'a> {
    session: &'a Session<'a>,
    target: &'a Target,
    /// `http://127.0.0.1:PORT`.
    base: String,
    ready_url: String,
    running: Running,
    /// A JIT's long warm-up (`min_warmup_s`) is paid once, before the
    /// target's first point; the JIT stays warm for the points after it.
    jit_warmup: Duration,
}

impl<'a> TargetRun<'a> {
    /// Sets up the target's environment if it has one, starts it on a free
    /// port and waits until it is ready.
    async fn start(
        session: &'a Session<'a>,
        target: &'a Target,
        progress: &mut Progress<'_>,
    ) -> Result<Self, Error> {
        let config = session.config;
        let mut p = config.placeholders.clone();
        p.port = free_port()?;
        if let (Some(venv), None) = (&target.venv, target.unavailable(&p)) {
            progress.target(&target.name, &format!("setting up its environment {venv}"));
            crate::peers::setup(&p.home, &p.repo, venv, false).map_err(|e| {
                Error::Unavailable(format!(
                    "its environment {venv} cannot be set up: {}",
                    bookbench_errors::chain(&e)
                ))
            })?;
        }
        if let Some(why) = target.unavailable(&p) {
            return Err(Error::Unavailable(why));
        }
        let base = format!("http://127.0.0.1:{}", p.port);
        let ready_url = format!("{base}{}", target.ready);
        let log = config.out.join("logs").join(format!("{}.log", target.name));
        progress.target(&target.name, "starting");
        let mut running = Running::start(
            &target.command_line(&p),
            &target.process_env(&p),
            Output::Log(&log),
        )?;
        running
            .wait_ready(&ready_url, Duration::from_secs(target.ready_timeout_s))
            .await?;
        Ok(Self {
            session,
            target,
            base,
            ready_url,
            running,
            jit_warmup: Duration::from_secs_f64(target.min_warmup_s.unwrap_or(0.0)),
        })
    }

    /// Every concurrency level of `scenario`, in order, until one is beyond
    /// reach or fails.
    async fn measure_scenario(
        &mut self,
        scenario: &str,
        outcome: &mut TargetOutcome,
        results: &mut Results,
        progress: &mut Progress<'_>,
    ) -> Result<(), Error> {
        let config = self.session.config;
        let name = &self.target.name;
        // The last point of this scenario: its concurrency and requests per
        // second.
        let mut last: Option<(u32, f64)> = None;
        for (i, &concurrency) in config.concurrency.iter().enumerate() {
            if process::interrupted() {
                return Err(Error::Interrupted);
            }
            if let Some(why) = beyond_reach(config, last, concurrency) {
                give_up(outcome, scenario, &config.concurrency[i..], &why);
                return Ok(());
            }
            progress.point(name, scenario, concurrency);
            let fill = last.map_or(Duration::ZERO, |(_, rps)| {
                fill_time(config, concurrency, rps)
            });
            let measured = self.measure_point(scenario, concurrency, fill).await;
            self.jit_warmup = Duration::ZERO;
            if let Some(status) = self.running.exited() {
                return Err(Error::Target(format!(
                    "it died during {scenario} ({status})"
                )));
            }
            let point = match measured {
                Ok(point) => point,
                // The target lives: this scenario is given up, the rest go
                // on.
                Err(Error::Load(why)) => {
                    let why = bookbench_errors::chain(&why);
                    give_up(outcome, scenario, &config.concurrency[i..], &why);
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            last = Some((concurrency, point.rps));
            let failed =
                point.requests == 0 || point.errors.values().sum::<u64>() * 2 > point.requests;
            results.runs.push(Point {
                target: name.clone(),
                ..point
            });
            write_all(config, results)?;
            if failed && i + 1 < config.concurrency.len() {
                let why = format!("at c={concurrency} most requests failed or none ended");
                give_up(outcome, scenario, &config.concurrency[i + 1..], &why);
                return Ok(());
            }
        }
        Ok(())
    }

    /// One point: the repeats, each a warm-up then a window on the same
    /// connections, with CPU and statements counted over the window.
    async fn measure_point(
        &mut self,
        scenario: &str,
        concurrency: u32,
        fill: Duration,
    ) -> Result<Point, Error> {
        let config = self.session.config;
        let (db, counter) = (&self.session.db, &self.session.counter);
        let mut load = LoadConfig::scenario(&self.base, scenario).map_err(Error::Load)?;
        load.connections = concurrency;
        load.ids = Some(config.ids);
        load.rate = config.rate;
        load.timeout = config.timeout;
        let settle_limit = config.timeout + Duration::from_secs(30);
        let mut settled = true;
        if !self.jit_warmup.is_zero() {
            settled &= settle(&mut self.running, &self.ready_url, db, settle_limit).await;
            load.duration = self.jit_warmup;
            run_load(load.clone()).await?;
        }
        load.duration = config.duration;
        load.warmup = config.warmup.max(fill);
        let mut repeats = Vec::new();
        let mut reports = Vec::new();
        for _ in 0..config.repeat {
            if process::interrupted() {
                return Err(Error::Interrupted);
            }
            settled &= settle(&mut self.running, &self.ready_url, db, settle_limit).await;
            // CPU and statements are counted from the end of the warm-up,
            // while the load runs on.
            let warmup = load.warmup;
            let pgid = self.running.pgid();
            let window = async {
                tokio::time::sleep(warmup).await;
                let statements = counter.count(db).await;
                (statements, cpu::sample(pgid), Instant::now())
            };
            let (report, (statements_before, before, started)) =
                tokio::join!(run_load(load.clone()), window);
            let report = report?;
            let wall = started.elapsed().as_secs_f64();
            let usage = cpu::usage(before, cpu::sample(pgid), wall);
            let statements = match (statements_before, counter.count(db).await) {
                (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                _ => None,
            };
            repeats.push(Repeat {
                rps: report.rps,
                requests: report.requests,
                errors: report.errors.total,
                latency_us: latency(&report.latency_us),
                cpu: Usage {
                    client: report.client_cpu.busy.max(0.0) * 100.0,
                    ..usage
                },
                db_statements: statements,
                client_cpu_per_request_us: report.client_cpu.per_request_us,
                flags: report.flags.iter().copied().map(Flag::of_load).collect(),
            });
            load.warmup = config
                .warmup
                .max(fill_time(config, concurrency, report.rps));
            reports.push(report);
        }
        let mut point = summarise(scenario, concurrency, &repeats, &reports);
        if !settled {
            point.flags.push(Flag::NotSettled);
        }
        Ok(point)
    }
}

/// Notes in the target's outcome that `levels` of `scenario` were not
/// measured, and why.
fn give_up(outcome: &mut TargetOutcome, scenario: &str, levels: &[u32], why: &str) {
    let named: Vec<String> = levels.iter().map(|c| format!("c={c}")).collect();
    outcome.notes.push(format!(
        "{scenario}: {} not measured: {why}",
        named.join(", ")
    ));
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

/// Sessions of the database, other than this one, that are running a query.
const BUSY_BACKENDS: &str = "SELECT count(*) FROM pg_stat_activity \
     WHERE datname = current_database() AND backend_type = 'client backend' \
     AND state = 'active' AND pid <> pg_backend_pid()";

/// Waits until the target has served what the last load left it: it answers
/// its readiness path, and no other session of the database is busy three
/// polls in a row (a sync worker's database is idle for an instant between
/// two requests). False if that did not happen within `limit`.
async fn settle(running: &mut Running, ready_url: &str, db: &Client, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    if running.wait_ready(ready_url, limit).await.is_err() {
        return false;
    }
    let mut idle = 0;
    loop {
        let busy: i64 = match db.query_one(BUSY_BACKENDS, &[]).await {
            Ok(row) => row.get(0),
            Err(_) => return true,
        };
        idle = if busy == 0 { idle + 1 } else { 0 };
        if idle >= 3 {
            return true;
        }
        if Instant::now() >= until || process::interrupted() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The load engine blocks; it runs on its own threads.
async fn run_load(config: LoadConfig) -> Result<Report, Error> {
    tokio::task::spawn_blocking(move || bookbench_load::run(&config))
        .await
        .map_err(|e| Error::Target(format!("the load generator's thread failed: {e}")))?
        .map_err(Error::Load)
}

fn summarise(scenario: &str, concurrency: u32, repeats: &[Repeat], reports: &[Report]) -> Point {
    let rps: Vec<f64> = repeats.iter().map(|r| r.rps).collect();
    let merged = bookbench_load::merge_histograms(reports.iter().map(|r| &r.histogram)).ok();
    let latency_us = merged
        .as_ref()
        .map(|h| latency(&Percentiles::of(h)))
        .or_else(|| reports.first().map(|r| latency(&r.latency_us)))
        .unwrap_or_default();
    let histogram = merged
        .as_ref()
        .and_then(|h| bookbench_load::EncodedHistogram::encode(h).ok())
        .map(|e| e.data)
        .unwrap_or_default();
    let mut errors = BTreeMap::new();
    let mut status = BTreeMap::new();
    let mut flags: Vec<Flag> = Vec::new();
    let mut ok = 0;
    for r in reports {
        for (kind, n) in [
            ("connect", r.errors.connect),
            ("timeout", r.errors.timeout),
            ("read", r.errors.read),
            ("status", r.errors.status),
            ("body", r.errors.body),
        ] {
            if n > 0 {
                *errors.entry(kind.to_string()).or_insert(0) += n;
            }
        }
        for (code, n) in &r.status {
            *status.entry(code.clone()).or_insert(0) += n;
        }
        for &f in &r.flags {
            let f = Flag::of_load(f);
            if !flags.contains(&f) {
                flags.push(f);
            }
        }
        ok += r.ok;
    }
    let statements: Option<u64> = repeats.iter().map(|r| r.db_statements).sum();
    let per_request = statements.map(|s| if ok == 0 { 0.0 } else { s as f64 / ok as f64 });
    // With no successful request there is nothing to divide by.
    if !NO_DATABASE.contains(&scenario) && ok > 0 && per_request.is_some_and(|p| p < 0.9) {
        flags.push(Flag::NoDatabaseWork);
    }
    Point {
        target: String::new(),
        scenario: scenario.to_string(),
        concurrency,
        rps: median(rps.clone()),
        rps_min: rps.iter().copied().fold(f64::INFINITY, f64::min),
        rps_max: rps.iter().copied().fold(0.0, f64::max),
        latency_us,
        requests: reports.iter().map(|r| r.requests).sum(),
        errors,
        status,
        cpu: Usage {
            server: median(repeats.iter().map(|r| r.cpu.server).collect()),
            database: median(repeats.iter().map(|r| r.cpu.database).collect()),
            client: median(repeats.iter().map(|r| r.cpu.client).collect()),
        },
        db_statements_per_request: per_request,
        flags,
        repeats: repeats.to_vec(),
        histogram,
    }
}

/// The median; of an even count, the mean of the two middle values.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match (v.get(n / 2), n.checked_sub(1).and_then(|i| v.get(i / 2))) {
        (Some(&upper), Some(&lower)) if n.is_multiple_of(2) => f64::midpoint(lower, upper),
        (Some(&middle), _) => middle,
        _ => 0.0,
    }
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

/// Counts the statements PostgreSQL ran: pg_stat_statements when the server
/// has it (updated as each statement ends), else committed and rolled-back
/// transactions (reported with some delay).
struct StatementCounter {
    statements: bool,
}

const CREATE_PGSS: &str = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements";
const COUNT_STATEMENTS: &str = "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements \
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
const COUNT_TRANSACTIONS: &str = "SELECT (xact_commit + xact_rollback)::bigint \
     FROM pg_stat_database WHERE datname = current_database()";

impl StatementCounter {
    async fn new(db: &Client) -> Self {
        let statements = db.batch_execute(CREATE_PGSS).await.is_ok()
            && db.query_one(COUNT_STATEMENTS, &[]).await.is_ok();
        Self { statements }
    }

    async fn count(&self, db: &Client) -> Option<u64> {
        let sql = if self.statements {
            COUNT_STATEMENTS
        } else {
            COUNT_TRANSACTIONS
        };
        let n: i64 = db.query_one(sql, &[]).await.ok()?.get(0);
        u64::try_from(n).ok()
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

fn free_port() -> Result<u16, Error> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::io("no free port", e))
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn write_all(config: &RunConfig, results: &Results) -> Result<(), Error> {
    report::write(&config.out, results, true).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rate: Option<f64>) -> RunConfig {
        RunConfig {
            preset: "test".into(),
            targets: Vec::new(),
            scenarios: Vec::new(),
            concurrency: vec![10, 50, 200],
            duration: Duration::from_secs(3),
            warmup: Duration::from_secs(2),
            repeat: 2,
            rate,
            timeout: Duration::from_secs(30),
            out: PathBuf::new(),
            placeholders: Placeholders {
                bookbench: PathBuf::new(),
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
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![100_229.0, 90_460.0]), 95_344.5);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![7.0]), 7.0);
        assert_eq!(median(Vec::new()), 0.0);
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
