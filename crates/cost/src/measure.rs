//! The flow of a cost run: for each target in turn, start it under
//! callgrind, measure its idle cost, then for each scenario and concurrency
//! a warm-up and windows of a fixed number of requests until they settle;
//! stop it; then compare each target's cost with the baseline's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bookbench_load::{IdSpace, LoadConfig, Report, Session, Window};
use bookbench_results::cost::{
    self, Basis, CostComparison, CostPoint, CostRun, CostStatus, CostWindow, ObjectShare,
    PerRequest, TypeCacheMisses,
};
use bookbench_results::{Results, TargetOutcome, TargetStatus};
use bookbench_suite::placeholders::Placeholders;
use bookbench_suite::preset::WindowRequests;
use bookbench_suite::process::{self, Output, Running};
use bookbench_suite::run::Sink;
use bookbench_suite::targets::Target;

use crate::Error;
use crate::backends::{self, DatabaseCounting};
use crate::callgrind::{self, Control, Dump};
use crate::database::Statements;
use crate::layout::Layout;
use crate::valgrind::Valgrind;

/// Everything a cost run needs.
#[derive(Debug, Clone)]
pub struct CostConfig {
    pub targets: Vec<Target>,
    pub scenarios: Vec<String>,
    /// What the scenarios name: built in, or read from files.
    pub workloads: bookbench_load::Workloads,
    pub concurrency: Vec<u32>,
    /// Requests of one window, by scenario.
    pub requests_per_window: WindowRequests,
    /// Requests before a point's first window, not counted (at most a
    /// window where the scenario has windows of its own).
    pub warmup_requests: u64,
    /// Consecutive windows agreeing within this fraction have settled.
    pub tolerance: f64,
    /// Settled windows a figure needs.
    pub settled_windows: u32,
    /// Windows a point may take, warm-up included.
    pub max_windows: u32,
    /// How long each target's idle cost is measured.
    pub idle_window: Duration,
    /// The target every other is compared with (the first when `None`).
    pub baseline: Option<String>,
    /// Targets compared with another than the baseline (calibration's
    /// copies with their originals): target → its reference.
    pub references: BTreeMap<String, String>,
    /// A cost ratio is costlier or cheaper only beyond this fraction.
    pub threshold: f64,
    /// Each target is started this many times, each time in another
    /// memory layout (crate::layout), and compared across them; 1: once.
    pub layouts: u32,
    /// Per request: a slower answer is a timeout error.
    pub timeout: Duration,
    /// The load generator's seed: every window sends the same requests.
    pub seed: u64,
    /// Where the dumps (`callgrind/<target>/`) and logs go.
    pub out: PathBuf,
    pub placeholders: Placeholders,
    pub ids: IdSpace,
    /// The database's own instructions, counted in a pass after the
    /// targets' where the database is bookbench's own; `Err`: not counted,
    /// and why.
    pub database: Result<DatabaseCounting, String>,
    /// Count a target whose JIT warms for long (`min_warmup_s`) cold, as
    /// `bookbench cost` does when asked to; after a run's throughput it
    /// is listed as skipped, with the reason.
    pub cold_jit: bool,
}

impl CostConfig {
    /// The requests of the warm-up and of one window at `scenario`.
    pub(crate) fn requests_at(&self, scenario: &str) -> (u64, u64) {
        let window = self.requests_per_window.of(scenario);
        let warmup = if self.requests_per_window.by_scenario.contains_key(scenario) {
            self.warmup_requests.min(window)
        } else {
            self.warmup_requests
        };
        (warmup.max(1), window)
    }

    pub(crate) fn baseline_name(&self) -> Option<&str> {
        self.baseline
            .as_deref()
            .or_else(|| self.targets.first().map(|t| t.name.as_str()))
    }
}

/// Told what the cost run does now.
pub trait Observer {
    fn target(&mut self, name: &str, status: &str);
    /// A window of `target` at `at` ended: its instructions per request.
    fn window(&mut self, target: &str, at: &str, window: u32, per_request: Option<f64>);
}

/// The shares of the instructions a point lists, largest first.
const OBJECTS_LISTED: usize = 6;

/// Windows judged in groups of at most this many when single ones do not
/// agree: a cost recurring every two or three windows (docs/method.md).
const MAX_MERGED: usize = 3;

/// Counts the cost of every target of `config` into `results` (its
/// `cost_run` and `cost`), handing them to `sink` after every point. A
/// target that cannot run under valgrind, or that fails, is recorded with
/// the reason and the run goes on; nothing already counted is lost.
pub async fn measure(
    config: &CostConfig,
    results: &mut Results,
    observer: &mut dyn Observer,
    sink: &mut dyn Sink,
) -> Result<(), Error> {
    let valgrind = Valgrind::find()?;
    process::install_interrupt_handler();
    std::fs::create_dir_all(config.out.join("logs")).map_err(|source| Error::Io {
        context: format!("cannot create {}", config.out.display()),
        source,
    })?;
    let statements = Statements::connect(&config.placeholders.database_url).await;
    results.cost_run = Some(CostRun {
        valgrind: valgrind.version.clone(),
        requests_per_window: config.requests_per_window.default,
        requests_per_window_by_scenario: config.requests_per_window.by_scenario.clone(),
        tolerance: config.tolerance,
        max_windows: config.max_windows,
        settled_windows: config.settled_windows,
        idle_window_s: config.idle_window.as_secs_f64(),
        determinism: valgrind.determinism(),
        threshold: config.threshold,
        database_statistics: match &statements {
            Ok(s) if s.track_planning => "pg_stat_statements, planning included".to_string(),
            Ok(_) => "pg_stat_statements, execution only (track_planning is off)".to_string(),
            Err(why) => format!("none: {why}"),
        },
        database_instructions: match &config.database {
            Ok(counting) => backends::description(&valgrind, counting.budget),
            Err(why) => format!("not counted: {why}"),
        },
        seed: Some(config.seed),
        layouts: config.layouts.max(1),
    });
    let statements = statements.ok();
    if let Some(s) = &statements {
        s.settle().await?;
    }
    for target in &config.targets {
        if process::interrupted() {
            break;
        }
        if let (false, Some(seconds)) = (config.cold_jit, target.min_warmup_s) {
            let why = jit_not_counted(&target.name, seconds);
            observer.target(&target.name, &format!("skipped: {why}"));
            record_outcome(results, target, TargetStatus::Skipped, Some(why));
            sink.save(results).map_err(Error::Sink)?;
            continue;
        }
        let outcome = count_layouts(
            config,
            &valgrind,
            target,
            statements.as_ref(),
            results,
            observer,
            sink,
        )
        .await;
        let (status, reason) = match outcome {
            Ok(()) => (TargetStatus::Measured, None),
            Err(Error::Interrupted) => break,
            Err(e) => {
                let why = bookbench_errors::chain(&e);
                observer.target(&target.name, &format!("failed: {why}"));
                let status = if matches!(e, Error::Suite(bookbench_suite::Error::Unavailable(_))) {
                    TargetStatus::Skipped
                } else {
                    TargetStatus::Failed
                };
                (status, Some(why))
            }
        };
        record_outcome(results, target, status, reason);
        sink.save(results).map_err(Error::Sink)?;
    }
    compare_with_references(config, results);
    sink.save(results).map_err(Error::Sink)?;
    if let (Ok(counting), false) = (&config.database, process::interrupted()) {
        drop(statements);
        match backends::count(config, counting, &valgrind, results, observer, sink).await {
            Ok(()) | Err(Error::Interrupted) => {}
            Err(e) => {
                // The targets' counts stand; the run says what is missing.
                let why = bookbench_errors::chain(&e);
                observer.target("database", &format!("not counted: {why}"));
                if let Some(run) = results.cost_run.as_mut() {
                    run.database_instructions = format!("not counted: {why}");
                }
            }
        }
    }
    sink.save(results).map_err(Error::Sink)?;
    if process::interrupted() {
        return Err(Error::Interrupted);
    }
    Ok(())
}

/// Why a JIT target is not counted after a run: its figures settle only
/// after as many requests as its timed warm-up sends, which callgrind
/// would take hours to serve.
fn jit_not_counted(target: &str, warmup_s: f64) -> String {
    format!(
        "its JIT warms for {warmup_s} s at full load before its figures settle (min_warmup_s); counted, it would have to serve as many requests under callgrind, hours a point (PyPy's hello world: about 360,000, some four hours; docs/method.md): `bookbench cost --targets {target}` counts it cold"
    )
}

/// Notes a target's outcome: beside the throughput run's one when there is
/// one, else as its own.
fn record_outcome(
    results: &mut Results,
    target: &Target,
    status: TargetStatus,
    reason: Option<String>,
) {
    let note = reason
        .as_ref()
        .map(|why| format!("counted cost: {status}: {why}"));
    match results.targets.iter_mut().find(|t| t.name == target.name) {
        Some(t) => t.notes.extend(note),
        None => results.targets.push(TargetOutcome {
            name: target.name.clone(),
            description: target.description.clone(),
            workers: target.workers,
            cpus: target.cpus.clone(),
            status,
            reason,
            notes: target.notes.clone(),
            verify: Vec::new(),
            rss_kib: None,
            host: None,
            proxy_host: None,
        }),
    }
}

/// One target in each of the run's layouts, one start each, its points'
/// figures then taken across them. A target that fails in its first
/// layout is not started in the others; one that fails in a later layout
/// keeps what the earlier ones counted, and its points say which layout
/// is missing.
async fn count_layouts(
    config: &CostConfig,
    valgrind: &Valgrind,
    target: &Target,
    statements: Option<&Statements>,
    results: &mut Results,
    observer: &mut dyn Observer,
    sink: &mut dyn Sink,
) -> Result<(), Error> {
    let layouts = Layout::all(config.layouts);
    let mut outcome = Ok(());
    for layout in &layouts {
        let counted = count_target(
            config, valgrind, target, layout, statements, results, observer, sink,
        )
        .await;
        match counted {
            Ok(()) => {}
            Err(e) if layout.index == 0 => return Err(e),
            Err(Error::Interrupted) => {
                outcome = Err(Error::Interrupted);
                break;
            }
            Err(e) => {
                let why = format!("{}: {}", layout.describe(), bookbench_errors::chain(&e));
                observer.target(&target.name, &format!("failed in {why}"));
                for p in results.cost.iter_mut().filter(|p| p.target == target.name) {
                    p.reason = Some(match p.reason.take() {
                        Some(r) => format!("{r}; failed in {why}"),
                        None => format!("failed in {why}"),
                    });
                }
            }
        }
    }
    if layouts.len() > 1 {
        for p in results.cost.iter_mut().filter(|p| p.target == target.name) {
            p.summarise_layouts();
        }
    }
    outcome
}

/// One target in one layout: started under callgrind, its idle cost,
/// every point, and stopped whatever happens. The first layout's points go
/// into `results`; a later layout's into the first's.
#[allow(clippy::too_many_arguments)] // the run's parts, each needed
async fn count_target(
    config: &CostConfig,
    valgrind: &Valgrind,
    target: &Target,
    layout: &Layout,
    statements: Option<&Statements>,
    results: &mut Results,
    observer: &mut dyn Observer,
    sink: &mut dyn Sink,
) -> Result<(), Error> {
    let name = &target.name;
    let target = &layout.of(target);
    let files = layout.files(name);
    let dumps = dumps_dir(&config.out, &files);
    std::fs::create_dir_all(&dumps).map_err(|source| Error::Io {
        context: format!("cannot create {}", dumps.display()),
        source,
    })?;
    let mut p = config.placeholders.clone();
    p.port = bookbench_suite::run::free_port()?;
    // Set up once, before the first layout: the others start the same one.
    if let (0, Some(venv), None) = (layout.index, &target.venv, target.unavailable(&p)) {
        observer.target(&target.name, &format!("setting up its environment {venv}"));
        // As a run does: a target whose environment cannot be built cannot
        // run here, and is skipped with the reason.
        bookbench_suite::peers::setup(&p.home, &p.repo, venv, false).map_err(|e| {
            bookbench_suite::Error::Unavailable(format!(
                "its environment {venv} cannot be set up: {}",
                bookbench_errors::chain(&e)
            ))
        })?;
    }
    if let Some(why) = target.unavailable(&p) {
        return Err(bookbench_suite::Error::Unavailable(why).into());
    }
    let wrapped = valgrind.wrap(target, &dumps);
    let log = config.out.join("logs").join(format!("{files}.cost.log"));
    observer.target(
        &target.name,
        &if config.layouts > 1 {
            format!("starting under callgrind, {}", layout.describe())
        } else {
            "starting under callgrind".to_string()
        },
    );
    let mut running = Running::start_target(&wrapped, &p, None, Output::Log(&log))?;
    let base = format!("http://{}:{}", p.address, p.port);
    let counted = async {
        wait_ready(
            &mut running,
            &format!("{base}{}", target.ready),
            Duration::from_secs(wrapped.ready_timeout_s),
        )
        .await?;
        let group = Group {
            pgid: running.pgid(),
            dumps: dumps.clone(),
            switched_on: Mutex::new(BTreeSet::new()),
            type_searches: AtomicBool::new(false),
        };
        if group.pids().is_empty() {
            return Err(Error::Target(format!(
                "no process of it runs under callgrind (its command: {})",
                target.command.join(" ")
            )));
        }
        observer.target(&target.name, "measuring its idle cost");
        let idle = group.idle_rate(config.idle_window).await?;
        for scenario in &config.scenarios {
            for &concurrency in &config.concurrency {
                if process::interrupted() {
                    return Err(Error::Interrupted);
                }
                let counter = Counter {
                    config,
                    group: &group,
                    statements,
                    base: &base,
                };
                let at = Point {
                    target: &target.name,
                    scenario,
                    concurrency,
                    idle,
                };
                let mut point = counter.point(at, observer).await;
                point.padding_bytes = layout.padding_bytes;
                let failed = point.status == CostStatus::Failed;
                let first = results.cost.iter_mut().find(|p| {
                    p.target == point.target
                        && p.scenario == point.scenario
                        && p.concurrency == point.concurrency
                });
                match (layout.index, first) {
                    (0, _) | (_, None) => results.cost.push(point),
                    (_, Some(first)) => first.layouts.push(point),
                }
                sink.save(results).map_err(Error::Sink)?;
                if failed && !process::group_alive(group.pgid) {
                    return Err(Error::Target(format!(
                        "it stopped{}",
                        running
                            .last_words()
                            .map(|w| format!(": {w}"))
                            .unwrap_or_default()
                    )));
                }
            }
        }
        Ok(())
    }
    .await;
    running.stop();
    if counted.is_ok() {
        observer.target(&target.name, "counted");
    }
    counted
}

/// Waits until the target answers `url`; an error ends with the last line
/// of its log.
pub(crate) async fn wait_ready(
    running: &mut Running,
    url: &str,
    timeout: Duration,
) -> Result<(), Error> {
    running.wait_ready(url, timeout).await.map_err(|e| {
        Error::Target(format!(
            "{}{}",
            bookbench_errors::chain(&e),
            running
                .last_words()
                .map(|w| format!("; its log ends: {w}"))
                .unwrap_or_default()
        ))
    })
}

/// A target's process group, where its dumps go, and which of its
/// processes were switched on.
struct Group {
    pgid: i32,
    dumps: PathBuf,
    /// Processes whose instrumentation is on: each starts with it off
    /// (crate::valgrind), a worker forked or executed later too.
    switched_on: Mutex<BTreeSet<i32>>,
    /// A dump of this start has shown CPython's search after a type-cache
    /// miss: its interpreter has the search as a function of its own.
    type_searches: AtomicBool,
}

impl Group {
    /// Its processes under callgrind now (a worker may have been replaced).
    fn pids(&self) -> Vec<i32> {
        callgrind::counted_processes(self.pgid)
    }

    /// Its processes under callgrind now, each with its instrumentation
    /// switched on: one that appeared since is switched on before it is
    /// zeroed, so that it counts from the window's start.
    fn instrumented(&self) -> Result<Vec<i32>, Error> {
        let pids = self.pids();
        let mut on = self
            .switched_on
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for &pid in &pids {
            if !on.contains(&pid) {
                callgrind::control(pid, Control::InstrumentOn)?;
                on.insert(pid);
            }
        }
        Ok(pids)
    }

    fn zero(&self, pids: &[i32]) -> Result<(), Error> {
        pids.iter()
            .try_for_each(|&pid| callgrind::control(pid, Control::Zero))
    }

    /// Dumps every process and adds up their counts; a process whose dump
    /// did not appear is an error, never an old dump counted again.
    fn dump(&self, pids: &[i32]) -> Result<Dump, Error> {
        let mut total = Dump::default();
        for &pid in pids {
            let before = callgrind::latest_dump(&self.dumps, pid);
            callgrind::control(pid, Control::Dump)?;
            let after = callgrind::latest_dump(&self.dumps, pid);
            let path = after
                .filter(|a| Some(a) != before.as_ref())
                .ok_or_else(|| Error::Callgrind {
                    pid,
                    message: format!("no new dump in {}", self.dumps.display()),
                })?;
            total.add(&callgrind::read(&path)?);
        }
        Ok(total)
    }

    /// A window's CPython type-cache misses, where they can be told apart:
    /// always in a program that looks nothing up on CPython's types; in one
    /// that does, once any dump of this start has shown the search (a new
    /// (type, name) pair always misses, so a start's first requests show it
    /// unless the interpreter inlined it). A window whose lookups all hit
    /// then has none.
    fn type_cache(&self, dump: &Dump) -> Option<TypeCacheMisses> {
        if dump.type_searches {
            self.type_searches.store(true, Ordering::Relaxed);
        }
        (!dump.type_lookups || self.type_searches.load(Ordering::Relaxed))
            .then_some(dump.type_cache)
    }

    /// Until a dump of this start has shown CPython's search, dumps what
    /// was counted since the last zero (a point's warm-up: its first
    /// requests look up pairs new to the cache, which miss), so that a
    /// window whose lookups all hit is known to have none.
    fn look_for_type_searches(&self) -> Result<(), Error> {
        if self.type_searches.load(Ordering::Relaxed) {
            return Ok(());
        }
        let pids = self.instrumented()?;
        self.type_cache(&self.dump(&pids)?);
        Ok(())
    }

    /// Instructions per second with no request: timers, heartbeats.
    async fn idle_rate(&self, window: Duration) -> Result<f64, Error> {
        let pids = self.instrumented()?;
        self.zero(&pids)?;
        let start = Instant::now();
        tokio::time::sleep(window).await;
        let dump = self.dump(&pids)?;
        Ok(dump.instructions as f64 / start.elapsed().as_secs_f64().max(1e-3))
    }
}

/// Where a point is counted.
struct Point<'a> {
    target: &'a str,
    scenario: &'a str,
    concurrency: u32,
    /// The target's idle instructions per second.
    idle: f64,
}

/// What counting a point needs: the run's settings, the target's
/// processes, the database's statistics and the target's address.
struct Counter<'a> {
    config: &'a CostConfig,
    group: &'a Group,
    statements: Option<&'a Statements>,
    base: &'a str,
}

impl Counter<'_> {
    /// One point: a warm-up, then windows until they settle or run out. An
    /// error ends the point as failed, with the windows counted before it.
    async fn point(&self, at: Point<'_>, observer: &mut dyn Observer) -> CostPoint {
        let mut point = CostPoint {
            target: at.target.to_string(),
            scenario: at.scenario.to_string(),
            concurrency: at.concurrency,
            status: CostStatus::NotSettled,
            reason: None,
            warmup_windows: 0,
            merged: 1,
            idle_instructions_per_s: at.idle,
            windows: Vec::new(),
            per_request: None,
            spread: None,
            objects: Vec::new(),
            comparison: None,
            database_instructions: None,
            padding_bytes: 0,
            layouts: Vec::new(),
        };
        let mut objects: Vec<BTreeMap<String, u64>> = Vec::new();
        let counted = self.windows(&at, &mut point, &mut objects, observer).await;
        if let Err(e) = counted {
            point.status = CostStatus::Failed;
            point.reason = Some(bookbench_errors::chain(&e));
        }
        summarise(&mut point, &objects);
        point
    }

    /// The point's windows, into `point` and `objects` (each window's
    /// instructions by object).
    async fn windows(
        &self,
        at: &Point<'_>,
        point: &mut CostPoint,
        objects: &mut Vec<BTreeMap<String, u64>>,
        observer: &mut dyn Observer,
    ) -> Result<(), Error> {
        let (config, group, statements) = (self.config, self.group, self.statements);
        let load = prepared_load(config, self.base, at.scenario, at.concurrency).await?;
        let (warmup, window) = config.requests_at(at.scenario);
        // One session for the warm-up and every window: the connections
        // stay open between windows, as in a timed run, so that a window
        // counts requests and not the setting up of its connections. Its
        // preflight checked that the target answers: no request of a
        // window is the load generator's own.
        let mut session = start_session(load).await?;
        session = session_window(session, warmup).await?.0;
        group.look_for_type_searches()?;
        let label = format!("{} c={}", at.scenario, at.concurrency);
        for w in 0..config.max_windows {
            if process::interrupted() {
                return Err(Error::Interrupted);
            }
            let pids = group.instrumented()?;
            group.zero(&pids)?;
            let before = match statements {
                Some(s) => Some(s.totals().await?),
                None => None,
            };
            let start = Instant::now();
            let (kept, report) = session_window(session, window).await?;
            session = kept;
            let elapsed = start.elapsed().as_secs_f64();
            let dump = group.dump(&pids)?;
            let database = match (statements, before) {
                (Some(s), Some(before)) => s.totals().await?.since(&before),
                _ => None,
            };
            let window = CostWindow {
                requests: report.requests,
                ok: report.ok,
                duration_s: elapsed,
                instructions: dump.instructions,
                idle_instructions: (at.idle * elapsed).round() as u64,
                system_calls: dump.system_calls,
                processes: u32::try_from(pids.len()).unwrap_or(u32::MAX),
                bytes_received: report.bytes_read,
                database,
                type_cache: group.type_cache(&dump),
                connects: Some(report.connects),
            };
            observer.window(at.target, &label, w, window.instructions_per_request());
            point.windows.push(window);
            objects.push(dump.objects);
            // The database's caches warm too: a pooled connection's prepared
            // statement is planned anew on its first runs, and planning's
            // buffers count; both series must agree. Judged after every
            // window: the first run that agrees ends with it.
            if let Some(settling) = cost::settle(
                &point.windows,
                config.settled_windows as usize,
                config.tolerance,
                MAX_MERGED,
            ) {
                point.warmup_windows = u32::try_from(settling.from).unwrap_or(0);
                point.merged = settling.merged;
                point.status = CostStatus::Settled;
                return Ok(());
            }
        }
        // Not settled: the figures are of the last windows.
        let (warmup, reason) = not_settled(config, point.windows.len(), config.max_windows, "");
        point.warmup_windows = warmup;
        point.reason = Some(reason);
        Ok(())
    }
}

/// A load run's duration when its count of requests ends it: the cap ends
/// each run, and the duration only bounds it.
pub(crate) const UNBOUNDED: Duration = Duration::from_secs(24 * 3600);

/// The load of `scenario` at `concurrency` against `base`, its set-up
/// requests sent once (every window then sends the same requests); each
/// run ends at its `max_requests`, which the caller sets.
pub(crate) async fn prepared_load(
    config: &CostConfig,
    base: &str,
    scenario: &str,
    concurrency: u32,
) -> Result<LoadConfig, Error> {
    let workload = config.workloads.get(scenario)?;
    let mut load = LoadConfig::workload(base, &workload);
    load.connections = concurrency;
    load.ids = Some(config.ids);
    load.timeout = config.timeout;
    load.rng_seed = Some(config.seed);
    let mut load =
        tokio::task::spawn_blocking(move || bookbench_load::prepare(&mut load).map(|()| load))
            .await
            .map_err(|e| Error::Target(format!("the setup's thread failed: {e}")))??;
    load.duration = UNBOUNDED;
    Ok(load)
}

/// A point whose `counted` windows of at most `max_windows` never
/// settled: its warm-up windows (all but the last few, which the figures
/// are of) and the reason, with `why_fewer` after the count when it ended
/// early.
pub(crate) fn not_settled(
    config: &CostConfig,
    counted: usize,
    max_windows: u32,
    why_fewer: &str,
) -> (u32, String) {
    let settled = config.settled_windows.max(2);
    let warmup = u32::try_from(counted.saturating_sub(settled as usize)).unwrap_or(0);
    let reason = format!(
        "no {settled} consecutive windows of {}{why_fewer} agreed within ±{:.2}%",
        if why_fewer.is_empty() {
            max_windows as usize
        } else {
            counted
        },
        config.tolerance * 100.0
    );
    (warmup, reason)
}

/// A run of `load` to its end.
pub(crate) async fn run_load(load: LoadConfig) -> Result<Report, Error> {
    on_load_thread(move || bookbench_load::run(&load)).await
}

/// A session of `load`, its connections kept from window to window.
pub(crate) async fn start_session(load: LoadConfig) -> Result<Session, Error> {
    on_load_thread(move || Session::start(&load)).await
}

/// One window of `requests` requests of `session`, which it gives back.
pub(crate) async fn session_window(
    mut session: Session,
    requests: u64,
) -> Result<(Session, Window), Error> {
    on_load_thread(move || session.window(requests).map(|w| (session, w))).await
}

/// The load generator's blocking call `f`, on a thread of its own.
async fn on_load_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, bookbench_load::LoadError> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Target(format!("the load generator's thread failed: {e}")))?
        .map_err(Error::from)
}

/// A point's figures from its settled windows.
fn summarise(point: &mut CostPoint, objects: &[BTreeMap<String, u64>]) {
    let groups = point.groups();
    if groups.is_empty() {
        return;
    }
    let per = |f: &dyn Fn(&CostWindow) -> Option<f64>| -> Option<f64> {
        let values: Vec<f64> = groups
            .iter()
            .filter(|w| w.requests > 0)
            .filter_map(|w| f(w).map(|x| x / w.requests as f64))
            .collect();
        cost::median_and_spread(&values)
            .map(|(m, _)| m)
            .or_else(|| {
                // All zero: a median of zeros is still a figure.
                (!values.is_empty()).then_some(0.0)
            })
    };
    let told_misses = groups.iter().all(|w| w.type_cache.is_some());
    let instructions = point.instructions_per_request();
    point.spread = cost::median_and_spread(&instructions).map(|(_, s)| s);
    point.per_request = Some(PerRequest {
        instructions: bookbench_results::stats::median(&instructions),
        system_calls: per(&|w| Some(w.system_calls as f64)).unwrap_or(0.0),
        bytes_received: per(&|w| Some(w.bytes_received as f64)).unwrap_or(0.0),
        db_statements: per(&|w| w.database.map(|d| d.statements as f64)),
        db_rows: per(&|w| w.database.map(|d| d.rows as f64)),
        db_shared_blocks_hit: per(&|w| w.database.map(|d| d.shared_blocks_hit as f64)),
        db_shared_blocks_read: per(&|w| w.database.map(|d| d.shared_blocks_read as f64)),
        // Only where every group told its misses apart.
        type_cache_misses: per(&|w| {
            w.type_cache
                .filter(|_| told_misses)
                .map(|t| t.misses as f64)
        }),
        type_cache_instructions: per(&|w| {
            w.type_cache
                .filter(|_| told_misses)
                .map(|t| t.instructions as f64)
        }),
    });
    let mut by_object: BTreeMap<&str, u64> = BTreeMap::new();
    for window in objects.get(point.settled_range()).unwrap_or_default() {
        for (name, n) in window {
            *by_object.entry(name.as_str()).or_default() += n;
        }
    }
    let total: u64 = by_object.values().sum();
    let mut shares: Vec<ObjectShare> = by_object
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| ObjectShare {
            object: if name == "???" {
                "JIT or unknown".to_string()
            } else {
                name.to_string()
            },
            share: n as f64 / total.max(1) as f64,
        })
        .collect();
    shares.sort_by(|a, b| b.share.total_cmp(&a.share));
    shares.truncate(OBJECTS_LISTED);
    point.objects = shares;
}

/// Each settled point against its reference's (the baseline's, unless
/// `references` names another) at the same scenario and concurrency, when
/// that settled too: windows still warming up say nothing of a difference.
/// Counted in several layouts, a point is compared across them only: one
/// start's windows would hide the layouts' bias that the lower threshold
/// of such a run leaves to the interval.
fn compare_with_references(config: &CostConfig, results: &mut Results) {
    let across_layouts = config.layouts > 1;
    compare_points(
        config,
        results,
        |mine, theirs| {
            mine.compare_instructions(theirs, config.threshold)
                .filter(|c| !across_layouts || c.basis == Basis::Layouts)
        },
        |p, c| p.comparison = Some(c),
    );
}

/// The database's instructions at each point against the reference's, as
/// the targets' whole counts are: by windows, the cluster started alike for
/// every target, judged beyond one start's threshold for whole counts.
pub(crate) fn compare_database_with_references(config: &CostConfig, results: &mut Results) {
    compare_points(
        config,
        results,
        |mine, theirs| {
            cost::compare(
                &mine.settled_database_instructions()?,
                &theirs.settled_database_instructions()?,
                &theirs.target,
                cost::whole_count_threshold(config.threshold),
            )
        },
        |p, c| {
            if let Some(d) = p.database_instructions.as_mut() {
                d.comparison = Some(c);
            }
        },
    );
}

/// Every point compared with its reference's at the same scenario and
/// concurrency where `compare` can, and the comparison `set`.
fn compare_points(
    config: &CostConfig,
    results: &mut Results,
    compare: impl Fn(&CostPoint, &CostPoint) -> Option<CostComparison>,
    set: impl Fn(&mut CostPoint, CostComparison),
) {
    let baseline = config.baseline_name();
    let comparisons: Vec<Option<CostComparison>> = results
        .cost
        .iter()
        .map(|p| {
            let reference = config
                .references
                .get(&p.target)
                .map(String::as_str)
                .or(baseline)
                .filter(|r| *r != p.target)?;
            let theirs = results.cost.iter().find(|t| {
                t.target == reference && t.scenario == p.scenario && t.concurrency == p.concurrency
            })?;
            compare(p, theirs)
        })
        .collect();
    for (p, c) in results.cost.iter_mut().zip(comparisons) {
        if let Some(c) = c {
            set(p, c);
        }
    }
}

/// Where a target's dumps go (each can be opened in kcachegrind).
fn dumps_dir(out: &Path, target: &str) -> PathBuf {
    out.join("callgrind").join(target)
}
