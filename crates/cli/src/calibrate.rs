//! `bookbench calibrate`: the suite's own noise on this machine (A/A), and
//! whether it finds a known loss (a CPU quota).

use anyhow::{Context as _, Result, bail};
use bookbench_suite::calibrate;
use bookbench_suite::preset::Preset;
use bookbench_suite::targets;

use crate::run::{Measure, execute};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Targets to calibrate with, each run as itself, as an identical copy
    /// and with its CPU cut [default: the quick preset's].
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,
    /// The known loss: the share of CPU the slowed copy loses (10%).
    #[arg(long, default_value = "10%", value_parser = parse_loss)]
    loss: f64,
    #[command(flatten)]
    measure: Measure,
}

fn parse_loss(s: &str) -> Result<f64, String> {
    let pct: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage like 10%"))?;
    if !(pct > 0.0 && pct < 90.0) {
        return Err(format!("the loss must be above 0% and below 90%, not {s}"));
    }
    Ok(pct / 100.0)
}

pub fn run(args: Args) -> Result<()> {
    let all = args.measure.targets()?;
    let d = Preset::Quick.defaults(&all);
    let originals = targets::select(&all, args.targets.as_ref().unwrap_or(&d.targets))?;
    if let Some(why) = bookbench_suite::cgroup::unavailable() {
        bail!("calibration cuts a target's CPU with a cgroup quota, but {why}");
    }
    let (measured, references) = calibrate::targets(&originals, args.loss);
    let baseline = originals.first().map(|t| t.name.clone());
    let config = args
        .measure
        .config("calibrate", &d, measured, baseline, references)?;
    let results = execute(&config)?;
    let c = bookbench_results::calibration::summarise(&results, args.loss);
    let md = bookbench_report::calibration::markdown(&c);
    let path = config.out.join("calibration.md");
    std::fs::write(&path, &md).with_context(|| format!("cannot write {}", path.display()))?;
    let json = serde_json::to_string_pretty(&c).context("the calibration as JSON")?;
    let path = config.out.join("calibration.json");
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    outln!("{md}");
    outln!("results: {}", config.out.display());
    Ok(())
}
