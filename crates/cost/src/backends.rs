//! The database's own instructions: a pass after the targets' in which
//! bookbench's own cluster runs under callgrind and each target natively
//! (the statements a target sends do not depend on how fast it runs).
//!
//! An idle backend cannot be zeroed or dumped from outside: ptrace wakes it
//! out of its `recv`, and it exits (docs/method.md). Instead the postmaster
//! runs with `--dump-after=ProcessLogMemoryContextInterrupt`, and
//! `pg_log_backend_memory_contexts(pid)` makes a backend dump what it
//! counted since its last dump, from inside, at once, waiting for its
//! client or not. Every window ends with two rounds of that: the first
//! holds the window's work and one trigger's, the second, with no request
//! between, one trigger's alone, which is taken out. A window in which a
//! connection opened or closed is set aside: a new backend's first dump
//! holds what it inherited from the postmaster.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bookbench_cluster::embedded::Embedded;
use bookbench_load::LoadConfig;
use bookbench_results::cost::{
    self, CostStatus, DatabaseCountStatus, DatabaseInstructions, DatabaseWindow,
};
use bookbench_results::{Results, TargetStatus};
use bookbench_suite::process::{self, Output, Running};
use bookbench_suite::targets::Target;
use tokio_postgres::Client;

use crate::measure::{
    CostConfig, Observer, UNBOUNDED, compare_database_with_references, not_settled, prepared_load,
    run_load, session_window, start_session, wait_ready,
};
use crate::valgrind::Valgrind;
use crate::{Error, callgrind};

/// Counting the database's instructions: on bookbench's own cluster only,
/// which the pass restarts under callgrind and then plainly again.
#[derive(Debug, Clone)]
pub struct DatabaseCounting {
    /// `$BOOKBENCH_HOME` of the embedded cluster.
    pub home: PathBuf,
    /// How long a point's windows may take under callgrind; a point
    /// estimated to take longer is reported as over budget.
    pub budget: Duration,
}

/// The client backends but the caller's own, in every database: during the
/// pass only the target connects.
const BACKENDS: &str = "SELECT pid FROM pg_stat_activity \
     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY pid";

/// Cancels what the client backends are running: a probe cut short
/// leaves its statements running, fifty times slower, into the next point.
const CANCEL_ACTIVE: &str = "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity \
     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND state = 'active'";

/// Makes a backend dump its counts (PostgreSQL 14 and later).
const TRIGGER: &str = "SELECT pg_log_backend_memory_contexts($1)";

/// How long a backend may take to dump once asked: under callgrind, a
/// backend in the middle of a slow statement handles the interrupt after it.
const DUMP_TIMEOUT: Duration = Duration::from_secs(300);

/// Requests timed before the warm-up, one per connection of the load and
/// at least five, to tell whether the point fits the budget: fewer than
/// the connections would time one request's latency, not the rate. A
/// target's first point sends them twice, and times the second: the first
/// opens its connections.
const PROBE_REQUESTS: u64 = 5;

/// At least this many requests per connection of the target's warm the
/// database up: a pooled connection plans each prepared statement anew on
/// its first five runs (PostgreSQL's `plan_cache_mode = auto`), so a pool
/// of ten warms over a hundred requests or so, not the ten of the quick
/// preset's warm-up; the windows that follow settle on what is left. A
/// window has as many requests as the target's windows had, the same
/// ones: the app's instructions and the database's are of the same
/// requests.
const WARMUP_REQUESTS_PER_CONNECTION: u64 = 10;

/// At least this many windows may be counted, within the budget: an ORM
/// that writes a statement per length of an `IN` list (SQLAlchemy's
/// selectinload) has a hundred statements, each planned anew on each
/// connection until its sixth run, some run once a window (docs/method.md).
/// The database's windows cost little beside the targets'.
const MIN_WINDOWS: u32 = 60;

/// What `results.cost_run.database_instructions` says when they were
/// counted.
pub fn description(valgrind: &Valgrind, budget: Duration) -> String {
    format!(
        "the client backends serving each target, bookbench's cluster under callgrind ({}) and the target run natively in a pass of its own, at least {WARMUP_REQUESTS_PER_CONNECTION} requests of warm-up per connection the target holds, windows of the same requests as the target's; each window ended by `pg_log_backend_memory_contexts`, which makes every backend dump its counts, the dump's own cost (measured at once with no request) taken out; a point whose windows would take more than {} is not counted",
        valgrind.version,
        seconds(budget)
    )
}

/// `20 s`, `0.1 s`: a budget as the results say it.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The pass: the cluster restarted under callgrind, every measured target
/// started natively and each of its points counted, the cluster restarted
/// plainly whatever happens. The figures go into `results.cost`'s points.
pub async fn count(
    config: &CostConfig,
    counting: &DatabaseCounting,
    valgrind: &Valgrind,
    results: &mut Results,
    observer: &mut dyn Observer,
    sink: &mut dyn bookbench_suite::run::Sink,
) -> Result<(), Error> {
    let cluster = Counted::start(counting, valgrind)?;
    let counted = async {
        let client = crate::database::connect(&config.placeholders.database_url)
            .await
            .map_err(|e| Error::database("cannot connect to the database under callgrind", e))?;
        let mut backends = Backends {
            client,
            dumps: cluster.dumps.clone(),
            known: BTreeSet::new(),
        };
        for target in &config.targets {
            if process::interrupted() {
                return Err(Error::Interrupted);
            }
            let measured = results
                .targets
                .iter()
                .any(|t| t.name == target.name && t.status == TargetStatus::Measured);
            if !measured {
                continue;
            }
            let outcome =
                count_target(config, counting, target, &mut backends, results, observer).await;
            if let Err(e) = outcome {
                if matches!(e, Error::Interrupted) {
                    return Err(e);
                }
                let why = bookbench_errors::chain(&e);
                observer.target(&target.name, &format!("database not counted: {why}"));
                for p in results.cost.iter_mut().filter(|p| p.target == target.name) {
                    p.database_instructions.get_or_insert_with(|| {
                        without_windows(DatabaseCountStatus::Failed, why.clone())
                    });
                }
            }
            sink.save(results).map_err(Error::Sink)?;
        }
        compare_database_with_references(config, results);
        Ok(())
    }
    .await;
    let restarted = cluster.finish();
    counted.and(restarted)
}

/// A point's count that has no window: failed, over budget, or nothing to
/// count.
fn without_windows(status: DatabaseCountStatus, reason: String) -> DatabaseInstructions {
    DatabaseInstructions {
        status,
        reason: Some(reason),
        warmup_windows: 0,
        trigger_instructions: 0,
        windows: Vec::new(),
        per_request: None,
        spread: None,
        comparison: None,
    }
}

/// One target, started natively, each of its counted points.
async fn count_target(
    config: &CostConfig,
    counting: &DatabaseCounting,
    target: &Target,
    backends: &mut Backends,
    results: &mut Results,
    observer: &mut dyn Observer,
) -> Result<(), Error> {
    let mut p = config.placeholders.clone();
    p.port = bookbench_suite::run::free_port()?;
    let log = config
        .out
        .join("logs")
        .join(format!("{}.database-cost.log", target.name));
    observer.target(&target.name, "counting the database's instructions");
    let mut running = Running::start_target(target, &p, None, Output::Log(&log))?;
    let base = format!("http://{}:{}", p.address, p.port);
    let counted = async {
        // The database answers fifty times slower: so may the target's
        // start, when it queries the database then.
        wait_ready(
            &mut running,
            &format!("{base}{}", target.ready),
            Duration::from_secs(target.ready_timeout_s.saturating_mul(4)),
        )
        .await?;
        // The target's first point opens its connections.
        let mut fresh = true;
        for scenario in &config.scenarios {
            for &concurrency in &config.concurrency {
                if process::interrupted() {
                    return Err(Error::Interrupted);
                }
                let Some(i) = results.cost.iter().position(|c| {
                    c.target == target.name
                        && c.scenario == *scenario
                        && c.concurrency == concurrency
                        && c.status != CostStatus::Failed
                }) else {
                    continue;
                };
                let statements = results
                    .cost
                    .get(i)
                    .and_then(|c| c.per_request)
                    .and_then(|x| x.db_statements);
                let at = At {
                    label: format!("{scenario} c={concurrency} database"),
                    scenario,
                    concurrency,
                };
                let d = if statements == Some(0.0) {
                    // Nothing reached the database: nothing to count.
                    DatabaseInstructions {
                        per_request: Some(0.0),
                        spread: Some(0.0),
                        ..without_windows(
                            DatabaseCountStatus::Settled,
                            "no statement reached the database".to_string(),
                        )
                    }
                } else {
                    let point = DbPoint {
                        config,
                        counting,
                        base: &base,
                        target: &target.name,
                        fresh,
                    };
                    fresh = false;
                    point.count(&at, backends, observer).await?
                };
                if let Some(c) = results.cost.get_mut(i) {
                    c.database_instructions = Some(d);
                }
            }
        }
        Ok(())
    }
    .await;
    running.stop();
    counted
}

struct At<'a> {
    label: String,
    scenario: &'a str,
    concurrency: u32,
}

struct DbPoint<'a> {
    config: &'a CostConfig,
    counting: &'a DatabaseCounting,
    base: &'a str,
    target: &'a str,
    /// Whether the target has served no request yet: its connections
    /// open and its code warms on its first requests, which a probe then
    /// must not time.
    fresh: bool,
}

impl DbPoint<'_> {
    /// A point: timed probe requests to tell whether it fits the budget,
    /// the warm-up, then windows until they settle or run out.
    async fn count(
        &self,
        at: &At<'_>,
        backends: &mut Backends,
        observer: &mut dyn Observer,
    ) -> Result<DatabaseInstructions, Error> {
        let config = self.config;
        let mut load = prepared_load(config, self.base, at.scenario, at.concurrency).await?;
        let probe = PROBE_REQUESTS.max(u64::from(at.concurrency));
        load.max_requests = Some(probe);
        let budget = self.counting.budget;
        // The fewest requests a point takes: a probe slower than its share
        // of the budget at that rate is over budget, and is cut short
        // there (an offset page of 500,000 takes 20 s a request under
        // callgrind, and ten of them would take minutes only to tell).
        let (warmup_requests, per_window) = config.requests_at(at.scenario);
        let least = warmup_requests + per_window * (u64::from(config.settled_windows) + 1);
        let share = budget.mul_f64(probe as f64 / least as f64);
        let over = |took: f64| {
            Ok(without_windows(
                DatabaseCountStatus::OverBudget,
                format!(
                    "its probe's {probe} requests were not all answered in {took:.1} s with the database under callgrind: its {least} requests at least would take longer than the budget of {} a point (--database-budget)",
                    seconds(budget)
                ),
            ))
        };
        if self.fresh
            && let Err(took) = probe_within(&mut load, budget, backends).await?
        {
            return over(took);
        }
        // The budget bounds the point from its timed probe on.
        let began = Instant::now();
        let per_request = match probe_within(&mut load, share, backends).await? {
            Ok(took) => took / probe as f64,
            Err(took) => return over(took),
        };
        let connections = backends.count().await?.max(1);
        let warmup = warmup_requests.max(WARMUP_REQUESTS_PER_CONNECTION * connections);
        let requests = warmup + per_window * (u64::from(config.settled_windows) + 1);
        let estimate = per_request * requests as f64;
        if estimate > self.counting.budget.as_secs_f64() {
            return Ok(without_windows(
                DatabaseCountStatus::OverBudget,
                format!(
                    "its {requests} requests would take about {estimate:.0} s with the database under callgrind, beyond the budget of {} a point (--database-budget)",
                    seconds(self.counting.budget)
                ),
            ));
        }
        // One session for the warm-up and every window, as in the targets'
        // pass: the connections stay open between windows (the probes
        // above are runs of their own: they time, and are not counted).
        let mut session = start_session(load).await?;
        session = session_window(session, warmup).await?.0;
        // Every backend there now dumps what it inherited and did so far.
        backends.round().await?;
        let mut d = DatabaseInstructions {
            status: DatabaseCountStatus::NotSettled,
            reason: None,
            warmup_windows: 0,
            trigger_instructions: 0,
            windows: Vec::new(),
            per_request: None,
            spread: None,
            comparison: None,
        };
        let mut before = backends.round().await?;
        let max_windows = config.max_windows.max(MIN_WINDOWS);
        // The budget bounds the point as a whole, not only its estimate.
        let deadline = began + self.counting.budget;
        for w in 0..max_windows {
            if process::interrupted() {
                return Err(Error::Interrupted);
            }
            if Instant::now() > deadline {
                break;
            }
            let start = Instant::now();
            let (kept, report) = session_window(session, per_window).await?;
            session = kept;
            let elapsed = start.elapsed().as_secs_f64();
            let window = backends.round().await?;
            let triggers = backends.round().await?;
            let same = window.keys().eq(before.keys()) && window.keys().eq(triggers.keys());
            let instructions = same.then(|| {
                window
                    .iter()
                    .map(|(pid, n)| n.saturating_sub(triggers.get(pid).copied().unwrap_or(0)))
                    .sum::<u64>()
            });
            let costs: Vec<f64> = triggers.values().map(|&n| n as f64).collect();
            d.trigger_instructions = bookbench_results::stats::median(&costs).round() as u64;
            let window = DatabaseWindow {
                requests: report.requests,
                ok: report.ok,
                duration_s: elapsed,
                backends: u32::try_from(window.len()).unwrap_or(u32::MAX),
                instructions,
            };
            observer.window(self.target, &at.label, w, window.instructions_per_request());
            d.windows.push(window);
            before = triggers;
            if let Some(from) = settled(
                &d.windows,
                config.settled_windows as usize,
                config.tolerance,
            ) {
                d.warmup_windows = u32::try_from(from).unwrap_or(0);
                d.status = DatabaseCountStatus::Settled;
                break;
            }
        }
        if d.status == DatabaseCountStatus::NotSettled {
            let n = d.windows.len();
            let why_fewer = if n < max_windows as usize {
                format!(
                    " (the budget of {} a point ran out)",
                    seconds(self.counting.budget)
                )
            } else {
                String::new()
            };
            (d.warmup_windows, d.reason) = {
                let (warmup, reason) = not_settled(config, n, max_windows, &why_fewer);
                (warmup, Some(reason))
            };
        }
        let values = d.instructions_per_request();
        d.per_request = (!values.is_empty()).then(|| bookbench_results::stats::median(&values));
        d.spread = cost::median_and_spread(&values)
            .map(|(_, s)| s)
            .or_else(|| d.per_request.filter(|x| *x == 0.0).map(|_| 0.0));
        Ok(d)
    }
}

/// Sends `load`'s requests within `limit`: the seconds they took, or, as
/// the error, those after which not all were answered (what they left
/// running in the database cancelled).
async fn probe_within(
    load: &mut LoadConfig,
    limit: Duration,
    backends: &Backends,
) -> Result<Result<f64, f64>, Error> {
    load.duration = limit;
    let began = Instant::now();
    let report = run_load(load.clone()).await;
    let took = began.elapsed().as_secs_f64();
    load.preflight = false;
    load.duration = UNBOUNDED;
    if report?.requests < load.max_requests.unwrap_or(0) {
        backends.cancel_active().await?;
        return Ok(Err(took));
    }
    Ok(Ok(took))
}

/// Where the settled windows start: the run of the tolerance's agreeing
/// windows among those after the last window set aside.
fn settled(windows: &[DatabaseWindow], settled: usize, tolerance: f64) -> Option<usize> {
    let from = windows
        .iter()
        .rposition(|w| w.instructions.is_none())
        .map_or(0, |i| i + 1);
    let per: Vec<f64> = windows
        .get(from..)?
        .iter()
        .filter_map(DatabaseWindow::instructions_per_request)
        .collect();
    cost::settled_from(&[&per], settled, tolerance).map(|i| from + i)
}

/// The backends serving the target, made to dump on demand.
struct Backends {
    client: Client,
    dumps: PathBuf,
    /// Backends dumped at least once: their next dump holds only what
    /// they did since.
    known: BTreeSet<i32>,
}

impl Backends {
    async fn pids(&self) -> Result<Vec<i32>, Error> {
        Ok(self
            .client
            .query(BACKENDS, &[])
            .await
            .map_err(|e| Error::database("cannot list the database's backends", e))?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }

    /// Cancels every client backend's statement and waits until none
    /// runs one.
    async fn cancel_active(&self) -> Result<(), Error> {
        let deadline = Instant::now() + DUMP_TIMEOUT;
        loop {
            let row = self
                .client
                .query_one(CANCEL_ACTIVE, &[])
                .await
                .map_err(|e| Error::database("cannot cancel the database's statements", e))?;
            if row.get::<_, i64>(0) == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Target(format!(
                    "the database's backends still ran statements {} s after they were cancelled",
                    DUMP_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many connections the target holds now.
    async fn count(&self) -> Result<u64, Error> {
        Ok(self.pids().await?.len() as u64)
    }

    /// Makes every client backend dump and waits for the dumps: each
    /// backend's instructions since its last dump, by pid. A backend's
    /// first dump is left out (it holds the postmaster's work before the
    /// fork), and so is the backend: the caller sees it missing and sets
    /// the window aside.
    async fn round(&mut self) -> Result<BTreeMap<i32, u64>, Error> {
        let pids = self.pids().await?;
        let mut asked = Vec::with_capacity(pids.len());
        for &pid in &pids {
            let last = callgrind::latest_part(&self.dumps, pid);
            let row = self
                .client
                .query_one(TRIGGER, &[&pid])
                .await
                .map_err(|e| Error::database("cannot ask a backend to dump", e))?;
            // false: the backend ended before it was asked.
            if row.get::<_, bool>(0) {
                asked.push((pid, last));
            }
        }
        let mut counts = BTreeMap::new();
        for (pid, last) in asked {
            let Some(n) = wait_for_dump(&self.dumps, pid, last).await? else {
                continue;
            };
            if self.known.insert(pid) {
                continue;
            }
            counts.insert(pid, n);
        }
        Ok(counts)
    }
}

/// Waits until `pid` has written a dump after part `last`, and reads its
/// instructions; `None` when the backend is gone without one.
async fn wait_for_dump(dir: &Path, pid: i32, last: u64) -> Result<Option<u64>, Error> {
    let deadline = Instant::now() + DUMP_TIMEOUT;
    loop {
        if let Some((part, path)) = callgrind::latest_dump_part(dir, pid)
            && part > last
            && let Some(dump) = callgrind::read_complete(&path)?
        {
            return Ok(Some(dump.instructions));
        }
        if !u32::try_from(pid).is_ok_and(bookbench_cluster::is_running) {
            return Ok(None);
        }
        if Instant::now() > deadline {
            return Err(Error::Callgrind {
                pid,
                message: format!(
                    "the database's backend wrote no dump in {} s of being asked",
                    DUMP_TIMEOUT.as_secs()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// bookbench's cluster, restarted under callgrind for the pass.
struct Counted {
    embedded: Embedded,
    dumps: PathBuf,
    finished: bool,
}

impl Counted {
    fn start(counting: &DatabaseCounting, valgrind: &Valgrind) -> Result<Self, Error> {
        let cluster_error = |e: bookbench_cluster::Error| {
            Error::Usage(format!(
                "cannot restart bookbench's database under callgrind: {}",
                bookbench_errors::chain(&e)
            ))
        };
        let mut embedded = Embedded::open(&counting.home).map_err(cluster_error)?;
        let dumps = embedded
            .cluster()
            .server_dir("callgrind")
            .map_err(cluster_error)?;
        embedded
            .restart_through(&valgrind.database_prefix(&dumps))
            .map_err(cluster_error)?;
        Ok(Self {
            embedded,
            dumps,
            finished: false,
        })
    }

    /// Restarts the cluster plainly and removes the dumps.
    fn finish(mut self) -> Result<(), Error> {
        self.finished = true;
        self.restore().map_err(|e| {
            Error::Usage(format!(
                "cannot restart bookbench's database plainly after counting: {}; `bookbench db stop` and the next run start it again",
                bookbench_errors::chain(&e)
            ))
        })
    }

    fn restore(&mut self) -> Result<(), bookbench_cluster::Error> {
        let restarted = self.embedded.restart_through(&[]);
        let _ = std::fs::remove_dir_all(&self.dumps);
        restarted
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.restore();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(instructions: Option<u64>) -> DatabaseWindow {
        DatabaseWindow {
            requests: 100,
            ok: 100,
            duration_s: 1.0,
            backends: 2,
            instructions,
        }
    }

    #[test]
    fn windows_settle_only_after_the_last_one_set_aside() {
        let w = |n: u64| window(Some(n * 100));
        // Three agreeing windows, the middle one set aside: not settled.
        assert_eq!(
            settled(&[w(1000), window(None), w(1000), w(1001)], 3, 0.005),
            None
        );
        assert_eq!(
            settled(
                &[w(1000), window(None), w(1000), w(1001), w(1000)],
                3,
                0.005
            ),
            Some(2)
        );
        // Warming windows first.
        assert_eq!(
            settled(&[w(1300), w(1100), w(1000), w(1002), w(999)], 3, 0.005),
            Some(2)
        );
        // No statement, no instructions: zeros settle.
        assert_eq!(settled(&[w(0), w(0), w(0)], 3, 0.005), Some(0));
    }
}
