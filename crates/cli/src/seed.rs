//! `bookbench seed`: fill the database with deterministic bookstore data.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use bookbench_datagen::{DEFAULT_SEED, Phase, Plan, Progress, Scale};
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::{self, DatabaseArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A named size: tiny (1k authors), small (10k), medium (100k) or full
    /// (the blog post's 1M authors and about 10M books).
    #[arg(long, value_enum, conflicts_with = "authors")]
    scale: Option<ScaleArg>,
    /// Exactly this many authors (books follow: about 10 each).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    authors: Option<u64>,
    /// The random seed; the same seed gives the same rows and ids.
    #[arg(long, default_value_t = DEFAULT_SEED, allow_negative_numbers = true)]
    seed: u64,
    /// Empty a database that already holds data, then seed it.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScaleArg {
    Tiny,
    Small,
    Medium,
    Full,
}

impl From<ScaleArg> for Scale {
    fn from(s: ScaleArg) -> Self {
        match s {
            ScaleArg::Tiny => Self::Tiny,
            ScaleArg::Small => Self::Small,
            ScaleArg::Medium => Self::Medium,
            ScaleArg::Full => Self::Full,
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let plan = match (args.scale, args.authors) {
        (_, Some(authors)) => Plan {
            seed: args.seed,
            authors,
            scale: None,
        },
        (scale, None) => Plan::from_scale(scale.unwrap_or(ScaleArg::Small).into(), args.seed),
    };
    let url = args.database.resolve()?;
    let dataset = db::block_on(async {
        let mut client = db::connect(&url).await?;
        bookbench_schema::migrate(&mut client).await?;
        // The same data set again is already there: nothing to do, so
        // that a set-up step can seed every time it runs.
        if !args.force
            && let Some(d) = bookbench_schema::Dataset::read(&client).await?
            && (d.seed, d.authors, d.generator_version)
                == (
                    plan.seed,
                    plan.authors,
                    bookbench_datagen::GENERATOR_VERSION,
                )
        {
            return anyhow::Ok(None);
        }
        let progress = Bars::new();
        let result = bookbench_datagen::seed(&mut client, &plan, args.force, &progress).await;
        progress.bar.finish_and_clear();
        anyhow::Ok(Some((result?, progress.timings())))
    })?;
    let Some((dataset, timings)) = dataset else {
        outln!(
            "the database holds this data set already ({} authors, seed {})",
            plan.authors,
            plan.seed
        );
        return Ok(());
    };
    outln!(
        "seeded {} authors, {} books and {} book genres (seed {}) in {:.1} s ({timings})",
        dataset.authors,
        dataset.books,
        dataset.book_genres,
        dataset.seed,
        dataset.load_seconds
    );
    Ok(())
}

/// One progress bar, reset for each phase; hidden when stderr is not a
/// terminal.
struct Bars {
    bar: ProgressBar,
    /// When each phase started, for the closing line.
    started: Mutex<Vec<(Phase, Instant)>>,
}

impl Bars {
    fn new() -> Self {
        Self {
            bar: ProgressBar::new(0),
            started: Mutex::new(Vec::new()),
        }
    }

    /// `author 1.2 s, book 20.1 s, …`: how long each phase took.
    fn timings(&self) -> String {
        let started = self.started.lock().map(|s| s.clone()).unwrap_or_default();
        let ends = started
            .iter()
            .skip(1)
            .map(|(_, t)| *t)
            .chain([Instant::now()]);
        started
            .iter()
            .zip(ends)
            .map(|((phase, start), end)| {
                format!("{} {:.1} s", phase.label(), (end - *start).as_secs_f64())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Progress for Bars {
    fn phase(&self, phase: Phase, rows: u64) {
        if let Ok(mut started) = self.started.lock() {
            started.push((phase, Instant::now()));
        }
        self.bar.reset();
        let template = if phase == Phase::Indexes {
            self.bar.enable_steady_tick(Duration::from_millis(200));
            "{spinner} {msg} {elapsed}"
        } else {
            "{msg:>12} [{wide_bar}] {human_pos}/{human_len} rows, {per_sec}, eta {eta}"
        };
        self.bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        self.bar.set_length(rows);
        self.bar.set_message(phase.label());
    }

    fn rows(&self, n: u64) {
        self.bar.inc(n);
    }
}
