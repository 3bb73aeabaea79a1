//! The flow of `bookbench run`: for each target, start it pinned, wait until
//! ready, verify it, then for each scenario and concurrency warm up, measure
//! and repeat, attributing CPU time; stop it and its whole process group.
//! Results are written after every point, so an interrupted run leaves what
//! it measured, marked partial.

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
    pub warmup: Duration,
    pub repeat: u32,
    pub rate: Option<f64>,
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
        outcome.verify = crate::verify::verify(&base).await;
        if let Some(failed) = outcome.verify.iter().find(|c| c.failure.is_some()) {
            return Err(Error::Verify {
                check: failed.name.clone(),
                message: failed.failure.clone().unwrap_or_default(),
            });
        }
        pin_client_away_from(&target.cpus);
        // A JIT's long warm-up (min_warmup_s) is paid once, before the
        // target's first point; the JIT stays warm for the points after it.
        let mut warmup = config
            .warmup
            .max(Duration::from_secs_f64(target.min_warmup_s.unwrap_or(0.0)));
        let mut n = done;
        for scenario in &config.scenarios {
            for &concurrency in &config.concurrency {
                if process::interrupted() {
                    return Err(Error::Interrupted);
                }
                observer.point(&target.name, scenario, concurrency, n, total);
                n += 1;
                let point = measure_point(
                    config,
                    &base,
                    scenario,
                    concurrency,
                    warmup,
                    &mut running,
                    counter,
                    db,
                )
                .await?;
                warmup = config.warmup;
                results.runs.push(Point {
                    target: target.name.clone(),
                    ..point
                });
                write_all(config, results)?;
                if let Some(status) = running.exited() {
                    return Err(Error::Target(format!(
                        "it died during {scenario} ({status})"
                    )));
                }
            }
        }
        Ok(())
    }
    .await;
    running.stop();
    result
}

#[allow(clippy::too_many_arguments)]
async fn measure_point(
    config: &RunConfig,
    base: &str,
    scenario: &str,
    concurrency: u32,
    warmup: Duration,
    running: &mut Running,
    counter: &StatementCounter,
    db: &Client,
) -> Result<Point, Error> {
    let mut load = LoadConfig::scenario(base, scenario).map_err(|e| Error::Usage(e.to_string()))?;
    load.connections = concurrency;
    load.ids = Some(config.ids);
    load.rate = config.rate;
    if !warmup.is_zero() {
        load.duration = warmup;
        run_load(load.clone()).await?;
    }
    load.duration = config.duration;
    let mut repeats = Vec::new();
    let mut reports = Vec::new();
    for _ in 0..config.repeat {
        if process::interrupted() {
            return Err(Error::Interrupted);
        }
        let statements_before = counter.count(db).await;
        let before = cpu::sample(running.pgid());
        let started = Instant::now();
        let report = run_load(load.clone()).await?;
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
        reports.push(report);
    }
    Ok(summarise(
        scenario,
        concurrency,
        &repeats,
        &reports,
        counter.label(),
    ))
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
    if !NO_DATABASE.contains(&scenario) && per_request.is_some_and(|p| p < 0.9) {
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
    let write = |name: &str, text: String| {
        let path = config.out.join(name);
        std::fs::write(&path, text).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
    };
    write("results.json", results.to_json())?;
    write("summary.md", report::summary_markdown(results))?;
    write("report.html", report::html(results))
}
