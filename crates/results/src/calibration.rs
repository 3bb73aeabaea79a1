//! Calibration's findings, read out of the results of a calibration run
//! (`bookbench calibrate`): how the A/A copies and the slowed copies were
//! judged against their originals.

use serde::Serialize;

use crate::stats::Verdict;
use crate::{Point, Results};

/// The suffix of an A/A copy's name.
pub const COPY: &str = "~aa";

/// The suffix of a copy with a CPU quota: `~q90` for 90%.
pub fn quota_suffix(loss: f64) -> String {
    format!("~q{:.0}", (1.0 - loss) * 100.0)
}

/// One comparison of the calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub target: String,
    pub scenario: String,
    pub concurrency: u32,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// Relative half-width of the interval (0.05: ±5%).
    pub half_width: f64,
    pub rounds: u32,
    pub verdict: Verdict,
}

/// What the calibration found.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub loss: f64,
    pub noise_threshold: f64,
    /// Copies against their originals.
    pub aa: Vec<Row>,
    /// Slowed copies against their originals.
    pub slowed: Vec<Row>,
    /// A/A comparisons whose interval excludes 1.
    pub aa_excluding_one: usize,
    /// A/A comparisons judged faster or slower with the threshold.
    pub aa_judged_different: usize,
    /// Slowed comparisons judged slower.
    pub slowed_found: usize,
    /// The largest A/A deviation, |estimate − 1| as a fraction: the
    /// least noise threshold these figures support.
    pub largest_aa_deviation: f64,
    pub widest_aa_half_width: f64,
    pub median_aa_half_width: f64,
}

fn row(p: &Point) -> Option<Row> {
    let c = p.comparison.as_ref()?;
    Some(Row {
        target: p.target.clone(),
        scenario: p.scenario.clone(),
        concurrency: p.concurrency,
        estimate: c.ratio.estimate,
        low: c.ratio.low,
        high: c.ratio.high,
        half_width: c.ratio.relative_half_width(),
        rounds: c.rounds,
        verdict: c.verdict,
    })
}

/// Reads the calibration's comparisons out of its results.
pub fn summarise(results: &Results, loss: f64) -> Calibration {
    let suffix = quota_suffix(loss);
    let aa: Vec<Row> = results
        .runs
        .iter()
        .filter(|p| p.target.ends_with(COPY))
        .filter_map(row)
        .collect();
    let slowed: Vec<Row> = results
        .runs
        .iter()
        .filter(|p| p.target.ends_with(&suffix))
        .filter_map(row)
        .collect();
    let mut widths: Vec<f64> = aa.iter().map(|r| r.half_width).collect();
    widths.sort_by(f64::total_cmp);
    Calibration {
        loss,
        noise_threshold: results.config.noise_threshold,
        aa_excluding_one: aa.iter().filter(|r| r.low > 1.0 || r.high < 1.0).count(),
        aa_judged_different: aa
            .iter()
            .filter(|r| r.verdict != Verdict::NoSignificantDifference)
            .count(),
        slowed_found: slowed
            .iter()
            .filter(|r| r.verdict == Verdict::Slower)
            .count(),
        largest_aa_deviation: aa
            .iter()
            .map(|r| (r.estimate.ln().abs()).exp_m1())
            .fold(0.0, f64::max),
        widest_aa_half_width: widths.last().copied().unwrap_or(0.0),
        median_aa_half_width: widths.get(widths.len() / 2).copied().unwrap_or(0.0),
        aa,
        slowed,
    }
}
