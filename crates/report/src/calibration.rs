//! `bookbench calibrate`'s page: what the A/A and slowed copies were
//! judged, as Markdown.

use std::fmt::Write as _;

use bookbench_results::calibration::Calibration;

/// The calibration as Markdown.
pub fn markdown(c: &Calibration) -> String {
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
