//! `bookbench run`: the suite, from a preset and the flags that override it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use bookbench_datagen::Scale;
use bookbench_load::Workloads;
use bookbench_results::RoundTrip;
use bookbench_results::{At, Results, Rounds};
use bookbench_suite::hosts::{self, Hosts, Reach};
use bookbench_suite::placeholders::Placeholders;
use bookbench_suite::preset::{CostDefaults, Defaults, Preset};
use bookbench_suite::run::{AppHost, ClientHost, Observer, RunConfig};
use bookbench_suite::targets::{self, Target};
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::{self, DatabaseArgs};

/// `--preset`, with each preset's help.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PresetArg {
    /// Minutes: Rust, Flask (gunicorn sync and gevent), Sanic and FastAPI,
    /// six scenarios at 100k authors, concurrency 10 and 50.
    Quick,
    /// The blog post's study: every target, every scenario, concurrency 1
    /// to 200, at full scale (hours).
    Full,
    /// The blog post's figures in an hour and a half: every target, the blog
    /// post's five scenarios, concurrency 10, 50 and 200, at full scale.
    Blog,
    /// The database a network away: the blog post's sync and async
    /// workers and Rust on the author detail, the list and mixed traffic,
    /// at c=50, with 0 to 5 ms between app and database (half an hour).
    Latency,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Self {
        match p {
            PresetArg::Quick => Self::Quick,
            PresetArg::Full => Self::Full,
            PresetArg::Blog => Self::Blog,
            PresetArg::Latency => Self::Latency,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A set of defaults; the flags below override it.
    #[arg(long, value_enum, default_value = "quick")]
    preset: PresetArg,
    /// Targets to measure (see `bookbench targets`).
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,
    /// The target every other is compared with [default: the first].
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Run in the lab (`bookbench lab up`; one is built for the run when
    /// none is up): the targets on its app host, the embedded database on
    /// its database host, reached through the latency relay on its bridge.
    #[arg(long, conflicts_with = "hosts")]
    lab: bool,
    /// Place the run's roles on the hosts of this file (bench/hosts.toml
    /// describes the lab; docs/hosts.md): targets on its app host, load
    /// agents (`bookbench load`) on its client hosts, a proxy on its proxy
    /// host, the database on its database host.
    #[arg(long, value_name = "FILE")]
    hosts: Option<PathBuf>,
    /// Measure each target also behind this proxy (nginx), as
    /// `<target>+nginx`, beside the target itself.
    #[arg(long, value_name = "PROXY")]
    proxy: Option<bookbench_suite::proxy::Proxy>,
    /// With --proxy: this many instances of each target behind it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    instances: Option<u32>,
    /// After the throughput, count what a request costs each target under
    /// valgrind (`bookbench cost`, at the first concurrency), into the same
    /// results [default: the quick, blog and full presets do].
    #[arg(long, conflicts_with_all = ["lab", "hosts", "no_cost"])]
    cost: bool,
    /// Time only: no counted cost after the throughput.
    #[arg(long)]
    no_cost: bool,
    #[command(flatten)]
    measure: Measure,
}

/// How each point is measured; shared by `run` and `calibrate`.
#[derive(Debug, clap::Args)]
pub struct Measure {
    /// Scenarios to run (see `bookbench load --help`).
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    /// A workload from a scenario file (TOML, docs/load.md), named by its
    /// file's stem; repeatable. Its scenarios are run, with those of
    /// --scenarios when given, instead of the preset's.
    #[arg(long = "scenario-file", value_name = "FILE")]
    scenario_files: Vec<PathBuf>,
    /// Connection counts to sweep.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: Option<Vec<u32>>,
    /// The measured part of each window (10s, 500ms, 1m).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Unmeasured load before each window, on its connections.
    #[arg(long, value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Rounds per point before precision is judged.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    min_rounds: Option<u32>,
    /// Rounds per point at most.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_rounds: Option<u32>,
    /// Add rounds until every ratio's 95% interval is this narrow (5%: ±5%).
    #[arg(long, value_parser = parse_precision)]
    precision: Option<f64>,
    /// The longest one point may take, all targets and rounds (2m, 90s).
    #[arg(long, value_parser = parse_duration)]
    point_time: Option<Duration>,
    /// Seeds the order of the targets in each round [default: random].
    #[arg(long)]
    seed: Option<u64>,
    /// The data set's size (seeded if the database holds another).
    #[arg(long, value_enum)]
    scale: Option<crate::seed::ScaleArg>,
    /// Open loop at this many requests per second (closed loop without).
    #[arg(long)]
    rate: Option<f64>,
    /// Per request: a slower answer counts as a timeout error.
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Round trips between the targets and the database to sweep, through
    /// bookbench's latency relay (0,0.5ms,2ms,5ms) [default: direct].
    #[arg(long, value_delimiter = ',', value_name = "RTT")]
    db_latency: Option<Vec<RoundTrip>>,
    /// Where results go (default: results/<timestamp>/).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    targets_file: crate::targets::TargetsFile,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    bookbench_load::parse_duration(s).map_err(|e| e.to_string())
}

/// `5%` or `5`: a percentage above 0 and below 100, as a fraction.
pub fn parse_precision(s: &str) -> Result<f64, String> {
    let number = s.trim().trim_end_matches('%');
    let pct: f64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage like 5%"))?;
    if !(pct > 0.0 && pct < 100.0) {
        return Err(format!(
            "a percentage above 0% and below 100% is needed, not {s}"
        ));
    }
    Ok(pct / 100.0)
}

pub fn run(args: Args) -> Result<()> {
    // A lab built for the run is removed after it, whatever became of the
    // run; one that was up already is left as it was.
    let built = args.lab && build_lab_unless_up()?;
    let outcome = run_here(args);
    if built {
        crate::lab::stop_cluster_in_lab();
        match bookbench_lab::down() {
            Ok(_) => erroutln!("lab: removed"),
            Err(e) => erroutln!("warning: the lab built for this run was not removed: {e}"),
        }
    }
    outcome
}

/// Builds a lab of one client host when there is none, saying so.
fn build_lab_unless_up() -> Result<bool> {
    if !bookbench_lab::status()?.is_empty() {
        return Ok(false);
    }
    bookbench_lab::up(bookbench_lab::Layout::default())?;
    erroutln!(
        "lab: built for this run, with one client host, and removed after it (`bookbench lab up` first keeps one)"
    );
    Ok(true)
}

fn run_here(args: Args) -> Result<()> {
    let all = args.measure.targets_file.load()?;
    let preset = Preset::from(args.preset);
    let d = preset.defaults(&all);
    let mut selected = targets::select(&all, args.targets.as_ref().unwrap_or(&d.targets))?;
    // Each copy behind the proxy is compared with the target itself: the
    // ratio is the proxy's cost.
    let mut references = BTreeMap::new();
    match (args.proxy, args.instances) {
        (Some(proxy), instances) => {
            let behind: Vec<Target> = selected
                .iter()
                .filter(|t| t.proxy.is_none())
                .map(|t| {
                    let b = t.behind(proxy, instances.unwrap_or(1));
                    references.insert(b.name.clone(), t.name.clone());
                    b
                })
                .collect();
            selected.extend(behind);
        }
        (None, Some(_)) => bail!("--instances needs --proxy nginx: the instances run behind it"),
        (None, None) => {}
    }
    crate::targets::check_baseline(args.baseline.as_ref(), &selected, "measured")?;
    let mut args = args;
    let app_host = if args.lab {
        let (app, db) = lab_hosts()?;
        args.measure.database.db_host = Some(db);
        Some(app)
    } else if let Some(path) = &args.hosts {
        let (app, db) = file_hosts(path)?;
        match db {
            Some(DbPlace::Url(url)) => args.measure.database.database_url = Some(url),
            Some(DbPlace::Here(db)) => args.measure.database.db_host = Some(db),
            None => {}
        }
        Some(app)
    } else {
        None
    };
    let plan = counted(&args, &d);
    let mut config = args.measure.config(
        preset.name(),
        &d,
        selected,
        args.baseline.clone(),
        references,
    )?;
    config.app_host = app_host;
    let cost = plan.map(|(mut plan, every)| {
        plan.scenarios = config
            .scenarios
            .iter()
            .filter(|s| every || plan.scenarios.contains(s))
            .cloned()
            .collect();
        plan
    });
    measure_and_count(&config, cost)
}

/// The run's throughput, then what `cost` says to count, into one results;
/// the summary printed.
pub fn measure_and_count(config: &RunConfig, cost: Option<CostDefaults>) -> Result<()> {
    if cost.is_some() {
        // Before anything is measured: a run that cannot count says so now.
        bookbench_cost::valgrind::Valgrind::find()
            .map_err(|e| anyhow::anyhow!("{e} (or time only: --no-cost)"))?;
    }
    let mut results = execute(config)?;
    if let Some(plan) = cost {
        crate::cost::after_run(config, &plan, &mut results)?;
    }
    outln!("{}", bookbench_report::summary_markdown(&results));
    outln!("results: {}", config.out.display());
    Ok(())
}

/// What the run counts after its throughput, if anything: the preset's
/// plan, or with `--cost` `bookbench cost`'s defaults; and whether every
/// scenario of the run is counted (they were named on the command line).
/// Targets in the lab or on hosts run where valgrind's counts are not
/// taken.
fn counted(args: &Args, d: &Defaults) -> Option<(CostDefaults, bool)> {
    if args.no_cost || (!args.cost && (args.lab || args.hosts.is_some())) {
        return None;
    }
    let plan = match (&d.cost, args.cost) {
        (Some(plan), _) => plan.clone(),
        (None, true) => crate::cost::defaults(),
        (None, false) => return None,
    };
    let every = args.measure.scenarios.is_some()
        || !args.measure.scenario_files.is_empty()
        || d.cost.is_none();
    Some((plan, every))
}

/// The lab's app host (with its client hosts) and its database host, if
/// the lab is up.
fn lab_hosts() -> Result<(AppHost, db::DbHost)> {
    use bookbench_lab::Role;
    let status = bookbench_lab::status()?;
    let up = |role: Role| {
        bookbench_lab::Layout {
            clients: bookbench_lab::MAX_CLIENTS,
            proxy: true,
        }
        .hosts()
        .into_iter()
        .find(|h| h.role == role)
        .filter(|h| status.bridge && status.namespaces.iter().any(|(n, _)| *n == h.namespace))
    };
    let clients: Vec<ClientHost> = (1..=bookbench_lab::MAX_CLIENTS)
        .map_while(|n| up(Role::Client(n)))
        .map(|h| ClientHost::Namespace(h.namespace))
        .collect();
    let (Some(app), Some(db)) = (
        up(Role::App).filter(|_| !clients.is_empty()),
        up(Role::Database),
    ) else {
        bail!(
            "--lab: the lab is only partly up (an earlier one cut short?); run `bookbench lab down` and try again"
        );
    };
    let p = Placeholders::discover("", bookbench_cluster::embedded::home_from_env())?;
    let host = |role, h: bookbench_lab::Host| {
        hosts::Host::in_namespace(role, &h.namespace, h.addr.into(), &p)
    };
    let app = AppHost {
        host: host(hosts::Role::App, app),
        gateway: bookbench_lab::BRIDGE_ADDR.into(),
        clients,
        proxy: up(Role::Proxy).map(|h| host(hosts::Role::Proxy, h)),
    };
    let db = db::DbHost {
        namespace: Some(db.namespace),
        address: db.addr.into(),
        clients: bookbench_lab::NETWORK.to_string(),
    };
    Ok((app, db))
}

/// Where a hosts file puts the database.
enum DbPlace {
    /// A PostgreSQL of the user's.
    Url(String),
    /// The embedded cluster, on this machine or a namespace of it.
    Here(db::DbHost),
}

/// The hosts of a hosts file, each checked to answer, and the clock of
/// each client host read (its agents start at an instant on it).
fn file_hosts(path: &std::path::Path) -> Result<(AppHost, Option<DbPlace>)> {
    let p = Placeholders::discover("", bookbench_cluster::embedded::home_from_env())?;
    let file = Hosts::load(path, &p)?;
    for h in &file.hosts {
        h.reachable()?;
    }
    let clients = file
        .clients()
        .map(|h| {
            let clock = h.clock_offset()?;
            Ok(ClientHost::Agent {
                host: h.clone(),
                clock,
            })
        })
        .collect::<Result<Vec<_>, bookbench_suite::Error>>()?;
    let db = file.database().map(|h| match (&h.database_url, h.reach()) {
        (Some(url), _) => DbPlace::Url(url.clone()),
        // `Hosts::parse` refuses a remote one without a URL.
        (None, reach) => DbPlace::Here(db::DbHost {
            namespace: match reach {
                Reach::Namespace(ns) => Some(ns),
                Reach::Here | Reach::Remote => None,
            },
            address: h.address,
            clients: file.network.clone(),
        }),
    });
    let app = AppHost {
        host: file.app().clone(),
        gateway: file.here,
        clients,
        proxy: file.proxy().cloned(),
    };
    Ok((app, db))
}

impl Measure {
    /// The run's configuration: these flags over the preset's defaults.
    /// Starts the database and seeds it when needed.
    pub fn config(
        self,
        preset: &str,
        d: &Defaults,
        targets: Vec<Target>,
        baseline: Option<String>,
        references: BTreeMap<String, String>,
    ) -> Result<RunConfig> {
        self.config_with(preset, d, (targets, baseline, references), true)
    }

    /// As [`Measure::config`]; without `bookstore`, the database is started
    /// but the bookstore's data set is neither seeded nor read.
    pub fn config_with(
        self,
        preset: &str,
        d: &Defaults,
        (targets, baseline, references): (Vec<Target>, Option<String>, BTreeMap<String, String>),
        bookstore: bool,
    ) -> Result<RunConfig> {
        let workloads = Workloads::from_files(&self.scenario_files)?;
        let scenarios = scenarios(self.scenarios, &workloads, &d.scenarios)?;
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            bail!("--rate must be a positive number of requests per second, not {rate}");
        }
        let min = self.min_rounds.unwrap_or(d.rounds.min);
        let max = self.max_rounds.unwrap_or(d.rounds.max.max(min));
        if max < min {
            bail!("--max-rounds {max} is fewer than --min-rounds {min}");
        }
        let scale: Scale = self.scale.map(Into::into).unwrap_or(d.scale);
        let prepared = prepare(self.out, &self.database, bookstore.then_some(scale))?;
        Ok(RunConfig {
            preset: preset.to_string(),
            targets,
            scenarios,
            workloads,
            concurrency: self.concurrency.unwrap_or_else(|| d.concurrency.clone()),
            duration: self.duration.unwrap_or(d.duration),
            warmup: self.warmup.unwrap_or(d.warmup),
            rounds: Rounds { min, max },
            precision: self.precision.unwrap_or(d.precision),
            point_budget: self.point_time.unwrap_or(d.point_budget),
            baseline,
            references,
            noise_threshold: bookbench_results::judge::NOISE_THRESHOLD,
            steal_threshold: bookbench_results::judge::STEAL_THRESHOLD,
            seed: self.seed.unwrap_or_else(seed),
            rate: self.rate,
            db_latency: self.db_latency.unwrap_or_else(|| d.db_latency.clone()),
            app_host: None,
            timeout: self.timeout.unwrap_or(d.timeout),
            out: prepared.out,
            placeholders: Placeholders::discover(
                &prepared.url,
                bookbench_cluster::embedded::home_from_env(),
            )?,
            ids: bookbench_suite::dataset::id_space(prepared.dataset.as_ref()),
            env: prepared.env,
        })
    }

    /// Without scenarios given, the scenario files in `dir` (`*.toml`, in
    /// name order); none there is an error that says what to give.
    pub fn default_scenario_files(&mut self, dir: &std::path::Path) -> Result<()> {
        if self.scenarios.is_some() || !self.scenario_files.is_empty() {
            return Ok(());
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if files.is_empty() {
            bail!(
                "no workload: give --scenario-file FILE, or put scenario files in {} \
                 (docs/your-app.md)",
                dir.display()
            );
        }
        self.scenario_files = files;
        Ok(())
    }

    /// The targets these flags declare.
    pub fn targets(&self) -> Result<Vec<Target>, bookbench_suite::Error> {
        self.targets_file.load()
    }
}

/// The scenarios to run: those named, then the files' not named among
/// them; without names, the files' alone, or without files the preset's.
/// A name neither built in nor read from a file is refused.
pub fn scenarios(
    named: Option<Vec<String>>,
    workloads: &Workloads,
    preset: &[String],
) -> Result<Vec<String>> {
    let from_files = workloads.file_names();
    let scenarios = match named {
        Some(mut named) => {
            for f in from_files {
                if !named.contains(&f) {
                    named.push(f);
                }
            }
            named
        }
        None if !from_files.is_empty() => from_files,
        None => preset.to_vec(),
    };
    workloads.check(&scenarios)?;
    Ok(scenarios)
}

/// What every measuring verb prepares before it starts a target.
pub struct Prepared {
    /// The output directory, made and checked writable.
    pub out: PathBuf,
    /// The database, started, and seeded when a scale was asked for.
    pub url: String,
    pub dataset: Option<bookbench_schema::Dataset>,
    pub env: bookbench_results::Env,
}

/// Makes the output directory (default `results/<timestamp>/`), starts the
/// database and seeds it at `scale` when it holds another data set.
pub fn prepare(
    out: Option<PathBuf>,
    database: &DatabaseArgs,
    scale: Option<Scale>,
) -> Result<Prepared> {
    let out = out.unwrap_or_else(|| PathBuf::from("results").join(stamp()));
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let probe = out.join(".write-test");
    std::fs::write(&probe, b"").with_context(|| format!("{} is not writable", out.display()))?;
    let _ = std::fs::remove_file(probe);
    let url = database.resolve()?;
    let (dataset, env) = db::block_on(async {
        let mut client = db::connect(&url).await?;
        let dataset = match scale {
            Some(scale) => Some(
                bookbench_suite::dataset::ensure(&mut client, scale, &mut |s| {
                    erroutln!("seeding the {} data set…", s.name());
                })
                .await?,
            ),
            None => None,
        };
        let env = bookbench_suite::env::capture(&client, dataset.as_ref()).await?;
        anyhow::Ok((dataset, env))
    })?;
    Ok(Prepared {
        out,
        url,
        dataset,
        env,
    })
}

/// Runs the suite with a progress display, its results written to
/// `config.out` and rendered as they grow.
pub fn execute(config: &RunConfig) -> Result<Results> {
    let mut progress = Progress::new();
    let mut sink = crate::results::OutDir(config.out.clone());
    let results = db::block_on(bookbench_suite::run::run(config, &mut progress, &mut sink));
    progress.bar.finish_and_clear();
    Ok(results?)
}

/// A seed for a run that was given none: the clock's nanoseconds.
fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A folder name that sorts by time.
fn stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    bookbench_results::timestamp_for_path(secs)
}

/// A bar over all points, saying what runs now; without a terminal (a log
/// file, CI), a line per target and per point instead.
struct Progress {
    bar: ProgressBar,
    lines: bool,
}

impl Progress {
    fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "[{elapsed_precise}] {wide_bar} {pos}/{len} points, eta {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let lines = bar.is_hidden();
        Self { bar, lines }
    }
}

impl Observer for Progress {
    fn target(&mut self, name: &str, status: &str) {
        if self.lines {
            erroutln!("{name}: {status}");
        } else {
            self.bar.println(format!("{name}: {status}"));
        }
    }

    fn point(&mut self, at: &At<'_>, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        let what = at.to_string();
        if self.lines && done < total {
            erroutln!("[{}/{total}] {what}", done + 1);
        }
        self.bar.set_message(what);
    }

    fn round(&mut self, at: &At<'_>, round: u32) {
        self.bar.set_message(format!("{at}, round {}", round + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `bookbench run ARGS` would count after its throughput.
    fn plan(args: &[&str]) -> Option<(CostDefaults, bool)> {
        #[derive(clap::Parser)]
        struct Run {
            #[command(flatten)]
            args: Args,
        }
        let run = <Run as clap::Parser>::try_parse_from(
            std::iter::once("run").chain(args.iter().copied()),
        )
        .expect("the flags parse");
        let all = targets::parse(targets::BUILTIN).expect("the built-in targets");
        counted(&run.args, &Preset::from(run.args.preset).defaults(&all))
    }

    #[test]
    fn the_main_job_counts_its_presets_scenarios_unless_told_not_to() {
        let (quick, every) = plan(&[]).expect("the quick preset counts");
        assert_eq!(
            quick.scenarios,
            [
                "hello-get",
                "author-detail",
                "author-list",
                "author-offset-50k"
            ]
        );
        assert!(!every);
        assert!(plan(&["--no-cost"]).is_none());
        assert!(plan(&["--preset", "latency"]).is_none());
        let (_, every) = plan(&["--scenarios", "author-keyset"]).expect("counted");
        assert!(every, "scenarios named are all counted");
        let (forced, every) = plan(&["--preset", "latency", "--cost"]).expect("--cost counts");
        assert_eq!(
            forced.requests_per_window,
            crate::cost::defaults().requests_per_window
        );
        assert!(every);
        assert!(
            plan(&["--hosts", "bench/hosts.toml"]).is_none(),
            "not on other hosts"
        );
    }
}
