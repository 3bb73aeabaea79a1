//! `bookbench cost`: what a request costs each target, counted (crates/cost).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use bookbench_cost::CostConfig;
use bookbench_datagen::Scale;
use bookbench_results::{Config, Results, Rounds};
use bookbench_suite::placeholders::Placeholders;
use bookbench_suite::preset::{CostDefaults, Preset, WindowRequests};
use bookbench_suite::run::RunConfig;
use bookbench_suite::targets;

use crate::db::{self, DatabaseArgs};
use crate::run::{parse_duration, parse_precision, prepare};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Targets to count [default: the quick preset's].
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,
    /// The target every other is compared with [default: the first].
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Scenarios to count [default: the quick preset's].
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    /// A workload from a scenario file (TOML, docs/load.md); repeatable.
    /// Its scenarios are counted, with those of --scenarios when given,
    /// instead of the preset's.
    #[arg(long = "scenario-file", value_name = "FILE")]
    scenario_files: Vec<PathBuf>,
    /// Connection counts [default: 10].
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=1000))]
    concurrency: Option<Vec<u32>>,
    /// Requests in each window: one count, then SCENARIO=N for scenarios
    /// counted in windows of their own (100,author-offset-500k=10).
    #[arg(long, default_value = "100", value_parser = parse_requests)]
    requests: WindowRequests,
    /// Requests before a point's first window, not counted.
    #[arg(long, default_value = "100", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    warmup_requests: u64,
    /// Consecutive windows agreeing within this have settled (0.5%).
    #[arg(long, default_value = "0.5%", value_parser = parse_precision)]
    tolerance: f64,
    /// Windows a point may take, warm-up included, before it is reported
    /// as not settled.
    #[arg(long, default_value = "12", value_parser = clap::value_parser!(u32).range(3..=1000))]
    max_windows: u32,
    /// A cost ratio is costlier or cheaper only beyond this [default:
    /// 1.5% with one layout, 1% with several]. With one start, targets
    /// are compared less CPython's type-cache misses, which move a count
    /// by up to 6% with where its process lays out memory (docs/method.md),
    /// and less them pairs of starts moved by up to 0.6%; whole
    /// counts and the database's instructions are judged beyond 5% at
    /// least. With several layouts, the whole counts are compared across
    /// them and that movement is in the interval.
    #[arg(long, value_parser = parse_precision)]
    threshold: Option<f64>,
    /// Start each target this many times, each in another memory layout
    /// (its environment larger by another amount), and compare their whole
    /// counts, type-cache misses included, across the layouts with a 95%
    /// interval. Each layout costs a start and its windows.
    #[arg(long, default_value = "1", value_parser = clap::value_parser!(u32).range(1..=bookbench_cost::layout::MAX_LAYOUTS as i64))]
    layouts: u32,
    /// How long each target's idle cost (timers, heartbeats) is measured.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    idle: Duration,
    /// Per request: a slower answer counts as a timeout error (under
    /// callgrind, targets answer 20 to 100 times slower).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    timeout: Duration,
    /// The load generator's seed: every window sends the same requests.
    #[arg(long, default_value = "1")]
    seed: u64,
    /// The data set's size (seeded if the database holds another).
    #[arg(long, value_enum)]
    scale: Option<crate::seed::ScaleArg>,
    /// Calibrate instead: each target against an identical copy (A/A), and
    /// the Rust server against a copy doing --extra more work a request;
    /// writes calibration.md beside the results.
    #[arg(long)]
    calibrate: bool,
    /// The known extra work of --calibrate, as a share of the Rust
    /// server's instructions a request at each point.
    #[arg(long, default_value = "5%", value_parser = parse_precision, requires = "calibrate")]
    extra: f64,
    /// How long counting the database's own instructions may take a point
    /// (its cluster under callgrind, in a pass after the targets'); a
    /// point that would take longer is reported as over budget, and 0
    /// counts none.
    #[arg(long, default_value = "3m", value_parser = parse_budget)]
    database_budget: Duration,
    /// Where results go (default: results/<timestamp>/).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    targets_file: crate::targets::TargetsFile,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// The least requests of a window: fewer hardly hold a cost that recurs.
const LEAST_WINDOW: u64 = 10;

fn parse_requests(s: &str) -> Result<WindowRequests, String> {
    WindowRequests::parse(s, LEAST_WINDOW)
}

/// A duration, or 0: none.
fn parse_budget(s: &str) -> Result<Duration, String> {
    match s.trim() {
        "0" | "0s" => Ok(Duration::ZERO),
        other => parse_duration(other),
    }
}

/// Settled windows a figure needs.
const SETTLED_WINDOWS: u32 = 3;

/// The threshold of one start's windows, compared less CPython's
/// type-cache misses: the calibration's identical copies came within
/// 0.25% of their originals, but other CPython targets' ratios less the
/// misses moved by up to 0.6% from one pair of starts to another, and a
/// start of some moves with what it counted before (docs/method.md,
/// "Where a program is placed").
const THRESHOLD_ONE_LAYOUT: f64 = 0.015;

/// The threshold across layouts, whose interval holds the placement bias:
/// above the windows' own spread, so that a difference called is one that
/// matters.
const THRESHOLD_ACROSS_LAYOUTS: f64 = 0.01;

pub fn run(args: Args) -> Result<()> {
    // Before the database is started or seeded: nothing to count without it.
    bookbench_cost::valgrind::Valgrind::find()?;
    let all = args.targets_file.load()?;
    let d = Preset::Quick.defaults(&all);
    let selected = targets::select(&all, args.targets.as_ref().unwrap_or(&d.targets))?;
    crate::targets::check_baseline(args.baseline.as_ref(), &selected, "counted")?;
    let workloads = bookbench_load::Workloads::from_files(&args.scenario_files)?;
    let scenarios = crate::run::scenarios(args.scenarios.clone(), &workloads, &d.scenarios)?;
    let concurrency = args.concurrency.clone().unwrap_or_else(|| vec![10]);
    let scale: Scale = args.scale.map(Into::into).unwrap_or(d.scale);
    let prepared = prepare(args.out.clone(), &args.database, Some(scale))?;
    let config = counting(
        &args,
        selected,
        (scenarios.clone(), workloads),
        concurrency.clone(),
        args.baseline.clone(),
        prepared.out.clone(),
        Placeholders::discover(&prepared.url, bookbench_cluster::embedded::home_from_env())?,
        bookbench_suite::dataset::id_space(prepared.dataset.as_ref()),
    );
    let mut results = Results {
        version: bookbench_results::RESULTS_VERSION,
        partial: true,
        started_at: bookbench_suite::run::now(),
        finished_at: None,
        env: prepared.env,
        config: Config {
            preset: if args.calibrate {
                "cost-calibrate"
            } else {
                "cost"
            }
            .to_string(),
            scenarios,
            concurrency,
            duration_s: 0.0,
            warmup_s: 0.0,
            rounds: Rounds { min: 0, max: 0 },
            precision: 0.0,
            point_budget_s: 0.0,
            baseline: args
                .baseline
                .or_else(|| config.targets.first().map(|t| t.name.clone())),
            references: Default::default(),
            noise_threshold: bookbench_results::judge::NOISE_THRESHOLD,
            steal_threshold: bookbench_results::judge::STEAL_THRESHOLD,
            seed: args.seed,
            interleaved: false,
            rate: None,
            timeout_s: Some(args.timeout.as_secs_f64()),
            db_round_trips_us: Vec::new(),
        },
        targets: Vec::new(),
        runs: Vec::new(),
        cost_run: None,
        cost: Vec::new(),
    };
    let mut sink = crate::results::OutDir(config.out.clone());
    let mut progress = Lines;
    let counted = if args.calibrate {
        db::block_on(bookbench_cost::calibrate::calibrate(
            &config,
            args.extra,
            &mut results,
            &mut progress,
            &mut sink,
        ))
        .map(Some)
    } else {
        db::block_on(bookbench_cost::measure(
            &config,
            &mut results,
            &mut progress,
            &mut sink,
        ))
        .map(|()| None)
    };
    results.partial = counted.is_err();
    results.finished_at = Some(bookbench_suite::run::now());
    bookbench_suite::run::Sink::save(&mut sink, &results)
        .map_err(|e| anyhow::anyhow!("cannot save the results: {e}"))?;
    if let Some(calibrated) = counted? {
        let c = bookbench_results::cost_calibration::summarise(
            &results,
            calibrated.known_work,
            calibrated.known_missing,
        );
        let md = bookbench_report::calibration::cost_markdown(&c);
        let json = serde_json::to_string_pretty(&c).context("the calibration as JSON")?;
        for (name, text) in [("calibration.md", &md), ("calibration.json", &json)] {
            let path = config.out.join(name);
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        outln!("{md}");
        outln!("results: {}", config.out.display());
        return Ok(());
    }
    outln!("{}", bookbench_report::summary_markdown(&results));
    outln!("results: {}", config.out.display());
    Ok(())
}

/// The counting's settings: the flags', and what the run chose.
#[allow(clippy::too_many_arguments)] // each is one of CostConfig's fields
fn counting(
    a: &Args,
    targets: Vec<targets::Target>,
    (scenarios, workloads): (Vec<String>, bookbench_load::Workloads),
    concurrency: Vec<u32>,
    baseline: Option<String>,
    out: PathBuf,
    placeholders: Placeholders,
    ids: bookbench_load::IdSpace,
) -> CostConfig {
    CostConfig {
        targets,
        scenarios,
        workloads,
        concurrency,
        requests_per_window: a.requests.clone(),
        warmup_requests: a.warmup_requests,
        tolerance: a.tolerance,
        settled_windows: SETTLED_WINDOWS,
        max_windows: a.max_windows,
        idle_window: a.idle,
        baseline,
        references: Default::default(),
        threshold: a.threshold.unwrap_or(if a.layouts > 1 {
            THRESHOLD_ACROSS_LAYOUTS
        } else {
            THRESHOLD_ONE_LAYOUT
        }),
        layouts: a.layouts,
        timeout: a.timeout,
        seed: a.seed,
        out,
        database: database_counting(&placeholders.database_url, a.database_budget),
        placeholders,
        ids,
        cold_jit: true,
    }
}

/// Whether the database's own instructions can be counted: on bookbench's
/// own cluster on this machine's loopback only, which the count restarts
/// under callgrind; otherwise why not.
fn database_counting(
    url: &str,
    budget: Duration,
) -> Result<bookbench_cost::DatabaseCounting, String> {
    if budget.is_zero() {
        return Err("--database-budget 0".to_string());
    }
    let home = bookbench_cluster::embedded::home_from_env();
    let not_ours = "the database is not bookbench's own cluster on this machine (--database-url, or a database host), which the count would restart under callgrind";
    if !home.join("cluster.json").exists() {
        return Err(not_ours.to_string());
    }
    let embedded = bookbench_cluster::embedded::Embedded::open(&home)
        .map_err(|e| format!("bookbench's cluster: {:#}", anyhow::Error::new(e)))?;
    if embedded.url() != url || !embedded.address().is_loopback() {
        return Err(not_ours.to_string());
    }
    Ok(bookbench_cost::DatabaseCounting { home, budget })
}

/// `bookbench cost`'s flags as they are when none is given.
fn default_args() -> Args {
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        args: Args,
    }
    <Defaults as clap::Parser>::parse_from(["cost"]).args
}

/// `run --cost` without a preset that counts: `bookbench cost`'s defaults,
/// every scenario of the run.
pub fn defaults() -> CostDefaults {
    let a = default_args();
    CostDefaults {
        scenarios: Vec::new(),
        requests_per_window: a.requests,
        warmup_requests: a.warmup_requests,
        max_windows: a.max_windows,
        idle: a.idle,
        database_budget: a.database_budget,
    }
}

/// After a run's throughput: its targets (not the copies behind a proxy)
/// counted as `plan` says, with `bookbench cost`'s other defaults, at the
/// run's first concurrency, into its results, written again as they grow.
pub fn after_run(run: &RunConfig, plan: &CostDefaults, results: &mut Results) -> Result<()> {
    let mut defaults = default_args();
    defaults.requests = plan.requests_per_window.clone();
    defaults.warmup_requests = plan.warmup_requests;
    defaults.max_windows = plan.max_windows;
    defaults.idle = plan.idle;
    defaults.database_budget = plan.database_budget;
    // A proxy's copy is not counted: callgrind would count its instances
    // and not nginx, or nginx and not them.
    let counted: Vec<targets::Target> = run
        .targets
        .iter()
        .filter(|t| t.proxy.is_none())
        .cloned()
        .collect();
    let references = run
        .references
        .iter()
        .filter(|(t, r)| {
            [t, r]
                .iter()
                .all(|n| counted.iter().any(|c| &c.name == **n))
        })
        .map(|(t, r)| (t.clone(), r.clone()))
        .collect();
    let mut config = counting(
        &defaults,
        counted,
        (plan.scenarios.clone(), run.workloads.clone()),
        run.concurrency.iter().take(1).copied().collect(),
        run.baseline_name().map(str::to_string),
        run.out.clone(),
        run.placeholders.clone(),
        run.ids,
    );
    config.references = references;
    config.cold_jit = false;
    let mut sink = crate::results::OutDir(config.out.clone());
    let counted = db::block_on(bookbench_cost::measure(
        &config, results, &mut Lines, &mut sink,
    ));
    results.partial |= counted.is_err();
    bookbench_suite::run::Sink::save(&mut sink, results)
        .map_err(|e| anyhow::anyhow!("cannot save the results: {e}"))?;
    Ok(counted?)
}

/// A line per target and per window, on standard error.
struct Lines;

impl bookbench_cost::Observer for Lines {
    fn target(&mut self, name: &str, status: &str) {
        erroutln!("{name}: {status}");
    }

    fn window(&mut self, target: &str, at: &str, window: u32, per_request: Option<f64>) {
        let per = per_request.map_or("-".to_string(), |x| format!("{x:.0}"));
        erroutln!(
            "{target} {at} window {}: {per} instructions a request",
            window + 1
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_budget_of_zero_counts_none_and_others_are_durations() {
        assert_eq!(parse_budget("0"), Ok(Duration::ZERO));
        assert_eq!(parse_budget("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_budget("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_budget("soon").is_err());
    }
}
