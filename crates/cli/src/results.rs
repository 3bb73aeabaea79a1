//! `bookbench compare`, `report` and `merge`: what can be done with
//! results.json files after a run.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use bookbench_results::Results;
use bookbench_suite::run::{Sink, SinkError};

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline results.json.
    a: PathBuf,
    /// The results.json to compare with it.
    b: PathBuf,
    /// Exit non-zero when a point got significantly slower from A to B, or
    /// its counted instructions a request costlier.
    #[arg(long)]
    fail_on_regression: bool,
}

/// `bookbench compare A B`.
pub fn compare(args: CompareArgs) -> Result<()> {
    let (a, b) = (read(&args.a)?, read(&args.b)?);
    let timed = bookbench_results::compare::compare(&a, &b);
    let counted = bookbench_results::cost_compare::compare(&a, &b);
    // Two counting runs share no timed point, and two timed runs no
    // counted one: only sharing neither is an error.
    let timed = match timed {
        Err(e) if counted.is_empty() => return Err(e.into()),
        Err(_) => Vec::new(),
        Ok(rows) => rows,
    };
    if !timed.is_empty() {
        let threshold = bookbench_results::compare::threshold(&a, &b);
        out!("{}", bookbench_report::compare::table(&timed, threshold));
    }
    if !counted.is_empty() {
        let threshold = bookbench_results::cost_compare::threshold(&a, &b);
        if !timed.is_empty() {
            outln!();
        }
        out!(
            "{}",
            bookbench_report::compare::cost_table(&counted, threshold)
        );
    }
    let slower = bookbench_results::compare::regressions(&timed);
    let costlier = bookbench_results::cost_compare::regressions(&counted);
    if args.fail_on_regression && !(slower.is_empty() && costlier.is_empty()) {
        let named: Vec<String> = slower
            .iter()
            .map(|r| format!("{} {} slower", r.target, r.at()))
            .chain(
                costlier
                    .iter()
                    .map(|r| format!("{} {} c={} costlier", r.target, r.scenario, r.concurrency)),
            )
            .collect();
        anyhow::bail!(
            "{} point(s) significantly slower or costlier in {}: {}",
            named.len(),
            args.b.display(),
            named.join(", ")
        );
    }
    Ok(())
}

fn read(path: &Path) -> Result<Results> {
    Results::read(path).with_context(|| format!("{}", path.display()))
}

/// Where a run's results go: `results.json` in a folder, and the report
/// rendered from it beside it, every time they grow.
#[derive(Debug)]
pub struct OutDir(pub PathBuf);

impl Sink for OutDir {
    fn save(&mut self, results: &Results) -> Result<(), SinkError> {
        results.write(&self.0.join("results.json"))?;
        bookbench_report::write(&self.0, results)?;
        Ok(())
    }
}

/// Writes summary.md and report.html (and results.json, when asked) into
/// `dir`, and prints their paths.
fn write_outputs(dir: &Path, results: &Results, with_json: bool) -> Result<()> {
    if with_json {
        let path = dir.join("results.json");
        results.write(&path)?;
        outln!("{}", path.display());
    }
    for path in bookbench_report::write(dir, results)? {
        outln!("{}", path.display());
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A results.json; summary.md and report.html are written beside it.
    results: PathBuf,
    /// Also write each scenario's charts, for documents: requests/s against
    /// concurrency to DIR/<scenario>.svg, each target at its best
    /// concurrency to DIR/<scenario>-bars.svg.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
}

/// `bookbench report results.json`: renders the summary and the report again.
pub fn report(args: ReportArgs) -> Result<()> {
    let results = read(&args.results)?;
    let dir = args.results.parent().unwrap_or(Path::new("."));
    write_outputs(dir, &results, false)?;
    if let Some(charts) = &args.charts {
        std::fs::create_dir_all(charts)
            .with_context(|| format!("cannot create {}", charts.display()))?;
        for scenario in &results.config.scenarios {
            if !results.runs.iter().any(|p| &p.scenario == scenario) {
                continue;
            }
            for (name, svg) in [
                (
                    format!("{scenario}.svg"),
                    bookbench_report::rps_chart(&results, scenario),
                ),
                (
                    format!("{scenario}-bars.svg"),
                    bookbench_report::bars_chart(&results, scenario),
                ),
            ] {
                let path = charts.join(name);
                std::fs::write(&path, svg)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                outln!("{}", path.display());
            }
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
            Ok(bookbench_results::merge::Part {
                name: p.display().to_string(),
                results: read(p)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let merged = bookbench_results::merge::merge(parts)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output directory {}", args.out.display()))?;
    write_outputs(&args.out, &merged, true)
}
