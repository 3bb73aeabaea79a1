//! `bookbench compare`'s table: each point of two runs, B against A, with
//! its interval and verdict (judged in `bookbench_results::compare`).

use std::fmt::Write as _;

use bookbench_results::compare::Row;

/// The comparison as a table for people.
pub fn table(rows: &[Row], threshold: f64) -> String {
    let mut out = format!(
        "{:<30} {:<18} {:>4} {:>10} {:>10} {:>7}  {:<15} {:>7}  verdict\n",
        "target", "scenario", "c", "rps A", "rps B", "B/A", "95% interval", "p99 B/A"
    );
    for r in rows {
        let (ratio, interval) = match r.ratio {
            Some(i) => (
                format!("{:.3}", i.estimate),
                format!("{:.3}–{:.3}", i.low, i.high),
            ),
            None => (
                format!("{:.3}", r.rps_b / r.rps_a),
                "(< 2 windows)".to_string(),
            ),
        };
        let _ = writeln!(
            out,
            "{:<30} {:<18} {:>4} {:>10.0} {:>10.0} {:>7}  {:<15} {:>7.2}  {}",
            r.target,
            format!("{}{}", r.scenario, r.at().db_note()),
            r.concurrency,
            r.rps_a,
            r.rps_b,
            ratio,
            interval,
            r.p99_ratio,
            match r.ratio {
                Some(i) => crate::verdict_phrase(i.estimate, r.verdict),
                None => r.verdict.name().to_string(),
            }
        );
    }
    let _ = writeln!(
        out,
        "B/A: B's requests/s over A's. faster/slower: the 95% interval (Welch, on the windows' log requests/s) lies wholly beyond ±{:.1}%",
        threshold * 100.0
    );
    out
}
