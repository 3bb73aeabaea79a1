//! Counted cost per request, in the summary and the report: per scenario,
//! each target's instructions per request (cheapest first) with their
//! spread across settled windows and the verdict against the baseline, the
//! system calls, the database's statements, rows and buffers, and the
//! objects the instructions ran in. Counts, never presented as time.

use std::fmt::Write as _;

use bookbench_results::Results;
use bookbench_results::cost::{
    Basis, CostComparison, CostPoint, CostStatus, CostVerdict, DatabaseCountStatus,
    whole_count_threshold,
};

use crate::escape;

/// The points of `scenario`, cheapest first (the app's instructions and
/// the database's where counted); failed ones last.
fn sorted<'a>(r: &'a Results, scenario: &str) -> Vec<&'a CostPoint> {
    let mut points: Vec<&CostPoint> = r.cost.iter().filter(|p| p.scenario == scenario).collect();
    points.sort_by(|a, b| {
        let key = |p: &CostPoint| {
            p.per_request.map_or(f64::INFINITY, |x| {
                x.instructions + database_per_request(p).unwrap_or(0.0)
            })
        };
        key(a)
            .total_cmp(&key(b))
            .then(a.concurrency.cmp(&b.concurrency))
    });
    points
}

fn scenarios(r: &Results) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for p in &r.cost {
        if !seen.contains(&p.scenario.as_str()) {
            seen.push(&p.scenario);
        }
    }
    seen
}

/// `1.23 M`, `87.4 k`, `512`.
pub(crate) fn count(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// `5.0% costlier`, `2.3× cheaper` or `no significant difference`, after
/// the ratio and its range; `reference` for the baseline, `-` for a point
/// not compared (it, or the baseline's, did not settle).
pub(crate) fn verdict(p: &CostPoint, baseline: Option<&str>) -> String {
    let Some(c) = &p.comparison else {
        return if baseline == Some(p.target.as_str()) {
            "reference".to_string()
        } else {
            "-".to_string()
        };
    };
    let phrase = phrase(c);
    let whole = if c.basis == Basis::Windows {
        " (whole counts)"
    } else {
        ""
    };
    format!(
        "{:.4} ({:.4}–{:.4}) {phrase}{whole}",
        c.ratio, c.low, c.high
    )
}

/// A target's counted cost against the baseline's at one point, in a
/// cell beside its timed ratio: `106.1× costlier`, `≈ (1.002)`,
/// `reference`, `not settled`, or `–` where it was not counted.
pub(crate) fn beside(r: &Results, target: &str, scenario: &str, concurrency: u32) -> String {
    let Some(p) = r
        .cost
        .iter()
        .find(|p| p.target == target && p.scenario == scenario && p.concurrency == concurrency)
    else {
        return "–".to_string();
    };
    if r.config.baseline.as_deref() == Some(target) {
        return "reference".to_string();
    }
    match (&p.comparison, p.status) {
        (Some(c), _) if c.verdict == CostVerdict::NoSignificantDifference => {
            format!("≈ ({:.3})", c.ratio)
        }
        (Some(c), _) => phrase(c),
        (None, CostStatus::Settled) => "not compared".to_string(),
        (None, s) => s.name().to_string(),
    }
}

/// `5.0% costlier`, `2.3× cheaper` or `no significant difference`.
pub(crate) fn phrase(c: &CostComparison) -> String {
    match c.verdict {
        CostVerdict::NoSignificantDifference => "no significant difference".to_string(),
        CostVerdict::Costlier if c.ratio >= 2.0 => format!("{:.1}× costlier", c.ratio),
        CostVerdict::Costlier => format!("{:.1}% costlier", (c.ratio - 1.0) * 100.0),
        CostVerdict::Cheaper if c.ratio <= 0.5 => format!("{:.1}× cheaper", 1.0 / c.ratio),
        CostVerdict::Cheaper => format!("{:.1}% cheaper", (1.0 - c.ratio) * 100.0),
    }
}

/// The database's instructions per request at `p`, where counted.
fn database_per_request(p: &CostPoint) -> Option<f64> {
    p.database_instructions.as_ref()?.per_request
}

/// The database's instructions per request with their spread and their
/// ratio to the baseline's, or why there is no figure: `1.23 M ±0.02%`,
/// `1.23 M ±0.02%, ×0.168 6.0× cheaper`, `over budget`, `-`.
fn database_instructions(p: &CostPoint) -> String {
    let Some(d) = &p.database_instructions else {
        return "-".to_string();
    };
    match (d.per_request, d.status) {
        (Some(x), DatabaseCountStatus::Settled) => format!(
            "{}{}{}",
            count(x),
            d.spread
                .map_or(String::new(), |s| format!(" ±{:.2}%", s * 50.0)),
            d.comparison.as_ref().map_or(String::new(), |c| format!(
                ", ×{:.3} {}",
                c.ratio,
                phrase(c)
            ))
        ),
        (Some(x), s) => format!("{} ({})", count(x), s.name()),
        (None, s) => s.name().to_string(),
    }
}

/// CPython's type-cache misses a request and their share of the
/// instructions: `1.1 k, 8.9%`; `-` where not told apart.
fn type_cache(p: &CostPoint) -> String {
    let Some(x) = p.per_request else {
        return "-".to_string();
    };
    match (x.type_cache_misses, x.type_cache_instructions) {
        (Some(misses), Some(instructions)) if x.instructions > 0.0 => format!(
            "{}, {:.1}%",
            count(misses),
            instructions / x.instructions * 100.0
        ),
        _ => "-".to_string(),
    }
}

fn objects(p: &CostPoint) -> String {
    p.objects
        .iter()
        .take(3)
        .map(|o| format!("{} {:.0}%", o.object, o.share * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

fn status(p: &CostPoint) -> String {
    let mine = match (&p.reason, p.status) {
        (Some(why), _) => format!("{}: {why}", p.status.name()),
        (None, CostStatus::Settled) if p.merged > 1 => format!(
            "settled after {} warm-up window(s), in groups of {} windows",
            p.warmup_windows, p.merged
        ),
        (None, CostStatus::Settled) => {
            format!("settled after {} warm-up window(s)", p.warmup_windows)
        }
        (None, s) => s.name().to_string(),
    };
    let mine = if p.layouts.is_empty() {
        mine
    } else {
        let settled = std::iter::once(p)
            .chain(&p.layouts)
            .filter(|l| l.status == CostStatus::Settled)
            .count();
        format!(
            "{mine} (the first layout); {settled} of {} layouts settled",
            p.layouts.len() + 1
        )
    };
    match p.database_instructions.as_ref().and_then(|d| {
        d.reason
            .as_ref()
            .map(|why| format!("{}: {why}", d.status.name()))
    }) {
        Some(theirs) => format!("{mine}; database: {theirs}"),
        None => mine,
    }
}

fn database(p: &CostPoint) -> [String; 4] {
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
    match p.per_request {
        Some(x) => [
            f(x.db_statements),
            f(x.db_rows),
            f(x.db_shared_blocks_hit),
            f(x.db_shared_blocks_read),
        ],
        None => [
            "-".to_string(),
            "-".to_string(),
            "-".to_string(),
            "-".to_string(),
        ],
    }
}

/// What the numbers are, said once above the tables.
fn preamble(r: &Results) -> Option<String> {
    let run = r.cost_run.as_ref()?;
    let threshold = run.threshold * 100.0;
    let comparison = if run.layouts > 1 {
        format!(
            "In {} layouts: each target was started {} times, its environment larger by another amount each time, so that its process laid out its memory elsewhere (a CPython process's count moves by up to 6% with it); the instructions are the geometric mean of the layouts' medians, the spread their (largest − smallest) / mean, the other figures the first layout's. × baseline: the ratio of the geometric means with its 95% interval across layouts (Welch), judged beyond ±{threshold:.1}%; the database's instructions beside it, with their ratio to the baseline's and the range of any window's ratio to any other's where both settled, judged beyond ±{whole:.1}%. Type-cache misses: CPython's, the first layout's, a request and as a share of its instructions.",
            run.layouts,
            run.layouts,
            whole = whole_count_threshold(run.threshold) * 100.0
        )
    } else {
        format!(
            "× baseline: the ratio of the target's instructions per request less CPython's type-cache misses, with the range of any window's ratio to any other's, judged beyond ±{threshold:.1}%. One start per target: a CPython process's type-cache misses follow from where it laid out its memory and move its count by up to 6% from one start to the next, so they are left out of the ratio and shown beside it (misses a request, and their share of the instructions); a count whose misses could not be told apart is compared whole, judged beyond ±{whole:.1}% (`--layouts` bounds the whole count instead). The database's instructions beside it, with their ratio to the baseline's where both settled, judged beyond ±{whole:.1}%.",
            whole = whole_count_threshold(run.threshold) * 100.0
        )
    };
    Some(format!(
        "Counted under valgrind's callgrind ({}), {}, windows until {} in a row agree within ±{:.2}% (windows, or groups of two or three where single ones alternate; at most {} windows); the figures are medians of those windows, the spread their (largest − smallest) / median. Instructions of every process of the target (workers and master, all threads), with its idle cost (timers, heartbeats: {:.0} s measured per target) taken out; counts, not time. {comparison} Database: {}. The database's own instructions: {}.",
        run.valgrind,
        run.windows(),
        run.settled_windows,
        run.tolerance * 100.0,
        run.max_windows,
        run.idle_window_s,
        run.database_statistics,
        if run.database_instructions.is_empty() {
            "not counted"
        } else {
            &run.database_instructions
        }
    ))
}

/// The summary's section.
pub(crate) fn markdown(md: &mut String, r: &Results) {
    if r.cost.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## Counted cost per request\n");
    if let Some(p) = preamble(r) {
        let _ = writeln!(md, "{p}\n");
    }
    for s in scenarios(r) {
        let _ = writeln!(
            md,
            "### {s}\n\n| target | c | instructions | spread | type-cache misses | database instructions | system calls | × baseline | statements | rows | buffers hit | buffers read | where the instructions ran | status |\n|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|"
        );
        for p in sorted(r, s) {
            let [st, rows, hit, read] = database(p);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {st} | {rows} | {hit} | {read} | {} | {} |",
                p.target,
                p.concurrency,
                p.per_request
                    .map_or("-".to_string(), |x| count(x.instructions)),
                p.spread
                    .map_or("-".to_string(), |x| format!("±{:.2}%", x * 50.0)),
                type_cache(p),
                database_instructions(p),
                p.per_request
                    .map_or("-".to_string(), |x| format!("{:.1}", x.system_calls)),
                verdict(p, r.config.baseline.as_deref()),
                objects(p),
                status(p)
            );
        }
        md.push('\n');
    }
}

/// Bar widths in pixels for the scenario's costliest point, the app's and
/// the database's instructions together.
const BAR_PX: f64 = 160.0;

/// The report's section: the same table, each target's instructions as a
/// bar against the scenario's costliest, split into the app's (blue) and
/// the database's (orange) where the database's were counted.
pub(crate) fn html(h: &mut String, r: &Results) {
    if r.cost.is_empty() {
        return;
    }
    h.push_str("<h2>Counted cost per request</h2>");
    if let Some(p) = preamble(r) {
        let _ = write!(h, "<p>{}</p>", escape(&p));
    }
    for s in scenarios(r) {
        let points = sorted(r, s);
        let most = points
            .iter()
            .filter_map(|p| {
                p.per_request
                    .map(|x| x.instructions + database_per_request(p).unwrap_or(0.0))
            })
            .fold(0.0, f64::max);
        let px = |x: f64| if most > 0.0 { x / most * BAR_PX } else { 0.0 };
        let _ = write!(
            h,
            "<h3>{}</h3><table class=\"attribution\"><tr><th>target</th><th>c</th><th>instructions / request <small>(app <span class=\"bar\" style=\"width:8px;background:#1f77b4\"></span> database <span class=\"bar\" style=\"width:8px;background:#ff7f0e\"></span>)</small></th><th>type-cache misses</th><th>database instructions</th><th>system calls</th><th>× baseline</th><th>statements</th><th>rows</th><th>buffers hit / read</th><th>where the instructions ran</th><th>status</th></tr>",
            escape(s)
        );
        for p in points {
            let [st, rows, hit, read] = database(p);
            let bar = p.per_request.map_or(String::new(), |x| {
                let database = database_per_request(p).map_or(String::new(), |d| {
                    format!(
                        "<span class=\"bar\" style=\"width:{:.0}px;background:#ff7f0e\"></span>",
                        px(d)
                    )
                });
                format!(
                    "<br><span class=\"bar\" style=\"width:{:.0}px;background:#1f77b4\"></span>{database}",
                    px(x.instructions)
                )
            });
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}{}{bar}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{st}</td><td>{rows}</td><td>{hit} / {read}</td><td>{}</td><td>{}</td></tr>",
                crate::html::breakable(&p.target),
                p.concurrency,
                p.per_request
                    .map_or("-".to_string(), |x| escape(&count(x.instructions))),
                p.spread.map_or(String::new(), |x| format!(
                    " <small>±{:.2}%</small>",
                    x * 50.0
                )),
                escape(&type_cache(p)),
                escape(&database_instructions(p)),
                p.per_request
                    .map_or("-".to_string(), |x| format!("{:.1}", x.system_calls)),
                escape(&verdict(p, r.config.baseline.as_deref())),
                escape(&objects(p)),
                escape(&status(p)),
            );
        }
        h.push_str("</table>");
    }
}

#[cfg(test)]
mod tests {
    use bookbench_results::cost::{
        CostComparison, CostRun, CostWindow, DatabaseInstructions, DatabaseWork, ObjectShare,
        PerRequest,
    };

    use super::*;

    fn point(target: &str, instructions: f64, comparison: Option<CostComparison>) -> CostPoint {
        CostPoint {
            target: target.into(),
            scenario: "author-detail".into(),
            concurrency: 10,
            status: CostStatus::Settled,
            reason: None,
            warmup_windows: 1,
            merged: 1,
            idle_instructions_per_s: 0.0,
            windows: vec![CostWindow {
                requests: 100,
                ok: 100,
                duration_s: 1.0,
                instructions: (instructions * 100.0) as u64,
                idle_instructions: 0,
                system_calls: 2600,
                processes: 1,
                bytes_received: 0,
                database: Some(DatabaseWork {
                    statements: 200,
                    rows: 795,
                    shared_blocks_hit: 5600,
                    shared_blocks_read: 0,
                }),
                type_cache: None,
                connects: None,
            }],
            per_request: Some(PerRequest {
                instructions,
                system_calls: 26.0,
                bytes_received: 0.0,
                db_statements: Some(2.0),
                db_rows: Some(7.95),
                db_shared_blocks_hit: Some(56.0),
                db_shared_blocks_read: Some(0.0),
                type_cache_misses: None,
                type_cache_instructions: None,
            }),
            spread: Some(0.0008),
            objects: vec![ObjectShare {
                object: "libpython3.11.so.1.0".into(),
                share: 0.61,
            }],
            comparison,
            database_instructions: None,
            padding_bytes: 0,
            layouts: Vec::new(),
        }
    }

    #[test]
    fn the_cost_section_lists_targets_cheapest_first_with_verdicts_and_database_work() {
        let mut r = crate::tests::fixture(&[("rust", 1000.0)]);
        r.cost_run = Some(CostRun {
            valgrind: "valgrind-3.19.0".into(),
            requests_per_window: 100,
            requests_per_window_by_scenario: Default::default(),
            tolerance: 0.005,
            max_windows: 12,
            settled_windows: 3,
            idle_window_s: 5.0,
            determinism: Vec::new(),
            threshold: 0.01,
            database_statistics: "pg_stat_statements, planning included".into(),
            database_instructions: String::new(),
            seed: None,
            layouts: 1,
        });
        r.cost = vec![
            point(
                "flask-gunicorn-sync",
                9_950_000.0,
                Some(CostComparison {
                    reference: "rust".into(),
                    ratio: 114.4,
                    low: 114.2,
                    high: 114.6,
                    verdict: CostVerdict::Costlier,
                    basis: Default::default(),
                }),
            ),
            point("rust", 87_000.0, None),
        ];
        let md = crate::summary_markdown(&r);
        let rust = md.find("| rust | 10 | 87.0 k |").expect("rust's row");
        let flask = md
            .find("| flask-gunicorn-sync | 10 | 9.95 M |")
            .expect("flask's row");
        assert!(rust < flask, "cheapest first:\n{md}");
        assert!(
            md.contains("114.4000 (114.2000–114.6000) 114.4× costlier"),
            "{md}"
        );
        assert!(md.contains("| 2.00 | 7.95 | 56.00 | 0.00 |"), "{md}");
        assert!(md.contains("libpython3.11.so.1.0 61%"), "{md}");
        // The cell beside a timed ratio.
        assert_eq!(
            beside(&r, "flask-gunicorn-sync", "author-detail", 10),
            "114.4× costlier"
        );
        assert_eq!(beside(&r, "flask-gunicorn-sync", "author-detail", 50), "–");
        r.config.baseline = Some("rust".into());
        assert_eq!(beside(&r, "rust", "author-detail", 10), "reference");
        let page = crate::html(&r);
        assert!(page.contains("<h2>Counted cost per request</h2>"));
        assert!(page.contains("9.95 M <small>±0.04%</small>"), "{page}");
    }

    #[test]
    fn the_database_instructions_have_their_column_and_their_part_of_the_bar() {
        let mut r = crate::tests::fixture(&[]);
        let mut flask = point("flask-gunicorn-sync", 9_950_000.0, None);
        if let Some(x) = flask.per_request.as_mut() {
            x.type_cache_misses = Some(1122.0);
            x.type_cache_instructions = Some(895_500.0);
        }
        flask.database_instructions = Some(DatabaseInstructions {
            status: DatabaseCountStatus::Settled,
            reason: None,
            warmup_windows: 1,
            trigger_instructions: 1_445_253,
            windows: Vec::new(),
            per_request: Some(1_500_000.0),
            spread: Some(0.001),
            comparison: Some(CostComparison {
                reference: "rust".into(),
                ratio: 6.02,
                low: 6.0,
                high: 6.04,
                verdict: CostVerdict::Costlier,
                basis: Default::default(),
            }),
        });
        let mut rust = point("rust", 87_000.0, None);
        rust.database_instructions = Some(DatabaseInstructions {
            status: DatabaseCountStatus::OverBudget,
            reason: Some("a window would take about 40 min".into()),
            warmup_windows: 0,
            trigger_instructions: 0,
            windows: Vec::new(),
            per_request: None,
            spread: None,
            comparison: None,
        });
        r.cost = vec![flask, rust];
        let md = crate::summary_markdown(&r);
        assert!(
            md.contains(
                "| flask-gunicorn-sync | 10 | 9.95 M | ±0.04% | 1.1 k, 9.0% | 1.50 M ±0.05%, ×6.020 6.0× costlier |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| rust | 10 | 87.0 k | ±0.04% | - | over budget |"),
            "{md}"
        );
        assert!(
            md.contains("database: over budget: a window would take about 40 min"),
            "{md}"
        );
        // Flask's bar is the longest: its two parts make 160 pixels.
        let page = crate::html(&r);
        let app = (9_950_000.0 / 11_450_000.0 * BAR_PX).round();
        let database = (1_500_000.0 / 11_450_000.0 * BAR_PX).round();
        assert!(
            page.contains(&format!("width:{app}px;background:#1f77b4\"></span><span class=\"bar\" style=\"width:{database}px;background:#ff7f0e")),
            "{page}"
        );
    }

    #[test]
    fn results_without_throughput_say_so_and_show_only_the_cost() {
        let mut r = crate::tests::fixture(&[]);
        r.runs.clear();
        r.cost = vec![point("rust", 87_000.0, None)];
        let md = crate::summary_markdown(&r);
        assert!(md.contains("counted cost only"), "{md}");
        assert!(!md.contains("## Requests per second"), "{md}");
        assert!(md.contains("## Counted cost per request"), "{md}");
    }

    #[test]
    fn only_the_baseline_is_the_reference_and_a_point_not_compared_has_no_verdict() {
        let mut r = crate::tests::fixture(&[]);
        r.config.baseline = Some("node".into());
        let mut warming = point("node", 1_530_000.0, None);
        warming.status = CostStatus::NotSettled;
        r.cost = vec![warming, point("rust", 960_000.0, None)];
        let md = crate::summary_markdown(&r);
        assert!(md.contains("| - | 2.00 |"), "rust was not compared: {md}");
        assert!(md.contains("| reference | 2.00 |"), "{md}");
    }
}
