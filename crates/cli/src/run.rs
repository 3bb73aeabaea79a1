//! `bookbench run`: the suite, from a preset and the flags that override it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use bookbench_datagen::Scale;
use bookbench_suite::preset::Preset;
use bookbench_suite::run::{Observer, RunConfig};
use bookbench_suite::targets::{self, Placeholders};
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
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Self {
        match p {
            PresetArg::Quick => Self::Quick,
            PresetArg::Full => Self::Full,
            PresetArg::Blog => Self::Blog,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A set of defaults; the flags below override it.
    #[arg(long, value_enum, default_value = "quick")]
    preset: PresetArg,
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

pub fn run(args: Args) -> Result<()> {
    let all = targets::load(args.targets_file.as_deref())?;
    let preset = Preset::from(args.preset);
    let d = preset.defaults(&all);
    let selected = targets::select(&all, &args.targets.unwrap_or(d.targets))?;
    let scenarios = args.scenarios.unwrap_or(d.scenarios);
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
        .unwrap_or_else(|| PathBuf::from("results").join(stamp()));
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let probe = out.join(".write-test");
    std::fs::write(&probe, b"").with_context(|| format!("{} is not writable", out.display()))?;
    let _ = std::fs::remove_file(probe);

    let url = args.database.resolve()?;
    let (dataset, env) = db::block_on(async {
        let mut client = db::connect(&url).await?;
        let dataset = bookbench_suite::dataset::ensure(&mut client, scale, &mut |s| {
            eprintln!("seeding the {} data set…", s.name());
        })
        .await?;
        let env = bookbench_suite::env::capture(&client, &dataset).await?;
        anyhow::Ok((dataset, env))
    })?;
    let config = RunConfig {
        preset: preset.name().to_string(),
        targets: selected,
        scenarios,
        concurrency: args.concurrency.unwrap_or(d.concurrency),
        duration: args.duration.unwrap_or(d.duration),
        warmup: args.warmup.unwrap_or(d.warmup),
        repeat: args.repeat.unwrap_or(d.repeat),
        rate: args.rate,
        timeout: args.timeout.unwrap_or(d.timeout),
        out: out.clone(),
        placeholders: Placeholders::discover(&url, bookbench_cluster::embedded::home_from_env())?,
        ids: bookbench_suite::dataset::id_space(&dataset),
        env,
    };
    let mut progress = Progress::new();
    let results = db::block_on(bookbench_suite::run::run(&config, &mut progress));
    progress.bar.finish_and_clear();
    let results = results?;
    println!("{}", bookbench_suite::report::summary_markdown(&results));
    println!("results: {}", out.display());
    Ok(())
}

/// A folder name that sorts by time.
fn stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    bookbench_suite::results::timestamp_for_path(secs)
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
