//! `bookbench compare A.json B.json`: each point of both runs judged with
//! a test on their windows. Two runs are not paired (their rounds were
//! minutes or days apart), so the ratio of B to A is the ratio of the
//! geometric means of their windows, with Welch's interval: wider than a
//! run's own paired ratios, as it should be.

use crate::judge::{NOISE_THRESHOLD, undisturbed};
use crate::stats::{self, Interval, Verdict};
use crate::{At, Error, Point, Results};

/// One point of both runs.
#[derive(Debug, Clone)]
pub struct Row {
    pub target: String,
    pub scenario: String,
    pub concurrency: u32,
    pub db_round_trip_us: Option<u64>,
    pub rps_a: f64,
    pub rps_b: f64,
    /// B's requests/s over A's, with its 95% interval; `None` when either
    /// run has fewer than two windows there.
    pub ratio: Option<Interval>,
    pub p99_ratio: f64,
    pub verdict: Verdict,
}

/// The noise threshold of the comparison: the larger of the two runs'
/// (the calibrated default for files that recorded none).
pub fn threshold(a: &Results, b: &Results) -> f64 {
    let t = a.config.noise_threshold.max(b.config.noise_threshold);
    if t > 0.0 { t } else { NOISE_THRESHOLD }
}

fn rates(p: &Point) -> Vec<f64> {
    undisturbed(&p.windows).iter().map(|w| w.rps).collect()
}

/// Every point measured in both runs; an error when they share none.
pub fn compare(a: &Results, b: &Results) -> Result<Vec<Row>, Error> {
    fn key(p: &Point) -> (&str, At<'_>) {
        (&p.target, p.at())
    }
    let threshold = threshold(a, b);
    let rows: Vec<Row> = a
        .runs
        .iter()
        .filter_map(|pa| {
            let pb = b.runs.iter().find(|pb| key(pb) == key(pa))?;
            let ratio = stats::unpaired_ratio(&rates(pb), &rates(pa));
            let p99 = |x: u64, y: u64| if x > 0 { y as f64 / x as f64 } else { f64::NAN };
            Some(Row {
                target: pa.target.clone(),
                scenario: pa.scenario.clone(),
                concurrency: pa.concurrency,
                db_round_trip_us: pa.db_round_trip_us,
                rps_a: pa.rps,
                rps_b: pb.rps,
                verdict: ratio.map_or(Verdict::NoSignificantDifference, |r| {
                    Verdict::judge(&r, threshold)
                }),
                ratio,
                p99_ratio: p99(pa.latency_us.p99, pb.latency_us.p99),
            })
        })
        .collect();
    if rows.is_empty() {
        return Err(Error::Mismatch(
            "the two results files share no point (target, scenario, concurrency and database round trip); compare runs of the same targets".to_string(),
        ));
    }
    Ok(rows)
}

impl Row {
    pub fn at(&self) -> At<'_> {
        At {
            scenario: &self.scenario,
            concurrency: self.concurrency,
            db_round_trip_us: self.db_round_trip_us,
        }
    }
}

/// The rows that got significantly slower from A to B.
pub fn regressions(rows: &[Row]) -> Vec<&Row> {
    rows.iter()
        .filter(|r| r.verdict == Verdict::Slower)
        .collect()
}
