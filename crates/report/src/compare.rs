//! `bookbench compare`'s tables: each point of two runs, B against A, with
//! its interval and verdict (judged in `bookbench_results::compare`), and
//! each point counted in both, B's count against A's
//! (`bookbench_results::cost_compare`).

use std::fmt::Write as _;

use bookbench_results::compare::Row;
use bookbench_results::cost_compare::Row as CostRow;

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

/// The counted cost of two runs as a table for people: each point's
/// instructions a request in A and in B, B's over A's with the range of
/// any of B's settled windows over any of A's, the verdict, and the
/// database's instructions likewise where both runs counted them.
pub fn cost_table(rows: &[CostRow], threshold: f64) -> String {
    let mut out = format!(
        "{:<30} {:<18} {:>4} {:>10} {:>10} {:>7}  {:<15}  {:<28} database B/A\n",
        "target", "scenario", "c", "instr. A", "instr. B", "B/A", "range", "verdict"
    );
    let figure = |x: Option<f64>| x.map_or("-".to_string(), crate::cost::count);
    for r in rows {
        let (ratio, range, verdict) = match (&r.instructions, &r.not_compared) {
            (Some(c), _) => (
                format!("{:.4}", c.ratio),
                format!("{:.4}–{:.4}", c.low, c.high),
                crate::cost::phrase(c),
            ),
            (None, why) => (
                "-".to_string(),
                "-".to_string(),
                format!("not compared: {}", why.as_deref().unwrap_or("-")),
            ),
        };
        let database = r.database.as_ref().map_or("-".to_string(), |c| {
            format!("{:.4} {}", c.ratio, crate::cost::phrase(c))
        });
        let _ = writeln!(
            out,
            "{:<30} {:<18} {:>4} {:>10} {:>10} {:>7}  {:<15}  {:<28} {}",
            r.target,
            r.scenario,
            r.concurrency,
            figure(r.a),
            figure(r.b),
            ratio,
            range,
            verdict,
            database
        );
    }
    let _ = writeln!(
        out,
        "Counted, not timed: instructions a request. B/A: B's over A's, less CPython's type-cache misses where both runs counted them apart (where both runs counted several layouts, whole counts); costlier/cheaper: the range of any of B's settled windows over any of A's (across layouts, the 95% interval) lies wholly beyond ±{:.1}% (the larger of the two runs' thresholds; whole counts of one start, and the database's instructions, beyond 5% at least). Counts are of a window's requests: points whose windows sent other requests are not compared.",
        threshold * 100.0
    );
    out
}
