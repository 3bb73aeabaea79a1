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
use crate::process::{self, Running};
use crate::results::{Config, Env, Latency, Point, Repeat, Results, TargetOutcome};
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
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", config.out.display())))?;
    process::install_interrupt_handler();
    let db = connect(&config.placeholders.database_url).await?;
    let counter = StatementCounter::new(&db).await;

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
    let total = config.targets.len() * config.scenarios.len() * config.concurrency.len();
    let mut done = 0;
    for target in &config.targets {
        if process::interrupted() {
            break;
        }
        let mut outcome = TargetOutcome {
            name: target.name.clone(),
            description: target.description.clone(),
            workers: target.workers,
            cpus: target.cpus.clone(),
            status: "measured".to_string(),
            reason: None,
            notes: target.notes.clone(),
            verify: Vec::new(),
        };
        let points = config.scenarios.len() * config.concurrency.len();
        match measure_target(
            config,
            target,
            &counter,
            &db,
            observer,
            &mut outcome,
            &mut results,
            done,
            total,
        )
        .await
        {
            Ok(()) => observer.target(&target.name, "measured"),
            Err(e) => {
                outcome.status = if matches!(e, Error::Unavailable(_)) {
                    "skipped"
                } else {
                    "failed"
                }
                .to_string();
                outcome.reason = Some(e.to_string());
                observer.target(&target.name, &format!("{}: {e}", outcome.status));
            }
        }
        done += points;
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

#[allow(clippy::too_many_arguments)]
async fn measure_target(
    config: &RunConfig,
    target: &Target,
    counter: &StatementCounter,
    db: &Client,
    observer: &mut dyn Observer,
    outcome: &mut TargetOutcome,
    results: &mut Results,
    done: usize,
    total: usize,
) -> Result<(), Error> {
    let mut p = config.placeholders.clone();
    p.port = free_port()?;
    if let (Some(venv), None) = (&target.venv, target.unavailable(&p)) {
        observer.target(&target.name, &format!("setting up its environment {venv}"));
        crate::peers::setup(&p.home, &p.repo, venv, false).map_err(|e| {
            Error::Unavailable(format!("its environment {venv} cannot be set up: {e}"))
        })?;
    }
    if let Some(why) = target.unavailable(&p) {
        return Err(Error::Unavailable(why));
    }
    let base = format!("http://127.0.0.1:{}", p.port);
    let log = config.out.join("logs").join(format!("{}.log", target.name));
    let env: Vec<(String, String)> = target
        .env
        .iter()
        .map(|(k, v)| (k.clone(), target.expand(v, &p)))
        .chain([
            ("DATABASE_URL".to_string(), p.database_url.clone()),
            ("PORT".to_string(), p.port.to_string()),
        ])
        .collect();
    observer.target(&target.name, "starting");
    let mut running = Running::start(&target.command_line(&p), &env, &log)?;
    let result = async {
        running
            .wait_ready(
                &format!("{base}{}", target.ready),
                Duration::from_secs(target.ready_timeout_s),
            )
            .await?;
        observer.target(&target.name, "verifying");
        outcome.verify = crate::verify::verify(&base).await?;
        if let Some(failed) = outcome.verify.iter().find(|c| c.failure.is_some()) {
            return Err(Error::Verify {
                check: failed.name.clone(),
                message: failed.failure.clone().unwrap_or_default(),
            });
        }
        pin_client_away_from(&target.cpus);
        // A JIT's long warm-up (min_warmup_s) is paid once, before the
        // target's first point; the JIT stays warm for the points after it.
        let mut jit_warmup = Duration::from_secs_f64(target.min_warmup_s.unwrap_or(0.0));
        let mut n = done;
        for scenario in &config.scenarios {
            // The last point of this scenario: its concurrency and
            // requests per second.
            let mut last: Option<(u32, f64)> = None;
            for (i, &concurrency) in config.concurrency.iter().enumerate() {
                if process::interrupted() {
                    return Err(Error::Interrupted);
                }
                if let Some(why) = beyond_reach(config, last, concurrency) {
                    n += give_up(outcome, scenario, &config.concurrency[i..], &why);
                    break;
                }
                observer.point(&target.name, scenario, concurrency, n, total);
                n += 1;
                let fill = last.map_or(Duration::ZERO, |(_, rps)| {
                    fill_time(config, concurrency, rps)
                });
                let measured = measure_point(
                    config,
                    (&base, &target.ready),
                    scenario,
                    concurrency,
                    (jit_warmup, fill),
                    &mut running,
                    counter,
                    db,
                )
                .await;
                jit_warmup = Duration::ZERO;
                if let Some(status) = running.exited() {
                    return Err(Error::Target(format!(
                        "it died during {scenario} ({status})"
                    )));
                }
                let point = match measured {
                    Ok(point) => point,
                    // The target lives: this scenario is given up, the rest
                    // go on.
                    Err(Error::Load(why)) => {
                        n += give_up(outcome, scenario, &config.concurrency[i..], &why) - 1;
                        break;
                    }
                    Err(e) => return Err(e),
                };
                last = Some((concurrency, point.rps));
                let failed =
                    point.requests == 0 || point.errors.values().sum::<u64>() * 2 > point.requests;
                results.runs.push(Point {
                    target: target.name.clone(),
                    ..point
                });
                write_all(config, results)?;
                if failed && i + 1 < config.concurrency.len() {
                    let why = format!("at c={concurrency} most requests failed or none ended");
                    n += give_up(outcome, scenario, &config.concurrency[i + 1..], &why);
                    break;
                }
            }
        }
        Ok(())
    }
    .await;
    running.stop();
    result
}

/// Notes in the target's outcome that `levels` of `scenario` were not
/// measured, and why; returns how many points that leaves out.
fn give_up(outcome: &mut TargetOutcome, scenario: &str, levels: &[u32], why: &str) -> usize {
    let named: Vec<String> = levels.iter().map(|c| format!("c={c}")).collect();
    outcome.notes.push(format!(
        "{scenario}: {} not measured: {why}",
        named.join(", ")
    ));
    levels.len()
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

#[allow(clippy::too_many_arguments)]
async fn measure_point(
    config: &RunConfig,
    (base, ready): (&str, &str),
    scenario: &str,
    concurrency: u32,
    (jit_warmup, fill): (Duration, Duration),
    running: &mut Running,
    counter: &StatementCounter,
    db: &Client,
) -> Result<Point, Error> {
    let mut load = LoadConfig::scenario(base, scenario).map_err(|e| Error::Usage(e.to_string()))?;
    load.connections = concurrency;
    load.ids = Some(config.ids);
    load.rate = config.rate;
    load.timeout = config.timeout;
    let ready_url = format!("{base}{ready}");
    let settle_limit = config.timeout + Duration::from_secs(30);
    let mut settled = true;
    if !jit_warmup.is_zero() {
        settled &= settle(running, &ready_url, db, settle_limit).await;
        load.duration = jit_warmup;
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
        settled &= settle(running, &ready_url, db, settle_limit).await;
        // CPU and statements are counted from the end of the warm-up,
        // while the load runs on.
        let warmup = load.warmup;
        let window = async {
            tokio::time::sleep(warmup).await;
            let statements = counter.count(db).await;
            (statements, cpu::sample(running.pgid()), Instant::now())
        };
        let (report, (statements_before, before, started)) =
            tokio::join!(run_load(load.clone()), window);
        let report = report?;
        let wall = started.elapsed().as_secs_f64();
        let usage = cpu::usage(before, cpu::sample(running.pgid()), wall);
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
            flags: report.flags.clone(),
        });
        load.warmup = config
            .warmup
            .max(fill_time(config, concurrency, report.rps));
        reports.push(report);
    }
    let mut point = summarise(scenario, concurrency, &repeats, &reports, counter.label());
    if !settled {
        point.flags.push("not-settled".to_string());
    }
    Ok(point)
}

/// The load engine blocks; it runs on its own threads.
async fn run_load(config: LoadConfig) -> Result<Report, Error> {
    tokio::task::spawn_blocking(move || bookbench_load::run(&config))
        .await
        .map_err(|e| Error::Target(e.to_string()))?
        .map_err(|e| Error::Load(e.to_string()))
}

fn summarise(
    scenario: &str,
    concurrency: u32,
    repeats: &[Repeat],
    reports: &[Report],
    counter: &str,
) -> Point {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let rps: Vec<f64> = repeats.iter().map(|r| r.rps).collect();
    let merged = bookbench_load::merge_histograms(reports.iter().map(|r| &r.histogram)).ok();
    let latency_us = merged
        .as_ref()
        .map(|h| latency(&Percentiles::of(h)))
        .unwrap_or_else(|| latency(&reports[0].latency_us));
    let histogram = merged
        .as_ref()
        .and_then(|h| bookbench_load::EncodedHistogram::encode(h).ok())
        .map(|e| e.data)
        .unwrap_or_default();
    let mut errors = BTreeMap::new();
    let mut status = BTreeMap::new();
    let mut flags: Vec<String> = Vec::new();
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
        for f in &r.flags {
            if !flags.contains(f) {
                flags.push(f.clone());
            }
        }
        ok += r.ok;
    }
    let statements: Option<u64> = repeats.iter().map(|r| r.db_statements).sum();
    let per_request = statements.map(|s| if ok == 0 { 0.0 } else { s as f64 / ok as f64 });
    // With no successful request there is nothing to divide by.
    if !NO_DATABASE.contains(&scenario) && ok > 0 && per_request.is_some_and(|p| p < 0.9) {
        flags.push("no-database-work".to_string());
    }
    let _ = counter;
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

    fn label(&self) -> &'static str {
        if self.statements {
            "statements"
        } else {
            "transactions"
        }
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
        .map_err(|e| Error::Database(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn free_port() -> Result<u16, Error> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Io(format!("no free port: {e}")))
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
