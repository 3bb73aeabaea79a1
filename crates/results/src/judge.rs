//! Which windows count, and how a target is judged against its reference
//! within one run: the paired ratio of their rounds and its verdict.

use crate::stats::{self, Interval, Verdict};
use crate::{Comparison, Window};

/// A ratio is judged faster or slower only when its whole interval lies
/// beyond this. Measured here: over 30 A/A comparisons (docs/method.md,
/// "Calibration"), copies ran 0.974 [0.948, 1.002] times their originals,
/// a systematic offset that cannot be excluded up to 5.2%.
pub const NOISE_THRESHOLD: f64 = 0.05;

/// Steal above this share of a CPU (percent) over a window marks the window
/// disturbed: windows past 13% of steal served 20–30% below their target's
/// median (docs/method.md, "Calibration").
pub const STEAL_THRESHOLD: f64 = 10.0;

/// The undisturbed windows, or all of them when fewer than two are (a
/// figure from disturbed windows, flagged, beats no figure).
pub fn undisturbed(windows: &[Window]) -> Vec<&Window> {
    let clean: Vec<&Window> = windows.iter().filter(|w| !w.disturbed()).collect();
    if clean.len() >= 2 {
        clean
    } else {
        windows.iter().collect()
    }
}

/// This target's windows against the reference's, round by round: the
/// rounds in which both had an undisturbed window are paired.
pub fn compare(
    mine: &[Window],
    theirs: &[Window],
    reference: &str,
    noise_threshold: f64,
) -> Option<Comparison> {
    let (a, b): (Vec<f64>, Vec<f64>) = mine
        .iter()
        .filter(|w| !w.disturbed())
        .filter_map(|w| {
            let other = theirs
                .iter()
                .find(|o| o.round == w.round && !o.disturbed())?;
            Some((w.rps, other.rps))
        })
        .unzip();
    let rounds = u32::try_from(a.len()).unwrap_or(u32::MAX);
    let ratio = stats::paired_ratio(&a, &b).or_else(|| {
        // One round: the ratio without an interval.
        let (&x, &y) = (a.first()?, b.first()?);
        (x > 0.0 && y > 0.0).then(|| Interval {
            estimate: x / y,
            low: 0.0,
            high: f64::INFINITY,
        })
    })?;
    Some(Comparison {
        reference: reference.to_string(),
        verdict: Verdict::judge(&ratio, noise_threshold),
        ratio,
        rounds,
    })
}
