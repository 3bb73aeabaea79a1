//! `bookbench compare A.json B.json`: point by point, the ratio of B to A.

use std::fmt::Write as _;

use crate::results::{Point, Results};

/// One row of a comparison.
#[derive(Debug, Clone)]
pub struct Row {
    pub target: String,
    pub scenario: String,
    pub concurrency: u32,
    pub rps_a: f64,
    pub rps_b: f64,
    pub rps_ratio: f64,
    pub p99_ratio: f64,
    /// The two runs' repeat ranges do not overlap: a difference beyond the
    /// noise the repeats showed.
    pub significant: bool,
}

pub fn compare(a: &Results, b: &Results) -> Vec<Row> {
    let key = |p: &Point| (p.target.clone(), p.scenario.clone(), p.concurrency);
    a.runs
        .iter()
        .filter_map(|pa| {
            let pb = b.runs.iter().find(|pb| key(pb) == key(pa))?;
            let ratio = |x: f64, y: f64| if x > 0.0 { y / x } else { f64::NAN };
            Some(Row {
                target: pa.target.clone(),
                scenario: pa.scenario.clone(),
                concurrency: pa.concurrency,
                rps_a: pa.rps,
                rps_b: pb.rps,
                rps_ratio: ratio(pa.rps, pb.rps),
                p99_ratio: ratio(pa.latency_us.p99 as f64, pb.latency_us.p99 as f64),
                significant: pb.rps_min > pa.rps_max || pb.rps_max < pa.rps_min,
            })
        })
        .collect()
}

/// The comparison as a table for people.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "target          scenario             c      rps A      rps B   B/A rps  B/A p99\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<15} {:<18} {:>4} {:>10.0} {:>10.0} {:>8.2}{} {:>8.2}",
            r.target,
            r.scenario,
            r.concurrency,
            r.rps_a,
            r.rps_b,
            r.rps_ratio,
            if r.significant { "*" } else { " " },
            r.p99_ratio
        );
    }
    out.push_str("* the repeats' ranges do not overlap: beyond the runs' own spread\n");
    if rows.is_empty() {
        out.push_str("(no point is in both files)\n");
    }
    out
}
