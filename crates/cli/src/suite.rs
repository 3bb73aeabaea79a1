//! `bookbench run`, `targets`, `target`, `verify` and `compare`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use bookbench_datagen::{GENERATOR_VERSION, Plan, Scale};
use bookbench_load::IdSpace;
use bookbench_suite::results::{Env, Results};
use bookbench_suite::run::{Observer, RunConfig};
use bookbench_suite::targets::{self, Placeholders, Target};
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::{self, DatabaseArgs};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Preset {
    /// Minutes: Rust, Flask (gunicorn sync and gevent), Sanic and FastAPI,
    /// six scenarios at 100k authors, concurrency 10 and 50.
    Quick,
    /// The blog post's study: every target, every scenario, concurrency 1
    /// to 200, at full scale (hours).
    Full,
    /// The blog post's figures in an hour and a half: every target, the blog
    /// post's five scenarios, concurrency 10, 50 and 200, at full scale.
    Blog,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A set of defaults; the flags below override it.
    #[arg(long, value_enum, default_value = "quick")]
    preset: Preset,
    /// Targets to measure, in order (see `bookbench targets`).
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,
    /// Scenarios to run (see `bookbench load --help`).
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    /// Connection counts to sweep.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: Option<Vec<u32>>,
    /// Measured time per repeat (10s, 500ms, 1m).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Unmeasured load before each point.
    #[arg(long, value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Repeats per point; the median is reported.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: Option<u32>,
    /// The data set's size (seeded if the database holds another).
    #[arg(long, value_enum)]
    scale: Option<crate::seed::ScaleArg>,
    /// Open loop at this many requests per second (closed loop without).
    #[arg(long)]
    rate: Option<f64>,
    /// Per request: a slower answer counts as a timeout error.
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Where results go (default: results/<timestamp>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Read targets from this file instead of the built-in bench/targets.toml.
    #[arg(long, value_name = "FILE")]
    targets_file: Option<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    bookbench_load::parse_duration(s).map_err(|e| e.to_string())
}

struct Defaults {
    targets: Vec<&'static str>,
    scenarios: Vec<&'static str>,
    concurrency: Vec<u32>,
    duration: Duration,
    warmup: Duration,
    repeat: u32,
    timeout: Duration,
    scale: Scale,
}

fn defaults(preset: Preset, all_targets: &[Target]) -> Defaults {
    match preset {
        Preset::Quick => Defaults {
            // The blog post's main rows: Rust, Flask under gunicorn (sync and
            // gevent), Sanic, and FastAPI.
            targets: vec![
                "rust",
                "flask-gunicorn-sync",
                "flask-gunicorn-gevent",
                "sanic-tortoise",
                "fastapi",
            ],
            // Not author-offset-500k: 100k authors have no page there.
            scenarios: vec![
                "hello-get",
                "author-detail",
                "author-list",
                "author-offset-50k",
                "author-keyset",
                "mixed",
            ],
            concurrency: vec![10, 50],
            duration: Duration::from_secs(2),
            warmup: Duration::from_secs(1),
            repeat: 2,
            timeout: Duration::from_secs(10),
            scale: Scale::Medium,
        },
        Preset::Full => Defaults {
            targets: all_targets.iter().map(|t| leak(&t.name)).collect(),
            scenarios: bookbench_load::SCENARIOS.to_vec(),
            concurrency: vec![1, 10, 50, 100, 200],
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(3),
            repeat: 3,
            // A deep OFFSET page takes seconds under an ORM's query.
            timeout: Duration::from_secs(30),
            scale: Scale::Full,
        },
        // The full study trimmed to what the blog post charted, so that its
        // table can be redone in one sitting: shorter points, three loads.
        Preset::Blog => Defaults {
            targets: all_targets.iter().map(|t| leak(&t.name)).collect(),
            scenarios: vec![
                "hello-get",
                "author-detail",
                "author-list",
                "author-offset-50k",
                "author-offset-500k",
            ],
            concurrency: vec![10, 50, 200],
            duration: Duration::from_secs(3),
            warmup: Duration::from_secs(2),
            repeat: 2,
            timeout: Duration::from_secs(30),
            scale: Scale::Full,
        },
    }
}

/// Target names live as long as the command.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

pub fn run(args: RunArgs) -> Result<()> {
    let all = targets::load(args.targets_file.as_deref())?;
    let d = defaults(args.preset, &all);
    let target_names = args
        .targets
        .unwrap_or_else(|| d.targets.iter().map(ToString::to_string).collect());
    let selected = targets::select(&all, &target_names)?;
    let scenarios = args
        .scenarios
        .unwrap_or_else(|| d.scenarios.iter().map(ToString::to_string).collect());
    if let Some(bad) = scenarios
        .iter()
        .find(|s| bookbench_load::scenario(s).is_none())
    {
        bail!(
            "unknown scenario '{bad}'; scenarios: {}",
            bookbench_load::SCENARIOS.join(", ")
        );
    }
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--rate must be a positive number of requests per second, not {rate}");
    }
    let scale: Scale = args.scale.map(Into::into).unwrap_or(d.scale);
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("results").join(chrono_stamp()));
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let probe = out.join(".write-test");
    std::fs::write(&probe, b"").with_context(|| format!("{} is not writable", out.display()))?;
    let _ = std::fs::remove_file(probe);

    let url = args.database.resolve()?;
    let (ids, env) = db::block_on(async { prepare_database(&url, scale).await })?;
    let config = RunConfig {
        preset: format!("{:?}", args.preset).to_lowercase(),
        targets: selected,
        scenarios,
        concurrency: args.concurrency.unwrap_or(d.concurrency),
        duration: args.duration.unwrap_or(d.duration),
        warmup: args.warmup.unwrap_or(d.warmup),
        repeat: args.repeat.unwrap_or(d.repeat),
        rate: args.rate,
        timeout: args.timeout.unwrap_or(d.timeout),
        out: out.clone(),
        placeholders: placeholders(&url)?,
        ids,
        env,
    };
    let mut progress = Progress::new();
    let results = runtime()?.block_on(bookbench_suite::run::run(&config, &mut progress));
    progress.bar.finish_and_clear();
    let results = results?;
    println!("{}", bookbench_suite::report::summary_markdown(&results));
    println!("results: {}", out.display());
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn chrono_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    bookbench_suite::results::timestamp_for_path(secs)
}

fn placeholders(url: &str) -> Result<Placeholders> {
    let exe = std::env::current_exe().context("cannot find the bookbench binary")?;
    let cwd = std::env::current_dir().context("no current directory")?;
    // The checkout holds the peers' code: the current directory when it is
    // the checkout, else the one the binary was built in (target/*/bookbench).
    let repo = std::iter::once(cwd.as_path())
        .chain(exe.ancestors())
        .find(|d| d.join("bench/targets.toml").is_file())
        .unwrap_or(&cwd)
        .to_path_buf();
    Ok(Placeholders {
        bookbench: exe,
        port: 0,
        database_url: url.to_string(),
        home: bookbench_cluster::embedded::home_from_env(),
        repo,
    })
}

/// Seeds the database to `scale` unless it holds exactly that already, and
/// describes the environment.
async fn prepare_database(url: &str, scale: Scale) -> Result<(IdSpace, Env)> {
    let mut client = db::connect(url).await?;
    bookbench_schema::migrate(&mut client).await?;
    let current = bookbench_schema::Dataset::read(&client).await?;
    let fits = current.as_ref().is_some_and(|d| {
        d.scale.as_deref() == Some(scale.name()) && d.generator_version == GENERATOR_VERSION
    });
    if !fits {
        let has_rows: bool = client
            .query_one("SELECT EXISTS (SELECT 1 FROM author)", &[])
            .await?
            .get(0);
        if has_rows && current.is_none() {
            bail!(
                "the database holds rows that bookbench did not seed; run 'bookbench seed --scale {} --force' first",
                scale.name()
            );
        }
        eprintln!("seeding the {} data set…", scale.name());
        let plan = Plan::from_scale(scale, bookbench_datagen::DEFAULT_SEED);
        bookbench_datagen::seed(&mut client, &plan, true, &bookbench_datagen::NoProgress).await?;
    }
    let d = bookbench_schema::Dataset::read(&client)
        .await?
        .context("the dataset record is missing after seeding")?;
    let mut env = Env {
        bookbench_version: env!("CARGO_PKG_VERSION").to_string(),
        cpu_model: std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_default(),
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        postgres_version: client
            .query_one("SELECT version()", &[])
            .await?
            .get::<_, String>(0)
            .split(" on ")
            .next()
            .unwrap_or_default()
            .to_string(),
        database_cpus: "unpinned (all cores)".to_string(),
        ..Env::default()
    };
    for row in client
        .query(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY($1)",
            &[&vec![
                "shared_buffers",
                "work_mem",
                "max_connections",
                "synchronous_commit",
                "fsync",
                "wal_level",
                "jit",
                "effective_cache_size",
                "random_page_cost",
            ]],
        )
        .await?
    {
        env.postgres_settings.insert(row.get(0), row.get(1));
    }
    env.scale.insert("seed".into(), d.seed.into());
    env.scale
        .insert("scale".into(), d.scale.clone().unwrap_or_default().into());
    env.scale.insert("authors".into(), d.authors.into());
    env.scale.insert("books".into(), d.books.into());
    env.scale.insert("book_genres".into(), d.book_genres.into());
    Ok((
        IdSpace {
            seed: d.seed,
            authors: d.authors,
            books: d.books,
        },
        env,
    ))
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
            eprintln!("{name}: {status}");
        } else {
            self.bar.println(format!("{name}: {status}"));
        }
    }

    fn point(&mut self, target: &str, scenario: &str, concurrency: u32, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        let what = format!("{target} {scenario} c={concurrency}");
        if self.lines && done < total {
            eprintln!("[{}/{total}] {what}", done + 1);
        }
        self.bar.set_message(what);
    }
}

#[derive(Debug, clap::Args)]
pub struct TargetsArgs {
    #[arg(long, value_name = "FILE")]
    targets_file: Option<PathBuf>,
}

/// `bookbench targets`: each target, and whether it can run here.
pub fn list(args: TargetsArgs) -> Result<()> {
    let all = targets::load(args.targets_file.as_deref())?;
    let p = placeholders("postgres://")?;
    let width = all.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &all {
        let state = match (t.unavailable(&p), &t.venv) {
            (Some(why), _) => format!("cannot run here: {why}"),
            (None, Some(venv)) if !bookbench_suite::peers::is_ready(&p.home, &p.repo, venv) => {
                format!(
                    "ready once its environment {venv} is set up (bookbench peers setup; run does it on demand)"
                )
            }
            (None, _) => "ready".to_string(),
        };
        println!(
            "{:<width$}  {} (CPU {:?}) — {state}",
            t.name, t.description, t.cpus
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// The target's name (see `bookbench targets`).
    name: String,
    /// Where it listens: 127.0.0.1:PORT.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: std::net::SocketAddr,
    #[arg(long, value_name = "FILE")]
    targets_file: Option<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// `bookbench target NAME`: runs one target in the foreground.
pub fn target(args: TargetArgs) -> Result<()> {
    let all = targets::load(args.targets_file.as_deref())?;
    let t = targets::select(&all, std::slice::from_ref(&args.name))?.remove(0);
    if !args.listen.ip().is_loopback() {
        bail!("targets listen on 127.0.0.1 only, not {}", args.listen.ip());
    }
    let url = args.database.resolve()?;
    db::block_on(db::migrate(&url))?;
    let mut p = placeholders(&url)?;
    p.port = args.listen.port();
    if let Some(why) = t.unavailable(&p) {
        bail!("target '{}' cannot run here: {why}", t.name);
    }
    let line = t.command_line(&p);
    let status = std::process::Command::new(&line[0])
        .args(&line[1..])
        .envs(t.env.iter().map(|(k, v)| (k.clone(), t.expand(v, &p))))
        .env("DATABASE_URL", &url)
        .env("PORT", p.port.to_string())
        .status()
        .with_context(|| format!("cannot start {}", line[0]))?;
    if !status.success() {
        bail!("target '{}' exited with {status}", t.name);
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The target's base URL, for example http://127.0.0.1:8000.
    url: String,
}

/// `bookbench verify URL`.
pub fn verify(args: VerifyArgs) -> Result<()> {
    let results = runtime()?.block_on(bookbench_suite::verify::verify(&args.url))?;
    let mut failed = Vec::new();
    for r in &results {
        match &r.failure {
            None => println!("ok    {}", r.name),
            Some(why) => {
                println!("FAIL  {}: {why}", r.name);
                failed.push(r.name.clone());
            }
        }
    }
    if failed.is_empty() {
        println!("{} passed, 0 failed", results.len());
        Ok(())
    } else {
        bail!(
            "{} of {} checks failed: {}",
            failed.len(),
            results.len(),
            failed.join(", ")
        )
    }
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline results.json.
    a: PathBuf,
    /// The results.json to compare with it.
    b: PathBuf,
}

/// `bookbench compare A B`.
pub fn compare(args: CompareArgs) -> Result<()> {
    let (a, b) = (read_results(&args.a)?, read_results(&args.b)?);
    let rows = bookbench_suite::compare::compare(&a, &b);
    print!("{}", bookbench_suite::compare::render(&rows));
    Ok(())
}

fn read_results(path: &std::path::Path) -> Result<Results> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Results::from_json(&text).with_context(|| format!("{}", path.display()))
}

/// Writes summary.md and report.html (and results.json, when asked) into
/// `dir`, and prints their paths.
fn write_outputs(dir: &std::path::Path, results: &Results, with_json: bool) -> Result<()> {
    for path in bookbench_suite::report::write(dir, results, with_json)? {
        println!("{}", path.display());
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A results.json; summary.md and report.html are written beside it.
    results: PathBuf,
    /// Also write each scenario's chart to DIR/<scenario>.svg, for documents.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
}

/// `bookbench report results.json`: renders the summary and the report again.
pub fn report(args: ReportArgs) -> Result<()> {
    let results = read_results(&args.results)?;
    let dir = args.results.parent().unwrap_or(std::path::Path::new("."));
    write_outputs(dir, &results, false)?;
    if let Some(charts) = &args.charts {
        std::fs::create_dir_all(charts)
            .with_context(|| format!("cannot create {}", charts.display()))?;
        for scenario in &results.config.scenarios {
            if !results.runs.iter().any(|p| &p.scenario == scenario) {
                continue;
            }
            let path = charts.join(format!("{scenario}.svg"));
            let svg = bookbench_suite::report::rps_chart(&results, scenario);
            std::fs::write(&path, svg)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}", path.display());
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The results.json files, each of runs of other targets (a target that
    /// failed in one and was measured in another is taken as measured).
    #[arg(required = true, num_args = 2..)]
    parts: Vec<PathBuf>,
    /// Where the merged results.json, summary.md and report.html go.
    #[arg(long)]
    out: PathBuf,
}

/// `bookbench merge A B … --out DIR`.
pub fn merge(args: MergeArgs) -> Result<()> {
    let parts = args
        .parts
        .iter()
        .map(|p| {
            Ok(bookbench_suite::merge::Part {
                name: p.display().to_string(),
                results: read_results(p)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let merged = bookbench_suite::merge::merge(parts)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output directory {}", args.out.display()))?;
    write_outputs(&args.out, &merged, true)
}
