//! `bookbench calibrate`: how precise the suite is on this machine, and
//! whether it finds a difference that is really there.
//!
//! Each chosen target runs three times over in the same interleaved
//! rounds: as itself (the reference), as an identical copy under another
//! name (an A/A comparison: any difference found is noise), and with its
//! CPU cut by a known share through the `cpu` cgroup controller (a
//! difference that is there when the target is CPU-bound). The A/A
//! intervals say how precise a run is; the largest A/A deviation is the
//! noise threshold that verdicts must clear.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::results::Results;
use crate::stats::Verdict;
use crate::targets::Target;

/// A ratio is judged faster or slower only when its whole interval lies
/// beyond this. Measured here: over 30 A/A comparisons (docs/method.md,
/// "Calibration"), copies ran 0.974 [0.948, 1.002] times their originals,
/// a systematic offset that cannot be excluded up to 5.2%.
pub const NOISE_THRESHOLD: f64 = 0.05;

/// Steal above this share of a CPU (percent) over a window marks the window
/// disturbed: windows past 13% of steal served 20–30% below their target's
/// median (docs/method.md, "Calibration").
pub const STEAL_THRESHOLD: f64 = 10.0;

/// The suffix of an A/A copy's name.
pub const COPY: &str = "~aa";

/// The suffix of a copy with a CPU quota: `~q90` for 90%.
fn quota_suffix(loss: f64) -> String {
    format!("~q{:.0}", (1.0 - loss) * 100.0)
}

/// The calibration's targets: each original, its copy and its slowed copy,
/// and which one each is compared with.
pub fn targets(originals: &[Target], loss: f64) -> (Vec<Target>, BTreeMap<String, String>) {
    let mut all = Vec::new();
    let mut references = BTreeMap::new();
    for t in originals {
        let copy = Target {
            name: format!("{}{COPY}", t.name),
            description: format!("{} (an identical copy)", t.description),
            ..t.clone()
        };
        let slowed = Target {
            name: format!("{}{}", t.name, quota_suffix(loss)),
            description: format!(
                "{} (its CPU cut to {:.0}%)",
                t.description,
                (1.0 - loss) * 100.0
            ),
            cpu_quota: Some(1.0 - loss),
            ..t.clone()
        };
        references.insert(copy.name.clone(), t.name.clone());
        references.insert(slowed.name.clone(), t.name.clone());
        all.extend([t.clone(), copy, slowed]);
    }
    (all, references)
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

fn row(p: &crate::results::Point) -> Option<Row> {
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

/// The calibration as Markdown.
pub fn render(c: &Calibration) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Calibration\n");
    let _ = writeln!(
        md,
        "A/A: {} comparisons of a target with an identical copy. Interval half-widths: median ±{:.1}%, widest ±{:.1}%. {} excluded 1; {} judged different with the noise threshold of {:.1}%. The largest A/A deviation was {:.1}%.\n",
        c.aa.len(),
        c.median_aa_half_width * 100.0,
        c.widest_aa_half_width * 100.0,
        c.aa_excluding_one,
        c.aa_judged_different,
        c.noise_threshold * 100.0,
        c.largest_aa_deviation * 100.0
    );
    let _ = writeln!(
        md,
        "Known loss: {} comparisons of a target with its CPU cut by {:.0}%; {} judged slower.\n",
        c.slowed.len(),
        c.loss * 100.0,
        c.slowed_found
    );
    let _ = writeln!(
        md,
        "| comparison | scenario | c | ratio | 95% interval | ± | rounds | verdict |\n|---|---|---:|---:|---|---:|---:|---|"
    );
    for r in c.aa.iter().chain(&c.slowed) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.3} | {:.3}–{:.3} | {:.1}% | {} | {} |",
            r.target,
            r.scenario,
            r.concurrency,
            r.estimate,
            r.low,
            r.high,
            r.half_width * 100.0,
            r.rounds,
            r.verdict.name()
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_gets_a_copy_and_a_slowed_copy_compared_with_it() {
        let all = crate::targets::parse(crate::targets::BUILTIN).expect("targets");
        let rust: Vec<Target> = all.into_iter().filter(|t| t.name == "rust").collect();
        let (targets, references) = targets(&rust, 0.1);
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["rust", "rust~aa", "rust~q90"]);
        assert_eq!(references.get("rust~aa").map(String::as_str), Some("rust"));
        assert_eq!(references.get("rust~q90").map(String::as_str), Some("rust"));
        let slowed = targets.iter().find(|t| t.name == "rust~q90");
        assert_eq!(slowed.and_then(|t| t.cpu_quota), Some(0.9));
    }
}
